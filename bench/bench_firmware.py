"""Firmware budget per sample rate: radio, I2C bus and MicroPython CPU time.

Per supported rate at MTU 247: frames/s and BLE payload bytes/s (computed
from the protocol), I2C bus time per second at 400 kHz (computed from the
transactions the firmware really makes, counted by the MPU6050 model), and
the MicroPython time per frame measured on the Unix port (the whole main
loop divided by the frames it produced), with a scaled ESP32 estimate.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from strideguard import protocol
from strideguard_devkit.mp import MP_DIR, micropython_binary, micropython_env

ROOT = Path(__file__).resolve().parents[1]
MTU = 247
I2C_HZ = 400_000
SECONDS = 5
# Assumption for the ESP32 estimate: MicroPython bytecode on a 240 MHz ESP32
# runs ~40x slower than the Unix port on a desktop x86 core (a typical ratio
# for integer loops; check with reference_loop_us printed on real hardware).
ESP32_SLOWDOWN = 40


def i2c_bits(n_bytes: int, n_transactions: int) -> int:
    """Bus bit times: 9 per byte (8 + ACK), ~3 per transaction (START, repeated START, STOP)."""
    return 9 * n_bytes + 3 * n_transactions


def measure() -> list[dict[str, int]]:
    """Run the app loop under MicroPython for every rate."""
    env = micropython_env([ROOT / "firmware", ROOT / "tests" / "firmware" / "fakes", MP_DIR])
    out = subprocess.run(
        [micropython_binary(), str(ROOT / "bench" / "mp_bench_firmware.py"), str(SECONDS)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def run() -> None:
    """Print the table."""
    n = protocol.samples_per_frame(MTU)
    frame_bytes = protocol.frame_size(n)
    print(f"MTU {MTU}: {n} samples/frame, {frame_bytes} B payload/frame; I2C at {I2C_HZ} Hz")
    print(
        f"{'rate':>5} {'frames/s':>9} {'payload B/s':>11} {'I2C ms/s':>9} {'I2C %':>6}"
        f" {'us/frame (unix)':>15} {'CPU ms/s (unix)':>15} {'ESP32 est. CPU %':>16}"
    )
    rows = measure()
    motor = [m for m in rows if "motor_pass_us" in m]
    for m in rows:
        if "rate_hz" not in m:
            continue
        rate = m["rate_hz"]
        fps = rate / n
        payload = fps * frame_bytes
        i2c_s = i2c_bits(m["i2c_bytes"], m["i2c_transactions"]) / I2C_HZ / m["seconds"]
        cpu_ms_s = m["loop_us_total"] / 1000 / m["seconds"]
        us_frame = m["loop_us_total"] / max(m["frames"], 1)
        esp_cpu_pct = cpu_ms_s * ESP32_SLOWDOWN / 10
        print(
            f"{rate:>5} {fps:>9.1f} {payload:>11.0f} {1000 * i2c_s:>9.1f} {100 * i2c_s:>6.1f}"
            f" {us_frame:>15.1f} {cpu_ms_s:>15.2f} {esp_cpu_pct:>16.1f}"
        )
        if rate == 500:
            loop_500_ms_s = cpu_ms_s
    for m in motor:
        idle, coach = m["motor_pass_us"]["idle"], m["motor_pass_us"]["coach"]
        extra_ms_s = (coach - idle) * 100 / 1000  # 100 passes a second
        print(
            f"button + motor per 10-ms pass (unix): {idle:.2f} us idle, {coach:.2f} us with the "
            f"coaching metronome playing: {extra_ms_s:+.3f} ms/s "
            f"({extra_ms_s / loop_500_ms_s:.1%} of the 500-Hz loop; ESP32 estimate "
            f"{extra_ms_s * ESP32_SLOWDOWN / 10:+.2f} % of a core)"
        )
        pairing = m["motor_pass_us"].get("pairing")
        if pairing is not None:
            extra_pair = (pairing - idle) * 100 / 1000
            print(
                f"  with the pairing window open (LED flashing): {pairing:.2f} us per pass: "
                f"{extra_pair:+.3f} ms/s (ESP32 estimate {extra_pair * ESP32_SLOWDOWN / 10:+.2f} % "
                "of a core)"
            )
    ref = [m for m in rows if "reference_loop_us" in m][-1]["reference_loop_us"]
    print(
        f"reference loop (200k integer iterations) on this machine: {ref} us; "
        f"ESP32 estimate assumes x{ESP32_SLOWDOWN}. The I2C transfers block the CPU "
        "(synchronous readfrom_mem_into), so add the I2C % to the CPU % for the core's load."
    )


if __name__ == "__main__":
    run()
