"""The PDI connection (`pdi/transport.py`) against a scripted server on 127.0.0.1: what it
sends, what it makes of an answer, and that it never sends a write twice on its own."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from scripted_http import ScriptedServer
from target_pdi.pdi.transport import LOST_ANSWER, Transport


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer().start()
    yield scripted
    scripted.stop()


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_write_whose_answer_is_lost_on_a_kept_alive_connection_is_sent_once(
    server: ScriptedServer, method: str
) -> None:
    # libcurl re-sends a request on its own when a reused connection closes before any
    # answer; PDI may have acted on it, so only the client's lost-answer lookup may decide.
    server.add("GET", "/calendars", json={"data": []})
    server.add(method, "/contacts", drop=True)
    transport = Transport(server.url, pool_size=1, timeout=5)
    assert transport.send("GET", "/calendars").status_code == 200  # the connection stays open
    with pytest.raises(LOST_ANSWER):
        transport.send(method, "/contacts", data=json.dumps({"emailAddress": "a@example.org"}))
    assert len(server.calls_to(method, "/contacts")) == 1
    transport.close()


def test_what_is_sent_and_what_the_answer_holds(server: ScriptedServer) -> None:
    server.add(
        "POST", "/contacts", status=429, json={"message": "slow down"}, headers={"Retry-After": "7"}
    )
    transport = Transport(server.url, pool_size=1, timeout=5)
    body = json.dumps({"note": "x" * 2_000_000})  # large: no "Expect: 100-continue" wait
    answer = transport.send(
        "POST", "/contacts", params={"limit": 5, "cursor": None}, data=body, token="T1"
    )
    (call,) = server.calls
    assert call.url == "/contacts?limit=5"
    assert call.body == body.encode()
    assert call.headers["authorization"] == "Bearer T1"
    assert call.headers["content-type"] == "application/json"
    assert "expect" not in call.headers
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == answer.headers["Retry-After"] == "7"
    assert answer.json() == {"message": "slow down"}
    assert answer.sent_token == "T1"
    transport.close()


def test_a_server_that_is_not_there_is_a_lost_answer() -> None:
    scripted = ScriptedServer()
    url = scripted.url  # bound, never serving, then closed: nothing listens there
    scripted._http.server_close()
    transport = Transport(url, pool_size=1, timeout=1)
    with pytest.raises(LOST_ANSWER):
        transport.send("GET", "/calendars")
    transport.close()


def test_each_request_on_a_kept_handle_has_its_own_method_and_body(server: ScriptedServer) -> None:
    # A worker's handle keeps the last request's options: a GET after a POST must not post.
    for method in ("GET", "POST", "PUT", "DELETE"):
        server.add(method, "/events/1", json={})
    transport = Transport(server.url, pool_size=1, timeout=5)
    sent = [
        ("POST", '{"a": 1}'),
        ("GET", None),
        ("PUT", '{"b": 2}'),
        ("DELETE", None),
        ("GET", None),
    ]
    for method, data in sent:
        assert transport.send(method, "/events/1", data=data).status_code == 200
    assert [(c.method, c.body or None) for c in server.calls] == [
        (m, d.encode() if d else None) for m, d in sent
    ]
    transport.close()
