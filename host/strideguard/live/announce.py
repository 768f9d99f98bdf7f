"""What the terminal prints when the phone page starts: its URL, and a QR code to scan.

Example
-------
>>> text = announce_phone_page("http://127.0.0.1:8765/", local_only=True)
>>> print(text.plain)
Phone page: http://127.0.0.1:8765/
(only this computer can open it; use --web 0.0.0.0 for a phone on the same Wi-Fi)
"""

from __future__ import annotations

from rich.text import Text


def terminal_qr(text: str) -> str:
    """``text`` as a QR code drawn with Unicode half blocks (scannable from a terminal).

    Returns an empty string if the :mod:`qrcode` package is missing.
    """
    try:
        import qrcode
    except ImportError:  # pragma: no cover - it is a dependency
        return ""
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(text)
    qr.make(fit=True)
    m = qr.get_matrix()
    if len(m) % 2:
        m.append([False] * len(m[0]))
    # dark modules drawn as spaces on a light background scan best on dark and light terminals
    chars = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    lines = []
    for top, bottom in zip(m[0::2], m[1::2], strict=True):
        lines.append("".join(chars[(bool(t), bool(b))] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def announce_phone_page(url: str, *, local_only: bool, lasting: bool = False) -> Text:
    """Tell the runner how to open the phone page: URL, and a QR code when on the LAN.

    Parameters
    ----------
    url
        The page's URL, with its token when it has one.
    local_only
        The server is bound to a loopback address: no QR code, a hint instead.
    lasting
        The token stays the same from run to run (a headless session): bookmark it.

    Returns
    -------
    rich.text.Text
        On a terminal the QR code is drawn white on black whatever the terminal's
        colours (``.plain`` gives the bare text).
    """
    out = Text()
    out.append(f"Phone page: {url}\n", style="bold")
    if local_only:
        out.append(
            "(only this computer can open it; use --web 0.0.0.0 for a phone on the same Wi-Fi)"
        )
        return out
    out.append("Scan with the phone (same Wi-Fi), then tap 'Enable sound & vibration':\n")
    qr = terminal_qr(url)
    if qr:
        for line in qr.splitlines():
            out.append(line, style="bright_white on black")
            out.append("\n")
    if lasting:
        out.append(
            "Anyone with this URL (and on this network) can see the runs. The token stays the same "
            "from run to run (bookmark the page; `strideguard service status` shows it again)."
        )
    else:
        out.append(
            "Anyone with this URL (and on this network) can see the run; the token changes every run."
        )
    return out
