"""The report stage: figures, diagrams, tables, labels, file writers, the HTML/Excel report.

Never calls :mod:`sd.pipeline` and never opens a file another command wrote: the pipeline
decides what to load or recompute, checks every saved input for staleness and hands the
report objects (the forecast's results, ``EnsembleBands``, ``Sensitivity``,
``CalibrationInputs``, ``ExploreTables``; see :func:`sd.pipeline.report`).
"""
