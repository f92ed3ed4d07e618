"""kuzbass-sd: Vensim system-dynamics models run through PySD, with scenarios and results.

The pipeline reads as load -> run -> results::

    import sd
    model = sd.load("models/kuzbass.mdl")          # cached PySD translation
    base = sd.run(model)                            # Results: tidy table + provenance
    alt = sd.run(model, {"Green Investment Share": 0.2}, scenario="green")
    sd.Results.concat([base, alt]).save("out.parquet")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sd.version import __version__

#: the public names and the module of each; imported on first use, so that ``import sd``
#: (and ``sd --help``) does not import PySD, numpy and pandas before they are needed
_EXPORTS = {
    **{name: "sd.errors" for name in (
        "CircularDefinitionError",
        "ModelFileError",
        "OutputError",
        "ParameterError",
        "ResultsFileError",
        "SDError",
        "SimulationError",
        "TimeSettingsError",
        "TranslationError",
        "UnknownVariableError",
    )},
    "Model": "sd.model.model",
    "TimeGrid": "sd.model.model",
    "TimeSettings": "sd.model.model",
    "Variable": "sd.model.model",
    "Results": "sd.results",
    "load": "sd.engine.pysd_model",
    "run": "sd.engine.run",
}

if TYPE_CHECKING:
    from sd.engine.pysd_model import load
    from sd.engine.run import run
    from sd.errors import (
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
    from sd.model.model import Model, TimeGrid, TimeSettings, Variable
    from sd.results import Results


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sd' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
