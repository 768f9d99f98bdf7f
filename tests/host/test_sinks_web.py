"""The phone page's server: token rules, SSE delivery through the hub, replay, limits."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from strideguard.alerts.model import AlertState
from strideguard.errors import InputError
from strideguard.live.announce import announce_phone_page, terminal_qr
from strideguard.live.hub import SinkHub
from strideguard.live.sinkargs import add_sink_arguments, open_sinks, parse_web_address
from strideguard.live.terminal import TerminalSink
from strideguard.live.web_server import is_loopback
from strideguard.live.web_sink import WebSink

from .sink_events import (
    LEFT,
    RIGHT,
    gait_alert,
    link,
    overstride_alert,
    session,
    stand_still,
    strap_slip_run,
    stride,
)


def with_token(web: WebSink, path: str) -> str:
    """``path`` with the server's token (the page always needs it)."""
    return f"{path}{'&' if '?' in path else '?'}token={web.token}"


def get(port: int, path: str, method: str = "GET") -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, resp


class SSE:
    """A minimal Server-Sent Events reader over http.client."""

    def __init__(self, port: int, path: str = "/events") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.conn.request("GET", path)
        self.resp = self.conn.getresponse()

    def next(self) -> tuple[str, dict[str, Any]]:
        """Next event with data: (event name, JSON)."""
        name, data = "message", None
        while True:
            line = self.resp.readline()
            if not line:
                raise EOFError("stream closed")
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                name = text[7:]
            elif text.startswith("data: "):
                data = json.loads(text[6:])
            elif text == "" and data is not None:
                return name, data

    def until_type(self, kind: str) -> dict[str, Any]:
        # a notice that lasts until re-anchored has ~30 strides' events between its raise and end
        for _ in range(1000):
            _, d = self.next()
            if d["type"] == kind:
                return d
        raise AssertionError(f"no {kind} event")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def local_web() -> Iterator[WebSink]:
    with WebSink("127.0.0.1", 0) as web:
        yield web


@pytest.fixture
def lan_web() -> Iterator[WebSink]:
    with WebSink("0.0.0.0", 0) as web:
        yield web


def test_loopback_needs_the_token_too(local_web: WebSink) -> None:
    """Other users and programs on this computer reach 127.0.0.1 too: no data without the token."""
    token = local_web.token
    assert token is not None and len(token) >= 16
    assert local_web.url == f"http://127.0.0.1:{local_web.port}/?token={token}"
    for path in ("/", "/state", "/events", "/events?token=wrong"):
        assert get(local_web.port, path)[0] == 403, path
    status, body, resp = get(local_web.port, with_token(local_web, "/"))
    assert status == 200 and b"<title>strideguard live</title>" in body
    assert resp.getheader("Content-Security-Policy", "").startswith("default-src 'self'")
    assert get(local_web.port, with_token(local_web, "/state"))[0] == 200
    status, body, _ = get(local_web.port, "/app.js")
    assert status == 200 and b"EventSource" in body


def test_any_address_requires_the_token(lan_web: WebSink) -> None:
    token = lan_web.token
    assert token is not None and len(token) >= 16
    assert f"/?token={token}" in lan_web.url
    assert not lan_web.url.startswith("http://0.0.0.0")
    port = lan_web.port
    for path in ("/", "/index.html", "/state", "/events", "/?token=", "/events?token=wrong"):
        status, body, _ = get(port, path)
        assert status == 403, path
        assert b"token" in body
    assert get(port, "/?token=" + token[:-1])[0] == 403
    assert get(port, "/?token=" + token)[0] == 200
    assert get(port, "/state?token=" + token)[0] == 200
    # script and style hold no data: the page loads them without the token
    assert get(port, "/style.css")[0] == 200
    # a fresh server gets a fresh token
    with WebSink("0.0.0.0", 0) as other:
        assert other.token != token


