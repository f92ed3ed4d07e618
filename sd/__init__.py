"""kuzbass-sd: Vensim system-dynamics models run through PySD, with scenarios and results.

The pipeline reads as load -> run -> results::

    import sd
    model = sd.load("models/kuzbass.mdl")          # cached PySD translation
    base = sd.run(model)                            # Results: tidy table + provenance
    alt = sd.run(model, {"Green Investment Share": 0.2}, scenario="green")
    sd.Results.concat([base, alt]).save("out.parquet")
"""

from __future__ import annotations

__version__ = "0.1.0"

from sd.errors import (  # noqa: E402
    CircularDefinitionError,
    ModelFileError,
    OutputError,
    ParameterError,
    ResultsFileError,
    SDError,
    SimulationError,
    TimeSettingsError,
    TranslationError,
    UnknownVariableError,
)
from sd.model import Model, TimeGrid, Variable, load  # noqa: E402
from sd.results import Results  # noqa: E402
from sd.run import TimeSettings, run  # noqa: E402

__all__ = [
    "CircularDefinitionError",
    "Model",
    "ModelFileError",
    "OutputError",
    "ParameterError",
    "Results",
    "ResultsFileError",
    "SDError",
    "SimulationError",
    "TimeGrid",
    "TimeSettings",
    "TimeSettingsError",
    "TranslationError",
    "UnknownVariableError",
    "Variable",
    "load",
    "run",
    "__version__",
]
