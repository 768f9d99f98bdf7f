"""The ring alone, scripted: runs under MicroPython and under CPython (same output).

usage: micropython|python mp_backfill_twin.py

Stores frames of changing sizes (MTU changes, a FIFO-loss jump in the index, a
rate change) in a small ring that wraps many times, then asks for ranges old,
new, straddling, split by a small MTU, and prints every response and resent
frame as hex. The host's benchmark drives this same module under CPython as
the model of the firmware: the two outputs must be equal.
"""

import struct

import backfill
import protocol


class Server:
    def __init__(self):
        self.conns = {1: 247, 2: 60}
        self.out = []

    def notify_data(self, conn, frame):
        self.out.append("%d %s" % (conn, bytes(frame).hex()))
        return True


ring = backfill.Backfill(6000)
srv = Server()
index = 1000
t_us = 4294000000  # the board clock wraps during the run
rate = 500
sizes = (19, 19, 13, 13, 19, 6, 40, 19)
buf = bytearray(protocol.frame_size(40))
for k in range(300):
    n = sizes[k % len(sizes)]
    if k == 150:
        index += 37  # samples the sensor lost (FIFO overflow)
        t_us += 37 * 2000
    if k == 220:
        rate = 250
    period = 1000000 // rate
    protocol.pack_frame_header(
        buf, 0x10 if k % 50 == 0 else 0, k, index, t_us & 0xFFFFFFFF, rate, n
    )
    for j in range(n):
        struct.pack_into(">hhhhhh", buf, 16 + 12 * j, k, j, -k, -j, index & 0x7FFF, 7)
    ring.store(memoryview(buf)[: protocol.frame_size(n)])
    index += n
    t_us += n * period
print("stored", ring.frames_stored, "span", ring.span_samples())
asks = (
    (1, index - 300, 120),  # recent, across the rate change? no: after it
    (2, index - 500, 40),  # a small MTU: split
    (1, index - 5000, 200),  # long gone
    (1, index - 700, 900),  # starts before the ring, ends in the future
    (2, index - 60, 60),
)
for conn, first, count in asks:
    resp = ring.request(conn, protocol.encode_resend(first, count))
    print("resp", bytes(resp).hex())
for _ in range(400):
    ring.tokens = 8
    ring.serve(srv)
for line in srv.out:
    print(line)
print("resent", ring.frames_resent, ring.samples_resent, "expired", ring.samples_expired)
