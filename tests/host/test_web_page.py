"""The phone page in headless Chromium: loads, shows live numbers and an alert pushed
through the hub, speaks and vibrates after the tap, and reconnects after a drop.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make test`` installs them as
root). Skipped only when they are missing and cannot be installed (not root);
as root (CI) a missing browser fails the test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from strideguard.alerts.model import AlertState
from strideguard.live.hub import SinkHub
from strideguard.live.updates import CalibrationUpdate, SessionUpdate
from strideguard.live.web_sink import WebSink
from tests.conftest import screenshot_path

from .sink_events import (
    LEFT,
    RIGHT,
    gait_alert,
    link,
    overstride_alert,
    stand_still,
    stride,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT = screenshot_path("phone-page.png")
PHONE_WIDTH, PHONE_HEIGHT = 412, 915


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
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            f"--window-size={PHONE_WIDTH},{PHONE_HEIGHT}",
            "--hide-scrollbars",
            "--autoplay-policy=no-user-gesture-required",
        ):
            opts.add_argument(arg)
        drv = webdriver.Chrome(options=opts, service=Service(executable_path=chromedriver))
        drv.set_page_load_timeout(10)
        phone_screen(drv, PHONE_HEIGHT)
        # no pulsing banner: the screenshot is the same on every run
        drv.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
        )
        try:
            yield drv
        finally:
            drv.quit()


def phone_screen(drv: Any, height: int) -> None:
    """Emulate a phone's screen (CSS pixels, touch, device pixel ratio 2)."""
    drv.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": height, "deviceScaleFactor": 2, "mobile": True},
    )


def wait_for(predicate: Callable[[], Any], timeout_s: float = 5.0, what: str = "") -> Any:
    end = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def text_of(drv: Any, element_id: str) -> str:
    return str(drv.execute_script(f"return document.getElementById('{element_id}').innerText"))


STUB_MEDIA = """
window.__said = []; window.__buzz = [];
window.speechSynthesis.speak = (u) => window.__said.push(u.text);
window.speechSynthesis.cancel = () => {};
navigator.vibrate = (p) => { window.__buzz.push(p); return true; };
"""


