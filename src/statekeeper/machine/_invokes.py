"""How an in-memory machine finds and seeds the chart of a child it invokes.

``<invoke type="scxml">`` names its child by ``src`` or carries it as content; the machine's
``invoke_loader`` (when given) decides how either becomes a compiled chart, and may refuse.
Kept apart from the machine itself: the loading rules are the part users configure.
"""

from __future__ import annotations

from typing import Any

from ..core.commands import StartInvoke
from ..core.compile import CompiledChart, compile_chart
from ..core.errors import ChartError
from ..core.model import Chart
from ._env import _Env

__all__ = ["declared_params", "load_child"]

def declared_params(chart: CompiledChart, params: dict[str, Any]) -> dict[str, Any] | None:
    """The invoke params a child chart declares data for; others are not set (SEM-10)."""
    declared = {item.id for _, item in chart.data_items}
    return {k: v for k, v in params.items() if k in declared} or None


def load_child(env: _Env, command: StartInvoke) -> CompiledChart:
    """The child's chart; the invoke loader decides (and may trust) whenever it is given.

    Raises:
        ChartError: the content is neither a chart nor something a loader was given to read.

    """
    content = command.content
    if isinstance(content, CompiledChart):
        return content
    if env.invoke_loader is not None:
        return env.invoke_loader(command.src, content)
    if isinstance(content, Chart):
        return compile_chart(content)
    raise ChartError(f"invoke {command.invokeid!r}: no invoke_loader to load "
                     f"{command.src or 'its content'!r}", command.state)
