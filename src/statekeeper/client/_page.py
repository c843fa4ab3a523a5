"""A page of ``query`` results, with the rows that could not be read named beside it.

Why a list with an attribute: a page is used as the list it always was (iterate, index,
``page[-1].id`` as the next ``after=``), while a caller who must not miss an instance (a
reconciliation, an export) finds in ``page.corrupted`` every row that was left out, and why.
A warning is also logged (``statekeeper.client``), so a corrupted row is never silent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ..runtime.state import InstanceState
from ..storage.records import CorruptedRow

__all__ = ["QueryPage"]

_log = logging.getLogger("statekeeper.client")


class QueryPage(list[InstanceState]):
    """The instances of one ``query`` page, in id order; ``corrupted`` lists rows left out.

    Pass ``page[-1].id`` as ``after=`` for the next page; an empty page is the end.  Each
    entry of ``corrupted`` names its table, its key (the instance id) and the problem; run
    ``statekeeper check`` on the database to see everything that is wrong with it.
    """

    __slots__ = ("corrupted",)

    def __init__(self, states: Iterable[InstanceState] = (),
                 corrupted: Iterable[CorruptedRow] = ()) -> None:
        super().__init__(states)
        self.corrupted: tuple[CorruptedRow, ...] = tuple(corrupted)
        for row in self.corrupted:
            _log.warning("query left out a corrupted row: %s; run `statekeeper check`",
                         row.problem)
