"""A connection lost during COMMIT: the engine finds out whether the step landed.

Found by the PostgreSQL fault test's analysis: when the connection dies while the server
commits, the client cannot know whether the transaction committed.  Reporting "did not
commit" (and so inviting a retry) applies a step without an idempotency key twice if it did.
The engine now reads each step's log row back: a step that landed is answered as committed,
one that did not is planned again, and when the store cannot be read either the caller gets
:class:`~statekeeper.storage.CommitUncertain`, which says how to find out.

The fault is real: a TCP proxy between the client and the test's PostgreSQL server forwards
everything, and cuts the connection at the next ``COMMIT``, either before the server sees it
or after the server answered it (the answer swallowed).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from statekeeper import Assign, Chart, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.storage import CommitUncertain, StoreUnavailable

pytestmark = pytest.mark.postgres

COUNTER = Chart("counter", version=1, initial="counting", data={"n": 0}, states={
    "counting": State(on={"tick": Transition(actions=[Assign("n", "inc")])}),
})


class CuttingProxy:
    """Forwards TCP connections to the server; cuts one at its next COMMIT when armed.

    ``arm("before")`` drops the connection instead of passing the COMMIT on: the server
    rolls back.  ``arm("after")`` passes it on, waits for the server's answer and drops the
    connection instead of passing the answer back: the transaction committed, and the client
    cannot know.  ``refuse`` makes new connections fail at once (the server looks down).
    """

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed: str | None = None
        self.refuse = False
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, name="proxy-accept")]
        self._threads[0].start()

    def arm(self, mode: str) -> None:
        self.cut.clear()
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
                if mode is not None and b"COMMIT" in data:
                    self.armed = None
                    if mode == "before":
                        self._close(client, server)
                        self.cut.set()
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
                        self._close(client, server)
                        self.cut.set()
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

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
        self.listener.close()
        with self._lock:
            self._close(*self._sockets)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[CuttingProxy]:
    parts = urlsplit(postgres_server)
    made = CuttingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def client(proxy: CuttingProxy, postgres_server: str, pg_schema: str) -> Iterator[Client]:
    parts = urlsplit(postgres_server)
    netloc = f"{parts.username + '@' if parts.username else ''}127.0.0.1:{proxy.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path,
                      f"schema={pg_schema}&sslmode=disable&pool_max=2&connect_timeout=2&pool_timeout=2", ""))
    with Client(url, clock=VirtualClock(1000.0), worker=False) as made:
        made.register(COUNTER, functions={"inc": lambda data, event: data["n"] + 1})
        made.start("counter", "c-1")
        yield made


def ticks(client: Client) -> int:
    return [row.event for row in client.history("c-1")].count("tick")


def test_a_step_whose_commit_answer_was_lost_is_answered_not_applied_again(
        client: Client, proxy: CuttingProxy) -> None:
    proxy.arm("after")
    state = client.send("c-1", "tick")  # no idempotency key: a blind retry would apply it twice
    assert proxy.cut.is_set()
    assert state.data["n"] == 1 and state.outcome == "applied"
    assert ticks(client) == 1 and client.get("c-1").data["n"] == 1
    assert client.send("c-1", "tick").data["n"] == 2  # the engine goes on as usual


def test_a_step_cut_before_its_commit_reached_the_server_is_written_once(
        client: Client, proxy: CuttingProxy) -> None:
    proxy.arm("before")
    state = client.send("c-1", "tick")
    assert proxy.cut.is_set()
    assert state.data["n"] == 1
    assert ticks(client) == 1 and client.get("c-1").data["n"] == 1


def test_when_the_store_cannot_tell_the_caller_hears_commit_uncertain(
        client: Client, proxy: CuttingProxy) -> None:
    proxy.arm("after")
    proxy.refuse = True  # the server looks down: the engine cannot read the log back
    with pytest.raises(CommitUncertain) as caught:
        client.send("c-1", "tick")
    assert isinstance(caught.value, StoreUnavailable)  # code that retries on it still works
    assert "may have committed" in str(caught.value)
    assert "idempotency" in str(caught.value) and "history" in str(caught.value)
    proxy.refuse = False
    assert ticks(client) == 1  # it had landed
