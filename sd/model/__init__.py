"""The model stage: `.mdl` text, sketch, preprocessing, translation into the cache, `Model`.

Imports only :mod:`sd.errors`, :mod:`sd.files` and its own modules (checked by
``lint-imports``, see ``pyproject.toml``). Nothing here runs a model.
"""
