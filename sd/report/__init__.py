"""The report stage: figures, diagrams, tables, labels, file writers, the HTML/Excel report.

Never calls :mod:`sd.pipeline` and never reads files other commands wrote: the pipeline
hands it objects (results, sensitivity, calibration).
"""
