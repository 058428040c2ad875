"""One HTTP request and its whole answer within a deadline: standard library only.

A socket timeout bounds each read, not the answer: a server that trickles its headers or
its body a byte at a time would keep ``http.client`` reading for ever. Here every read
of the socket is bounded by the time left to the deadline, and none starts past it; the
answer's size is capped while it is read, so a huge body costs at most the cap.

:func:`exchange` returns ``(status, body, Retry-After)`` or raises :class:`Unreachable`
(no connection: refused, reset, closed mid-answer) or :class:`TimedOut` (no whole answer
within the deadline). A 3xx is returned like any status: the caller treats it as an
error, since a redirect to follow is not what a model server answers.
"""

from __future__ import annotations

import functools
import http.client
import io
import select
import socket
import time
from collections.abc import Callable
from typing import Any

#: seconds a connection may take to open: a host that is gone should not cost a whole
#: request timeout before the breaker hears of it
CONNECT_TIMEOUT = 10.0
#: the largest answer read, in bytes; a decision's prompt log-probabilities for a thousand
#: actions of a thousand tokens each are about 65 MB
MAX_ANSWER_BYTES = 128 * 1024 * 1024
_CHUNK = 1 << 20


class Unreachable(Exception):
    """No answer at the connection level: counts towards the breaker."""


class TimedOut(Exception):
    """No whole answer within the deadline."""


class TooLarge(Exception):
    """An answer longer than the cap."""


class _DeadlineIO(socket.SocketIO):
    """A socket's reads, each bounded by the time left to the deadline, and none begun
    past it: however the answer trickles in, reading it ends at the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__(sock, "rb")
        sock._io_refs += 1  # type: ignore[attr-defined]  # as socket.makefile counts it
        self._deadline = deadline

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self._sock.settimeout(min(left, 3600.0))  # a huge timeout overflows C's time type
        return super().readinto(buffer)


class _Response(http.client.HTTPResponse):
    """An answer read through :class:`_DeadlineIO`."""

    def __init__(self, sock: socket.socket, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the plain reader made above, replaced by one with a deadline
        self.fp = io.BufferedReader(_DeadlineIO(sock, deadline))


def exchange(scheme: str, host: str, port: int | None, method: str, target: str, *,
             body: bytes | None, headers: dict[str, str], timeout: float,
             wait_check: Callable[[], None] | None = None, heartbeat: float = 10.0,
             max_bytes: int = MAX_ANSWER_BYTES) -> tuple[int, bytes, str | None]:
    """Send one request and read its whole answer within ``timeout`` seconds.

    While no byte of the answer has come, ``wait_check`` (if given) is called every
    ``heartbeat`` seconds; it raises to give the request up (the server seems gone)."""
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    connect = min(timeout, CONNECT_TIMEOUT)
    conn = kind(host, port, timeout=connect)
    deadline = time.monotonic() + timeout
    conn.response_class = functools.partial(_Response, deadline=deadline)  # type: ignore[assignment]
    try:
        try:
            conn.connect()
        except TimeoutError:  # a host that is off or drops packets: unreachable
            raise Unreachable(f"no connection within {connect:g} s") from None
        conn.request(method, target, body=body, headers=headers)
        if wait_check is not None:
            _await_answer(conn, deadline, wait_check, heartbeat)
        response = conn.getresponse()
        raw = _read_capped(response, max_bytes)
        return response.status, raw, response.getheader("Retry-After")
    except TimeoutError:
        raise TimedOut(f"no answer within {timeout:g} s") from None
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        # refused, reset, or closed mid-answer: the server died or restarts
        raise Unreachable(reason(exc)) from None
    finally:
        conn.close()


def _await_answer(conn: http.client.HTTPConnection, deadline: float,
                  wait_check: Callable[[], None], heartbeat: float) -> None:
    """Wait for the first bytes of an answer, calling ``wait_check`` now and then."""
    while True:
        left = deadline - time.monotonic()
        # looked at once more past the deadline: an answer may have come during a check
        ready, _, _ = select.select([conn.sock], [], [], max(min(heartbeat, left), 0.0))
        if ready:
            return
        if left <= 0:
            raise TimeoutError
        wait_check()


def _read_capped(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    """The answer's body, refused past ``max_bytes`` (read no further than that)."""
    length = response.getheader("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise TooLarge(f"an answer of {int(length):,} bytes, more than the limit of "
                       f"{max_bytes:,}")
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = response.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"an answer of more than {max_bytes:,} bytes (the limit)")
        parts.append(chunk)


def reason(exc: BaseException) -> str:
    """An exception's text on one short line (a refused connection said plainly)."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:200]