def test_loopback_refuses_foreign_host_names(local_web: WebSink) -> None:
    """A DNS-rebinding page (evil.example resolving to 127.0.0.1) gets nothing."""
    for host, expected in (
        ("evil.example", 403),
        (f"evil.example:{local_web.port}", 403),
        (f"localhost:{local_web.port}", 200),
        (f"127.0.0.1:{local_web.port}", 200),
        (f"[::1]:{local_web.port}", 200),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", local_web.port, timeout=5)
        conn.request("GET", with_token(local_web, "/state"), headers={"Host": host})
        assert conn.getresponse().status == expected, host
        conn.close()


def test_token_on_loopback_is_enforced_when_given() -> None:
    with WebSink("127.0.0.1", 0, token="s3cret-token") as web:
        assert get(web.port, "/")[0] == 403
        assert get(web.port, "/?token=s3cret-token")[0] == 200
    with pytest.raises(ValueError, match="at least 8"):
        WebSink("127.0.0.1", 0, token="short")


def test_only_get_and_known_paths(local_web: WebSink) -> None:
    assert get(local_web.port, with_token(local_web, "/"), "POST")[0] == 405
    assert get(local_web.port, with_token(local_web, "/../etc/passwd"))[0] == 404
    assert get(local_web.port, with_token(local_web, "/web/index.html"))[0] == 404
    status, body, _ = get(local_web.port, with_token(local_web, "/"), "HEAD")
    assert status == 200 and body == b""
    # a request head larger than the limit is refused without a crash
    with socket.create_connection(("127.0.0.1", local_web.port), timeout=5) as s:
        s.sendall(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n")
        assert s.recv(100) == b""
    assert get(local_web.port, with_token(local_web, "/"))[0] == 200


def test_sse_delivers_an_event_pushed_through_the_hub(lan_web: WebSink) -> None:
    hub = SinkHub([lan_web])
    client = SSE(lan_web.port, f"/events?token={lan_web.token}")
    try:
        assert client.resp.status == 200
        assert client.resp.getheader("Content-Type", "").startswith("text/event-stream")
        assert client.next()[1] == {"type": "reset"}
        alert = gait_alert()
        hub.handle(alert)
        name, got = client.next()
        assert name == "message"
        assert got == alert.to_dict()
        assert got["severity"] == "stop" and got["title"] == "Gait changed — stop and get checked"
        hub.handle(stride(LEFT, shank_angle_at_ic_deg=float("nan")))
        got = client.next()[1]
        assert got["type"] == "stride" and got["metrics"]["shank_angle_at_ic_deg"] is None
        assert lan_web.clients == 1
    finally:
        client.close()
    hub.close()
    assert hub.errors_ == {}


def test_phone_gets_every_alert_event_the_summary_lists(local_web: WebSink) -> None:
    # the sensor slips on its strap: "sensor moved" is raised, and ended once the
    # numbers are measured again from the new position (#16 §4)
    events, summary = strap_slip_run()
    listed = [(a["kind"], a["state"], a["time_s"]) for a in summary["alerts"]]
    assert listed[0][:2] == ("sensor_moved", "raised")
    ended = [t for kind, state, t in listed if (kind, state) == ("sensor_moved", "ended")]
    assert len(ended) == 1 and ended[0] > listed[0][2] + 10
    hub = SinkHub([local_web])
    client = SSE(local_web.port, with_token(local_web, "/events"))
    try:
        assert client.next()[1] == {"type": "reset"}
        for event in events:
            hub.handle(event)
        shown = []
        while len(shown) < len(listed):
            d = client.until_type("alert")
            shown.append((d["kind"], d["state"], d["time_s"]))
        # a phone that (re)connects now is not shown the ended notice as on
        state = json.loads(get(local_web.port, with_token(local_web, "/state"))[1])
    finally:
        client.close()
    hub.close()
    assert shown == listed
    assert [a["kind"] for a in state["alerts"]] == []


def test_late_client_gets_the_latest_state(local_web: WebSink) -> None:
    for event in (
        session("Run started"),
        link(LEFT, "connecting"),
        link(LEFT, "connected", battery_pct=80),
        link(RIGHT, "connected"),
        stand_still(LEFT),
        stride(LEFT, index=1, cadence_spm=160.0),
        stride(LEFT, index=2, cadence_spm=171.0),
        stride(RIGHT, index=2),
        overstride_alert(),
        gait_alert(),
        gait_alert(AlertState.REMINDER),
    ):
        local_web.handle(event)
    ended = overstride_alert()
    ended.alert.state = AlertState.ENDED
    local_web.handle(ended)

    client = SSE(local_web.port, with_token(local_web, "/events"))
    try:
        assert client.next()[1] == {"type": "reset"}
        replay = [client.next()[1] for _ in range(7)]
    finally:
        client.close()
    assert all(d["replay"] is True for d in replay)
    assert [d["type"] for d in replay] == [
        "session",
        "link",
        "link",
        "calibration",
        "stride",
        "stride",
        "alert",
    ]
    assert replay[1]["battery_pct"] == 80  # the last link state, not the first
    left = next(d for d in replay if d["type"] == "stride" and d["sensor"] == LEFT)
    assert left["metrics"]["cadence_spm"] == 171.0
    # the ended alert is gone, the active one is there in its latest state
    assert replay[-1]["kind"] == "gait_changed" and replay[-1]["state"] == "reminder"
    status, body, _ = get(local_web.port, with_token(local_web, "/state"))
    assert status == 200
    state = json.loads(body)
    assert [a["kind"] for a in state["alerts"]] == ["gait_changed"]
    assert state["calibrations"][LEFT]["state"] == "stand_still"


def test_heartbeat_and_the_newest_client_gets_the_slot() -> None:
    with WebSink("127.0.0.1", 0, heartbeat_s=0.1, max_clients=1) as web:
        first = SSE(web.port, with_token(web, "/events"))
        second = None
        try:
            assert first.next()[1]["type"] == "reset"
            name, d = first.next()
            assert name == "ping" and d["type"] == "ping"
            # without the token: refused, and nobody loses their slot
            assert get(web.port, "/events")[0] == 403
            assert first.next()[0] == "ping"
            # with it: the newcomer gets the stream, the older client is disconnected
            second = SSE(web.port, with_token(web, "/events"))
            assert second.resp.status == 200 and second.next()[1]["type"] == "reset"
            with pytest.raises((EOFError, ConnectionError, OSError)):
                for _ in range(100):
                    first.next()
            assert web.clients_evicted_ == 1 and web.clients == 1
        finally:
            first.close()
            if second is not None:
                second.close()


def test_slow_client_is_dropped_not_waited_for() -> None:
    with WebSink("127.0.0.1", 0, max_queue=5, heartbeat_s=30) as web:
        client = SSE(web.port, with_token(web, "/events"))
        try:
            client.next()
            # the writer task runs in the server thread; flood faster than it can wake
            for i in range(2000):
                web.handle(stride(LEFT, index=i))
            with pytest.raises((EOFError, ConnectionError, OSError)):
                for _ in range(3000):
                    client.next()
        finally:
            client.close()
        assert web.clients_dropped_ >= 1


def test_close_ends_streams_and_frees_the_port() -> None:
    web = WebSink("127.0.0.1", 0)
    web.start()
    port = web.port
    client = SSE(port, with_token(web, "/events"))
    client.next()
    web.handle(session("Run ended"))
    web.close()
    assert client.next()[1]["message"] == "Run ended"  # sent before closing
    with pytest.raises((EOFError, ConnectionError, OSError)):
        for _ in range(10):
            client.next()
    client.close()
    with WebSink("127.0.0.1", port) as again:
        assert again.port == port


def test_announce_prints_url_and_qr_for_lan(lan_web: WebSink, local_web: WebSink) -> None:
    assert not lan_web.local_only and local_web.local_only
    lan = announce_phone_page(lan_web.url, local_only=lan_web.local_only)
    local = announce_phone_page(local_web.url, local_only=local_web.local_only).plain
    text = lan.plain
    assert lan_web.url in text
    qr_lines = [ln for ln in text.splitlines() if set(ln) <= set("█▀▄ ") and ln]
    assert len(qr_lines) >= 12
    assert len({len(ln) for ln in qr_lines}) == 1  # a square block
    assert local_web.url in local and "█" not in local and "0.0.0.0" in local
    # drawn white on black on a terminal, so it scans on light and dark themes
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="standard", width=120).print(lan)
    assert "\x1b[97;40m█" in out.getvalue()
    assert terminal_qr("x")


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0", ("0.0.0.0", 8765)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        (":9001", ("127.0.0.1", 9001)),
        ("[::]:9002", ("::", 9002)),
        ("::1", ("::1", 8765)),
    ],
)
def test_parse_web_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_web_address(text, 8765) == expected


