"""The adapters, one per library, and the registry that finds the installed ones.

Adapters import their library lazily (inside ``build``/``creator``), so importing this package
never requires a peer; :func:`load_adapters` decides what runs by trying to import each
library and turning a failure into a "skipped" note instead of an error.
"""

from __future__ import annotations

import importlib

from .base import Adapter

__all__ = ["LIBRARIES", "Adapter", "load_adapters"]

#: (PyPI distribution name, importable module, adapter module, adapter class), in column order.
_REGISTRY: tuple[tuple[str, str, str, str], ...] = (
    ("statekeeper", "statekeeper", "lib_statekeeper", "StatekeeperAdapter"),
    ("python-statemachine", "statemachine", "lib_python_statemachine",
     "PythonStatemachineAdapter"),
    ("transitions", "transitions", "lib_transitions", "TransitionsAdapter"),
    ("sismic", "sismic", "lib_sismic", "SismicAdapter"),
    ("xstate-statemachine", "xstate_statemachine", "lib_xstate", "XstateAdapter"),
    ("automat", "automat", "lib_automat", "AutomatAdapter"),
)  # fmt: skip

#: Every library the benchmark knows, by distribution name, statekeeper first.
LIBRARIES: tuple[str, ...] = tuple(entry[0] for entry in _REGISTRY)


def load_adapters(only: tuple[str, ...] | None = None) -> tuple[list[Adapter], dict[str, str]]:
    """Return the adapters to run (registry order) and a note per selected library skipped.

    Raises:
        ValueError: ``only`` names a library the benchmark does not know.

    """
    if only is not None:
        unknown = sorted(set(only) - set(LIBRARIES))
        if unknown:
            raise ValueError(f"unknown libraries {unknown}; choose from {', '.join(LIBRARIES)}")
    adapters: list[Adapter] = []
    skipped: dict[str, str] = {}
    for dist, module, adapter_module, cls_name in _REGISTRY:
        if only is not None and dist not in only:
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            skipped[dist] = f"not installed ({exc}); pip install 'statekeeper[bench]'"
            continue
        mod = importlib.import_module(f"{__name__}.{adapter_module}")
        adapters.append(getattr(mod, cls_name)())
    return adapters, skipped
