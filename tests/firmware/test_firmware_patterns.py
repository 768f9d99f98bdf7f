"""Alert patterns, the button's taps and holds and "link lost", in the real firmware (MicroPython).

``mp_patterns.py`` runs the App on the models with the fake clock (10-ms main-loop
passes) and reports the motor pin's transitions; the numbers here are the
patterns as docs/protocol.md and docs/firmware.md state them, worked out by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from strideguard import protocol as P

MpRunner = Callable[..., str]


@pytest.fixture(scope="module")
def scenarios(run_mp: MpRunner) -> dict[str, dict[str, Any]]:
    out = run_mp("mp_patterns.py", timeout_s=120)
    assert out.strip().endswith("patterns ok")
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {r["name"]: r for r in rows}


def stop_play(at_ms: int) -> list[list[int]]:
    """The stop pattern's pin transitions: 3 x (600 on, 300 off) from ``at_ms``."""
    out = []
    for k in range(3):
        out += [[at_ms + 900 * k, 1], [at_ms + 900 * k + 600, 0]]
    return out


def test_stop_pattern_repeats_every_10_s_until_the_host_acknowledges(scenarios: dict) -> None:
    s = scenarios["stop_host_ack"]
    assert s["play"] == s["ack"] == s["ack_again"] == P.RESULT_SUCCESS
    # plays at 0, 10 and 20 s; the acknowledgement at 25 s stops the one due at 30 s
    assert s["ack_at"] == 25_000
    assert s["pin"] == stop_play(0) + stop_play(10_000) + stop_play(20_000)
    assert s["acknowledged"] == 1  # the second OP_ACKNOWLEDGE found nothing waiting


def test_bad_patterns_are_refused_and_change_nothing(scenarios: dict) -> None:
    s = scenarios["refused"]
    bad_length, invalid = P.RESULT_BAD_LENGTH, P.RESULT_INVALID_PARAMETER
    assert s["answers"] == [
        bad_length,  # no header
        bad_length,  # no pulse
        bad_length,  # half a pulse
        bad_length,  # nine pulses
        bad_length,  # 24 bytes: longer than the 20 a pattern can have
        invalid,  # a 40-ms pulse
        invalid,  # plays would overlap
        invalid,  # until acknowledged with period 0
        invalid,  # period above 60 s
        invalid,  # more than 10 min of plays
        bad_length,  # OP_ACKNOWLEDGE with a parameter
    ]
    # the edges are valid: a 50-ms pulse, 9 min 0.2 s of plays, 255 plays
    assert s["edge"] == [P.RESULT_SUCCESS] * 3 and s["patterns"] == 3


def test_a_2_s_hold_acknowledges_the_waiting_stop_pattern(scenarios: dict) -> None:
    s = scenarios["stop_button_ack"]
    # held at 4 s (seen at the next 10-ms pass): acknowledged 2 s later; one 100-ms
    # blip 250 ms after that says so; the play due at 10 s never comes
    assert s["press_at"] == 4000
    assert s["pin"] == [*stop_play(0), [6260, 1], [6360, 0]]
    (frame_flags,) = s["flags2"]
    assert frame_flags[1] == P.FLAG2_ACKNOWLEDGED  # in exactly one frame the host got
    assert s["acknowledged"] == 1 and s["holds"] == 1 and s["marks"] == 0  # not "pain now"


def test_a_flag_in_a_frame_that_failed_reaches_the_host_once_by_resend(scenarios: dict) -> None:
    s = scenarios["flag_in_a_failed_frame"]
    assert s["acknowledged"] == 1 and s["hole"] is not None
    # not in any live frame (not the failed one, not the next one as well) ...
    assert [f for f in s["live_flags2"] if f[1] & P.FLAG2_ACKNOWLEDGED] == []
    # ... but in one of the frames resent on request: exactly once
    assert s["resend"] == P.RESULT_SUCCESS
    resent = s["resent_flags2"]
    assert len(resent) >= 2 and all(f & P.FLAG2_BACKFILL for f in resent)
    assert [f for f in resent if f & P.FLAG2_ACKNOWLEDGED] == [
        P.FLAG2_BACKFILL | P.FLAG2_ACKNOWLEDGED
    ]


