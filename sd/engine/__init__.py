"""The engine stage: the only code that touches PySD's runtime.

Loading a translated model (:mod:`sd.engine.pysd_model`), single runs (:mod:`sd.engine.run`,
:mod:`sd.engine.fastrun`), Vensim semantics patched into PySD (float states, delays,
lookups, integration methods, randomness) and the vectorized ensemble engine
(:mod:`sd.engine.vectorized`).
"""
