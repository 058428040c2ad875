"""The served engines' HTTP client: retries, backoff, timeouts, the breaker, the in-flight
bound and the API key, against a fake server in a thread (fast; no model)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from agents.llm.http_client import RequestFailed, ServerClient
from agents.llm.server_url import public_url
from arena.agent import RoundForfeit, ServiceUnavailable
from tests.agents.llm.fake_openai_server import FakeServer

BODY = {"model": "fake", "prompt": [[1, 2, 3]], "max_tokens": 1}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


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
