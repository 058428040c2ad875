"""JSON over HTTP to a model server, with the faults a long run meets: standard library only.

:class:`ServerClient` posts JSON and returns the decoded answer. What can go wrong, and
what each becomes:

* **429, 408, 5xx, a 3xx (a model server does not redirect), no whole answer within
  ``request_timeout`` seconds** (a deadline for the whole answer, headers and body: a
  server that trickles it a byte at a time is timed out too), **an answer that is not
  JSON, too large** (:data:`~agents.llm.http_exchange.MAX_ANSWER_BYTES`) **or unusable**
  (the ``read`` given to :meth:`ServerClient.post` raises :class:`UnusableAnswer`):
  retried ``retries`` times with exponential backoff (a 429's ``Retry-After`` is
  honoured, capped), then :class:`RequestFailed`, a :class:`~arena.agent.RoundForfeit`:
  that round is given up and the match goes on.
* **Any other 4xx**: not worth retrying; :class:`RequestFailed` at once.
* **No connection** (refused, reset, no route, the server died mid-answer): retried with
  backoff for as long as the server has been unreachable for less than
  ``unreachable_after`` seconds, counted from the first failure with no success since,
  across every request to this server. Past that the breaker trips:
  :class:`~arena.agent.ServiceUnavailable` ("model server URL unreachable for 60 s"),
  which stops the run with its matches unfinished for ``--resume``.
* **A slow answer**: while a request waits, the client asks ``/health`` every
  ``heartbeat`` seconds. Any answer below 500 (vLLM's is a 200 with an empty body) means
  the server is there, and the request waits on, up to ``request_timeout``: a busy
  server is never asked the same thing twice. Only a refused or reset connection, no
  answer within :data:`HEALTH_TIMEOUT`, or a 5xx counts against it, and a request is
  given up only once the server has failed its checks for ``unreachable_after`` seconds
  (a server shutting down can hold connections open without ever answering).

At most ``max_in_flight`` requests are in flight at once (a semaphore), so a run with
many matches cannot flood the server. The API key is read from the environment at each
request, stripped of surrounding whitespace, refused (in a line that never shows it)
when it holds a character no header may carry, sent only as a header, and blanked out
of every message this module raises or keeps.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from agents.llm.http_exchange import (
    CONNECT_TIMEOUT,
    MAX_ANSWER_BYTES,
    TimedOut,
    TooLarge,
    Unreachable,
    exchange,
    reason,
)
from agents.llm.server_url import check_base_url, public_url
from arena.agent import RoundForfeit, ServiceUnavailable

_MAX_RETRY_AFTER = 30.0
#: seconds a ``/health`` check may take before it counts as no answer
HEALTH_TIMEOUT = CONNECT_TIMEOUT


class RequestFailed(RoundForfeit):
    """One request to the model server failed for good (after its retries): the round
    that needed it is given up, the match goes on."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UnusableAnswer(Exception):
    """An answer that decodes but cannot be used (a shape or a value that is wrong): the
    ``read`` function given to :meth:`ServerClient.post` raises it, and the request is
    retried as after a 5xx."""


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number of seconds > 0, not {value!r}")
    return float(value)


class _Unreachable(Exception):
    """No answer at the connection level: counts towards the breaker."""


class _Retryable(Exception):
    """The server answered (or timed out) with something worth another try."""

    def __init__(self, message: str, *, status: int | None = None,
                 wait: float | None = None, answered: bool = False) -> None:
        super().__init__(message)
        self.status, self.wait = status, wait
        self.answered = answered or status is not None


