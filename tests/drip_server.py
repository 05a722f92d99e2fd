"""A loopback HTTP server that never finishes its answer: the status line, then one byte of a header every short
while, so that no socket read ever runs into requests' timeout (a push endpoint or a provider that holds a worker).

It drips until :meth:`DripServer.stop` (or, so that a worker it does hold fails its test instead of hanging it,
until ``give_up_after`` seconds). ``hung_up`` is set when a client shut its connection down."""

from __future__ import annotations

import socket
import threading


class DripServer:
    def __init__(self, interval: float = 0.05, give_up_after: float = 20) -> None:
        self.interval = interval
        self.give_up_after = give_up_after
        self.released = threading.Event()
        self.answering = threading.Event()  #: a request came and its answer began
        self.hung_up = threading.Event()  #: the client closed a connection while we were still dripping
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> DripServer:
        accepting = threading.Thread(target=self._accept, daemon=True)
        accepting.start()
        self._threads.append(accepting)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.released.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            serving = threading.Thread(target=self._drip, args=(connection,), daemon=True)
            serving.start()
            self._threads.append(serving)

    def _drip(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            try:
                connection.sendall(b"HTTP/1.1 201 Created\r\nX-Drip: ")
                self.answering.set()
                waited = 0.0
                while not self.released.wait(self.interval) and waited < self.give_up_after:
                    waited += self.interval
                    connection.sendall(b"a")
            except OSError:
                self.hung_up.set()
                return
            try:  # released: a client still reading sees the connection end
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
