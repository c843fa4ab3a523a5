"""The policy's parts: the principal, its rules (:class:`Allow`, :class:`Policy`), the errors.

Apart from :mod:`.` (the package's ``__init__``, which re-exports every public name) so that
what a policy *is* sits apart from how it is checked (:mod:`._checks`) and held against a
chart's versions (:mod:`._versions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ...core.errors import StatekeeperError
from ..state import InstanceState

__all__ = ["HIDDEN", "START", "Allow", "Guard", "InvalidPolicy", "InvalidPrincipal",
           "NotAuthorized", "Policy", "Principal"]

#: the event name a refused ``start`` is logged and raised under (``NotAuthorized.event``)
START = "statekeeper.start"

#: the state a principal without reading rights sees in place of a sensitive one
HIDDEN = "hidden"


class NotAuthorized(StatekeeperError, PermissionError):
    """The caller may not deliver this event (or enter the state it leads to, or start).

    Nothing of the event was applied; the refusal of an event is in the transition log with
    outcome ``denied`` and the principal's id as actor.  A refused start (``event`` is
    :data:`START`) created nothing, so it has no log of its own to be in: it is in the
    ``statekeeper.authz`` log records only.
    """

    def __init__(self, instance: str, event: str, principal: str | None, reason: str) -> None:
        self.instance = instance
        self.event = event
        self.principal = principal
        self.reason = reason
        who = "an anonymous caller" if principal is None else f"principal {principal!r}"
        what = "start" if event == START else f"send {event!r} to"
        super().__init__(f"{who} may not {what} instance {instance!r}: {reason}; "
                         f"nothing was applied")


class InvalidPolicy(StatekeeperError, ValueError):
    """A policy that cannot be registered; nothing was registered.

    An event or state the chart does not have, roles that are not a set of names, a guard
    that is not callable.
    """


class InvalidPrincipal(StatekeeperError, TypeError):
    """A principal of the wrong shape: an empty id, roles that are not a set of names."""


def _role_names(value: Any, what: str, error: type[Exception]) -> frozenset[str]:
    """``value`` as a frozenset of non-empty role names, or ``error`` saying why not."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise error(f"{what} takes a set of role names (a frozenset of strings), not "
                    f"{value!r}" + (f"; write {{{value!r}}} for one role"
                                    if isinstance(value, str) else ""))
    names = frozenset(value)
    bad = [r for r in names if type(r) is not str or not r.strip()]
    if bad:
        raise error(f"{what}: a role is a non-empty string, not {bad[0]!r}")
    return names


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sends an event: an id (written to the log as the actor), roles and attributes.

    ``attributes`` are the application's own (a tenant, a region) for guards to read; they
    are copied and read-only.
    """

    id: str
    #: any set of role names; kept as a ``frozenset``
    roles: Set[str] = frozenset()
    attributes: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if type(self.id) is not str or not self.id.strip() or "\x00" in self.id:
            raise InvalidPrincipal(f"Principal id takes a non-empty string, not {self.id!r}")
        object.__setattr__(self, "roles", _role_names(self.roles, "Principal roles=",
                                                      InvalidPrincipal))
        if not isinstance(self.attributes, Mapping):
            raise InvalidPrincipal(f"Principal attributes= takes a mapping, not "
                                   f"{self.attributes!r}")
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    def __hash__(self) -> int:
        return hash((self.id, self.roles))

    def __reduce__(self) -> tuple[type[Principal], tuple[str, Set[str], dict[str, Any]]]:
        # the read-only view of the attributes cannot be pickled: rebuild from a plain copy
        return (Principal, (self.id, self.roles, dict(self.attributes)))


#: ``guard(principal, instance) -> bool``: the instance as committed before the event
Guard = Callable[[Principal, InstanceState], bool]


@dataclass(frozen=True, slots=True)
class Allow:
    """One way to be allowed an event: hold one of ``roles`` and pass ``guard`` (if any).

    ``roles=None`` means any principal (not an anonymous caller); ``guard`` is called with
    the principal and the instance's committed :class:`InstanceState` (its own copy).
    """

    #: any set of role names (kept as a ``frozenset``); ``None``: any principal
    roles: Set[str] | None = None
    guard: Guard | None = None

    def __post_init__(self) -> None:
        if self.roles is not None:
            roles = _role_names(self.roles, "Allow roles=", InvalidPolicy)
            if not roles:
                raise InvalidPolicy("Allow roles= is empty: nobody could pass; leave the "
                                    "event out of the policy to refuse it to everyone")
            object.__setattr__(self, "roles", roles)
        if self.guard is not None and not callable(self.guard):
            raise InvalidPolicy(f"Allow guard= takes a callable guard(principal, instance), "
                                f"not {self.guard!r}")

    def passes(self, principal: Principal, instance: Callable[[], InstanceState]) -> bool:
        """Whether ``principal`` passes this rule (``instance`` is read only if needed)."""
        if self.roles is not None and not (self.roles & principal.roles):
            return False
        return self.guard is None or self.guard(principal, instance()) is True


@dataclass(frozen=True, slots=True)
class Policy:
    """Per event, the ways to be allowed it; per sensitive state, the roles that may enter.

    ``events`` maps an event name to one :class:`Allow` or a sequence of them (any one
    passing allows the event); a set of role names is short for ``Allow(roles=...)``.  An
    event a caller sends that the policy does not name is refused (``unlisted="deny"``, the
    default) or allowed to anyone (``unlisted="allow"``).  A name is looked up as SCXML
    matches descriptors: ``cancel`` also covers ``cancel.order``.

    ``start`` says who may create an instance (``client.start``), in the same forms as an
    event's rules; its guards see the instance as asked for (its id, chart, version, the data
    and labels given; no configuration, ``rev`` 0).  ``None`` (the default) does not check
    starts: creating an instance is often the application's own business (a checkout
    handler), and a policy written before starts were checked keeps its meaning.
    Reads (:mod:`~statekeeper.runtime.privacy`): with ``public`` (the data fields anyone may
    read) or ``read`` (who may read everything: an ``Allow``, a sequence of them or a set of
    roles, as for an event), a principal without reading rights sees only the public fields
    and a neutral state for the sensitive ones.  Neither given: reads are not restricted.
    """

    events: Mapping[str, Any] = field(default_factory=dict)
    states: Mapping[str, Any] = field(default_factory=dict)
    unlisted: Literal["deny", "allow"] = "deny"
    #: who may start an instance: an :class:`Allow`, a sequence of them or a set of role
    #: names (kept as a tuple of :class:`Allow`); ``None``: starts are not checked
    start: Any = None
    #: the data fields a principal without reading rights sees; kept as a ``frozenset``
    public: Set[str] | None = None
    #: who may read all of an instance; kept as a tuple of :class:`Allow`
    read: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.events, Mapping) or not isinstance(self.states, Mapping):
            raise InvalidPolicy("Policy events= and states= take mappings by name")
        rules: dict[str, tuple[Allow, ...]] = {}
        for name, value in self.events.items():
            _check_name(name, "event")
            rules[name] = _rules(name, value)
        states = {}
        for name, roles in self.states.items():
            _check_name(name, "state")
            states[name] = _role_names(roles, f"Policy states[{name!r}]", InvalidPolicy)
            if not states[name]:
                raise InvalidPolicy(f"Policy states[{name!r}] is empty: name the roles that "
                                    f"may enter it")
        if self.unlisted not in ("deny", "allow"):
            raise InvalidPolicy(f"Policy unlisted= takes 'deny' or 'allow', not "
                                f"{self.unlisted!r}")
        object.__setattr__(self, "events", MappingProxyType(rules))
        object.__setattr__(self, "states", MappingProxyType(states))
        if self.start is not None:
            object.__setattr__(self, "start", _rules(None, self.start, "Policy start="))
        if self.public is not None:
            object.__setattr__(self, "public", _field_names(self.public))
        if self.read is not None:
            object.__setattr__(self, "read", _rules("read", self.read, "Policy read="))

    @property
    def restricts_reads(self) -> bool:
        """Whether a principal's reads are filtered (``public`` or ``read`` was given)."""
        return self.public is not None or self.read is not None

    def rules_for(self, event: str) -> tuple[Allow, ...] | None:
        """The rules of ``event`` (the longest descriptor naming it), or ``None``."""
        events = self.events
        name = event
        while True:
            found = events.get(name)
            if found is not None:
                return found  # type: ignore[no-any-return]
            cut = name.rfind(".")
            if cut <= 0:
                return None
            name = name[:cut]


def _check_name(name: Any, what: str) -> None:
    if type(name) is not str or not name:
        raise InvalidPolicy(f"Policy {what} names are non-empty strings, not {name!r}")


def _field_names(value: Any) -> frozenset[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidPolicy(f"Policy public= takes a set of data field names, not {value!r}"
                            + (f"; write {{{value!r}}} for one field"
                               if isinstance(value, str) else ""))
    names = frozenset(value)
    for name in names:
        _check_name(name, "public field")
    return names


def _rules(event: str | None, value: Any, what: str | None = None) -> tuple[Allow, ...]:
    """An event's rules (``event=None``: the start's) in their one form, a tuple of Allow."""
    if isinstance(value, Allow):
        return (value,)
    if isinstance(value, (set, frozenset)):
        return (Allow(roles=frozenset(value)),)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and value \
            and all(isinstance(v, Allow) for v in value):
        return tuple(value)
    where = what or f"Policy events[{event!r}]"
    raise InvalidPolicy(f"{where} takes an Allow, a sequence of them or a set of role names, "
                        f"not {value!r}")
