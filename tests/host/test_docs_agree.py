"""README and ``--help`` say what the commands do."""

from __future__ import annotations

import argparse
import re
import shlex

from strideguard.cli import build_parser
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_command_is_in_the_readme() -> None:
    for name in _subparsers(build_parser()):
        assert f"`strideguard {name}" in README, f"README does not show `strideguard {name}`"


def test_demo_help_tells_how_many_sensors_it_uses() -> None:
    demo = _subparsers(build_parser())["demo"]
    args = demo.parse_args([])
    assert args.two_legs is False  # one board by default
    top_help = build_parser().format_help()
    assert "two virtual sensors" not in top_help
    assert "one virtual board" in top_help


def test_the_readme_live_command_called_what_make_demo_does_is_what_it_does() -> None:
    (line,) = [ln for ln in README.splitlines() if "what `make demo` does" in ln]
    cmd = re.search(r"strideguard (live [^#`]*)", line)
    assert cmd is not None, line
    live = build_parser().parse_args(shlex.split(cmd.group(1)))
    demo = build_parser().parse_args(["demo"])
    assert live.virtual == "demo"
    assert live.one_leg == (not demo.two_legs)
    assert live.board == demo.board


def test_no_command_help_shows_a_doubled_percent_sign() -> None:
    # argparse %-formats option help but prints a description as written, so "%%" there
    # would reach the runner literally (it did in `recovery` and `eval-alerts`)
    for name, sub in _subparsers(build_parser()).items():
        text = sub.format_help()
        assert "%%" not in text, f"`strideguard {name} --help` shows '%%'"