class ServerClient:
    """A fault-tolerant JSON client for one server (see the module docstring)."""

    def __init__(self, base_url: str, *, api_key_env: str | None = None,
                 request_timeout: float = 300.0, retries: int = 3, backoff: float = 0.5,
                 max_backoff: float = 8.0, unreachable_after: float = 60.0,
                 max_in_flight: int = 16, heartbeat: float = 10.0,
                 max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        check_base_url(base_url)
        self.request_timeout = _seconds("request_timeout", request_timeout)
        self.unreachable_after = _seconds("unreachable_after", unreachable_after)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0 \
                or backoff < 0:
            raise ValueError(f"request_retries must be a whole number >= 0, not {retries!r}")
        if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) \
                or max_in_flight < 1:
            raise ValueError(f"max_in_flight must be a whole number >= 1, not {max_in_flight!r}")
        if api_key_env is not None and (not isinstance(api_key_env, str)
                                        or not api_key_env.strip()):
            raise ValueError("api_key_env must name an environment variable")
        self.base_url = base_url.rstrip("/")
        self.url = public_url(base_url)
        self.api_key_env = api_key_env
        if api_key_env and os.environ.get(api_key_env, "").strip():
            try:  # a key that cannot be sent is a config error now, not a stop mid-run
                self._key()
            except ServiceUnavailable as exc:
                raise ValueError(str(exc)) from None
        self.retries = int(retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.max_answer_bytes = int(max_answer_bytes)
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
    def post(self, path: str, payload: dict[str, Any], *,
             read: Callable[[Any], Any] | None = None, timeout: float | None = None,
             retries: int | None = None) -> Any:
        """POST ``payload`` as JSON to ``base_url + path``; the decoded JSON answer, or
        what ``read`` makes of it (``read`` raises :class:`UnusableAnswer` for an answer
        to ask again for). ``timeout`` and ``retries`` replace the client's own for this
        request (a start-up probe bounds itself)."""
        body = json.dumps(payload).encode("utf-8")
        headers = self._headers()  # checked here, not when built: `arena prompt` needs no key
        timeout = self.request_timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        failures = 0
        with self._slots:
            while True:
                try:
                    answer = self._send(path, body, timeout=timeout, headers=headers)
                    if read is not None:
                        try:
                            answer = read(answer)
                        except UnusableAnswer as exc:
                            raise _Retryable(f"unusable answer: {exc}", answered=True) \
                                from None
                except _Unreachable as exc:
                    down_for = self._went_down()
                    if down_for >= self.unreachable_after:
                        self._tripped.set()  # the others waiting to retry stop now too
                        raise ServiceUnavailable(self.redact(
                            f"model server {self.url} unreachable for "
                            f"{self.unreachable_after:g} s ({exc})")) from None
                    delay = min(self.backoff * 2 ** min(failures, 16), self.max_backoff,
                                self.unreachable_after - down_for)
                    failures += 1
                    self._tripped.wait(max(delay, 0.05))
                    continue
                except _Retryable as exc:
                    if exc.answered:
                        self._came_back()  # it answered: reachable, if unwell
                    failures += 1
                    if failures > retries:
                        raise RequestFailed(self.redact(
                            f"model server {self.url}: {exc} (after {retries} retries)"),
                            status=exc.status) from None
                    delay = min(self.backoff * 2 ** (failures - 1), self.max_backoff)
                    time.sleep(min(max(exc.wait, 0.0), _MAX_RETRY_AFTER) if exc.wait else delay)
                    continue
                self._came_back()
                return answer

    def get(self, path: str, *, root: bool = False, timeout: float = 10.0) -> Any:
        """One quick GET of ``path`` under the base URL (``root``: under the server's
        root, as vLLM's ``/version``), within ``timeout`` seconds for the whole answer,
        no retries and no breaker (for identity: best effort); raises :class:`OSError`
        or :class:`RequestFailed` when it fails."""
        try:
            return self._send(path, None, timeout=timeout, root=root, headers=self._headers())
        except (_Unreachable, _Retryable) as exc:
            raise OSError(self.redact(str(exc))) from None

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

    # -- the API key ------------------------------------------------------------------
    def _key(self) -> str | None:
        """The API key, stripped; ``None`` without ``api_key_env``. Raises
        :class:`~arena.agent.ServiceUnavailable` when it is unset, or holds a character
        that no header may carry (a control character, a space, non-ASCII)."""
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:
            raise ServiceUnavailable(f"model server {self.url}: the environment variable "
                                     f"{self.api_key_env} (api_key_env) is not set")
        if not all("!" <= char <= "~" for char in key):
            raise ServiceUnavailable(
                f"model server {self.url}: the API key in {self.api_key_env} (api_key_env) "
                "holds a control character, a space or a non-ASCII character, which no "
                "HTTP header can carry; set it to the key alone")
        return key

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def redact(self, text: str) -> str:
        """``text`` with the API key (as set, and stripped) blanked out."""
        raw = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        for secret in sorted({raw, raw.strip()}, key=len, reverse=True):
            if secret.strip():
                text = text.replace(secret, "***")
        return text

    # -- one attempt ------------------------------------------------------------------
    def _send(self, path: str, body: bytes | None, *, timeout: float,
              headers: dict[str, str], root: bool = False) -> Any:
        parts = urllib.parse.urlsplit(self.base_url)
        target = ("" if root else parts.path) + path
        try:
            status, raw, retry_after = exchange(
                parts.scheme, parts.hostname or "", parts.port,
                "POST" if body is not None else "GET", target, body=body, headers=headers,
                timeout=timeout, heartbeat=self.heartbeat, max_bytes=self.max_answer_bytes,
                wait_check=self._check_alive if body is not None else None)
        except Unreachable as exc:
            raise _Unreachable(self.redact(str(exc))) from None
        except TimedOut as exc:
            raise _Retryable(str(exc)) from None
        except TooLarge as exc:
            raise _Retryable(f"{exc} to {path}", answered=True) from None
        except (_Unreachable, _Retryable, RequestFailed):
            raise
        except Exception as exc:  # noqa: BLE001 -- whatever it is, its text is redacted
            raise RequestFailed(self.redact(f"model server {self.url}: request failed: "
                                            f"{type(exc).__name__}: {reason(exc)}")) from None
        if status >= 300:
            self._raise_for(status, raw, retry_after)
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested past the recursion limit
            raise _Retryable(f"unreadable answer to {path} ({len(raw)} bytes, not JSON)",
                             answered=True) from None

    def _check_alive(self) -> None:
        """Called while a request waits: a server that answers its health check is busy,
        and the request waits on; one that has failed its checks for
        ``unreachable_after`` seconds is gone, and the request is given up."""
        problem = self._health_problem()
        if problem is None:
            self._came_back()
            return
        if self._went_down() >= self.unreachable_after:
            raise _Unreachable(problem)

    def _health_problem(self) -> str | None:
        """Why the server seems gone (a refused, unanswered or 5xx health check), or
        ``None`` when it answers; checked at most once per heartbeat for all requests."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < self.heartbeat / 2:
                return self._health
            self._checked_at = now
        parts = urllib.parse.urlsplit(self.base_url)
        try:
            status, _, _ = exchange(parts.scheme, parts.hostname or "", parts.port, "GET",
                                    "/health", body=None, headers={}, timeout=HEALTH_TIMEOUT,
                                    max_bytes=1 << 16)
            # any answer below 500, whatever its body (vLLM's is empty): someone is there
            problem = f"health check: HTTP {status}" if status >= 500 else None
        except TooLarge:
            problem = None
        except (Unreachable, TimedOut) as exc:
            problem = f"health check: {self.redact(str(exc))}"
        except Exception as exc:  # noqa: BLE001 -- a check that cannot be made says so
            problem = f"health check: {self.redact(reason(exc))}"
        with self._lock:
            self._health = problem
        return problem

    def _raise_for(self, status: int, raw: bytes, retry_after: str | None) -> None:
        detail = _error_message(raw)
        message = self.redact(f"HTTP {status}{': ' + detail if detail else ''}")
        if status < 400 or status in (408, 429) or status >= 500:
            wait = None
            if status == 429 and retry_after:
                try:
                    wait = float(retry_after)
                except ValueError:
                    wait = None
                if wait is not None and not math.isfinite(wait):
                    wait = None
            raise _Retryable(message, status=status, wait=wait)
        raise RequestFailed(f"model server {self.url}: {message}", status=status)


def _error_message(raw: bytes) -> str:
    """The server's own words from an error body (OpenAI's ``{"error": {"message"}}``,
    or vLLM's and others' variants), on one short line."""
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return " ".join(text.split())[:300]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            text = str(error.get("message") or error.get("detail") or error)
        else:
            text = str(data.get("message") or data.get("detail") or error)
    return " ".join(str(text).split())[:300]