@pytest.mark.parametrize("text", ["0.0.0.0:x", "0.0.0.0:70000", "[::"])
def test_parse_web_address_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_web_address(text)


def test_open_sinks_from_options() -> None:
    p = argparse.ArgumentParser()
    add_sink_arguments(p)
    out = io.StringIO()
    hub = open_sinks(
        p.parse_args(["--web", "--web-port", "0", "--plain", "--no-sound"]),
        console=Console(file=out, width=100),
    )
    try:
        kinds = [type(s).__name__ for s in hub.sinks]
        assert kinds == ["WebSink", "TerminalSink"]
        web = hub.sinks[0]
        assert isinstance(web, WebSink) and "Phone page: http://127.0.0.1:" in out.getvalue()
        term = hub.sinks[1]
        assert isinstance(term, TerminalSink) and term.live_mode is False
        assert f"phone page: {web.url}" in term.render_text(width=120)
        # the port is taken now: a clear one-line error
        with pytest.raises(InputError, match="cannot serve the phone page"):
            open_sinks(
                p.parse_args(["--web", f"127.0.0.1:{web.port}", "--no-sound"]),
                console=Console(file=io.StringIO()),
            )
    finally:
        hub.close()
    plain = open_sinks(p.parse_args(["--notify"]), console=Console(file=io.StringIO()))
    assert [type(s).__name__ for s in plain.sinks] == [
        "TerminalSink",
        "SoundSink",
        "DesktopNotifySink",
    ]
    plain.close()


