"""One HTTP request and its whole answer within a deadline: standard library only.

A socket timeout bounds each read, not the answer: a server that trickles its headers or
its body a byte at a time would keep ``http.client`` reading for ever. Here a watchdog
timer shuts the socket down when the deadline passes, which ends any read in progress,
and the answer's size is capped while it is read, so a huge body costs at most the cap.

:func:`exchange` returns ``(status, body, Retry-After)`` or raises :class:`Unreachable`
(no connection: refused, reset, closed mid-answer) or :class:`TimedOut` (no whole answer
within the deadline). A 3xx is returned like any status: the caller treats it as an
error, since a redirect to follow is not what a model server answers.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
import time
from collections.abc import Callable

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


class _Watchdog:
    """Shuts ``conn``'s socket down at the deadline, ending whatever read is waiting."""

    def __init__(self, conn: http.client.HTTPConnection, seconds: float) -> None:
        self.conn = conn
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


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
    watchdog = _Watchdog(conn, timeout)
    try:
        try:
            conn.connect()
        except TimeoutError:  # a host that is off or drops packets: unreachable
            raise Unreachable(f"no connection within {connect:g} s") from None
        conn.request(method, target, body=body, headers=headers)
        if wait_check is not None:
            _await_answer(conn, deadline, wait_check, heartbeat)
        if conn.sock is not None:
            conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        response = conn.getresponse()
        raw = _read_capped(response, max_bytes)
        if watchdog.fired:  # a body without a length ends where the socket was shut
            raise TimeoutError
        return response.status, raw, response.getheader("Retry-After")
    except (Unreachable, TooLarge):
        raise
    except Exception as exc:
        # (an SSL socket shut down mid-read raises ValueError: the watchdog's doing)
        if watchdog.fired or isinstance(exc, TimeoutError):
            raise TimedOut(f"no answer within {timeout:g} s") from None
        if isinstance(exc, (ConnectionError, http.client.HTTPException, OSError)):
            # refused, reset, or closed mid-answer: the server died or restarts
            raise Unreachable(reason(exc)) from None
        raise
    finally:
        watchdog.cancel()
        conn.close()


def _await_answer(conn: http.client.HTTPConnection, deadline: float,
                  wait_check: Callable[[], None], heartbeat: float) -> None:
    """Wait for the first bytes of an answer, calling ``wait_check`` now and then."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([conn.sock], [], [], min(heartbeat, left))
        if ready:
            return
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
