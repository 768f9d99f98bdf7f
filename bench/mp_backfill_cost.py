"""MicroPython side of bench_backfill: time the ring's store and resend per frame.

usage: micropython mp_backfill_cost.py  (prints one JSON line)
"""

import json
import time

import backfill
import protocol


class Server:
    def __init__(self):
        self.conns = {1: 247}

    def notify_data(self, conn, frame):
        return True


ring = backfill.Backfill(backfill.RING_BYTES)
srv = Server()
buf = bytearray(protocol.frame_size(19))
mv = memoryview(buf)
N = 3000
t0 = time.ticks_us()
for k in range(N):
    protocol.pack_frame_header(buf, 0, k, 19 * k, 2000 * 19 * k, 500, 19)
    ring.store(mv)
t_pack_store = time.ticks_diff(time.ticks_us(), t0)
t0 = time.ticks_us()
for k in range(N):
    protocol.pack_frame_header(buf, 0, k, 19 * k, 2000 * 19 * k, 500, 19)
t_pack = time.ticks_diff(time.ticks_us(), t0)
newest = 19 * N
sent = 0
t_serve = 0
for _ in range(20):
    ring.request(1, protocol.encode_resend(newest - 2000, 1900))
    while ring.pending():
        ring.tokens = 4
        t0 = time.ticks_us()
        sent += ring.serve(srv)
        t_serve += time.ticks_diff(time.ticks_us(), t0)
print(
    json.dumps(
        {
            "store_us": (t_pack_store - t_pack) / N,
            "resend_us": t_serve / max(sent, 1),
            "resent": sent,
        }
    )
)
