"""Bounds on what input may cost: document size, nesting, states, aliases, payloads.

Untrusted input (a chart uploaded by a user, an event payload from the network) must not be
able to exhaust memory or CPU, or to overflow Python's recursion limit deep inside the library.
Every reader and every entry point that takes a payload checks these bounds *before* doing the
work, and raises ``LimitExceeded`` naming the limit and how to raise it.  The defaults are
generous for hand-written charts; a caller that trusts its input passes its own ``Limits``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on input; every field is checked before the work it bounds is done.

    Attributes:
        max_document_bytes: size of a chart document (SCXML, JSON, YAML) in bytes.
        max_depth: nesting depth of a document, a chart's states, a payload or data value.
        max_states: number of states in one chart.
        max_transitions: number of transitions in one chart.
        max_yaml_aliases: number of alias references a YAML document may use.
        max_payload_bytes: size of one event payload or data value, encoded as JSON.
        max_name_length: characters in one name a caller gives a client: an instance id, an
            event name, an idempotency key, an actor, a trace id, a label key or value.

    """

    max_document_bytes: int = 4_000_000
    max_depth: int = 100
    max_states: int = 20_000
    max_transitions: int = 100_000
    max_yaml_aliases: int = 1_000
    max_payload_bytes: int = 4_000_000
    max_name_length: int = 1_000

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TypeError(f"Limits.{name} must be a positive int, got {value!r}")


DEFAULT_LIMITS = Limits()
