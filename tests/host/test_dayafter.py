"""The day after: asked once, more than 20 h after a run with pain or a stop alert; the
answer is remembered; a yes gives the doctor advice; the phone page asks the same.
The clock is injected."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from strideguard import cli
from strideguard.history import History, dayafter
from strideguard.history.dayafter import pending_question, question_text
from strideguard.live.hub import SinkHub
from strideguard.live.web_sink import WebSink

from .test_history_store import synthetic_run

#: the run ends about 07:36 UTC on Monday 2 March
RUN_START = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def stop_alert(leg: str) -> dict:
    return {
        "kind": "gait_changed",
        "severity": "stop",
        "state": "raised",
        "time_s": 300.0,
        "stride_index": 400,
        "title": "Gait changed — stop and get checked",
        "reason": "slower swing",
        "advice": "stop",
        "numbers": {},
        "leg": leg,
    }


def make_history(
    db: Path, *, pain_leg: str | None = "R", stop_leg: str | None = None, simulated: bool = False
) -> int:
    run = synthetic_run(started=RUN_START, fp=f"{pain_leg}{stop_leg}{simulated}")
    for leg in run.legs:
        leg.pain_marks_s = [200.0] if leg.leg == pain_leg else []
        leg.alerts = [stop_alert(leg.leg)] if leg.leg == stop_leg else []
    run.simulated = simulated
    with History(db) as h:
        return h.add_run(run).run_id


def end_of(db: Path, run_id: int) -> datetime:
    with History(db) as h:
        r = next(r for r in h.list_runs() if r["id"] == run_id)
    return datetime.fromtimestamp(r["ended_unix_s"], UTC)


def test_asked_only_between_20_hours_and_a_week_after(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    run_id = make_history(db)
    end = end_of(db, run_id)
    with History(db) as h:
        assert pending_question(h, now=end + timedelta(hours=19.9)) is None
        q = pending_question(h, now=end + timedelta(hours=20.1), tz=UTC)
        assert q is not None and q.run_id == run_id and q.legs == "R" and q.pain
        assert q.text == "Yesterday you marked pain in your right leg. Does it still hurt?"
        assert pending_question(h, now=end + timedelta(days=7.1)) is None


def test_the_wording_follows_the_day_and_the_leg() -> None:
    end = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # a Monday
    assert question_text(end, end + timedelta(hours=21), "L", True, UTC).startswith(
        "Yesterday you marked pain in your left leg"
    )
    assert question_text(end, end + timedelta(days=3), "LR", True, UTC).startswith(
        "On Monday you marked pain in both legs"
    )
    text = question_text(end, end + timedelta(hours=22), "R", False, UTC)
    assert text == (
        "Yesterday strideguard told you to stop: your right leg's running pattern had changed. Does it hurt today?"
    )
    early = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    assert question_text(early, early + timedelta(hours=21), "R", True, UTC).startswith(
        "Earlier today"
    )


@pytest.mark.parametrize(
    ("typed", "answer"), [("y\n", "yes"), ("no\n", "no"), ("\n", "skipped"), ("", "skipped")]
)
def test_terminal_answer_is_remembered_and_asked_once(
    tmp_path: Path, typed: str, answer: str
) -> None:
    db = tmp_path / "h.sqlite"
    run_id = make_history(db, pain_leg=None, stop_leg="L")
    now = end_of(db, run_id) + timedelta(hours=26)
    out = io.StringIO()
    got = dayafter.maybe_ask_in_terminal(db, stdin=io.StringIO(typed), stdout=out, now=now)
    assert got == answer
    text = out.getvalue()
    assert "strideguard told you to stop: your left leg's running pattern had changed" in text
    if answer == "yes":
        assert "about 24 hours deserves a doctor" in text and "strideguard report --episode" in text
    with History(db) as h:
        assert h.answer_for(run_id) == answer
    # never again, not even a day later
    again = io.StringIO()
    assert (
        dayafter.maybe_ask_in_terminal(
            db, stdin=io.StringIO("y\n"), stdout=again, now=now + timedelta(days=1)
        )
        is None
    )
    assert again.getvalue() == ""


def test_runs_without_pain_or_stop_and_simulated_runs_are_not_asked_about(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    quiet = make_history(db, pain_leg=None, stop_leg=None)
    sim = make_history(db, pain_leg="R", simulated=True)
    now = end_of(db, sim) + timedelta(hours=30)
    assert (
        dayafter.maybe_ask_in_terminal(db, stdin=io.StringIO("y\n"), stdout=io.StringIO(), now=now)
        is None
    )
    assert (
        dayafter.maybe_ask_in_terminal(
            tmp_path / "none.sqlite", stdin=io.StringIO(), stdout=io.StringIO(), now=now
        )
        is None
    )
    assert not (tmp_path / "none.sqlite").exists()
    del quiet


def test_the_next_command_asks_first_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite"
    run_id = make_history(db)
    monkeypatch.setattr(dayafter, "utc_now", lambda: end_of(db, run_id) + timedelta(hours=22))
    monkeypatch.delenv(dayafter.NO_PROMPT_ENV, raising=False)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty("yes\n"))
    monkeypatch.setattr("sys.stdout", Tty())
    assert cli.main(["recovery", "status", "--db", str(db)]) == 0
    out = cli.sys.stdout.getvalue()  # type: ignore[attr-defined]
    assert out.index("Does it still hurt?") < out.index("Return-to-run mode")
    assert "deserves a doctor" in out
    with History(db) as h:
        assert h.answer_for(run_id) == "yes"
    # not on a pipe, not for JSON, not with STRIDEGUARD_NO_PROMPT
    run2 = make_history(db, pain_leg="L")
    monkeypatch.setattr(dayafter, "utc_now", lambda: end_of(db, run2) + timedelta(hours=22))
    monkeypatch.setattr("sys.stdout", Tty())
    assert cli.main(["history", "--db", str(db), "--format", "json"]) == 0
    monkeypatch.setenv(dayafter.NO_PROMPT_ENV, "1")
    assert cli.main(["history", "--db", str(db)]) == 0
    monkeypatch.delenv(dayafter.NO_PROMPT_ENV)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert cli.main(["history", "--db", str(db)]) == 0
    assert "Does it still hurt" not in cli.sys.stdout.getvalue()  # type: ignore[attr-defined]
    with History(db) as h:
        assert h.answer_for(run2) is None
    capsys.readouterr()


def _post(url: str, body: dict, *, header: bool = True) -> tuple[int, dict | str]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **({"X-Strideguard": "1"} if header else {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def test_the_phone_page_asks_at_the_start_of_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strideguard.commands import live as live_cmd

    db = tmp_path / "h.sqlite"
    run_id = make_history(db)
    monkeypatch.setattr(dayafter, "utc_now", lambda: end_of(db, run_id) + timedelta(hours=23))
    web = WebSink("0.0.0.0", 0)
    web.start()
    try:
        hub = SinkHub()
        hub.add(web)
        live_cmd.ask_on_phone(SimpleNamespace(db=db, no_history=False), hub)
        question = web.state.question
        assert question is not None and question["id"] == run_id and "right leg" in question["text"]
        base = web.local_url.split("/?")[0]
        token = web.token
        # no token, no header, a wrong id: refused, nothing stored
        assert _post(f"{base}/action/answer", {"id": run_id, "answer": "yes"})[0] == 403
        assert (
            _post(
                f"{base}/action/answer?token={token}", {"id": run_id, "answer": "yes"}, header=False
            )[0]
            == 403
        )
        assert (
            _post(f"{base}/action/answer?token={token}", {"id": run_id + 1, "answer": "yes"})[0]
            == 400
        )
        assert (
            _post(f"{base}/action/answer?token={token}", {"id": run_id, "answer": "maybe"})[0]
            == 400
        )
        with History(db) as h:
            assert h.answer_for(run_id) is None
        status, res = _post(f"{base}/action/answer?token={token}", {"id": run_id, "answer": "yes"})
        assert (
            status == 200
            and isinstance(res, dict)
            and res["answered"] == "yes"
            and "doctor" in res["advice"]
        )
        # a second phone's later answer does not change it
        status, res = _post(f"{base}/action/answer?token={token}", {"id": run_id, "answer": "no"})
        assert status == 200 and res["answered"] == "yes"  # type: ignore[index]
        assert web.state.question["answered"] == "yes"  # late clients see the advice
    finally:
        web.close()
    with History(db) as h:
        assert h.answer_for(run_id) == "yes"
        assert h.conn.execute("SELECT channel FROM day_after").fetchone()[0] == "phone"
    # nothing pending: the phone is not asked
    web2 = WebSink("127.0.0.1", 0)
    web2.start()
    try:
        hub = SinkHub()
        hub.add(web2)
        live_cmd.ask_on_phone(SimpleNamespace(db=db, no_history=False), hub)
        assert web2.state.question is None
    finally:
        web2.close()


def test_phone_actions_refuse_bad_requests() -> None:
    import socket

    with WebSink("127.0.0.1", 0) as web:
        web.ask(1, "Does it still hurt?", lambda a: "ok")
        base = web.local_url.split("/?")[0]
        tok = f"?token={web.token}"  # the page always needs its token (also on 127.0.0.1)
        assert _post(f"{base}/action/answer", {"id": 1, "answer": "yes"})[0] == 403
        assert _post(f"{base}/action/nothing{tok}", {"id": 1})[0] == 404
        assert _post(f"{base}/action/answer{tok}", {"id": 1, "answer": "yes" * 2000})[0] == 413
        # not JSON, a JSON list, a JSON bomb within the size limit
        for body in (b"not json", b"[1, 2]", b"[" * 2000 + b"]" * 2000):
            req = urllib.request.Request(
                f"{base}/action/answer{tok}",
                data=body,
                method="POST",
                headers={"X-Strideguard": "1"},
            )
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=5)
            err.value.close()
            assert err.value.code == 400
        # no Content-Length
        host, port = "127.0.0.1", web.port
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(
                f"POST /action/answer{tok} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "X-Strideguard: 1\r\n\r\n".encode()
            )
            assert s.recv(100).startswith(b"HTTP/1.1 400")
        # another site's page sends a different Host (DNS rebinding): refused, even with the token
        req = urllib.request.Request(
            f"{base}/action/answer{tok}",
            data=b'{"id": 1, "answer": "yes"}',
            method="POST",
            headers={"X-Strideguard": "1", "Host": "evil.example"},
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        err.value.close()
        assert err.value.code == 403
        assert web.state.question is not None and "answered" not in web.state.question
