"""A lossy BLE link with backfill, simulated in board time: the recording a live run would make.

The virtual board runs the real firmware, but only at wall-clock pace when
outages matter (a reconnect takes real seconds), so a ten-minute run with
disconnects would take ten minutes. This module plays the same link in
simulated time instead, with the very code on both ends:

* the board: every frame the sampler builds (``strideguard.frames.encode_frames``,
  byte-compatible with the firmware's, checked by the cross-runtime tests) goes
  into ``firmware/backfill.py``'s ring — the firmware module itself, run under
  CPython (``tests/firmware/test_firmware_backfill.py`` checks it behaves the same
  there) — and is sent while the link is up; each 10-ms main-loop pass handles the
  control writes, sends the pass's live frames, then lets the ring serve resends
  within its budget, as ``firmware/app.py`` does;
* the link: notifications arrive at the next connection event plus a latency,
  unless a :class:`~strideguard_devkit.linkloss.NotificationLoss` takes them (live
  and resent alike); an outage stops everything for its duration (the reconnect
  included); a control write reaches the board half a round trip later, its answer
  comes back after the other half;
* the host: :class:`~strideguard.assembler.StreamAssembler` and
  :class:`~strideguard.backfill.BackfillPlanner` decide, in arrival order, exactly
  as :class:`~strideguard.ble.receiver.SensorLink` does, and every frame and event
  goes into a recording (:class:`~strideguard.recording.RecordingWriter`).

``strideguard replay`` of that recording is then the live path's result and
``strideguard analyze`` the offline one (``bench/bench_backfill.py``).
"""

from __future__ import annotations

import heapq
import importlib.util
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from strideguard import protocol as proto
from strideguard.assembler import StreamAssembler
from strideguard.backfill import BackfillPlanner
from strideguard.frames import encode_frames
from strideguard.recording import RecordingWriter
from strideguard_devkit.linkloss import NotificationLoss
from strideguard_devkit.sim.core import SimRun

LOOP_S = 0.010  # the firmware's main-loop pass
TICK_S = 0.1  # the host consumer's look at pending backfill without traffic (BACKFILL_TICK_S)