def test_phone_page_shows_alert_from_the_hub(driver: Any) -> None:
    with WebSink("0.0.0.0", 0, heartbeat_s=1.0, retry_ms=300) as web:
        hub = SinkHub([web])
        # the host offers the "Acknowledge" button (a live run); this handler only says "nothing"
        web.offer_acknowledge(lambda _data: {"ok": False, "acknowledged": None})
        # state before the phone connects: replayed on connect
        for event in (
            SessionUpdate("running", "Live with 2 sensor(s) · 31:05", {"run_time_s": 1865.0}),
            link(LEFT, battery_pct=78, loss_pct=0.2),
            link(RIGHT, battery_pct=64, loss_pct=0.0),
            stride(LEFT, cadence_spm=168.4, shank_angle_at_ic_deg=7.26, peak_tibial_accel_g=9.12),
            stride(RIGHT, cadence_spm=168.9, shank_angle_at_ic_deg=5.04, peak_tibial_accel_g=8.47),
        ):
            hub.handle(event)

        # the token is required by the page itself
        driver.get(web.local_url.split("?")[0])
        assert "forbidden" in driver.page_source

        driver.get(web.local_url)
        wait_for(lambda: "live" in text_of(driver, "conn"), what="connection")
        cards = wait_for(lambda: text_of(driver, "sensors"), what="sensor cards")
        assert "168" in cards and "+7.3°" in cards and "9.1" in cards and "+5.0°" in cards
        assert "LEFT" in cards.upper() and cards.upper().index("LEFT") < cards.upper().index(
            "RIGHT"
        )
        assert "78%" in text_of(driver, "links")
        assert driver.find_element("id", "banner").is_displayed() is False
        assert text_of(driver, "elapsed-value") in {"31:05", "31:06"}  # m:ss, as everywhere

        # calibration prompt with its countdown
        hub.handle(stand_still(LEFT, seconds_left=4.0))
        wait_for(lambda: driver.find_element("id", "calibration").is_displayed(), what="prompt")
        assert "Stand still" in text_of(driver, "calibration")
        assert text_of(driver, "calib-count").strip() in {"3", "4"}
        hub.handle(CalibrationUpdate(LEFT, "done", "Calibrated: tibia angles are absolute"))
        wait_for(lambda: not driver.find_element("id", "calibration").is_displayed(), what="hide")

        # the runner taps to enable sound and vibration (speech and vibration stubbed to observe)
        driver.execute_script(STUB_MEDIA)
        driver.find_element("id", "enable").click()
        assert "on" in text_of(driver, "enable")

        # an alert pushed by the engine through the hub shows as a big banner, spoken, buzzed
        hub.handle(overstride_alert())
        hub.handle(gait_alert())
        wait_for(lambda: "Gait changed" in text_of(driver, "banner"), what="banner")
        banner = driver.find_element("id", "banner")
        assert banner.is_displayed()
        assert "sev-stop" in (banner.get_attribute("class") or "")
        assert "Stop running and walk" in text_of(driver, "banner-advice")
        assert "leg swings 12 % slower" in text_of(driver, "banner-reason")
        assert "Overstriding" in text_of(driver, "more-alerts")
        assert "20:01 · Overstriding" in text_of(driver, "more-alerts")  # its time, m:ss
        assert "at 30:43" in text_of(driver, "banner-meta")
        assert driver.find_element("id", "ack").is_displayed()
        said = driver.execute_script("return window.__said")
        assert any("Gait changed" in s and "Stop running and walk" in s for s in said), said
        buzz = driver.execute_script("return window.__buzz")
        assert [500, 150, 500, 150, 500] in buzz
        hub.handle(stride(LEFT, index=121, cadence_spm=150.2))
        wait_for(lambda: "150" in text_of(driver, "sensors"), what="new stride")

        # the whole page on a phone-wide screen for the docs
        full = int(driver.execute_script("return document.documentElement.scrollHeight"))
        phone_screen(driver, max(PHONE_HEIGHT, full))
        driver.save_screenshot(str(SCREENSHOT))
        phone_screen(driver, PHONE_HEIGHT)
        assert SCREENSHOT.stat().st_size > 10_000

        # network drop: the page says so, reconnects by itself and gets the state again
        before = driver.execute_script("return window.__sg.reconnects")
        web.disconnect_clients()
        wait_for(
            lambda: driver.execute_script("return window.__sg.reconnects") > before,
            what="reconnect noticed",
        )
        wait_for(lambda: "live" in text_of(driver, "conn"), what="live again")
        assert "Gait changed" in text_of(driver, "banner-title")  # replayed after the drop
        hub.handle(gait_alert(AlertState.ENDED, time_s=1900.0))
        wait_for(lambda: "Overstriding" in text_of(driver, "banner-title"), what="stop banner gone")
        assert "Gait changed" in text_of(driver, "more-alerts")  # shown as ended for a while
        # a replayed alert is shown but not spoken again
        spoken = driver.execute_script("return window.__said.length")
        assert spoken == len(said)
        hub.close()
        assert hub.errors_ == {}


def test_phone_page_after_the_host_restarts(driver: Any) -> None:
    """A new run has a new token: the open page says so instead of spinning forever."""
    first = WebSink("0.0.0.0", 0, retry_ms=200)
    first.start()
    port, url = first.port, first.local_url
    try:
        driver.get(url)
        wait_for(lambda: "live" in text_of(driver, "conn"), what="connection")
    finally:
        first.close()
    wait_for(lambda: "reconnecting" in text_of(driver, "conn"), what="reconnecting shown")
    with WebSink("0.0.0.0", port, retry_ms=200) as second:
        assert second.token != first.token
        wait_for(lambda: "token" in text_of(driver, "conn"), timeout_s=8, what="denied shown")
        assert "scan the QR code again" in text_of(driver, "conn")


def test_phone_page_announces_a_full_disk_and_the_end_of_the_run(driver: Any) -> None:
    """The disk-full notice is shown and spoken; after the run: "run finished", no reconnecting."""
    from strideguard.live.run import LiveRun

    web = WebSink("0.0.0.0", 0, heartbeat_s=1.0, retry_ms=200)
    web.start()
    hub = SinkHub([web])
    try:
        run = LiveRun(["StrideGuard-R"], hub.handle)
        driver.get(web.local_url)
        wait_for(lambda: "live" in text_of(driver, "conn"), what="connection")
        driver.execute_script(STUB_MEDIA)
        driver.find_element("id", "enable").click()
        run.notice_recording_stopped("disk full")
        wait_for(lambda: "Recording stopped" in text_of(driver, "banner"), what="notice")
        assert "alerts continue" in text_of(driver, "banner-title")
        said = driver.execute_script("return window.__said")
        assert any("Recording stopped: disk full" in s for s in said), said
        run.finish()
        wait_for(lambda: "run finished" in text_of(driver, "conn"), what="finished shown")
        assert "Run finished" in text_of(driver, "session")
    finally:
        hub.close()
    time.sleep(1.5)  # the server is gone: the page must not start reconnecting
    assert "run finished" in text_of(driver, "conn")
    assert driver.execute_script("return window.__sg.finished") is True


