"""Warnings addressed to the caller: shown at the caller's line, not the library's.

A fixed ``stacklevel`` is right for one call path only, and a chart is compiled along many
(``compile_chart``, a machine made from a plain chart, ``Client.register``, ``load_scxml``,
a child chart of an invoke): the warning would point into statekeeper on every other one.
:func:`warn_caller` counts the frames up to the first one outside the package instead.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["warn_caller"]


def _ours(module: object) -> bool:
    return isinstance(module, str) and (module == "statekeeper"
                                        or module.startswith("statekeeper."))


def warn_caller(message: str, category: type[Warning]) -> None:
    """Warn with the ``stacklevel`` of the innermost frame outside statekeeper."""
    frame = sys._getframe(1)
    level = 2  # the frame that called this function
    while frame.f_back is not None and _ours(frame.f_globals.get("__name__")):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
