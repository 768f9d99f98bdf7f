"""Firmware heap budget (issue #13): code, objects and the backfill ring, under the Unix port.

ESP32_GENERIC (MicroPython >= 1.22) starts its GC heap at 56 KiB and adds areas
from the ESP-IDF heap on demand ("auto split heap"); after one growth the heap
is 111 936 bytes with about 40 KB left to the IDF (micropython/micropython PR
#13219). NimBLE takes its own ~32 KB from the IDF heap. The firmware files are
precompiled with mpy-cross here (a board compiles the .py files at import: the
code ends up the same size, the compiler's temporary memory is freed). The Unix
port is a 64-bit build: its pointers and GC blocks are twice the ESP32's, so
code and objects measure up to twice what they take on the board; byte buffers
(the ring) are the same. The hardware models take heap too: they are measured
apart and added to the heap size given, so the firmware sees the ESP32's budget.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from strideguard_devkit.mp import MP_DIR, micropython_binary, micropython_env

ROOT = Path(__file__).resolve().parents[1]
ESP32_INITIAL_HEAP = 56 * 1024
ESP32_GROWN_HEAP = 111_936


def _compile(dest: Path) -> None:
    mpy_cross = Path(micropython_binary()).with_name("mpy-cross")
    sources = [p for p in (ROOT / "firmware").glob("*.py") if p.stem not in ("main", "board")]
    sources += list((ROOT / "tests" / "firmware" / "fakes").glob("*.py"))
    sources += [p for p in MP_DIR.glob("*.py") if p.stem != "__init__"]
    for src in sources:
        subprocess.run([str(mpy_cross), "-o", str(dest / f"{src.stem}.mpy"), str(src)], check=True)


def _measure(folder: Path, heap: int | str) -> dict[str, int] | str:
    proc = subprocess.run(
        [micropython_binary(), "-X", f"heapsize={heap}", str(ROOT / "bench" / "mp_heap_budget.py")],
        capture_output=True,
        text=True,
        env=micropython_env([folder]),
        timeout=120,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return ((proc.stdout + proc.stderr).strip().splitlines() or ["failed"])[-1]
    return dict(json.loads(lines[-1]))


def run() -> None:
    """Print the heap budget at the ESP32's heap sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _compile(folder)
        free_run = _measure(folder, "4M")
        assert isinstance(free_run, dict), free_run
        models = free_run["models"]
        print(
            f"Unix port (64-bit): firmware code {free_run['code'] / 1024:.1f} KiB, objects "
            f"{free_run['objects'] / 1024:.1f} KiB, backfill ring {free_run['ring'] / 1024:.1f} KiB "
            f"({free_run['ring_span_samples'] / 500:.1f} s at 500 Hz, MTU 247); test models "
            f"{models / 1024:.1f} KiB (not on a board)"
        )
        for label, heap in (
            ("ESP32 heap after one growth", ESP32_GROWN_HEAP),
            ("ESP32 initial heap", ESP32_INITIAL_HEAP),
        ):
            r = _measure(folder, heap + models)
            if isinstance(r, str):
                print(f"-X heapsize={heap}+{models} ({label} + models): does not start: {r}")
                continue
            print(
                f"-X heapsize={heap}+{models} ({label} + models): ring {r['ring'] / 1024:.1f} KiB "
                f"({r['ring_span_samples'] / 500:.1f} s at 500 Hz), free after start-up "
                f"{r['free'] / 1024:.1f} KiB (target: >= 5 s: "
                f"{'met' if r['ring_span_samples'] >= 2500 else 'not met'})"
            )
