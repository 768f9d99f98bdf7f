"""Sinks: time to hand an event to every sink, and until a phone-page client has it.

Prints (no pass/fail):

* per-event ``SinkHub`` delivery time with the plain terminal log, the web sink
  (two SSE clients connected) and the sound sink (off), p50/p95/max;
* hub-to-browser latency: from ``hub.handle`` until an SSE client on this machine
  has parsed the event (the sinks' share of the IC-to-alert latency, radio and
  Wi-Fi excluded), p50/p95/max;
* the cost of one redraw of the live terminal view.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
import time

from rich.console import Console

from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity
from strideguard.live.hub import SinkHub
from strideguard.live.sound import SoundSink
from strideguard.live.terminal import TerminalSink
from strideguard.live.updates import AlertUpdate, LinkUpdate, StrideUpdate
from strideguard.live.web_sink import WebSink

N_EVENTS = 600
RATE_HZ = 100.0  # far above a real run (~6 strides/s for two legs), to load the path


def _stride(i: int, sent_s: float) -> StrideUpdate:
    return StrideUpdate(
        "StrideGuard-L",
        "L",
        i,
        0.7 * i,
        {
            "cadence_spm": 171.0,
            "shank_angle_at_ic_deg": 6.0,
            "late_swing_duration_s": 0.115,
            "late_swing_peak_decel_dps2": 18000.0,
            "peak_tibial_accel_g": 8.2,
            "bench_sent_s": sent_s,
        },
    )


def _alert(i: int) -> AlertUpdate:
    return AlertUpdate(
        "StrideGuard-L",
        Alert(
            AlertKind.GAIT_CHANGED,
            Severity.STOP,
            AlertState.REMINDER,
            0.7 * i,
            i,
            "Gait changed — stop and get checked",
            "Your running has changed from your normal.",
            "Stop running and walk.",
            {},
            "L",
        ),
    )


def _reader(port: int, token: str, latencies: list[float], ready: threading.Event, n: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"/events?token={token}")
    resp = conn.getresponse()
    ready.set()
    got = 0
    while got < n:
        line = resp.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            d = json.loads(line[6:])
            sent = d.get("metrics", {}).get("bench_sent_s") if d.get("type") == "stride" else None
            if sent is not None and not d.get("replay"):
                latencies.append(time.perf_counter() - sent)
                got += 1
    conn.close()


def _pct(values: list[float]) -> str:
    ms = sorted(1000 * v for v in values)
    if not ms:
        return "no data"
    p = lambda q: ms[min(len(ms) - 1, round(q * (len(ms) - 1)))]  # noqa: E731
    return f"p50 {p(0.5):6.2f} ms  p95 {p(0.95):6.2f} ms  max {ms[-1]:6.2f} ms  (n={len(ms)})"


def run() -> None:
    """Print the numbers."""
    with WebSink("127.0.0.1", 0, heartbeat_s=5.0) as web:
        terminal = TerminalSink(Console(file=io.StringIO(), width=100), live=False)
        hub = SinkHub([web, terminal, SoundSink(bell_stream=io.StringIO())])
        hub.handle(LinkUpdate("StrideGuard-L", "connected", 247, 80))
        clients: list[list[float]] = [[], []]
        threads = []
        for lat in clients:
            ready = threading.Event()
            t = threading.Thread(
                target=_reader, args=(web.port, web.token, lat, ready, N_EVENTS), daemon=True
            )
            t.start()
            ready.wait(5)
            threads.append(t)
        time.sleep(0.2)
        period = 1.0 / RATE_HZ
        next_t = time.perf_counter()
        for i in range(N_EVENTS):
            now = time.perf_counter()
            hub.handle(_stride(i, now), origin_s=now)
            if i % 50 == 0:
                hub.handle(_alert(i))
            next_t += period
            time.sleep(max(0.0, next_t - time.perf_counter()))
        for t in threads:
            t.join(10)
        d = hub.delivery_latency()
        print(
            f"hub delivery to web+terminal+sound ({d.count} events at {RATE_HZ:.0f}/s): "
            f"p50 {d.p50_ms:.3f} ms  p95 {d.p95_ms:.3f} ms  max {d.max_ms:.3f} ms"
        )
        for k, lat in enumerate(clients, 1):
            print(f"hub -> SSE client {k} (parsed):   {_pct(lat)}")
        hub.close()

    live = TerminalSink(Console(file=io.StringIO(), width=100), live=False)
    for i in range(20):
        live.handle(_stride(i, 0.0))
    live.handle(_alert(3))
    t0 = time.perf_counter()
    reps = 100
    for _ in range(reps):
        live.render_text(width=100)
    per_ms = 1000 * (time.perf_counter() - t0) / reps
    print(
        f"terminal live view: {per_ms:.2f} ms per redraw (4 redraws/s = {0.4 * per_ms:.1f} % CPU)"
    )


if __name__ == "__main__":
    run()
