"""The reports in headless Chromium: they load from a file with no console errors, show
their plots, and read at phone width; --pdf prints; the phone page asks the day-after
question. Saves a screenshot (docs/report.png with STRIDEGUARD_UPDATE_SCREENSHOTS=1).

Needs Debian's ``chromium`` and ``chromium-driver`` like tests/host/test_web_page.py
(skipped only when they are missing and cannot be installed).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from strideguard.cli import main
from strideguard.history import History
from strideguard.history.ingest import record_from_imus
from strideguard.live.web_sink import WebSink
from strideguard.report.run import run_report_html
from strideguard_devkit.sim import simulate_pair
from tests.conftest import screenshot_path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT = screenshot_path("report.png")
PHONE_WIDTH, PHONE_HEIGHT = 412, 915
STARTED = datetime(2026, 3, 7, 7, 15, tzinfo=UTC)


def _need_browser() -> tuple[str, str]:
    if CHROMIUM and CHROMEDRIVER:
        return CHROMIUM, CHROMEDRIVER
    how = "apt-get install -y chromium chromium-driver (or run make test as root)"
    if os.geteuid() == 0 or os.environ.get("CI"):
        pytest.fail(f"chromium/chromedriver missing although we could install them: {how}")
    pytest.skip(f"chromium/chromedriver not installed and not root to install them: {how}")


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    chromium, chromedriver = _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="sg-chromium-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for arg in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            f"--window-size={PHONE_WIDTH},{PHONE_HEIGHT}",
            "--hide-scrollbars",
        ):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        drv = webdriver.Chrome(options=opts, service=Service(executable_path=chromedriver))
        drv.set_page_load_timeout(20)
        drv.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PHONE_WIDTH, "height": PHONE_HEIGHT, "deviceScaleFactor": 2, "mobile": True},
        )
        try:
            yield drv
        finally:
            drv.quit()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history with the demo run (overstriding at 4:00, a guarded right leg from 7:00),
    both legs, and two easy runs before it."""
    path = tmp_path_factory.mktemp("report") / "h.sqlite"
    with History(path) as h:
        for k, (scenario, duration, start) in enumerate(
            (
                ("steady", 120.0, STARTED - timedelta(days=4)),
                ("hills", 150.0, STARTED - timedelta(days=2)),
                ("demo", 600.0, STARTED),
            )
        ):
            left, right = simulate_pair(scenario, duration_s=duration, rate_hz=200, seed=5 + k)
            rec = record_from_imus(
                [
                    (0, "StrideGuard-L", "L", left.recording),
                    (1, "StrideGuard-R", "R", right.recording),
                ],
                started_utc=start,
            )
            h.add_run(rec)
    return path


def page_checks(driver: Any, url: str) -> dict[str, Any]:
    """Load ``url`` and return what the tests assert on."""
    driver.get_log("browser")  # drop earlier entries
    driver.get(url)
    end = time.monotonic() + 10
    while driver.execute_script("return document.readyState") != "complete":
        assert time.monotonic() < end, "page did not finish loading"
        time.sleep(0.05)
    images_ready = driver.execute_script(
        "return Array.from(document.images).every(i => i.complete)"
    )
    assert images_ready
    info = driver.execute_script(
        """
        const imgs = Array.from(document.images).map(i => {
          const r = i.getBoundingClientRect();
          return {w: i.naturalWidth, h: i.naturalHeight, shown: r.width, visible: getComputedStyle(i).display !== 'none'};
        });
        return {
          title: document.title,
          imgs: imgs,
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
          fontPx: parseFloat(getComputedStyle(document.body).fontSize),
          smallest: Math.min(...Array.from(document.querySelectorAll('p, li, td, dd')).map(e => parseFloat(getComputedStyle(e).fontSize))),
          headings: Array.from(document.querySelectorAll('h2')).map(h => h.innerText),
          text: document.body.innerText,
          external: Array.from(document.querySelectorAll('[src],[href]')).map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => !u.startsWith('data:') && !u.startsWith('#')),
        };
        """
    )
    info["errors"] = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return info


