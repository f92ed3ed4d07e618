"""The engine stage: the only code that touches PySD's runtime.

Loading a translated model (:mod:`sd.engine.pysd_model`), single runs (:mod:`sd.engine.run`,
:mod:`sd.engine.fastrun`), Vensim semantics patched into PySD (float states, delays,
lookups, integration methods, randomness), the vectorized ensemble engine
(:mod:`sd.engine.vectorized`), and for many runs one parameter table
(:mod:`sd.engine.table`) that every engine of the registry (:mod:`sd.engine.engines`) reads.
"""
