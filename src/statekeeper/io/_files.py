"""Read a chart file, or a file a chart refers to, without hanging or reading too much.

A path may name a device (``/dev/zero`` never ends), a pipe (reading blocks until a writer
comes) or a folder.  The file is opened without blocking, checked to be a regular file on the
open descriptor (so it cannot be swapped between the check and the read), and read only up to
the size limit: a larger file is refused without reading it all.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from statekeeper.core.errors import ChartError, LimitExceeded

__all__ = ["read_limited"]

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_limited(path: Path, max_bytes: int, what: str, *, follow: bool = True) -> bytes:
    """Read the regular file at ``path``, at most ``max_bytes`` of it.

    Args:
        path: the file.
        max_bytes: the size limit (``Limits.max_document_bytes``).
        what: how the error names the file ("chart file 'x.yaml'").
        follow: follow a symbolic link in the last component (``False`` for paths already
            resolved and checked against an allowed folder).

    Raises:
        ChartError: the file cannot be opened or is not a regular file.
        LimitExceeded: the file is larger than ``max_bytes``.

    """
    flags = _FLAGS if follow else _FLAGS | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ChartError(f"cannot read {what}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ChartError(f"cannot read {what}: it is not a regular file (a folder, device "
                             "or pipe); name a file")
        if info.st_size > max_bytes:
            raise LimitExceeded("max_document_bytes", max_bytes, what,
                                f"the file is {info.st_size:,} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise LimitExceeded("max_document_bytes", max_bytes, what, "the file grew while read")
        return b"".join(chunks)
    except OSError as exc:
        raise ChartError(f"cannot read {what}: {exc.strerror}") from None
    finally:
        os.close(fd)
