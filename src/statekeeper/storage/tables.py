"""One description per table: its name, its columns in order, and each column's kind.

Why: the rows of every store have the same shape (the memory store keeps the SQL stores'
rows), and several modules build or read them: the encoder, the decoders, the memory store,
the batched SQL writer, the integrity checks, the set-aside of malformed rows.  They used to
know the column order by heart (``row[7]``, ``instance[2:6]``); now each takes the positions,
names and kinds from the one description here, so adding or moving a column is a change in
one place that the tests compare against the schema and the queries of every SQL backend.

A row, as read, holds :attr:`Table.columns` in order.  A row as an encoder builds it for an
insert holds :attr:`Table.written` in order: the same columns without the one the store
assigns (``id``, always the first column when there is one), then the columns that are
stored but never read (the timers' firing order).  Kinds are backend-neutral: a ``json``
column is JSON text in SQLite and may be ``jsonb`` elsewhere, a ``bool`` column 0/1 or
``boolean``; what a kind becomes in one backend is that backend's adapter's business
(:mod:`statekeeper.storage.adapters`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEAD_LETTERS",
    "EFFECT_STATUSES",
    "INSTANCES",
    "INSTANCE_STATUSES",
    "LETTER_KINDS",
    "MAILBOX",
    "MAILBOX_FINGERPRINT",
    "OUTBOX",
    "OUTCOMES",
    "POLICIES",
    "POLICY_STATE",
    "SHADOW_LOG",
    "TABLES",
    "TIMERS",
    "TRANSITIONS",
    "Column",
    "Kind",
    "Shape",
    "Table",
]

#: what a column holds, whatever the backend stores it as
Kind = Literal["text", "int", "real", "bool", "json"]
#: what a ``json`` column's value must be: any JSON value, an object, a list, a list of
#: strings, a list of state ids (read as a tuple), or an object mapping strings to strings
Shape = Literal["any", "object", "list", "strings", "names", "labels"]

INSTANCE_STATUSES = frozenset({"active", "done"})
#: ``denied``: a caller's event refused by authorization (:mod:`statekeeper.runtime.authz`)
OUTCOMES = frozenset({"applied", "ignored", "rejected", "migrated", "denied"})
EFFECT_STATUSES = frozenset({"pending", "running", "done", "failed", "dead"})
POLICIES = frozenset({"default", "fire_late", "skip"})
LETTER_KINDS = frozenset({"effect", "event", "row"})
#: the key of a mailbox row's ``result`` object that holds its request's fingerprint
MAILBOX_FINGERPRINT = "request_fingerprint"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, its kind, whether it may be NULL, and what it may hold."""

    name: str
    kind: Kind
    nullable: bool = False
    #: for a ``json`` column: what its value must be
    shape: Shape = "any"
    #: for a ``text`` column: the only values it may hold (``None``: any text)
    choices: frozenset[str] | None = None


