"""JSON over HTTP to a model server, with the faults a long run meets: standard library only.

:class:`ServerClient` posts JSON and returns the decoded answer. What can go wrong, and
what each becomes:

* **429, 5xx, a per-request timeout, an unreadable answer**: retried ``retries`` times
  with exponential backoff (a 429's ``Retry-After`` is honoured, capped), then
  :class:`RequestFailed`, a :class:`~arena.agent.RoundForfeit`: that round is given up
  and the match goes on.
* **Any other 4xx**: not worth retrying; :class:`RequestFailed` at once.
* **No connection** (refused, reset, no route, the server died mid-answer, or a request
  left hanging while the server fails its health checks, as a server shutting down
  does: while waiting for an answer the client asks ``/health`` every ``heartbeat``
  seconds, and a refused or unanswered check counts as unreachable): retried
  with backoff for as long as the server has been unreachable for less than
  ``unreachable_after`` seconds, counted from the first failure with no success since,
  across every request to this server. Past that the breaker trips:
  :class:`~arena.agent.ServiceUnavailable` ("model server URL unreachable for 60 s"),
  which stops the run with its matches unfinished for ``--resume``.

At most ``max_in_flight`` requests are in flight at once (a semaphore), so a run with
many matches cannot flood the server. The API key is read from the environment at each
request, sent only as a header and blanked out of every message this module makes.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import threading
import time
import urllib.parse
from typing import Any

from arena.agent import RoundForfeit, ServiceUnavailable

_MAX_RETRY_AFTER = 30.0
_CONNECT_TIMEOUT = 10.0


class RequestFailed(RoundForfeit):
    """One request to the model server failed for good (after its retries): the round
    that needed it is given up, the match goes on."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def public_url(url: str) -> str:
    """``url`` without credentials (``user:password@``), fit for a record or a message."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class _Unreachable(Exception):
    """No answer at the connection level: counts towards the breaker."""


class _Retryable(Exception):
    """The server answered (or timed out) with something worth another try."""

    def __init__(self, message: str, *, status: int | None = None,
                 wait: float | None = None) -> None:
        super().__init__(message)
        self.status, self.wait = status, wait


class ServerClient:
    """A fault-tolerant JSON client for one server (see the module docstring)."""

    def __init__(self, base_url: str, *, api_key_env: str | None = None,
                 request_timeout: float = 300.0, retries: int = 3, backoff: float = 0.5,
                 max_backoff: float = 8.0, unreachable_after: float = 60.0,
                 max_in_flight: int = 16, heartbeat: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL such as http://host:8000/v1, "
                             f"not {public_url(base_url)!r}")
        if request_timeout <= 0 or unreachable_after <= 0 or backoff < 0 or retries < 0:
            raise ValueError("request_timeout and unreachable_after must be > 0, backoff and "
                             "retries >= 0")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, not {max_in_flight}")
        if api_key_env is not None and not api_key_env.strip():
            raise ValueError("api_key_env must name an environment variable")
        self.base_url = base_url.rstrip("/")
        self.url = public_url(base_url)
        self.api_key_env = api_key_env
        self.request_timeout = float(request_timeout)
        self.retries = int(retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.unreachable_after = float(unreachable_after)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._tripped = threading.Event()  # set while the breaker is open
        self.heartbeat = float(heartbeat)
        self._checked_at = -float("inf")
        self._health: str | None = None

    def retarget(self, base_url: str) -> None:
        """Send later requests to ``base_url`` (a managed server got its port)."""
        self.base_url = base_url.rstrip("/")
        self.url = public_url(base_url)

    # -- requests -----------------------------------------------------------------------
    def post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST ``payload`` as JSON to ``base_url + path``; the decoded JSON answer."""
        body = json.dumps(payload).encode("utf-8")
        if self.api_key_env and not os.environ.get(self.api_key_env):
            # checked here, not when the agent is built: `arena prompt` needs no key
            raise ServiceUnavailable(f"model server {self.url}: the environment variable "
                                     f"{self.api_key_env} (api_key_env) is not set")
        failures = 0
        with self._slots:
            while True:
                try:
                    answer = self._send(path, body, timeout=self.request_timeout)
                except _Unreachable as exc:
                    down_for = self._went_down()
                    if down_for >= self.unreachable_after:
                        self._tripped.set()  # the others waiting to retry stop now too
                        raise ServiceUnavailable(
                            f"model server {self.url} unreachable for "
                            f"{self.unreachable_after:g} s ({exc})") from None
                    delay = min(self.backoff * 2 ** min(failures, 16), self.max_backoff,
                                self.unreachable_after - down_for)
                    failures += 1
                    self._tripped.wait(max(delay, 0.05))
                    continue
                except _Retryable as exc:
                    if exc.status is not None:
                        self._came_back()  # it answered: reachable, if unwell
                    failures += 1
                    if failures > self.retries:
                        raise RequestFailed(f"model server {self.url}: {exc} (after "
                                            f"{self.retries} retries)", status=exc.status) from None
                    delay = min(self.backoff * 2 ** (failures - 1), self.max_backoff)
                    time.sleep(min(exc.wait, _MAX_RETRY_AFTER) if exc.wait else delay)
                    continue
                self._came_back()
                return answer

    def get(self, path: str, *, root: bool = False, timeout: float = 10.0) -> Any:
        """One quick GET of ``path`` under the base URL (``root``: under the server's
        root, as vLLM's ``/version``), no retries and no breaker (for identity: best
        effort); raises :class:`OSError` or :class:`RequestFailed` when it fails."""
        try:
            return self._send(path, None, timeout=timeout, root=root)
        except (_Unreachable, _Retryable) as exc:
            raise OSError(str(exc)) from None

    # -- the breaker ------------------------------------------------------------------
    def _went_down(self) -> float:
        """Seconds the server has been unreachable, counting this failure."""
        now = time.monotonic()
        with self._lock:
            if self._down_since is None:
                self._down_since = now
            return now - self._down_since

    def _came_back(self) -> None:
        with self._lock:
            self._down_since = None
            self._tripped.clear()

    # -- one attempt ------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def redact(self, text: str) -> str:
        """``text`` with the API key (should a server echo it) blanked out."""
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return text.replace(key, "***") if key else text

    def _send(self, path: str, body: bytes | None, *, timeout: float, root: bool = False) -> Any:
        parts = urllib.parse.urlsplit(self.base_url)
        target = ("" if root else parts.path) + path
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        # connecting gets a short limit of its own: a host that is gone should not cost
        # the whole request timeout before the breaker hears of it
        conn = kind(parts.hostname or "", parts.port, timeout=min(timeout, _CONNECT_TIMEOUT))
        try:
            try:
                conn.connect()
            except TimeoutError:  # a host that is off or drops packets: unreachable
                raise _Unreachable(f"no connection within {min(timeout, _CONNECT_TIMEOUT):g} s") \
                    from None
            conn.request("POST" if body is not None else "GET", target, body=body,
                         headers=self._headers())
            if body is not None:
                self._await_answer(conn, timeout)
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            response = conn.getresponse()
            status, raw = response.status, response.read()
            retry_after = response.getheader("Retry-After")
        except TimeoutError:
            raise _Retryable(f"no answer within {timeout:g} s") from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            # refused, reset, or closed mid-answer: the server died or restarts
            raise _Unreachable(self.redact(_reason(exc))) from None
        finally:
            conn.close()
        if status >= 400:
            self._raise_for(status, raw, retry_after)
        try:
            return json.loads(raw)
        except ValueError:
            raise _Retryable(f"unreadable answer to {path} ({len(raw)} bytes, not JSON)") \
                from None

    def _await_answer(self, conn: http.client.HTTPConnection, timeout: float) -> None:
        """Wait for the first bytes of an answer, asking the server now and then whether
        it is still there: a server shutting down can hold a connection open without
        ever answering, and that is unreachability, not a slow request."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([conn.sock], [], [], min(self.heartbeat, left))
            if ready:
                return
            problem = self._health_problem()
            if problem is not None:
                raise _Unreachable(problem)

    def _health_problem(self) -> str | None:
        """Why the server seems gone (a refused, failed or unanswered health check), or
        ``None`` when it answers; checked at most once per heartbeat for all requests."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < self.heartbeat / 2:
                return self._health
            self._checked_at = now
        try:
            self._send("/health", None, timeout=_CONNECT_TIMEOUT, root=True)
            problem = None
        except RequestFailed:  # an answer, even 404 or 401: someone is there
            problem = None
        except _Retryable as exc:
            problem = (f"health check: {exc}" if exc.status is None or exc.status >= 500
                       else None)
        except _Unreachable as exc:
            problem = f"health check: {exc}"
        with self._lock:
            self._health = problem
        return problem

    def _raise_for(self, status: int, raw: bytes, retry_after: str | None) -> None:
        detail = _error_message(raw)
        message = self.redact(f"HTTP {status}{': ' + detail if detail else ''}")
        if status in (408, 429) or status >= 500:
            wait = None
            if status == 429 and retry_after:
                try:
                    wait = float(retry_after)
                except ValueError:
                    wait = None
            raise _Retryable(message, status=status, wait=wait)
        raise RequestFailed(f"model server {self.url}: {message}", status=status)


def _reason(reason: Any) -> str:
    text = str(reason) or type(reason).__name__
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return " ".join(text.split())[:200]


def _error_message(raw: bytes) -> str:
    """The server's own words from an error body (OpenAI's ``{"error": {"message"}}``,
    or vLLM's and others' variants), on one short line."""
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            text = str(error.get("message") or error.get("detail") or error)
        else:
            text = str(data.get("message") or data.get("detail") or error)
    return " ".join(str(text).split())[:300]