def test_a_hold_during_a_pulse_cuts_it_short_and_the_blip_comes_apart(scenarios: dict) -> None:
    s = scenarios["stop_button_ack_in_pulse"]
    # held from 100 ms (seen at the 110-ms pass): acknowledged at 2110 ms, inside the
    # third pulse (1800..2400): off at once, the blip 250 ms later, nothing after
    assert s["pin"] == [*stop_play(0)[:4], [1800, 1], [2110, 0], [2360, 1], [2460, 0]]
    assert s["led"] == s["pin"]  # the LED mirrors the motor


def test_taps_mark_pain_and_other_holds_acknowledge_nothing(scenarios: dict) -> None:
    s = scenarios["no_ack"]
    # a 1.5-s hold, a 300-ms tap and an IRQ-only tap during the pattern: it goes on
    assert s["pin"] == stop_play(0) + stop_play(10_000)
    assert s["marks"] == 2 and s["taps"] == 2
    assert s["flags2"] == []  # no acknowledgement reached the host
    # a 2.5-s hold with no pattern: nothing (ignored for now), but counted as a hold
    assert s["idle_hold_pin"] == [] and s["idle_hold_flags2"] == [] and s["holds"] == 1


def test_a_pattern_that_ended_can_be_acknowledged_for_30_s(scenarios: dict) -> None:
    s = scenarios["ack_window"]
    assert [f[1] for f in s["in_window"]] == [P.FLAG2_ACKNOWLEDGED]  # 20 s after
    assert s["after_window"] == []  # 31 s after
    assert s["acknowledged"] == 1


def link_lost_pin(at_ms: int) -> list[list[int]]:
    out, t = [], at_ms
    pattern = P.PATTERN_LINK_LOST_MS
    for on, off in zip(pattern[0::2], pattern[1::2], strict=True):
        out += [[t, 1], [t + on, 0]]
        t += on + off
    return out


def test_link_lost_after_30_s_once_and_the_host_hears_of_it(scenarios: dict) -> None:
    s = scenarios["link_lost"]
    assert s["pin"] == link_lost_pin(30_000)  # and nothing more in the next 60 s
    assert s["cues"] == 1
    # the first frame of the next connection carries the news
    assert s["flags2_after_reconnect"] == [[0, P.FLAG2_LINK_LOST_CUE]]
    assert s["cues_after_goodbye"] == 1  # a host that stopped the stream: no "link lost"


def test_link_lost_waits_for_a_repeating_stop_pattern(scenarios: dict) -> None:
    s = scenarios["link_lost_after_stop"]
    assert s["cues_before"] == 0 and s["cues"] == 1
    # the long press: the blip, then (a second later) "link lost"
    assert s["pin"][:2] == [[360, 1], [460, 0]]
    assert s["pin"][2:] == link_lost_pin(1460)


def test_identify_uses_the_motor_between_plays_only(scenarios: dict) -> None:
    pin = scenarios["identify_and_pattern"]["pin"]
    # pattern (300 on, 300 off) twice, 1.5 s apart: inside each play the pattern's
    # levels exactly; between them identify's 250-ms blinking goes on
    assert pin[:2] == [[0, 1], [300, 0]] and pin[4:6] == [[1040, 1], [1290, 0]]
    assert [1500, 1] in pin and [1800, 0] in pin
    inside = [p for p in pin if 0 < p[0] < 600 or 1500 < p[0] < 2100]
    assert inside == [[300, 0], [1800, 0]]


def test_no_allocation_while_a_pattern_plays(scenarios: dict) -> None:
    s = scenarios["locked"]
    # 0.2 .. 15.2 s of a metronome (60 ms every 353 ms) under heap_lock: 43 pulses
    # start and 42 end in the window, each on the motor and the LED
    assert s["changes"] == 2 * (43 + 42) and s["lost"] == 0
