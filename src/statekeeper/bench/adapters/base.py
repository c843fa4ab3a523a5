"""The adapter contract: what the benchmark needs from each state machine library.

The benchmark never touches a library directly; it goes through one adapter per library, so
every library is timed by the same harness and differs only in the few lines that use its own,
idiomatic API.  The hooks are chosen so each library can be driven as fast as it allows:
``creator`` returns a ready-to-call zero-argument constructor and ``bind`` returns a
one-argument send, so timing loops are ``send = bind(m); for e in stream: send(e)`` for
everyone (``run`` may be overridden where a library's fastest loop looks different).
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ..data_shapes import DATA_SHAPE_NAMES, Payload, Send
from ..shapes import SHAPE_NAMES

__all__ = ["Adapter"]


class Adapter(ABC):
    """One library under test.

    Subclasses set ``name`` (the PyPI distribution name, used as the column and JSON key) and
    ``shapes`` (the shapes the library can express; the rest are reported as "n/a", with the
    reason given in ``cannot``).  Static shapes are driven by event name (:meth:`bind`);
    data-driven shapes (:mod:`..data_shapes`) by name and payload (:meth:`bind_data`), and
    their final data is read back with :meth:`data`.
    """

    name: ClassVar[str]
    shapes: ClassVar[tuple[str, ...]] = (*DATA_SHAPE_NAMES, *SHAPE_NAMES)
    #: shape -> why this library cannot express it (shown beside "n/a").
    cannot: ClassVar[dict[str, str]] = {}
    #: A short remark on how the library is driven, printed under the table.
    note: ClassVar[str] = ""

    def version(self) -> str:
        """Return the installed version of the library (for the report header)."""
        try:
            return importlib.metadata.version(self.name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    @abstractmethod
    def build(self, shape: str) -> Any:
        """Define the machine for ``shape`` once (a class, a compiled chart, ...): the factory."""

    @abstractmethod
    def creator(self, factory: Any) -> Callable[[], Any]:
        """Return a zero-argument callable making new instances in their initial configuration."""

    def new_instance(self, factory: Any) -> Any:
        """Create a new instance of the machine built by :meth:`build`."""
        return self.creator(factory)()

    @abstractmethod
    def bind(self, instance: Any) -> Callable[[str], object]:
        """Return the fastest normal way to send one event by name to ``instance``, pre-bound."""

    def send(self, instance: Any, event: str) -> None:
        """Send one event (convenience; timing loops use :meth:`run`)."""
        self.bind(instance)(event)

    def run(self, instance: Any, events: Sequence[str]) -> None:
        """Send every event of ``events`` in order: the timed loop."""
        send = self.bind(instance)
        for event in events:
            send(event)

    def bind_data(self, instance: Any) -> Callable[[str, Payload], object]:
        """Return the normal way to send one event with its payload to ``instance``, pre-bound."""
        raise NotImplementedError(f"{self.name} has no data-driven shapes")

    def run_data(self, instance: Any, stream: Sequence[Send]) -> None:
        """Send every event of a data-driven ``stream`` with its payload: the timed loop."""
        send = self.bind_data(instance)
        for event, payload in stream:
            send(event, payload)

    def data(self, instance: Any, keys: Sequence[str]) -> dict[str, int]:
        """Return the instance's data items named ``keys`` (for the check against the model)."""
        raise NotImplementedError(f"{self.name} has no data-driven shapes")

    @abstractmethod
    def leaves(self, instance: Any) -> frozenset[str]:
        """Return the active leaf states under their plain names (``"a"``, ``"x2"``)."""

    def release(self, factory: Any, instances: Sequence[Any]) -> None:
        """Undo any registration ``instances`` left on ``factory`` (no-op for most libraries)."""
        return None
