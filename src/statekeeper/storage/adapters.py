"""What differs between backends in how a row's values are stored: one small adapter each.

Why: the encoder (:mod:`statekeeper.storage._codec`) and the decoders
(:mod:`statekeeper.storage._decode`) are shared by every store, so a row is checked the
same way everywhere.  They work on *neutral* values: a ``json`` column as compact JSON text
(validated, and cached on unchanged snapshots, which is what keeps the hot path cheap), a
``bool`` column as a Python ``bool``.  An adapter says what a backend's driver needs instead,
and what it gives back:

* ``to_driver``: a neutral value of a kind in :attr:`Adapter.converted` as the driver binds it
  (SQLite: a bool as 0/1).  Kinds not listed are bound as they are, at no cost.
* ``json_value`` / ``bool_value``: a stored value as read back (SQLite: JSON text and 0/1;
  PostgreSQL: the value psycopg already parsed from ``jsonb``, and a ``boolean``), refusing
  one that is not what the column holds (a corrupted row).
* ``list_param``: many values bound as one parameter (SQLite: a JSON array for
  ``json_each(?)``; PostgreSQL: a list for ``= ANY(%s)``).
* ``is_collision``: whether a driver error means a row with that key already exists (another
  step got there first: a conflict, not a failure).

The SQLite and memory stores use :data:`SQLITE`, the PostgreSQL store :data:`POSTGRES` (this
module does not import its driver).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ._json import dumps, loads
from .tables import TABLES, Kind, Table

__all__ = ["POSTGRES", "SQLITE", "Adapter", "PostgresAdapter", "SQLiteAdapter", "row_converter"]

Row = tuple[Any, ...]


class Adapter(Protocol):
    """How one backend stores the neutral values of a row (see the module docstring)."""

    #: the backend's name, for messages
    name: str
    #: the kinds whose neutral value the driver cannot bind as it is
    converted: frozenset[Kind]

    def to_driver(self, kind: Kind, value: Any) -> Any:
        """A neutral value of column kind ``kind`` (one in :attr:`converted`) as bound."""

    def json_value(self, stored: Any) -> Any:
        """A ``json`` column's stored value as a Python value.

        Raises:
            ValueError: it is not JSON (the message completes "<column> ...").

        """

    def bool_value(self, stored: Any) -> bool:
        """A ``bool`` column's stored value.

        Raises:
            ValueError: it is not a boolean (the message completes "<column> ...").

        """

    def list_param(self, values: Sequence[Any]) -> Any:
        """Many values (ids, or pairs of ids) bound as one query parameter."""

    def is_collision(self, exc: BaseException) -> bool:
        """Whether ``exc`` says a row with the same key already exists."""


def _refuse_json(stored: Any) -> str:
    return f"is {type(stored).__name__}, not text"


class SQLiteAdapter:
    """SQLite (and the memory store, which keeps SQLite's rows): JSON text, booleans 0/1."""

    name = "SQLite"
    converted: frozenset[Kind] = frozenset({"bool"})
    #: the extended result codes of a key collision (primary key or unique constraint)
    COLLISIONS = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})

    def to_driver(self, kind: Kind, value: Any) -> Any:
        return int(value) if kind == "bool" else value

    def json_value(self, stored: Any) -> Any:
        if type(stored) is not str:
            raise ValueError(_refuse_json(stored))
        try:
            return loads(stored)
        except ValueError as exc:
            raise ValueError(f"is not valid JSON ({exc})") from None

    def bool_value(self, stored: Any) -> bool:
        if type(stored) is not int or stored not in (0, 1):
            raise ValueError(f"is {stored!r}, not one of [0, 1]")
        return stored == 1

    def list_param(self, values: Sequence[Any]) -> Any:
        return dumps([list(v) if isinstance(v, tuple) else v for v in values])

    def is_collision(self, exc: BaseException) -> bool:
        return getattr(exc, "sqlite_errorname", "") in self.COLLISIONS


_JSON_LEAVES = (str, int, float, bool, type(None), dict, list)


class PostgresAdapter:
    """PostgreSQL through psycopg 3: ``jsonb`` columns, ``boolean``, arrays for lists.

    JSON text is bound as it is: psycopg sends a ``str`` untyped, and the server casts it to
    the column's ``jsonb``; so the encoder's cached text serves here too.  psycopg parses
    ``jsonb`` on reading, so a stored value arrives as a Python value already.
    """

    name = "PostgreSQL"
    converted: frozenset[Kind] = frozenset()
    #: SQLSTATE ``unique_violation`` (psycopg's ``errors.UniqueViolation``)
    UNIQUE_VIOLATION = "23505"

    def to_driver(self, kind: Kind, value: Any) -> Any:
        return value

    def json_value(self, stored: Any) -> Any:
        if not isinstance(stored, _JSON_LEAVES):
            raise ValueError(f"is {type(stored).__name__}, not JSON")
        return stored

    def bool_value(self, stored: Any) -> bool:
        if type(stored) is not bool:
            raise ValueError(f"is {stored!r}, not a boolean")
        return stored

    def list_param(self, values: Sequence[Any]) -> Any:
        return [list(v) if isinstance(v, tuple) else v for v in values]

    def is_collision(self, exc: BaseException) -> bool:
        return getattr(exc, "sqlstate", None) == self.UNIQUE_VIOLATION


SQLITE: Adapter = SQLiteAdapter()
POSTGRES: Adapter = PostgresAdapter()


def row_converter(adapter: Adapter, table: Table | str) -> Callable[[Row], Row] | None:
    """Turn a neutral row as encoded for an insert (``table.written``) into driver values.

    ``None`` when the adapter binds every column of the table as it is (SQLite's instance
    and transition rows, so the hot path pays nothing).
    """
    table = TABLES[table] if isinstance(table, str) else table
    kinds = {c.name: c.kind for c in (*table.columns, *table.write_only)}
    converted = [(i, kinds[name]) for i, name in enumerate(table.written)
                 if kinds[name] in adapter.converted]
    if not converted:
        return None
    to_driver = adapter.to_driver

    def convert(row: Row) -> Row:
        values = list(row)
        for i, kind in converted:
            values[i] = to_driver(kind, values[i])
        return tuple(values)

    return convert
