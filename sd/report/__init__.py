"""The report stage: figures, diagrams, tables, labels, file writers, the HTML/Excel report.

Never calls :mod:`sd.pipeline`: the pipeline decides what to load or recompute and hands
it the forecast's results (the ensemble, sensitivity and calibration outputs are still read
from their commands' folders; issue 12).
"""
