"""The day after: "Yesterday you marked pain in your right leg. Does it still hurt?"

When a run ended with a stop alert or a pain mark, the first ``strideguard``
command run more than :data:`CHECKIN_AFTER_H` hours after its end asks once
(terminal: :func:`ask_in_terminal`; phone page: at the start of the next
``live --web`` run). The answer — yes, no, or skipped — is stored in the
history (table ``day_after``), so the question never comes twice. A yes
gives the article's advice: pain that has not gone away after about 24 hours
deserves a doctor, and ``strideguard report --episode`` writes a one-page
summary to take to the appointment. Runs from simulated sensors are never
asked about, nor runs older than :data:`CHECKIN_WITHIN_DAYS`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TextIO

from strideguard.history.store import History

#: ask this long after the run ended (the article: pain lasting ~24 h deserves a doctor)
CHECKIN_AFTER_H = 20.0
#: runs that ended longer ago than this are not asked about any more
CHECKIN_WITHIN_DAYS = 7.0
#: set to 1 to never ask (scripts; the test suite)
NO_PROMPT_ENV = "STRIDEGUARD_NO_PROMPT"

YES_ADVICE = (
    "Pain that has not gone away after about 24 hours deserves a doctor or a "
    "physiotherapist: book an appointment, and do not run on it until you have been checked. "
    "`strideguard report --episode` writes a one-page summary of that run and the ones before "
    "it to take along."
)
NO_ADVICE = (
    "Good. Ease back in: keep the next runs easy and flat, and reduce mileage and intensity "
    "if it comes back. If pain starts while you run, stop."
)
SKIPPED_ADVICE = "Skipped: you will not be asked about that run again."


@dataclass(frozen=True)
class Question:
    """A pending day-after question.

    Attributes
    ----------
    run_id
        The run it is about.
    ended_utc
        When that run ended.
    legs
        The legs concerned: ``"L"``, ``"R"``, ``"LR"`` or ``""`` (unknown).
    pain
        The runner marked pain (else: a stop alert only).
    text
        The question as asked.
    """

    run_id: int
    ended_utc: datetime
    legs: str
    pain: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the phone page)."""
        return {
            "run_id": self.run_id,
            "ended_utc": self.ended_utc.isoformat().replace("+00:00", "Z"),
            "legs": self.legs,
            "pain": self.pain,
            "text": self.text,
        }


def utc_now() -> datetime:
    """The current time (tests replace this to move the clock)."""
    return datetime.now(UTC)


def leg_phrase(legs: str) -> str:
    """``"right leg"``, ``"left leg"``, ``"legs"`` or ``"leg"``."""
    return {"L": "left leg", "R": "right leg", "LR": "legs"}.get(legs, "leg")


def when_phrase(ended: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """``"Yesterday"``, ``"Earlier today"``, ``"On Monday"`` or ``"On 3 March"`` (local days)."""
    then = ended.astimezone(tz).date()
    today = now.astimezone(tz).date()
    days = (today - then).days
    if days <= 0:
        return "Earlier today"
    if days == 1:
        return "Yesterday"
    if days < 7:
        return f"On {ended.astimezone(tz):%A}"
    return f"On {ended.astimezone(tz).day} {ended.astimezone(tz):%B}"


def question_text(
    ended: datetime, now: datetime, legs: str, pain: bool, tz: tzinfo | None = None
) -> str:
    """The question for a run with a pain mark (``pain``) or a stop alert."""
    when = when_phrase(ended, now, tz)
    if pain:
        where = "in both legs" if legs == "LR" else f"in your {leg_phrase(legs)}"
        return f"{when} you marked pain {where}. Does it still hurt?"
    whose = "both legs'" if legs == "LR" else f"your {leg_phrase(legs)}'s"
    return (
        f"{when} strideguard told you to stop: {whose} running pattern had changed. "
        "Does it hurt today?"
    )


def pending_question(
    history: History, *, now: datetime | None = None, tz: tzinfo | None = None
) -> Question | None:
    """The question to ask now, if any: the latest unanswered run with a stop alert or a
    pain mark that ended between :data:`CHECKIN_WITHIN_DAYS` days and
    :data:`CHECKIN_AFTER_H` hours ago."""
    now = now or utc_now()
    latest = now - timedelta(hours=CHECKIN_AFTER_H)
    earliest = now - timedelta(days=CHECKIN_WITHIN_DAYS)
    runs = history.runs_needing_checkin(earliest.timestamp(), latest.timestamp())
    if not runs:
        return None
    r = runs[0]
    pain_legs, stop_legs = history.pain_and_stop_legs(int(r["id"]))
    pain = bool(r["n_pain_marks"])
    legs = "".join(sorted(pain_legs if pain else stop_legs))
    ended = datetime.fromtimestamp(r["started_unix_s"] + r["duration_s"], UTC)
    return Question(int(r["id"]), ended, legs, pain, question_text(ended, now, legs, pain, tz))


def advice_for(answer: str) -> str:
    """What to tell the runner after ``answer`` (``yes``, ``no``, ``skipped``)."""
    return {"yes": YES_ADVICE, "no": NO_ADVICE}.get(answer, SKIPPED_ADVICE)


def parse_answer(text: str) -> str:
    """``yes``/``no`` from what was typed; anything else (Enter) skips."""
    t = text.strip().lower()
    if t in ("y", "yes", "j", "ja", "oui", "si", "sí"):
        return "yes"
    if t in ("n", "no", "nein", "non"):
        return "no"
    return "skipped"


def ask_in_terminal(
    history: History,
    question: Question,
    *,
    stdin: TextIO,
    stdout: TextIO,
    now: datetime | None = None,
) -> str:
    """Ask ``question`` on the terminal, store the answer, print the advice; return the answer."""
    stdout.write(f"{question.text} [y]es / [n]o / Enter to skip: ")
    stdout.flush()
    try:
        line = stdin.readline()
    except (OSError, ValueError):
        line = ""
    answer = parse_answer(line)
    history.record_answer(question.run_id, answer, channel="terminal", now=now or utc_now())
    stdout.write(advice_for(answer) + "\n")
    stdout.flush()
    return answer


def prompts_disabled() -> bool:
    """``$STRIDEGUARD_NO_PROMPT`` is set to something other than ``0``/empty."""
    return os.environ.get(NO_PROMPT_ENV, "").strip() not in ("", "0")


def maybe_ask_in_terminal(
    db: Any, *, stdin: TextIO, stdout: TextIO, now: datetime | None = None
) -> str | None:
    """Ask the pending question of the history at ``db`` on the terminal, if one is due.

    Never creates a database and never fails the command it runs before: a
    missing or unusable history just means no question.

    Returns
    -------
    str or None
        The answer, or ``None`` when nothing was asked.
    """
    from pathlib import Path

    from strideguard.errors import StrideguardError

    if not Path(db).exists():
        return None
    try:
        with History(db, create=False) as history:
            question = pending_question(history, now=now)
            if question is None:
                return None
            return ask_in_terminal(history, question, stdin=stdin, stdout=stdout, now=now)
    except StrideguardError:
        return None