@dataclass(frozen=True)
class Table:
    """A table: its columns in the order rows are read, and what names and owns a row.

    Raises:
        ValueError: a column named twice, a key or owner that is not a column, or a
            store-assigned column that is not the first.

    """

    name: str
    columns: tuple[Column, ...]
    #: the columns that name one row in the table (its primary key)
    key: tuple[str, ...]
    #: the columns that name a row in an error message (what a user recognises it by)
    named_by: tuple[str, ...]
    #: the column the store assigns on insert (an ``id``), never written by an encoder
    generated: str | None = None
    #: the column holding the id of the instance a row belongs to (``None``: not owned)
    owner: str | None = None
    #: columns stored but never read back (they only order rows in a query)
    write_only: tuple[Column, ...] = ()
    #: columns the database keeps itself (the update statements set them from the row they
    #: replace), never read into a record nor built by an encoder
    kept: tuple[Column, ...] = ()
    _at: dict[str, int] = field(init=False, repr=False, compare=False)
    #: ``build(**columns)``: a row as an encoder writes it (:attr:`written`), by column name
    build: Callable[..., tuple[Any, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in (*self.columns, *self.write_only, *self.kept)]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r} names a column twice: {names}")
        at = {c.name: i for i, c in enumerate(self.columns)}
        for name in (*self.key, *self.named_by, self.owner, self.generated):
            if name is not None and name not in at:
                raise ValueError(f"table {self.name!r} has no column {name!r}")
        if self.generated is not None and at[self.generated] != 0:
            raise ValueError(f"table {self.name!r}: the store-assigned column comes first")
        object.__setattr__(self, "_at", at)
        object.__setattr__(self, "build", _builder(self.name, self.written))

    @property
    def names(self) -> tuple[str, ...]:
        """The column names of a row as read, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def width(self) -> int:
        """How many columns a row as read holds."""
        return len(self.columns)

    @property
    def written(self) -> tuple[str, ...]:
        """The column names of a row as an encoder builds it for an insert, in order."""
        return tuple(c.name for c in (*self.columns, *self.write_only)
                     if c.name != self.generated)

    def at(self, name: str) -> int:
        """The position of column ``name`` in a row as read.

        Raises:
            KeyError: the table has no such column (a bug in the caller, found at import).

        """
        return self._at[name]

    def positions(self, *names: str) -> tuple[int, ...]:
        """The positions of several columns in a row as read, in the order named."""
        return tuple(self._at[n] for n in names)

    def written_at(self, name: str) -> int:
        """The position of column ``name`` in a row as an encoder builds it."""
        return self.written.index(name)

    def column(self, name: str) -> Column:
        """The description of column ``name``."""
        return self.columns[self._at[name]]


def _builder(table: str, names: tuple[str, ...]) -> Callable[..., tuple[Any, ...]]:
    """``row(*, name=value, ...)``: every column by name, a missing or unknown one refused.

    A generated function (not ``tuple(kw[n] for n in names)``): a keyword call costs about
    as much as building the tuple, and a misspelt column fails at once with a TypeError.
    """
    if not all(n.isidentifier() for n in names):  # pragma: no cover - the names above are
        raise ValueError(f"table {table!r}: a column name is not an identifier")
    source = f"def row(*, {', '.join(names)}):\n    return ({', '.join(names)},)"
    scope: dict[str, Any] = {}
    exec(source, scope)  # noqa: S102 - the names are this module's own column names
    build: Callable[..., tuple[Any, ...]] = scope["row"]
    build.__qualname__ = build.__name__ = f"{table}_row"
    build.__doc__ = f"A row of {table} as written: {', '.join(names)}."
    return build


def _text(name: str, *, nullable: bool = False,
          choices: frozenset[str] | None = None) -> Column:
    return Column(name, "text", nullable, choices=choices)


def _json(name: str, shape: Shape = "any") -> Column:
    return Column(name, "json", shape=shape)


INSTANCES = Table(
    "instances",
    (_text("id"), _text("chart"), _text("version"), _text("hash"),
     _json("snapshot", "object"), _json("configuration", "names"),
     _text("status", choices=INSTANCE_STATUSES), Column("rev", "int"),
     _json("labels", "labels"), Column("created_at", "real"), Column("updated_at", "real")),
    key=("id",), named_by=("id",),
    # when the instance entered its configuration (NULL: at created_at): for stuck instances
    kept=(Column("entered_at", "real", nullable=True),))

TRANSITIONS = Table(
    "transitions",
    (Column("id", "int"), _text("instance"), Column("seq", "int"), _text("event"),
     _json("source", "names"), _json("target", "names"), _text("chart_version"),
     _text("outcome", choices=OUTCOMES), Column("at", "real"), _json("data"),
     _text("actor", nullable=True), _text("trace_id", nullable=True),
     _text("reason", nullable=True), _text("idempotency_key", nullable=True),
     _json("microsteps", "list")),
    key=("id",), named_by=("id", "instance", "seq"), generated="id", owner="instance")

MAILBOX = Table(
    "mailbox",
    (_text("instance"), _text("key"), _text("event"), _json("result", "object"),
     Column("at", "real")),
    key=("instance", "key"), named_by=("instance", "key"), owner="instance")

OUTBOX = Table(
    "outbox",
    (Column("id", "int"), _text("key"), _text("instance"), _text("name"), _json("args"),
     _text("status", choices=EFFECT_STATUSES), Column("attempts", "int"),
     Column("available_at", "real"), _text("lease_owner", nullable=True),
     Column("lease_until", "real", nullable=True), Column("at_most_once", "bool"),
     _text("last_error", nullable=True), _json("errors", "strings"),
     Column("created_at", "real"), _text("traceparent", nullable=True)),
    key=("id",), named_by=("key",), generated="id", owner="instance")

TIMERS = Table(
    "timers",
    (_text("instance"), _text("timer_id"), Column("due", "real"), _json("event", "object"),
     _text("target", nullable=True), _text("policy", choices=POLICIES),
     _text("traceparent", nullable=True)),
    key=("instance", "timer_id"), named_by=("instance", "timer_id"), owner="instance",
    # the commit that set a timer and its place in that commit: timers due together fire
    # in the order they were set
    write_only=(Column("set_rev", "int"), Column("position", "int")))

DEAD_LETTERS = Table(
    "dead_letters",
    (Column("id", "int"), _text("kind", choices=LETTER_KINDS), _text("instance"),
     _text("key"), _json("payload", "object"), _json("errors", "strings"),
     Column("at", "real")),
    key=("id",), named_by=("id",), generated="id")

POLICY_STATE = Table(
    "policy_state",
    (_text("key"), _json("value", "object"), Column("version", "int"),
     Column("updated_at", "real")),
    key=("key",), named_by=("key",))

SHADOW_LOG = Table(
    "shadow_log",
    (Column("id", "int"), _text("chart"), _text("from_version"), _text("to_version"),
     _text("instance"), _text("state"), _text("event"), _json("kinds", "strings"),
     _json("expected", "names"), _json("got", "names"), Column("at", "real")),
    # not owned: a diagnostic about an instance, kept whatever becomes of it
    key=("id",), named_by=("id", "chart"), generated="id")

#: every table, by name, in the order an integrity check reads them
TABLES: Mapping[str, Table] = {t.name: t for t in (
    INSTANCES, TRANSITIONS, MAILBOX, OUTBOX, TIMERS, DEAD_LETTERS, POLICY_STATE, SHADOW_LOG)}

