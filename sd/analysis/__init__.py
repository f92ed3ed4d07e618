"""The analysis stage: forecasts, ensembles, sensitivity, calibration, backtests, fit
statistics, policy comparison, goal seeking, exploration, optimisation and loop dominance.
"""