def firmware_module(name: str) -> ModuleType:
    """Import a firmware module (``firmware/<name>.py``) under CPython.

    Its ``import protocol`` gets the host's ``strideguard.protocol`` (the same file).
    """
    key = f"strideguard_firmware_{name}"
    if key in sys.modules:
        return sys.modules[key]
    from strideguard.commands.flash import firmware_dir

    path = firmware_dir(None) / f"{name}.py"
    saved = sys.modules.get("protocol")
    sys.modules["protocol"] = proto
    try:
        spec = importlib.util.spec_from_file_location(key, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            sys.modules.pop("protocol", None)
        else:
            sys.modules["protocol"] = saved
    return module


@dataclass(frozen=True)
class LinkScenario:
    """What the link does.

    Attributes
    ----------
    loss_rate, burst_mean_frames
        Notification loss (:class:`~strideguard_devkit.linkloss.NotificationLoss`).
    disconnects
        ``(start_s, duration_s)`` outages in board time: nothing crosses, and the
        stream is back (reconnected, started) when the outage ends.
    backfill
        The board keeps frames and answers ``OP_RESEND``; ``False``: an older board.
    connection_interval_s, latency_s
        A notification leaves at the next connection event and arrives ``latency_s`` later.
    control_rtt_s
        A control write and its answer (two connection events and the firmware's pass).
    ring_bytes
        The firmware's ring (``backfill.RING_BYTES`` by default).
    """

    loss_rate: float = 0.0
    burst_mean_frames: float = 1.0
    disconnects: tuple[tuple[float, float], ...] = ()
    backfill: bool = True
    connection_interval_s: float = 0.015
    latency_s: float = 0.008
    control_rtt_s: float = 0.045
    ring_bytes: int | None = None


@dataclass
class LinkResult:
    """What happened, and the truth to check the recording against.

    Attributes
    ----------
    path
        The recording.
    n_samples
        Samples the sensor measured.
    never_delivered
        ``(first_index, n)`` runs of samples that never reached the host.
    notifications, resent_frames, lost_notifications
        Data notifications the board sent (live and resent), of which resent, and
        lost on the air.
    requests
        ``OP_RESEND`` writes.
    """

    path: Path
    n_samples: int
    never_delivered: list[tuple[int, int]] = field(default_factory=list)
    notifications: int = 0
    resent_frames: int = 0
    lost_notifications: int = 0
    requests: int = 0


class _Board:
    """The firmware's side: frames, ring, live sending and resends."""

    def __init__(self, frames: list[bytes], per: int, rate: int, scenario: LinkScenario) -> None:
        self.frames = frames
        self.per = per
        self.rate = rate
        bf = firmware_module("backfill")
        self.ring = bf.Backfill(scenario.ring_bytes or bf.RING_BYTES) if scenario.backfill else None
        self.next_frame = 0
        self.connections = 0
        self.conn = 0  # the current connection's handle (0: none)
        self.conns: dict[int, int] = {}
        self.start_pending = False
        self.out: list[tuple[float, bytes]] = []

    # the BleServer interface backfill.Backfill.serve uses
    def notify_data(self, conn: int, frame: Any) -> bool:
        self.out.append((0.0, bytes(frame)))
        return True

    def ready_until(self, t: float) -> int:
        """Frames whose last sample exists at board time ``t``."""
        n = math.floor(t * self.rate + 1e-9) // self.per
        return min(n, len(self.frames))


def simulate_link(
    run: SimRun,
    scenario: LinkScenario,
    path: str | Path,
    *,
    seed: int = 0,
    mtu: int = proto.PREFERRED_MTU,
    sensor: str = "StrideGuard-R",
) -> LinkResult:
    """Play ``run`` over the link of ``scenario``; write what the host receives to ``path``.

    Returns
    -------
    LinkResult
        Counters and the truth of what never arrived.
    """
    rate = round(run.nominal_rate_hz)
    per = proto.samples_per_frame(mtu)
    raw = run.raw
    flags = np.zeros(raw.shape[0], np.uint8)
    sat = np.any((raw == 32767) | (raw == -32768), axis=1)
    flags[sat] |= proto.FLAG_SATURATED
    clock_scale = run.nominal_rate_hz / run.recording.sampling_rate_hz
    n_full = raw.shape[0] // per * per
    frames = encode_frames(
        raw[:n_full],
        rate_hz=rate,
        mtu=mtu,
        clock_scale=clock_scale,
        flags=flags[:n_full],
        version=proto.FRAME_VERSION if scenario.backfill else proto.FRAME_VERSION_1,
    )
    board = _Board(frames, per, rate, scenario)
    loss = NotificationLoss(
        scenario.loss_rate, burst_mean_frames=scenario.burst_mean_frames, seed=seed
    )
    outages = sorted((float(a), float(a) + float(d)) for a, d in scenario.disconnects)
    result = LinkResult(path=Path(path), n_samples=n_full)
    delivered = np.zeros(n_full, bool)
    end_s = (n_full / rate) + 3.0
    ci = scenario.connection_interval_s

    def up(t: float) -> bool:
        return not any(a <= t < b for a, b in outages)

    def arrival(t: float) -> float:
        return math.ceil((t + 1e-9) / ci) * ci + scenario.latency_s

    # host-side state
    asm = StreamAssembler()
    planner = BackfillPlanner()
    host: list[tuple[float, int, str, Any]] = []  # (time, seq, kind, item)
    seq = 0

    def at(t: float, kind: str, item: Any) -> None:
        nonlocal seq
        heapq.heappush(host, (t, seq, kind, item))
        seq += 1

    to_board: list[tuple[float, bytes, int]] = []  # control writes in flight (arrive, data, conn)

    with RecordingWriter(
        path, {"sensors": [sensor], "source": "linksim", "mode": "simulated"}
    ) as rec:

        def record_event(ev: dict[str, Any], t: float) -> None:
            rec.append_event({"sensor": sensor, **ev}, arrival_s=t)

        def deliver(block: Any, t: float) -> None:
            if block is None:
                return
            for first, n in block.gaps:
                record_event({"event": "gap", "first_missing_index": first, "n_missing": n}, t)

        def backfill_event(ev: dict[str, Any], t: float) -> None:
            record_event(ev, t)
            if ev["event"] == "backfill_answer":
                planner.answered(ev["first_index"], ev["n"], ev["result"], t)
            deliver(asm.apply_event({"sensor": sensor, **ev}), t)

        def plan(t: float) -> None:
            if not asm.hold:
                return
            p = planner.plan(asm.pending_holes(), t, rate, up(t) and board.conn != 0)
            for first, n in p.give_up:
                backfill_event({"event": "backfill_gave_up", "first_index": first, "n": n}, t)
            for first, n in p.request:
                b = asm.board_index(first)
                record_event(
                    {"event": "backfill_request", "first_index": first, "n": n, "board_index": b},
                    t,
                )
                planner.sent(first, n, t)
                result.requests += 1
                to_board.append(
                    (t + scenario.control_rtt_s / 2, proto.encode_resend(b, n), board.conn)
                )

        t_board = 0.0
        next_tick = 0.0
        while t_board < end_s or host:
            # ---- the host handles everything that arrived before this pass
            while host and host[0][0] <= t_board:
                t, _s, kind, item = heapq.heappop(host)
                if kind == "frame":
                    planner.link_up()
                    rec.append_frame(item, arrival_s=t)
                    deliver(asm.feed([item], [t]), t)
                elif kind == "answer":
                    backfill_event(item, t)
                elif kind == "event":
                    record_event(item, t)
                    if item["event"] == "disconnect":
                        planner.link_down(t)
                    elif item["event"] == "stream_start":
                        if scenario.backfill and not asm.hold:
                            backfill_event({"event": "backfill_on"}, t)
                plan(t)
            if t_board >= next_tick:
                plan(t_board)
                next_tick = t_board + TICK_S
            if t_board >= end_s:
                t_board = host[0][0] if host else t_board
                continue
            # ---- the board's pass
            is_up = up(t_board)
            if is_up and board.conn == 0:  # the link is back: connect, START
                board.connections += 1
                board.conn = board.connections  # a new handle: old requests are void
                board.conns = {board.conn: mtu}
                board.start_pending = True
                for name, ev in (
                    ("connect", {}),
                    ("mtu", {"mtu": mtu}),
                    ("stream_start", {"result": 1}),
                ):
                    at(t_board + scenario.control_rtt_s, "event", {"event": name, **ev})
            elif not is_up and board.conn != 0:
                board.conn = 0
                board.conns = {}
                at(t_board, "event", {"event": "disconnect", "reason": "dropped"})
            # control writes that reached the board
            keep = []
            for t_w, data, conn in to_board:
                if t_w > t_board:
                    keep.append((t_w, data, conn))
                    continue
                if conn == 0 or conn != board.conn or not is_up:
                    continue  # the link dropped under it: the host times out and asks again
                if board.ring is None:
                    resp = bytes(
                        (proto.RESPONSE_CODE, proto.OP_RESEND, proto.RESULT_OP_NOT_SUPPORTED)
                    )
                else:
                    resp = bytes(board.ring.request(conn, data))
                at(t_board + scenario.control_rtt_s / 2, "answer", _answer(asm, data, resp))
            to_board = keep
            # frames built in this pass: kept, sent live
            live_ok = True
            until = board.ready_until(t_board)
            while board.next_frame < until:
                k = board.next_frame
                frame = bytearray(frames[k])
                if is_up and board.conn and board.start_pending:
                    frame[1] |= proto.FLAG_STREAM_START
                    board.start_pending = False
                if board.ring is not None:
                    board.ring.store(memoryview(frame))
                if is_up and board.conn:
                    result.notifications += 1
                    if loss.drop():
                        result.lost_notifications += 1
                    else:
                        at(arrival(t_board), "frame", bytes(frame))
                        delivered[k * per : (k + 1) * per] = True
                board.next_frame += 1
            # resends after the live frames
            if live_ok and is_up and board.ring is not None and board.ring.pending():
                board.out = []
                board.ring.serve(board)
                for _t, resent in board.out:
                    result.notifications += 1
                    result.resent_frames += 1
                    if loss.drop():
                        result.lost_notifications += 1
                        continue
                    at(arrival(t_board), "frame", resent)
                    first = int.from_bytes(resent[4:8], "big")
                    delivered[first : first + resent[14]] = True
            t_board = round(t_board + LOOP_S, 6)
        # the run ends: the host closes (what is held is released at finish by the pipeline)
        record_event({"event": "disconnect", "reason": "closed"}, t_board)
    missing = np.flatnonzero(~delivered)
    if missing.size:
        breaks = np.flatnonzero(np.diff(missing) > 1) + 1
        result.never_delivered = [(int(r[0]), int(r.size)) for r in np.split(missing, breaks)]
    return result


def _answer(asm: StreamAssembler, data: bytes, resp: bytes) -> dict[str, Any]:
    """The ``backfill_answer`` event the link records for a response (running indices)."""
    board = proto.resend_first_index(data)
    n = (data[5] << 8) | data[6]
    first = asm.running_index(board)
    decoded = proto.decode_resend_response(resp)
    if decoded is None:
        result, avail_board, avail_n = resp[2], board, 0
    else:
        result, avail_board, avail_n = decoded
    avail = first + (avail_board - board) % (1 << 32) if avail_n else first
    return {
        "event": "backfill_answer",
        "first_index": first,
        "n": n,
        "result": int(result),
        "available_first": int(avail),
        "available_n": int(avail_n),
    }
