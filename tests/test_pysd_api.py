"""The PySD internals the toolkit relies on: a PySD release that moves them fails here, loudly.

The toolkit pins ``pysd>=3.14,<3.15`` and uses these private attributes of PySD 3.14
(the engine stage ``sd.engine``: ``pysd_model``, ``run``, ``lookups``, ``vectorized.core``).
A new PySD must pass this file before the pin is widened.
"""

from __future__ import annotations

import pysd
from pysd.py_backend.lookups import Lookups

import sd
from tests.conftest import TEST_MODELS

MODEL_ATTRIBUTES = (
    "_namespace",
    "_dependencies",
    "_dynamicstateful_elements",
    "_lookup_elements",
    "_external_elements",
    "components",
    "time",
)


def test_private_attributes_the_toolkit_uses_exist():
    model = sd.load(TEST_MODELS / "lookups.mdl", fast_lookups=False).new_pysd(load_inputs=True)
    missing = [a for a in MODEL_ATTRIBUTES if not hasattr(model, a)]
    assert not missing, f"PySD {pysd.__version__} moved {missing}; update sd/ before upgrading"
    module = model.components._components
    for name in ("_init_outer_references", "_control_vars"):
        assert hasattr(module, name), f"PySD {pysd.__version__} has no module.{name}"
    assert hasattr(model.time, "_set_control_vars")
    assert isinstance(model._dependencies, dict) and isinstance(model._namespace, dict)
    lookups = [e for e in model._lookup_elements if isinstance(e, Lookups)]
    assert lookups, "PySD's lookup elements are no longer pysd.py_backend.lookups.Lookups"
    for element in lookups:  # what sd.engine.lookups reads of each lookup object
        assert hasattr(element, "data") and hasattr(element, "interp")


def test_pysd_version_is_within_the_pin():
    major, minor = (int(p) for p in pysd.__version__.split(".")[:2])
    assert (major, minor) == (3, 14), (
        f"PySD {pysd.__version__} is outside the tested range 3.14.x; run this file and the "
        "engine tests, then widen the pin in pyproject.toml"
    )
