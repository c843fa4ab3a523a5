"""A TCP proxy between a test and its PostgreSQL server that cuts a connection on cue.

Used by the tests of connections lost at the worst moments (``tests/runtime/
test_commit_lost.py``, ``tests/storage/postgres/test_pg_savepoint_cut.py``): the fault is
real, a socket closed under libpq, not a mock.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

__all__ = ["CuttingProxy", "proxied_url"]


class CuttingProxy:
    """Forwards TCP connections to the server; cuts one at its next COMMIT when armed.

    ``arm("before")`` drops the connection instead of passing the COMMIT on: the server
    rolls back.  ``arm("after")`` passes it on, waits for the server's answer and drops the
    connection instead of passing the answer back: the transaction committed, and the client
    cannot know.  ``arm("before", at=b"ROLLBACK TO")`` cuts at another statement instead.
    ``refuse`` makes new connections fail at once (the server looks down).
    """

    @classmethod
    def to(cls, server: str) -> CuttingProxy:
        """A proxy to the server of the URL ``server`` (close it, or use it in ``with``)."""
        parts = urlsplit(server)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed: str | None = None
        self.at = b"COMMIT"
        self.refuse = False
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, name="proxy-accept")]
        self._threads[0].start()

    def arm(self, mode: str, *, at: bytes = b"COMMIT") -> None:
        self.cut.clear()
        self.at = at
        self.armed = mode

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.refuse:
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            swallow = threading.Event()
            for target, name in ((self._to_server, "proxy-up"), (self._to_client, "proxy-down")):
                thread = threading.Thread(target=target, args=(client, server, swallow),
                                          name=name, daemon=True)
                thread.start()
                self._threads.append(thread)

    def _to_server(self, client: socket.socket, server: socket.socket,
                   swallow: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                mode = self.armed
                if mode is not None and self.at in data:
                    self.armed = None
                    if mode == "before":
                        self.cut.set()  # first: the client may hear of the cut at once
                        self._close(client, server)
                        return
                    swallow.set()
                server.sendall(data)
        self._close(client, server)

    def _to_client(self, client: socket.socket, server: socket.socket,
                   swallow: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                if swallow.is_set():
                    if b"COMMIT\x00" in data:  # CommandComplete: it committed
                        self.cut.set()
                        self._close(client, server)
                        return
                    continue
                client.sendall(data)
        self._close(client, server)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
        self.listener.close()
        with self._lock:
            self._close(*self._sockets)
        for thread in self._threads:
            thread.join(5)


def proxied_url(postgres_server: str, proxy: CuttingProxy, schema: str) -> str:
    """A store URL for ``schema`` that reaches the server through ``proxy`` (small pool)."""
    parts = urlsplit(postgres_server)
    netloc = f"{parts.username + '@' if parts.username else ''}127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path,
                       f"schema={schema}&sslmode=disable&pool_max=2&connect_timeout=2"
                       f"&pool_timeout=2", ""))
