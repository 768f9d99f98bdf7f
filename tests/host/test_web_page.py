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
from strideguard.live.updates import CalibrationUpdate
from strideguard.live.web_sink import WebSink
from tests.conftest import screenshot_path

from .sink_events import (
    LEFT,
    RIGHT,
    gait_alert,
    link,
    overstride_alert,
    session,
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
        # state before the phone connects: replayed on connect
        for event in (
            session("Run started with 2 sensors · 31:05"),
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
