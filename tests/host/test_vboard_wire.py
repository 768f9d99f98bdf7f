"""The virtual board's wire module is one file both runtimes import, byte-compatible.

``strideguard_devkit/mp/vbwire.py`` is imported by the board's stand-in modules under
MicroPython and by the host's bridge under CPython: the same constants on both sides,
messages encoded by one decode on the other.
"""

from __future__ import annotations

import json
import struct

from strideguard_devkit.mp import MP_DIR
from strideguard_devkit.mp import vbwire as W
from tests.conftest import run_micropython


def public_values() -> dict[str, int | str]:
    return {k: v for k, v in vars(W).items() if not k.startswith("_") and isinstance(v, (int, str))}


def test_constants_identical_under_micropython() -> None:
    code = (
        "import json, vbwire\n"
        "d = {}\n"
        "for k in dir(vbwire):\n"
        "    v = getattr(vbwire, k)\n"
        "    if not k.startswith('_') and type(v) in (int, str):\n"
        "        d[k] = v\n"
        "print(json.dumps(d))\n"
    )
    mp = json.loads(run_micropython(code, path=[MP_DIR]))
    cp = public_values()
    assert mp == cp
    # every message kind is a distinct byte, in each direction and across both
    kinds = [v for k, v in cp.items() if k.startswith("MSG_")]
    assert len(kinds) == len(set(kinds)) == 25
    assert all(isinstance(v, int) and 0 <= v <= 0xFF for v in kinds)


def test_messages_cross_between_runtimes() -> None:
    # MicroPython encodes what the board sends; CPython decodes it
    code = (
        "import struct, binascii, vbwire as W\n"
        "out = W.encode(W.MSG_NOTIFY, struct.pack(W.FORMAT_NOTIFY, 3, 17, W.NOTIFY_DATA) + b'frame')\n"
        "out += W.encode(W.MSG_CLOCK, struct.pack(W.FORMAT_CLOCK, 2**40 + 5))\n"
        "out += W.encode(W.MSG_PLAY)\n"
        "out += W.encode(W.MSG_FIRST, struct.pack(W.FORMAT_SAMPLE_AT, 70000, 123456789))\n"
        "print(binascii.hexlify(out).decode())\n"
    )
    stream = bytes.fromhex(run_micropython(code, path=[MP_DIR]).strip())
    messages, rest = W.split(stream + b"\x4e\x00")  # and the start of an incomplete one
    assert rest == b"\x4e\x00"
    assert [k for k, _ in messages] == [W.MSG_NOTIFY, W.MSG_CLOCK, W.MSG_PLAY, W.MSG_FIRST]
    kind, n = W.decode_header(stream[: W.HEADER_SIZE])
    assert (kind, n) == (W.MSG_NOTIFY, struct.calcsize(W.FORMAT_NOTIFY) + 5)
    conn, handle, how = struct.unpack_from(W.FORMAT_NOTIFY, messages[0][1])
    assert (conn, handle, how) == (3, 17, W.NOTIFY_DATA)
    assert messages[0][1][struct.calcsize(W.FORMAT_NOTIFY) :] == b"frame"
    assert struct.unpack(W.FORMAT_CLOCK, messages[1][1]) == (2**40 + 5,)
    assert messages[2][1] == b""
    assert struct.unpack(W.FORMAT_SAMPLE_AT, messages[3][1]) == (70000, 123456789)

    # CPython encodes what the host sends; MicroPython splits and decodes it
    addr = bytes(range(1, 7))
    host = (
        W.encode(W.MSG_CONNECTED, struct.pack(W.FORMAT_PEER, 0x0042, 1) + addr)
        + W.encode(W.MSG_WRITTEN, struct.pack(W.FORMAT_WRITTEN, 0x0042, 12) + b"\x03\x01\xf4")
        + W.encode(W.MSG_MTU, struct.pack(W.FORMAT_MTU, 0x0042, 247))
    )
    code = (
        "import struct, binascii, vbwire as W\n"
        f"msgs, rest = W.split(binascii.unhexlify('{host.hex()}'))\n"
        "assert rest == b''\n"
        "k, p = msgs[0]\n"
        "c, t = struct.unpack_from(W.FORMAT_PEER, p)\n"
        "print(k, c, t, binascii.hexlify(p[3:3 + W.PEER_ADDRESS_SIZE]).decode())\n"
        "k, p = msgs[1]\n"
        "c, h = struct.unpack_from(W.FORMAT_WRITTEN, p)\n"
        "print(k, c, h, binascii.hexlify(p[4:]).decode())\n"
        "k, p = msgs[2]\n"
        "print(k, *struct.unpack(W.FORMAT_MTU, p))\n"
    )
    lines = run_micropython(code, path=[MP_DIR]).split("\n")
    assert lines[0] == f"{W.MSG_CONNECTED} 66 1 {addr.hex()}"
    assert lines[1] == f"{W.MSG_WRITTEN} 66 12 0301f4"
    assert lines[2] == f"{W.MSG_MTU} 66 247"
