"""A tiny OpenAI-compatible server for fast tests: standard library only, no model.

Every prompt token gets the log-prob ``-0.1 * (1 + token_id % 7)`` (so answers differ),
through ``prompt_logprobs`` or ``echo``, as configured; with ``allowed`` (vLLM's
``allowed_token_ids``), a request that allows one token generates it, with that same
log-prob as its raw log-probability; with ``token_ids`` (vLLM's ``logprob_token_ids``),
the generated place's ``top_logprobs`` reads those tokens' log-probs (plus
``token_ids_shift``, for a server whose numbers differ).
Generation (``/completions`` or
``/chat/completions``) otherwise returns ``text``.
``script`` holds canned answers served first, one per POST, to test retries, the
breaker, timeouts and bad answers: ``(status, body)`` or ``(status, body, headers)``
(``body`` sent as JSON), ``"hang"`` (no answer), ``("raw", bytes)`` (a 200 with that
body), ``("trickle_body", seconds)`` and ``("trickle_headers", seconds)`` (a normal
answer, its body or its headers sent one byte per ``seconds``), ``("huge", n)`` (a 200
with ``n`` bytes of a JSON string, streamed, no ``Content-Length``). ``/health`` answers
as vLLM's does: ``health`` (200) with an empty body. ``models`` replaces the
``/v1/models`` list's ``data``. Every request is kept in ``requests`` (path, headers,
JSON body).

In a thread: ``FakeServer(...).start()`` (``.url``, ``.stop()``). As a process
(``python fake_openai_server.py --port P``), it stands in for vLLM's API server in the
managed-server tests.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def token_logprob(token: int) -> float:
    return -0.1 * (1 + token % 7)


class FakeServer:
    def __init__(self, *, port: int = 0, prompt_logprobs: bool = True, echo: bool = True,
                 take_ids: bool = True, text: str = "rock", health: int = 200,
                 script: list[Any] | None = None, model: str = "fake",
                 allowed: bool = False, token_ids: bool = False) -> None:
        self.prompt_logprobs, self.echo, self.take_ids = prompt_logprobs, echo, take_ids
        self.allowed, self.token_ids = allowed, token_ids
        self.token_ids_shift = 0.0
        self.text, self.health, self.model = text, health, model
        self.models: Any = None
        self.script = list(script or [])
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.in_flight = self.most_in_flight = 0
        self.delay = 0.0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> FakeServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- answers ------------------------------------------------------------------------
    def complete(self, body: dict[str, Any]) -> tuple[int, Any]:
        prompts = body.get("prompt")
        if isinstance(prompts, str) or (isinstance(prompts, list) and prompts
                                         and isinstance(prompts[0], int)):
            prompts = [prompts]
        choices = []
        for i, prompt in enumerate(prompts):
            if isinstance(prompt, list) and not self.take_ids:
                return 400, {"error": {"message": "prompt must be a string"}}
            ids = prompt if isinstance(prompt, list) else [ord(c) for c in prompt]
            choice: dict[str, Any] = {"index": i, "text": self.text, "logprobs": None}
            if body.get("prompt_logprobs") is not None:
                if not self.prompt_logprobs:
                    return 400, {"error": {"message": "unknown field prompt_logprobs"}}
                choice["prompt_logprobs"] = [None] + [
                    {str(t): {"logprob": token_logprob(t), "rank": 1}} for t in ids[1:]]
            if body.get("echo"):
                if not self.echo:
                    return 400, {"error": {"message": "echo is not supported"}}
                values = [None] + [token_logprob(t) for t in ids[1:]] + [-1.0]
                choice["logprobs"] = {"token_logprobs": values,
                                      "tokens": [str(t) for t in ids] + ["x"]}
            allowed = body.get("allowed_token_ids")
            if self.allowed and allowed and body.get("logprobs") and not body.get("echo"):
                token = int(allowed[0])
                choice["logprobs"] = {"token_logprobs": [token_logprob(token)],
                                      "tokens": [f"token_id:{token}"]}
            read = body.get("logprob_token_ids")
            if self.token_ids and read and body.get("logprobs") and not body.get("echo"):
                token = int(allowed[0]) if allowed else 0
                place = {f"token_id:{t}": token_logprob(t) + self.token_ids_shift
                         for t in [*read, token]}
                choice["logprobs"] = {"token_logprobs": [token_logprob(token)],
                                      "tokens": [f"token_id:{token}"], "top_logprobs": [place]}
            choices.append(choice)
        return 200, {"object": "text_completion", "model": self.model, "choices": choices}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _raw(self, data: bytes, *, trickle_headers: float = 0.0,
                     trickle_body: float = 0.0, length: bool = True) -> None:
                head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + (f"Content-Length: {len(data)}\r\n" if length else "")
                        + "Connection: close\r\n\r\n").encode()
                self.close_connection = True
                for part, pause in ((head, trickle_headers), (data, trickle_body)):
                    if not pause:
                        self.wfile.write(part)
                        continue
                    for i in range(len(part)):
                        if fake._release.wait(pause):
                            return
                        self.wfile.write(part[i:i + 1])
                        self.wfile.flush()

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append((self.path, dict(self.headers), None))
                if self.path == "/health":  # vLLM's: a status and no body at all
                    self.send_response(fake.health)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/version":
                    self._reply(200, {"version": "0.0-fake"})
                elif self.path.endswith("/models"):
                    data = fake.models if fake.models is not None else [
                        {"id": fake.model, "object": "model", "owned_by": "fake",
                         "max_model_len": 2048, "created": int(time.time())}]
                    self._reply(200, {"object": "list", "data": data})
                else:
                    self._reply(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append((self.path, dict(self.headers), body))
                with fake._lock:
                    step = fake.script.pop(0) if fake.script else None
                    fake.in_flight += 1
                    fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
                headers = None
                try:
                    if step == "hang":
                        fake._release.wait(30)
                        return
                    if fake.delay:
                        time.sleep(fake.delay)
                    if isinstance(step, tuple) and step[0] == "raw":
                        self._raw(step[1])
                        return
                    if isinstance(step, tuple) and step[0] == "huge":
                        self._huge(step[1])
                        return
                    if isinstance(step, tuple) and str(step[0]).startswith("trickle"):
                        data = json.dumps(fake.complete(body)[1]).encode()
                        self._raw(data, **{step[0]: step[1]})
                        return
                    if step is not None:
                        status, answer = step[0], step[1]
                        headers = step[2] if len(step) > 2 else None
                    elif self.path.endswith("/chat/completions"):
                        status, answer = 200, {"object": "chat.completion", "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": fake.text},
                             "finish_reason": "stop"}]}
                    elif self.path.endswith("/completions"):
                        status, answer = fake.complete(body)
                    else:
                        status, answer = 404, {"error": {"message": "not found"}}
                finally:  # before the answer goes out: the client may send again at once
                    with fake._lock:
                        fake.in_flight -= 1
                self._reply(status, answer, headers)

            def _huge(self, size: int) -> None:
                self.close_connection = True
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Connection: close\r\n\r\n\"")
                chunk = b"x" * (1 << 20)
                try:
                    for start in range(0, size, len(chunk)):
                        self.wfile.write(chunk[:min(len(chunk), size - start)])
                    self.wfile.write(b"\"")
                except OSError:  # the client stopped reading: that is the point
                    pass

        return Handler


if __name__ == "__main__":  # stands in for `python -m vllm.entrypoints.openai.api_server`
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--served-model-name", default="fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    args, _ = parser.parse_known_args()
    if args.fail:
        # as a real log may: terminal escapes, which must never reach the terminal raw
        print("\x1b[31mValueError: fake failure for the test\x1b[0m\x1b]0;owned\x07")
        raise SystemExit(1)
    server = FakeServer(port=args.port, model=args.served_model_name)
    server.delay = args.delay
    server.httpd.serve_forever()
