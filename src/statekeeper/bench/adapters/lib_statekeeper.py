"""statekeeper itself: charts compiled once, one ``Machine`` per instance, ``send`` by name.

This is the baseline every ratio is taken against, so it uses exactly the public API a user
would: ``compile_chart`` once per chart, ``Machine(compiled)`` per instance and a pre-bound
``m.send``.  Active leaves are the configuration minus the shape's compound/parallel ids.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ..shapes import FLAT20_MOVES, FLAT20_SIZE, SHAPES
from .base import Adapter

__all__ = ["StatekeeperAdapter"]


def _charts() -> dict[str, Any]:
    """Return the four benchmark charts, written the way the statekeeper docs write charts."""
    from statekeeper import Chart, Parallel, State

    flat20 = {
        f"s{i}": State(on={ev: f"s{(i + d) % FLAT20_SIZE}" for ev, d in FLAT20_MOVES.items()})
        for i in range(FLAT20_SIZE)
    }
    return {
        "flat3": Chart("flat3", initial="a", states={
            "a": State(on={"next": "b"}),
            "b": State(on={"next": "c"}),
            "c": State(on={"next": "a"}),
        }),
        "flat20": Chart("flat20", initial="s0", states=flat20),
        "compound": Chart("compound", initial="on", states={
            "on": State(initial="a", states={
                "a": State(on={"cycle": "b"}),
                "b": State(on={"cycle": "c"}),
                "c": State(on={"cycle": "a"}),
            }, on={"toggle": "off"}),
            "off": State(on={"toggle": "on"}),
        }),
        "parallel": Chart("parallel", initial="p", states={"p": Parallel(states={
            "r1": State(initial="x1", states={
                "x1": State(on={"tick": "x2"}),
                "x2": State(on={"tick": "x3"}),
                "x3": State(on={"tick": "x1"}),
            }),
            "r2": State(initial="y1", states={
                "y1": State(on={"tick": "y2"}),
                "y2": State(on={"tick": "y1"}),
            }),
        })}),
    }  # fmt: skip


class StatekeeperAdapter(Adapter):
    """Drives ``statekeeper.Machine`` through ``send``."""

    name = "statekeeper"
    note = "compile_chart() once; Machine(compiled) per instance; m.send(event)"

    #: Compound/parallel ids of every shape; no shape reuses one of them as a leaf name.
    _composites = frozenset().union(*(shape.composites for shape in SHAPES.values()))

    def version(self) -> str:
        """Return the distribution's version, or the package's when run from a source tree."""
        found = super().version()
        if found == "?":
            import statekeeper

            found = str(getattr(statekeeper, "__version__", "?"))
        return found

    def build(self, shape: str) -> Any:
        from statekeeper import compile_chart

        return compile_chart(_charts()[shape])

    def creator(self, factory: Any) -> Callable[[], Any]:
        from statekeeper import Machine

        return partial(Machine, factory)

    def bind(self, instance: Any) -> Callable[[str], object]:
        send: Callable[[str], object] = instance.send
        return send

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(instance.configuration) - self._composites