@pytest.fixture
def loop_thread() -> Iterator[Any]:
    """An event loop in a thread, like the live run's (the page's actions are handed to it)."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def test_phone_page_acknowledge_battery_and_run_clock(driver: Any, loop_thread: Any) -> None:
    """The big button acknowledges the alert on the host: recorded, and no more reminders."""
    from strideguard.alerts.model import AlertKind
    from strideguard.live.acknowledge import AcknowledgeAction
    from strideguard.live.run import LiveRun
    from strideguard.live.updates import AlertUpdate

    web = WebSink("0.0.0.0", 0, heartbeat_s=1.0, retry_ms=200)
    web.start()
    hub = SinkHub([web])
    try:
        run = LiveRun([RIGHT], hub.handle, loop=loop_thread)
        action = AcknowledgeAction()
        action.attach(run)
        web.offer_acknowledge(action)
        pipe = run.pipelines[0]
        hub.handle(SessionUpdate("started", "Live with 1 sensor(s)", {"run_time_s": 0.0}))
        pipe.link_update("connected", mtu=247, battery_pct=71)
        pipe.link_update("connected", mtu=247)  # the periodic update: no level read this time
        hub.handle(SessionUpdate("running", "Live with 1 sensor(s) · 2:05", {"run_time_s": 125.4}))
        driver.get(web.local_url)
        wait_for(lambda: "live" in text_of(driver, "conn"), what="connection")
        # the battery stays (it used to vanish with the next link update)
        assert "battery 71%" in text_of(driver, "links")
        assert text_of(driver, "elapsed-value") in {"2:05", "2:06"}
        wait_for(lambda: text_of(driver, "elapsed-value") in {"2:07", "2:08"}, what="clock ticks")
        # a "pain now" mark raises a caution: the banner offers the big button
        for alert in pipe.policy.mark_pain(100.0):
            hub.handle(AlertUpdate(RIGHT, alert))
        wait_for(lambda: "Pain" in text_of(driver, "banner-title"), what="caution banner")
        ack = driver.find_element("id", "ack")
        assert ack.is_displayed() and ack.text == "Acknowledge"
        assert "at 1:40" in text_of(driver, "banner-meta")
        assert ack.size["height"] >= 60  # big enough to hit while running
        ack.click()
        wait_for(lambda: "Acknowledged" in driver.find_element("id", "ack").text, what="ack")
        assert not driver.find_element("id", "ack").is_enabled()
        # on the host: an "acknowledged" event, kept for the summary, and no reminder is due
        states = [(a.kind, a.state) for a in pipe.alerts]
        assert (AlertKind.PAIN_MARKED, AlertState.ACKNOWLEDGED) in states
        assert "on the phone" in pipe.alerts[-1].reason
        assert pipe.policy.unacknowledged() == {}
        # the page reloaded (a new phone, a crash): the alert shows as acknowledged
        driver.refresh()
        wait_for(lambda: "Acknowledged" in driver.find_element("id", "ack").text, what="replayed")
    finally:
        hub.close()


WAKE_LOCK_STUB = """
window.__wl = [];
const sentinel = () => {
  const listeners = [];
  return {
    released: false,
    addEventListener: (name, f) => listeners.push(f),
    release: async function () { window.__wl.push("release"); this.released = true; listeners.forEach((f) => f()); },
  };
};
Object.defineProperty(navigator, "wakeLock", {
  configurable: true,
  value: { request: async (type) => { window.__wl.push("request:" + type); return sentinel(); } },
});
"""
NO_WAKE_LOCK = (
    "Object.defineProperty(navigator, 'wakeLock', {configurable: true, value: undefined});"
)


def _on_every_page(driver: Any, source: str) -> str:
    return str(
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})[
            "identifier"
        ]
    )


def test_phone_page_wake_lock_reload_and_the_next_headless_run(driver: Any) -> None:
    """Wake lock while live, sound still on after a reload, and a headless host's next run."""
    from strideguard.live.run import LiveRun

    ids = [_on_every_page(driver, WAKE_LOCK_STUB), _on_every_page(driver, STUB_MEDIA)]
    web = WebSink("0.0.0.0", 0, heartbeat_s=1.0, retry_ms=200)
    web.start()
    hub = SinkHub([web])
    try:
        driver.get(web.local_url)
        wait_for(lambda: "live" in text_of(driver, "conn"), what="connection")
        assert driver.execute_script("return window.__wl") == []  # no run yet: no lock
        hub.handle(SessionUpdate("started", "Live with 1 sensor(s)", {"run_time_s": 0.0}))
        wait_for(
            lambda: driver.execute_script("return window.__wl") == ["request:screen"], what="lock"
        )
        assert driver.execute_script("return window.__sg.wakeLock") == "held"
        assert not driver.find_element("id", "wake-note").is_displayed()

        # the runner turns sound on, then the page reloads (the phone's browser dropped it)
        driver.find_element("id", "enable").click()
        driver.refresh()
        wait_for(lambda: "live" in text_of(driver, "conn"), what="connection after reload")
        assert driver.execute_script("return window.__sg.enabled") is True
        assert "on" in text_of(driver, "enable")
        hub.handle(gait_alert(sensor=RIGHT))
        wait_for(lambda: driver.execute_script("return window.__said.length") > 0, what="spoken")
        assert any("Gait changed" in s for s in driver.execute_script("return window.__said"))
        assert [500, 150, 500, 150, 500] in driver.execute_script("return window.__buzz")

        # a headless host: the run ends, the host stays; the page keeps listening, lock released
        run = LiveRun([RIGHT], hub.handle, session_continues=True)
        run.finish()
        wait_for(lambda: "waiting for the next run" in text_of(driver, "conn"), what="waiting")
        assert driver.execute_script("return window.__sg.finished") is False
        wait_for(lambda: "release" in driver.execute_script("return window.__wl"), what="unlock")
        assert not driver.find_element("id", "ack").is_displayed()
        # the next run: the old run's numbers and alerts are gone, the lock is taken again
        hub.handle(SessionUpdate("started", "Live with 1 sensor(s)", {"run_time_s": 0.0}))
        wait_for(lambda: "live" in text_of(driver, "conn"), what="live again")
        assert driver.find_element("id", "banner").is_displayed() is False
        wait_for(
            lambda: driver.execute_script("return window.__wl").count("request:screen") == 2,
            what="lock again",
        )
        assert text_of(driver, "elapsed-value") in {"0:00", "0:01"}
    finally:
        hub.close()
        for i in ids:
            driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": i})


