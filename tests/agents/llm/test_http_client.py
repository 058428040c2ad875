"""The served engines' HTTP client: retries, backoff, timeouts, the breaker, the in-flight
bound and the API key, against a fake server in a thread (fast; no model)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from agents.llm.http_client import RequestFailed, ServerClient
from agents.llm.server_url import public_url
from arena.agent import RoundForfeit, ServiceUnavailable
from tests.agents.llm.fake_openai_server import FakeServer

BODY = {"model": "fake", "prompt": [[1, 2, 3]], "max_tokens": 1}


def client(url: str, **options: object) -> ServerClient:
    settings: dict[str, object] = {"backoff": 0.01, "max_backoff": 0.05, "retries": 2}
    settings.update(options)
    return ServerClient(url, **settings)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def posts(fake: FakeServer) -> int:
    return sum(1 for path, _, body in fake.requests if body is not None)


def test_retries_5xx_and_429_then_succeeds(fake: FakeServer) -> None:
    fake.script = [(503, {"error": {"message": "busy"}}),
                   (429, {"error": "slow down"}, {"Retry-After": "0"})]
    answer = client(fake.url).post("/completions", BODY)
    assert answer["choices"][0]["text"] == "rock"
    assert posts(fake) == 3


def test_a_request_failing_after_its_retries_forfeits_the_round(fake: FakeServer) -> None:
    fake.script = [(500, {"error": {"message": "engine crashed"}})] * 3
    with pytest.raises(RequestFailed) as caught:
        client(fake.url, retries=2).post("/completions", BODY)
    assert isinstance(caught.value, RoundForfeit)
    assert "HTTP 500: engine crashed" in str(caught.value) and "after 2 retries" in str(caught.value)
    assert posts(fake) == 3


def test_a_client_error_is_not_retried(fake: FakeServer) -> None:
    fake.script = [(400, {"error": {"message": "prompt too long"}})]
    with pytest.raises(RequestFailed, match="HTTP 400: prompt too long") as caught:
        client(fake.url).post("/completions", BODY)
    assert caught.value.status == 400 and posts(fake) == 1


def test_a_timeout_is_retried_then_forfeits(fake: FakeServer) -> None:
    fake.script = ["hang"] * 2
    started = time.monotonic()
    with pytest.raises(RequestFailed, match="no answer within 0.3 s"):
        client(fake.url, request_timeout=0.3, retries=1, heartbeat=5.0).post("/completions", BODY)
    assert time.monotonic() - started < 5


def test_an_unreachable_server_trips_the_breaker() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        client(url, unreachable_after=0.5).post("/completions", BODY)
    took = time.monotonic() - started
    assert not isinstance(caught.value, RoundForfeit)
    assert str(caught.value).startswith(f"model server {url} unreachable for 0.5 s")
    assert 0.5 <= took < 3


def test_a_hanging_request_to_a_server_failing_its_health_check_is_unreachable(
        fake: FakeServer) -> None:
    """A server shutting down holds connections open without answering."""
    fake.script = ["hang"] * 50
    fake.health = 503
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="unreachable for 1 s"):
        client(fake.url, unreachable_after=1.0, heartbeat=0.2).post("/completions", BODY)
    assert time.monotonic() - started < 5


def test_the_breaker_counts_from_the_first_failure_and_resets_on_success(fake: FakeServer) -> None:
    dead = client(f"http://127.0.0.1:{closed_port()}/v1", unreachable_after=0.3)
    with pytest.raises(ServiceUnavailable):
        dead.post("/completions", BODY)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):  # still down: the next request fails at once
        dead.post("/completions", BODY)
    assert time.monotonic() - started < 0.3
    dead.retarget(fake.url)  # the server is back: the breaker closes
    assert dead.post("/completions", BODY)["choices"]


def test_requests_in_flight_are_bounded(fake: FakeServer) -> None:
    fake.delay = 0.15
    shared = client(fake.url, max_in_flight=2)
    threads = [threading.Thread(target=shared.post, args=("/completions", BODY))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert posts(fake) == 6 and fake.most_in_flight == 2


def test_the_api_key_is_sent_as_a_header_and_never_shown(fake: FakeServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("ARENA_TEST_KEY", secret)
    fake.script = [(401, {"error": {"message": f"Incorrect API key provided: {secret}"}})]
    served = client(fake.url, api_key_env="ARENA_TEST_KEY")
    with pytest.raises(RequestFailed) as caught:
        served.post("/completions", BODY)
    assert secret not in str(caught.value) and "***" in str(caught.value)
    assert fake.requests[-1][1]["Authorization"] == f"Bearer {secret}"
    assert secret not in repr(vars(served))


def test_no_key_is_sent_without_api_key_env(fake: FakeServer) -> None:
    client(fake.url).post("/completions", BODY)
    assert "Authorization" not in fake.requests[-1][1]


def test_bad_settings_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="api_key_env"):
        ServerClient("http://h:1/v1", api_key_env=" ")
    with pytest.raises(ValueError, match="http"):
        ServerClient("h:1/v1")
    with pytest.raises(ValueError, match="max_in_flight"):
        ServerClient("http://h:1/v1", max_in_flight=0)


def test_a_missing_key_stops_the_run_at_the_first_request(
        fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARENA_UNSET_KEY", raising=False)
    served = client(fake.url, api_key_env="ARENA_UNSET_KEY")  # `arena prompt` needs none
    with pytest.raises(ServiceUnavailable, match="ARENA_UNSET_KEY .api_key_env. is not set"):
        served.post("/completions", BODY)
    assert posts(fake) == 0


def test_public_url_drops_credentials() -> None:
    assert public_url("https://user:pw@api.example.com:8443/v1/") == "https://api.example.com:8443/v1"


# -- a slow but healthy server, and answers that never end (issue 20) -------------------

def test_a_slow_request_to_a_healthy_server_is_waited_for(fake: FakeServer) -> None:
    """vLLM answers /health with 200 and an empty body while it computes: alive."""
    fake.delay = 1.0
    served = client(fake.url, heartbeat=0.1, unreachable_after=0.3)
    assert served.post("/completions", BODY)["choices"]
    assert posts(fake) == 1  # never abandoned and sent again
    assert sum(1 for path, _, _ in fake.requests if path == "/health") >= 3


def test_any_answer_below_500_from_health_means_alive(fake: FakeServer) -> None:
    fake.delay, fake.health = 0.8, 404
    assert client(fake.url, heartbeat=0.1, unreachable_after=0.3).post("/completions", BODY)
    assert posts(fake) == 1


@pytest.mark.parametrize("trickle", ["trickle_body", "trickle_headers"])
def test_request_timeout_bounds_the_whole_answer(fake: FakeServer, trickle: str) -> None:
    """A server sending a byte every 0.1 s never lets a socket timeout of 1 s expire."""
    fake.script = [(trickle, 0.1)] * 2
    started = time.monotonic()
    with pytest.raises(RequestFailed, match=r"no answer within 1 s \(after 1 retries\)"):
        client(fake.url, request_timeout=1.0, retries=1).post("/completions", BODY)
    assert time.monotonic() - started < 4
    assert posts(fake) == 2


def test_a_trickled_answer_within_the_deadline_is_read(fake: FakeServer) -> None:
    fake.script = [("trickle_headers", 0.002)]
    assert client(fake.url, request_timeout=10.0).post("/completions", BODY)["choices"]


def test_a_huge_answer_is_cut_off_at_the_cap(fake: FakeServer) -> None:
    fake.script = [("huge", 64 << 20)] * 2
    started = time.monotonic()
    with pytest.raises(RequestFailed, match="more than 1,048,576 bytes"):
        client(fake.url, retries=1, max_answer_bytes=1 << 20).post("/completions", BODY)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("answer", "message"), [
    (("raw", b"[" * 100_000 + b"]" * 100_000), "not JSON"),  # past the recursion limit
    (("raw", b"{\"choices\": [}"), "not JSON"),
    ((302, {"error": "moved"}, {"Location": "http://elsewhere/"}), "HTTP 302"),
    ((301, {}), "HTTP 301"),
])
def test_malformed_answers_and_redirects_are_retried_then_forfeit(
        fake: FakeServer, answer: object, message: str) -> None:
    fake.script = [answer, answer]
    with pytest.raises(RequestFailed, match=message) as caught:
        client(fake.url, retries=1).post("/completions", BODY)
    assert isinstance(caught.value, RoundForfeit) and posts(fake) == 2


def test_a_retried_malformed_answer_can_succeed(fake: FakeServer) -> None:
    fake.script = [("raw", b"not json")]
    assert client(fake.url, retries=1).post("/completions", BODY)["choices"]
    assert posts(fake) == 2


# -- the API key and the URL (issue 20) -------------------------------------------------

def test_a_key_with_surrounding_whitespace_is_stripped(fake: FakeServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_TEST_KEY", "  sk-test-newline-0123\n")
    client(fake.url, api_key_env="ARENA_TEST_KEY").post("/completions", BODY)
    assert fake.requests[-1][1]["Authorization"] == "Bearer sk-test-newline-0123"


@pytest.mark.parametrize("secret", ["sk-te\nst-0123456789", "sk-test\x1b[2J0123", "sk test 0123",
                                    "sk-test-\u2028-0123"])
def test_a_key_that_no_header_can_carry_is_refused_without_showing_it(
        fake: FakeServer, monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("ARENA_TEST_KEY", secret)
    with pytest.raises(ValueError, match="ARENA_TEST_KEY .api_key_env. holds a control") as built:
        client(fake.url, api_key_env="ARENA_TEST_KEY")
    monkeypatch.setenv("ARENA_TEST_KEY", "sk-fine-when-built")
    served = client(fake.url, api_key_env="ARENA_TEST_KEY")
    monkeypatch.setenv("ARENA_TEST_KEY", secret)  # changed after: refused at the request
    with pytest.raises(ServiceUnavailable, match="holds a control") as sent:
        served.post("/completions", BODY)
    for caught in (built, sent):
        text = str(caught.value)
        assert "\n" not in text and "sk" not in text.replace("ask", "")
        assert not any(part in text for part in secret.split() if len(part) > 2)
    assert posts(fake) == 0


def test_every_message_is_redacted(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-echoed-by-the-server-42"
    monkeypatch.setenv("ARENA_TEST_KEY", secret + "\n")
    served = client(fake.url, api_key_env="ARENA_TEST_KEY", retries=0)
    for answer in [(500, {"error": {"message": f"bad key {secret}"}}),
                   (302, {"error": f"moved {secret}"})]:
        fake.script = [answer]
        with pytest.raises(RequestFailed) as caught:
            served.post("/completions", BODY)
        assert secret not in str(caught.value) and "***" in str(caught.value)


@pytest.mark.parametrize("url", ["http://user:secret-pw@127.0.0.1:8000/v1",
                                 "http://:secret-pw@127.0.0.1:8000/v1",
                                 "http://secret-pw@127.0.0.1:8000/v1"])
def test_credentials_in_base_url_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="api_key_env") as caught:
        ServerClient(url)
    assert "secret-pw" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1 ", "http://127.0.0.1:8000/v1\r\nX: y",
                                 "http://127.0.0.1:8000/v 1", "http://127.0.0.1:99999/v1", 8000])
def test_a_base_url_with_spaces_or_line_breaks_is_refused(url: object) -> None:
    with pytest.raises(ValueError, match="base_url") as caught:
        ServerClient(url)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)


@pytest.mark.parametrize("options", [{"request_timeout": float("inf")},
                                     {"request_timeout": float("nan")},
                                     {"unreachable_after": float("inf")},
                                     {"request_timeout": True}, {"retries": True},
                                     {"max_in_flight": True}])
def test_settings_must_be_finite_numbers(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ServerClient("http://h:1/v1", **options)  # type: ignore[arg-type]
