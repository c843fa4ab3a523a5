"""Retention of the transition log: old rows written to a JSON Lines archive, then deleted.

Why this order, and why it refuses: the log is the audit trail, so no row may be deleted that
is not safely somewhere else first.  The rows are read a page at a time and appended to the
archive, the archive is flushed and ``fsync``-ed (and its folder too, when the file is new),
and only then are exactly those rows deleted, in one transaction.  If the archive cannot be
opened or written (a missing folder, a full disk, no permission), :class:`ArchiveError` is
raised, whatever was appended is cut off again, and nothing is deleted.  If the deletion
fails, the rows are both archived and still in the store: running the prune again archives
them a second time (an archive may hold a row twice; its ``id`` and ``instance``/``seq`` say
so) and deletes them.

Each instance keeps its latest row whatever its age (:mod:`statekeeper.storage.audit` says
why), so ``statekeeper history`` always shows at least where an instance is and since when;
and only the beginning of a log is deleted, never a row between two that stay (see
:func:`_doomed`).  The rows to delete are found in a first read, then read again to be
archived: the old part of the log is read twice.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..core.errors import StatekeeperError
from ..storage.audit import AuditCursor, transition_dict
from ..storage.base import Store
from ..storage.records import TransitionRecord

__all__ = ["ArchiveError", "PruneReport", "prune_log"]

_PAGE = 1000


class ArchiveError(StatekeeperError, OSError):
    """The archive of a prune could not be written: nothing was deleted from the store."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"archive {path!r} cannot be written ({reason}); nothing was deleted. "
                         "Name a file in a folder that exists and is writable, on a disk "
                         "with room for it")

    def __str__(self) -> str:
        return self.args[0] if self.args else self.reason


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What a prune did: how many rows it archived and deleted, before which time, where."""

    before: float
    archived: int
    deleted: int
    archive: str


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def prune_log(store: Store, before: float, archive: str | os.PathLike[str]) -> PruneReport:
    """Archive every transition row older than ``before`` to ``archive``, then delete them.

    ``archive`` is appended to (created if missing), one JSON object per line, each with
    every column of the row.  See the module docstring for the order of the steps and what
    happens when one fails.

    Raises:
        ArchiveError: the archive could not be written; nothing was deleted.
        StoreError: the store could not be read or written (nothing deleted, or nothing
            more than what was archived).

    """
    path = Path(archive)
    shown = os.fspath(path)
    created = not path.exists()
    try:
        out = path.open("a", encoding="utf-8")
    except OSError as exc:
        raise ArchiveError(shown, _reason(exc)) from None
    start = out.tell()
    try:
        keys = _write(store, before, out)
        if created:
            _sync_folder(path.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # what is left in the buffer may not go anywhere
            out.close()
        _cut(path, start, created)
        if isinstance(exc, OSError):
            raise ArchiveError(shown, _reason(exc)) from None
        raise
    try:
        out.close()
    except OSError as exc:  # pragma: no cover - _write flushed and synced it already
        raise ArchiveError(shown, _reason(exc)) from None
    deleted = store.prune(keys) if keys else 0
    return PruneReport(before=before, archived=len(keys), deleted=deleted, archive=shown)


def _pages(store: Store, before: float) -> Iterator[list[TransitionRecord]]:
    after: AuditCursor | None = None
    while page := store.prunable(before, limit=_PAGE, after=after):
        yield page
        last = page[-1]
        after = (last.at, last.id or 0)


def _doomed(store: Store, before: float) -> set[tuple[str, int]]:
    """The rows to delete: of each log, the old rows from its first on, up to one that is not.

    Only a log's beginning goes, never a row between two kept ones: a step committed by a
    process whose clock is behind may be older by time than the one before it, and deleting
    it alone would leave a gap in the log (which ``statekeeper check`` reports).
    """
    seqs: dict[str, list[int]] = {}
    for page in _pages(store, before):
        for row in page:
            seqs.setdefault(row.instance, []).append(row.seq)
    doomed: set[tuple[str, int]] = set()
    for instance, found in seqs.items():
        first = store.history(instance, limit=1)
        expected = first[0].seq if first else -1
        for seq in sorted(found):
            if seq != expected:
                break
            doomed.add((instance, seq))
            expected += 1
    return doomed


def _write(store: Store, before: float, out: TextIO) -> list[tuple[str, int]]:
    """Append the rows to prune to ``out``, flush and ``fsync`` it; the keys of those rows."""
    doomed = _doomed(store, before)
    keys: list[tuple[str, int]] = []
    for page in _pages(store, before) if doomed else ():
        rows = [row for row in page if (row.instance, row.seq) in doomed]
        out.writelines(json.dumps(transition_dict(row), ensure_ascii=False) + "\n"
                       for row in rows)
        keys += [(row.instance, row.seq) for row in rows]
    out.flush()
    os.fsync(out.fileno())
    return keys


def _cut(path: Path, size: int, created: bool) -> None:
    """Take back what a failed prune appended (best effort: the disk may be failing)."""
    with contextlib.suppress(OSError):
        if created and size == 0 and path.is_file():
            path.unlink()
        else:
            os.truncate(path, size)


def _sync_folder(folder: Path) -> None:
    """Make a new file's name durable: ``fsync`` its folder (where the OS allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