def assert_readable_on_a_phone(info: dict[str, Any], n_plots: int) -> None:
    assert info["errors"] == []
    assert info["external"] == []  # self-contained
    assert len(info["imgs"]) >= n_plots
    for img in info["imgs"]:
        assert img["w"] > 200 and img["h"] > 100 and img["visible"]
        assert 300 <= img["shown"] <= PHONE_WIDTH
    assert info["scrollWidth"] <= info["innerWidth"] == PHONE_WIDTH  # no sideways scrolling
    assert info["fontPx"] >= 16 and info["smallest"] >= 13


def test_run_report_in_chromium(
    driver: Any, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    info = page_checks(driver, out.as_uri())
    assert info["title"].startswith("Run 3")
    assert info["headings"] == [
        "At a glance",
        "What to do",
        "Minute by minute",
        "Cues and alerts",
        "Left and right",
        "What the numbers mean",
        "Details",
    ]
    assert_readable_on_a_phone(info, n_plots=5)
    text = info["text"]
    assert "Gait changed (right leg)" in text and "stop and get checked" in text
    assert "Overstriding" in text and "cadence 5–10 % higher" in text
    assert "steps/min" in text and "k°/s²" in text and "no diagnosis" in text
    # the screenshot in docs/: the top of the report on a phone, from a fixed clock
    with History(db) as h:
        html = run_report_html(h.load_run(3), now=STARTED + timedelta(hours=1))
    fixed = tmp_path / "fixed.html"
    fixed.write_text(html, encoding="utf-8")
    driver.get(fixed.as_uri())
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 1700, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        driver.save_screenshot(str(SCREENSHOT))
    finally:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PHONE_WIDTH, "height": PHONE_HEIGHT, "deviceScaleFactor": 2, "mobile": True},
        )
    assert SCREENSHOT.stat().st_size > 20000


def test_trend_and_episode_pages_in_chromium(
    driver: Any, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trend = tmp_path / "trend.html"
    assert main(["report", "--trend", "--weeks", "520", "--db", str(db), "--out", str(trend)]) == 0
    info = page_checks(driver, trend.as_uri())
    assert_readable_on_a_phone(info, n_plots=4)
    assert "Week by week" in info["headings"]
    episode = tmp_path / "episode.html"
    assert main(["report", "--episode", "--db", str(db), "--out", str(episode)]) == 0
    capsys.readouterr()
    info = page_checks(driver, episode.as_uri())
    assert_readable_on_a_phone(info, n_plots=1)
    assert "right leg" in info["title"] and "The 28 days before" in info["headings"]


def test_pdf_is_printed_with_chromium(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _need_browser()
    out = tmp_path / "episode.html"
    assert main(["report", "--episode", "--pdf", "--db", str(db), "--out", str(out)]) == 0
    pdf = out.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10000
    assert f"and {pdf}" in capsys.readouterr().out


def test_phone_page_day_after_question_in_chromium(driver: Any) -> None:
    answers: list[str] = []
    with WebSink("0.0.0.0", 0, heartbeat_s=1.0) as web:
        web.ask(
            7,
            "Yesterday you marked pain in your right leg. Does it still hurt?",
            lambda a: answers.append(a) or "See a doctor: pain after 24 h.",
        )
        driver.get(web.local_url)
        end = time.monotonic() + 10
        while not driver.execute_script("return !document.getElementById('question').hidden"):
            assert time.monotonic() < end, "question not shown"
            time.sleep(0.05)
        assert "right leg" in driver.execute_script(
            "return document.getElementById('question-text').innerText"
        )
        driver.execute_script(
            "document.querySelector('#question-buttons button[data-answer=yes]').click()"
        )
        while "doctor" not in driver.execute_script(
            "return document.getElementById('question-advice').innerText"
        ):
            assert time.monotonic() < end + 5, "advice not shown"
            time.sleep(0.05)
        assert driver.execute_script("return document.getElementById('question-buttons').hidden")
        assert answers == ["yes"]
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert errors == []
