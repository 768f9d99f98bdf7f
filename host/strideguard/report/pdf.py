"""Printing a report to PDF with headless Chromium (when it is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: browser executables tried, in order
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
PRINT_TIMEOUT_S = 120.0


def find_chromium() -> str | None:
    """Path of a Chromium-family browser, or ``None``."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(html_path: Path, pdf_path: Path, *, browser: str | None = None) -> Path:
    """Print ``html_path`` to ``pdf_path`` (written to a temporary name, then renamed).

    Raises
    ------
    FileNotFoundError
        No Chromium-family browser is installed.
    RuntimeError
        The browser failed or wrote no PDF.
    """
    exe = browser or find_chromium()
    if exe is None:
        raise FileNotFoundError("no Chromium found (install chromium to print PDFs)")
    pdf_path = Path(pdf_path)
    fd, tmp = tempfile.mkstemp(prefix=f".{pdf_path.name}.", suffix=".tmp", dir=pdf_path.parent)
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory(prefix="sg-pdf-") as profile:
            cmd = [
                exe,
                "--headless",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={tmp}",
                Path(html_path).resolve().as_uri(),
            ]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, check=False
            )
        if proc.returncode != 0 or Path(tmp).stat().st_size == 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"Chromium did not print the PDF ({last})")
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, pdf_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return pdf_path
