import httpx
import pytest

from ml_connector.core.emulation import Chaos, FakeClock, Fault, serve


def test_a_handler_is_served_on_loopback_and_answers_like_in_process() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201,
            json={
                "path": request.url.path,
                "q": request.url.params.get("q"),
                "body": request.content.decode(),
            },
        )

    with serve(handle) as server:
        assert server.url.startswith("http://127.0.0.1:")
        response = httpx.post(f"{server.url}/things?q=1", content=b"hello")
    in_process = httpx.Client(transport=httpx.MockTransport(handle)).post(
        "http://x/things?q=1", content=b"hello"
    )
    assert response.status_code == in_process.status_code == 201
    assert response.json() == in_process.json() == {"path": "/things", "q": "1", "body": "hello"}


def test_only_loopback_addresses_are_accepted() -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve(lambda r: httpx.Response(200), host="0.0.0.0")


def test_chaos_is_seeded_and_replayable() -> None:
    request = httpx.Request("POST", "http://x/")
    plan = {Fault.THROTTLE: 300, Fault.LOSE_RESPONSE: 300}
    a = Chaos(seed=7, per_mille=plan)
    b = Chaos(seed=7, per_mille=plan)
    drawn = [a.draw(request) for _ in range(50)]
    assert drawn == [b.draw(request) for _ in range(50)]
    assert {Fault.THROTTLE, Fault.LOSE_RESPONSE, None} == set(drawn)


def test_write_only_faults_never_hit_reads() -> None:
    chaos = Chaos(seed=1, per_mille={Fault.LOSE_RESPONSE: 1000})
    assert all(chaos.draw(httpx.Request("GET", "http://x/")) is None for _ in range(100))
    assert chaos.draw(httpx.Request("POST", "http://x/")) is Fault.LOSE_RESPONSE


def test_chaos_refuses_impossible_odds() -> None:
    with pytest.raises(ValueError):
        Chaos(per_mille={Fault.THROTTLE: 700, Fault.TIMEOUT: 400})


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(100.0)
    clock.sleep(2.5)
    clock.advance(1)
    assert clock.now() == 103.5
    assert clock.slept == [2.5]