def test_terminal_qr_draws_the_qr_matrix() -> None:
    """Each character is two modules: dark modules are blanks (light-on-dark terminals)."""
    import qrcode

    url = "http://192.168.1.23:8765/?token=Zzk3Z7ImfPJ7SUhN--DY_A"
    text = terminal_qr(url)
    top = {"█": False, "▀": False, "▄": True, " ": True}  # is the top module dark?
    bottom = {"█": False, "▀": True, "▄": False, " ": True}
    rows: list[list[bool]] = []
    for line in text.splitlines():
        rows.append([top[c] for c in line])
        rows.append([bottom[c] for c in line])
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(url)
    qr.make(fit=True)
    expected = [[bool(v) for v in row] for row in qr.get_matrix()]
    assert rows[: len(expected)] == expected
    assert not any(any(r) for r in rows[len(expected) :])  # padding row is light


def _hog(port: int, token: str) -> socket.socket:
    """A client that opens the event stream with the token and never reads a byte."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET /events?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return s


def _wait(cond: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


def test_clients_that_never_read_cannot_lock_the_phone_out() -> None:
    """Issue #14: 16 clients that never read held every slot; the phone got 503 for 45 s."""
    with WebSink("127.0.0.1", 0, heartbeat_s=0.2, write_timeout_s=0.5) as web:
        hogs = [_hog(web.port, web.token) for _ in range(web.max_clients)]
        phone = None
        try:
            assert _wait(lambda: web.clients == web.max_clients, 5)
            # the newest client with the token gets a slot at once
            phone = SSE(web.port, with_token(web, "/events"))
            assert phone.resp.status == 200 and phone.next()[1]["type"] == "reset"
            assert web.clients_evicted_ == 1
            received: list[dict[str, Any]] = []
            reader = threading.Thread(target=lambda: received.extend(_read_all(phone)), daemon=True)
            reader.start()
            # events flow; the sockets of the clients that never read fill up and do not drain
            for i in range(150):
                web.publish({"type": "filler", "n": i, "pad": "x" * 2000})
            assert _wait(lambda: web.clients == 1, 10), web.clients
            assert web.clients_dropped_ >= web.max_clients - 1
            web.handle(stride(LEFT, index=7))
            assert _wait(lambda: any(d.get("type") == "stride" for d in received), 5)
            assert sum(d.get("type") == "filler" for d in received) == 150  # the phone lost nothing
        finally:
            for s in hogs:
                s.close()
            if phone is not None:
                phone.close()


def _read_all(client: SSE) -> Iterator[dict[str, Any]]:
    with contextlib.suppress(EOFError, ConnectionError, OSError, ValueError):
        while True:
            yield client.next()[1]


def test_the_page_learns_that_the_run_finished(local_web: WebSink) -> None:
    """The end of the run reaches the page (it then stops reconnecting: tests/host/test_web_page.py)."""
    from strideguard.live.run import LiveRun

    hub = SinkHub([local_web])
    client = SSE(local_web.port, with_token(local_web, "/events"))
    try:
        assert client.next()[1]["type"] == "reset"
        run = LiveRun(["StrideGuard-R"], hub.handle)
        run.finish()
        end = client.until_type("session")
        assert end["state"] == "ended" and end["message"].startswith("Run finished")
    finally:
        client.close()
    # a page that connects late gets the end in its replay
    late = SSE(local_web.port, with_token(local_web, "/events"))
    try:
        assert late.next()[1]["type"] == "reset"
        assert late.until_type("session")["state"] == "ended"
    finally:
        late.close()
