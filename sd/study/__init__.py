"""The study stage: study and spec files, shocks, scenarios, uncertainty, watching files.

Never imports the engine, analysis or report stages: a study is data about runs, compiled
into parameter overrides that any engine can run.
"""