def test_phone_page_without_wake_lock_says_so(driver: Any) -> None:
    """Over plain http on the LAN there is no Wake Lock API: the page asks for a longer timeout."""
    ids = [_on_every_page(driver, NO_WAKE_LOCK)]
    with WebSink("0.0.0.0", 0, heartbeat_s=1.0, retry_ms=200) as web:
        hub = SinkHub([web])
        hub.handle(SessionUpdate("started", "Live with 1 sensor(s)", {"run_time_s": 0.0}))
        try:
            driver.get(web.local_url)
            wait_for(lambda: driver.find_element("id", "wake-note").is_displayed(), what="note")
            assert "screen timeout" in text_of(driver, "wake-note")
            assert driver.execute_script("return window.__sg.wakeLock") == "unavailable"
        finally:
            for i in ids:
                driver.execute_cdp_cmd(
                    "Page.removeScriptToEvaluateOnNewDocument", {"identifier": i}
                )


def test_phone_page_counts_the_standing_calibration_down(driver: Any) -> None:
    """ "Stand still… 5, 4, 3…" from the real streaming analysis of a simulated runner."""
    from strideguard.live.streaming import StreamingAnalyzer
    from strideguard_devkit.sim import simulate

    rec = simulate("steady", duration_s=30, rate_hz=200, seed=2, leg="R").recording
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    analyzer = StreamingAnalyzer(RIGHT, "R")
    with WebSink("0.0.0.0", 0, heartbeat_s=1.0, retry_ms=200) as web:
        hub = SinkHub([web])
        driver.get(web.local_url)
        wait_for(lambda: "live" in text_of(driver, "conn"), what="connection")
        seen: list[str] = []
        for k in range(0, int(6.0 * 200), 8):  # the first 6 s: standing, then setting off
            analyzer.push(rec.time_s[k : k + 8], rec.acc_mps2[k : k + 8], rec.gyr_dps[k : k + 8])
            for event in analyzer.calibration_events():
                hub.handle(event)
                if event.state == "stand_still" and event.seconds_left == 4.0:
                    wait_for(lambda: text_of(driver, "calib-count") == "4", what="4")
                    seen.append(text_of(driver, "calibration"))
        assert seen and "Stand still" in seen[0]
        wait_for(lambda: "Standing measured" in text_of(driver, "calibration"), what="ready")
        assert text_of(driver, "calib-count") == "✓"
