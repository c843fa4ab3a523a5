"""What the commands share: the user-facing error, and loading a chart file with clear errors."""

from __future__ import annotations

import argparse
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from statekeeper.core.compile import CompiledChart, compile_chart
from statekeeper.core.errors import ChartError
from statekeeper.core.model import Chart
from statekeeper.io.dictform import CHART_SUFFIXES, YamlNotInstalled, load_chart
from statekeeper.io.names import referenced_names

if TYPE_CHECKING:
    from statekeeper.storage.base import Store

__all__ = [
    "CommandError",
    "Subparsers",
    "UsageError",
    "add_chart_arguments",
    "add_db_argument",
    "add_trust_arguments",
    "compile_file_chart",
    "database_path",
    "int_argument",
    "load",
    "print_rows",
    "read_store",
    "regular_file",
    "text_argument",
]

_R = TypeVar("_R")

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A failure the user can fix; ``main`` prints it without a traceback and exits with 1."""

    exit_status = 1


class UsageError(CommandError):
    """An argument that cannot be right whatever the file holds: exit status 2.

    A pipe or a device where a chart file is expected, an output that is the input; 2 is
    argparse's status for usage errors.
    """

    exit_status = 2


def text_argument(value: str) -> str:
    """An argparse ``type`` for ids and names: text that can be stored.

    Command-line bytes that are not UTF-8 arrive as lone surrogates, which no store can hold
    (SQLite would fail deep inside with a ``UnicodeEncodeError``).
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(
            f"{value.encode('utf-8', 'surrogateescape')!r} is not UTF-8 text") from None
    return value


def int_argument(value: str) -> int:
    """An argparse ``type`` for row numbers: an int SQLite can hold (64 bits, signed)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {value!r}") from None
    if not -(2 ** 63) <= number < 2 ** 63:
        raise argparse.ArgumentTypeError(f"{value} is out of range (a 64-bit integer)")
    return number


def regular_file(path: str, role: str) -> os.stat_result | None:
    """Refuse a path that exists and is not a regular file; its ``stat`` (``None``: missing).

    Only ``stat`` is used, never ``open``: opening a FIFO with no writer waits forever, and
    reading a device (``/dev/zero``) never ends.  A symlink is followed.
    """
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(found.st_mode):
        kind = ("a directory" if stat.S_ISDIR(found.st_mode) else
                "a pipe (FIFO)" if stat.S_ISFIFO(found.st_mode) else
                "a device" if stat.S_ISCHR(found.st_mode) or stat.S_ISBLK(found.st_mode) else
                "a socket" if stat.S_ISSOCK(found.st_mode) else "a special file")
        raise UsageError(f"{path}: is {kind}, not a regular file; the {role} must be a "
                         f"file (to use text from a pipe, save it to a file first)")
    return found


def add_chart_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``FILE``, ``--trusted`` and ``--base-dir`` arguments of chart commands."""
    parser.add_argument("file", metavar="FILE",
                        help=f"a chart file ({', '.join(CHART_SUFFIXES)})")
    add_trust_arguments(parser)


def add_trust_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--trusted`` and ``--base-dir``: what an SCXML chart file may run and read."""
    parser.add_argument(
        "--trusted", action="store_true",
        help="keep the Python expressions and scripts of an SCXML document with the python "
             "datamodel; they run when the chart runs, so only for documents you trust",
    )
    parser.add_argument(
        "--base-dir", metavar="DIR", default=None,
        help="the folder an SCXML document's <data src> files are read from (relative "
             "paths inside it only, unless --trusted); without it a document reads no file",
    )


def load(path: str, *, trusted: bool, base_dir: str | None = None) -> Chart:
    """Read the chart in ``path``, turning every expected failure into a :class:`CommandError`.

    ``base_dir`` is the folder the document may read ``src`` files from (``--base-dir``).
    """
    file = Path(path)
    if regular_file(path, "chart") is None:
        raise CommandError(f"{path}: no such file")
    if base_dir is not None and not Path(base_dir).is_dir():
        what = "does not exist" if not Path(base_dir).exists() else "is not a folder"
        raise UsageError(f"--base-dir {base_dir}: {what}; name the folder the document's "
                         "src files are in")
    try:
        return load_chart(file, trusted=trusted, base_dir=base_dir)
    except YamlNotInstalled as exc:
        raise CommandError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                           f"offset {exc.start}); save the chart as UTF-8") from None
    except ChartError as exc:
        raise CommandError(f"{path}: {exc}{trust_hint(exc, trusted)}") from None


def compile_file_chart(chart: Chart, *, trusted: bool) -> CompiledChart:
    """Compile a chart read from a file, a placeholder bound to every guard and function.

    The code behind a chart's names lives in the application, not in the file, so the
    commands that only look at a chart (``validate``, ``check``) bind placeholders that are
    never called: nothing runs.  The structure hash does not depend on what is bound.
    """
    names = referenced_names(chart)
    return compile_chart(chart, guards=_placeholders(names.guards, "guard"),
                         functions=_placeholders(names.functions, "function"),
                         trusted=trusted, checks="warn")


def _placeholders(names: Iterable[str], kind: str) -> dict[str, Callable[..., Any]]:
    def placeholder(*args: Any) -> Any:
        raise RuntimeError(f"a {kind} placeholder of the statekeeper command line was called")

    return dict.fromkeys(names, placeholder)


def trust_hint(exc: Exception, trusted: bool) -> str:
    """A hint at the command line's own options when the error names the library's.

    The library says ``trusted=True`` and ``base_dir=``; here they are ``--trusted`` and
    ``--base-dir``.
    """
    text = str(exc)
    if "base_dir=" in text and "reads no files" in text:
        return ("\n  (pass --base-dir DIR to let the document read files inside DIR, or "
                "write the value inline)")
    if not trusted and "trusted=True" in text:
        return "\n  (pass --trusted if you wrote this document or trust it)"
    return ""


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """Add the ``--db`` argument of commands that work on a store."""
    parser.add_argument("--db", required=True, metavar="STORE",
                        help="the store: a SQLite file or sqlite:///path (a store URL)")


def database_path(db: str) -> str:
    """The store ``--db`` names, as a URL, once it is known to be an existing statekeeper store.

    The storage layer decides (:func:`statekeeper.storage.urls.existing_store_url`, by the
    URL's scheme), so a mistyped path is not created, another program's database is not
    touched, and the command line accepts the URLs a client does.
    """
    from statekeeper.storage.base import StoreError
    from statekeeper.storage.urls import existing_store_url

    try:
        return existing_store_url(db)
    except StoreError as exc:
        raise CommandError(str(exc)) from None


@contextmanager
def read_store(db: str) -> Iterator[Store]:
    """The store ``--db`` names, opened without a client (no engine, worker or migration)."""
    from statekeeper.storage.urls import open_store

    store = open_store(database_path(db))
    try:
        yield store
    finally:
        store.close()


def print_rows(rows: Sequence[_R], *, as_json: bool, line: Callable[[_R], str],
               fields: Callable[[_R], dict[str, Any]], noun: str) -> None:
    """One line per row, or one JSON object per row; a count after the lines."""
    for row in rows:
        print(json.dumps(fields(row)) if as_json else line(row))
    if not as_json:
        print(f"{len(rows)} {noun}(s)")
