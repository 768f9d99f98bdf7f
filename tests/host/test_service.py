"""``strideguard service install|status``: the systemd unit's content and the status report."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from strideguard.cli import main
from strideguard.commands.service import status_lines, status_report
from strideguard.service.state import SCHEMA, SessionState, read_state
from strideguard.service.unit import systemd_quote, unit_text
from strideguard.service.webtoken import lasting_token, read_token


def _unit(path: Path) -> dict[str, list[str]]:
    """The unit file as {section: ["Key=value", ...]} (comments left out)."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
        else:
            sections[current].append(line)
    return sections


def _exec_words(exec_start: str) -> list[str]:
    """ExecStart's words, unquoted as systemd does for our quoting (double quotes, %%, $$)."""
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(exec_start)]


def test_user_unit_runs_the_headless_host_and_restarts_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STRIDEGUARD_DATA_DIR", str(tmp_path / "data dir"))
    cfg = tmp_path / "alerts 50%.toml"
    cfg.write_text("[overstride]\nangle_above_reference_deg = 6.0\n")
    code = main(
        [
            "service",
            "install",
            "--user",
            "--unit-dir",
            str(tmp_path / "units"),
            "--sensor",
            "C4:DE:E2:19:A0:01",
            "--sensor",
            "StrideGuard-R",
            "--end-still",
            "3",
            "--alert-config",
            str(cfg),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    path = tmp_path / "units" / "strideguard.service"
    unit = _unit(path)
    service = dict(
        line.split("=", 1) for line in unit["Service"] if not line.startswith("Environment=")
    )
    words = _exec_words(service["ExecStart"])
    assert Path(words[0]).is_absolute() and Path(words[0]).name in {
        "strideguard",
        "python",
        "python3",
    }
    i = words.index("live")
    assert words[i : i + 2] == ["live", "--headless"]
    live = words[i:]
    assert live[live.index("--web") + 1] == "0.0.0.0"
    assert [live[k + 1] for k, w in enumerate(live) if w == "--sensor"] == [
        "C4:DE:E2:19:A0:01",
        "StrideGuard-R",
    ]
    assert live[live.index("--end-still") + 1] == "3"
    assert live[live.index("--alert-config") + 1] == str(cfg)  # absolute, space and % survive
    assert service["Restart"] == "on-failure"
    assert float(service["RestartSec"]) > 0
    assert service["KillSignal"] == "SIGTERM"  # the current run ends cleanly
    assert "User" not in service  # a user unit runs as its user
    env = [line.split("=", 1)[1] for line in unit["Service"] if line.startswith("Environment=")]
    assert f'"STRIDEGUARD_DATA_DIR={tmp_path / "data dir"}"' in env
    assert unit["Install"] == ["WantedBy=default.target"]
    # how to enable it, and the phone page's lasting address
    assert (
        "systemctl --user daemon-reload && systemctl --user enable --now strideguard.service" in out
    )
    assert "loginctl enable-linger" in out
    token = read_token(tmp_path / "data dir" / "web-token")
    assert token is not None and f"?token={token}" in out
    assert stat.S_IMODE((tmp_path / "data dir" / "web-token").stat().st_mode) == 0o600
    # the live parser accepts what the unit runs (what passes here starts at boot)
    from strideguard.cli import build_parser

    args = build_parser().parse_args(live)
    assert args.headless and args.end_still == 3.0
    # each run of the service loads (and stores) this runner's baselines
    assert live[live.index("--runner") + 1] == "default" and args.runner == "default"


@pytest.mark.parametrize(
    ("extra", "runner"),
    [(["--runner", "anna"], "anna"), ([], "default")],
)
def test_the_service_runs_for_a_named_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], runner: str
) -> None:
    assert main(["service", "install", "--user", "--print", *extra]) == 0
    words = _exec_words(
        next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ExecStart="))
    )
    assert words[words.index("--runner") + 1] == runner
    # one stored baseline for every run instead: no runner's baselines
    base = tmp_path / "b.json"
    base.write_text("{}")
    assert main(["service", "install", "--user", "--print", "--baseline", str(base)]) == 0
    assert "--runner" not in capsys.readouterr().out
    assert main(["service", "install", "--print", "--runner", "anna", "--baseline", str(base)]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert main(["service", "install", "--print", "--runner", "../x"]) == 2
    assert "--runner" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--end-still", "--end-gone"])
@pytest.mark.parametrize("value", ["0", "100000", "nan", "soon"])
def test_live_and_service_refuse_the_same_run_ends(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One definition of the headless options (``add_headless_arguments``), one range."""
    for argv in (["live", "--headless"], ["service", "install", "--print"]):
        assert main([*argv, option, value]) == 2
        assert option in capsys.readouterr().err


def test_system_unit_runs_as_the_runner_after_bluez(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STRIDEGUARD_DATA_DIR", raising=False)
    monkeypatch.setenv("SUDO_USER", "runner")
    code = main(["service", "install", "--unit-dir", str(tmp_path), "--no-web", "--no-sound"])
    assert code == 0
    unit = _unit(tmp_path / "strideguard.service")
    assert "After=bluetooth.service network.target sound.target" in unit["Unit"]
    assert "User=runner" in unit["Service"]
    assert unit["Install"] == ["WantedBy=multi-user.target"]
    exec_start = next(x for x in unit["Service"] if x.startswith("ExecStart="))
    assert "--web" not in exec_start and "--no-sound" in exec_start
    assert "sudo systemctl daemon-reload" in capsys.readouterr().out
    # systemd itself accepts it (where systemd is installed, as on every pocket host)
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        r = subprocess.run(
            [analyze, "verify", str(tmp_path / "strideguard.service")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        assert "strideguard.service" not in r.stderr, r.stderr


def test_install_print_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "install", "--user", "--print", "--unit-dir", str(tmp_path)]) == 0
    assert "[Service]" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--end-still", "0"], "--end-still"),
        (["--end-gone", "nan"], "--end-gone"),
        (["--alert-config", "/nonexistent/a.toml"], "no such file"),
        (["--web", "0.0.0.0:99999"], "port"),
        (["--sensor", "bad\nname"], "control character"),
    ],
)
def test_install_refuses_bad_options_in_one_line(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["service", "install", "--user", "--unit-dir", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "strideguard.service").exists()


def test_unit_folder_that_cannot_be_written_says_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = main(["service", "install", "--unit-dir", str(blocker / "units"), "--no-web"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "cannot write" in err and "sudo, or --user" in err


def test_systemd_quoting() -> None:
    assert systemd_quote("--headless") == "--headless"
    assert systemd_quote("/a b/c") == '"/a b/c"'
    assert systemd_quote('say "hi"') == '"say \\"hi\\""'
    assert systemd_quote("100%") == "100%%"
    assert systemd_quote("$HOME") == '"$$HOME"'
    assert systemd_quote("") == '""'
    with pytest.raises(ValueError):
        systemd_quote("a\nb")
    with pytest.raises(ValueError):
        unit_text(["x"], user_unit=False)  # a system unit must say whom it runs as


def test_status_of_a_running_and_a_dead_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.json"
    assert main(["service", "status", "--state", str(path)]) == 0
    assert "no headless session has run here yet" in capsys.readouterr().out

    state = SessionState(path)
    state.update(state="running", message="Run with StrideGuard-L", web_url="http://x/?token=t")
    state.update(
        run={
            "run_time": "12:04",
            "recording": "/r/run.sgrec",
            "sensors": [{"sensor": "StrideGuard-L", "strides": 530, "battery_pct": 64}],
            "alerts_waiting": [
                {"sensor": "StrideGuard-L", "severity": "stop", "title": "Gait changed"}
            ],
        },
        last_run={
            "ended_utc": "2026-01-02T10:00:00+00:00",
            "ended_by": "still",
            "strides": 900,
            "run_time": "31:00",
            "recording": "/r/old.sgrec",
            "history_run_id": 7,
        },
        runs_done=1,
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the page's token
    assert main(["service", "status", "--state", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["alive"] is True and report["stale"] is False  # this process wrote it
    assert report["state"] == "running" and report["runs_done"] == 1
    lines = "\n".join(status_lines(report))
    assert "running since" in lines and "12:04 so far" in lines
    assert "StrideGuard-L: 530 strides, battery 64 %" in lines
    assert "stop Gait changed" in lines
    assert "ended by" not in lines and "(still), 900 strides in 31:00" in lines
    assert "history run 7" in lines and "phone page: http://x/?token=t" in lines

    # an old file whose process is gone: "not running"
    data = json.loads(path.read_text())
    data["pid"] = 2**22 + 12345  # beyond pid_max on Linux: no such process
    report = status_report(data)
    assert report["alive"] is False
    assert "not running" in status_lines(report)[0]
    # alive but silent for long: stuck
    data["pid"] = os.getpid()
    old = datetime.now(UTC) - timedelta(minutes=5)
    data["updated_utc"] = old.isoformat(timespec="seconds")
    assert status_report(data)["stale"] is True
    assert read_state(tmp_path / "missing.json") is None
    (tmp_path / "junk.json").write_text('{"schema": "other"}')
    assert read_state(tmp_path / "junk.json") is None
    assert data["schema"] == SCHEMA


def test_lasting_token_is_kept_and_a_damaged_one_replaced(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "web-token"
    first = lasting_token(path)
    assert lasting_token(path) == first and len(first) >= 16
    path.write_text("not a token!\n")
    second = lasting_token(path)
    assert second != first and read_token(path) == second
