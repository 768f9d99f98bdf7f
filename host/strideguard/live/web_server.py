"""The phone page's server: a small HTTP server with a Server-Sent Events stream.

:class:`PhonePageServer` runs its own asyncio loop in a background thread
(standard library only), so a slow phone never delays the analysis;
:meth:`PhonePageServer.publish` may be called from any thread. It serves

``/``
    the page (``strideguard/web/index.html``),
``/app.js``, ``/style.css``
    the page's script and style (public package files, served without token),
``/events``
    the SSE stream: every published dict as JSON; on connect first
    ``{"type": "reset"}`` and the catch-up events of its :class:`CatchUpState`
    (each marked ``"replay": true``), then live events, and a ``ping`` event every
    few seconds so the page notices a dead connection,
``/state``
    the catch-up state as one JSON object,
``POST /action/<name>``
    a JSON request to a registered action (:meth:`PhonePageServer.add_action`;
    e.g. the day-after answer), answered with JSON.

What a late client needs to catch up (the last stride, link and calibration per
sensor, the active alerts) is the sink's business
(:class:`~strideguard.live.web_sink.ReplayState`); the server only keeps it
consistent with what it sends.

Security: the page and its data always need a random token in the URL
(``/?token=…``, ``/events?token=…``; a missing or wrong one gets 403), also on
``127.0.0.1``: other users and programs on the same computer can reach a
loopback port too. Bound to ``127.0.0.1`` (the default) it also only answers
requests whose ``Host`` is a loopback name, against DNS rebinding. The server
answers GET/HEAD, and POST only to registered actions with the token, a JSON
body of at most :data:`MAX_ACTION_BYTES` and the header ``X-Strideguard: 1`` (a
page from another site cannot send that header without the CORS preflight this
server never grants, so it cannot post answers). It limits request size, clients
and queue length.

Nobody can lock the runner out of the stream: when every slot is taken, the
newest client with the token gets one, and the stalest client (the one whose
data has waited longest undelivered, else the oldest) is disconnected. A client
whose socket takes nothing for ``write_timeout_s`` (it connected and never
reads) is disconnected too, as is one that falls ``max_queue`` events behind;
a real page reconnects by itself and gets a fresh replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlsplit

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
MAX_REQUEST_BYTES = 8192
#: largest JSON body an action accepts
MAX_ACTION_BYTES = 4096
#: header every action request must carry (see the module docstring)
ACTION_HEADER = "x-strideguard"
STATIC_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
#: files anyone may fetch: code and style, no data
PUBLIC_PATHS = frozenset({"/app.js", "/style.css"})
SECURITY_HEADERS = (
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "X-Frame-Options: DENY\r\n"
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:\r\n"
)
REASONS = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    400: "Bad Request",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_address() -> str:
    """This machine's address on the local network (best guess, no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        addr = str(s.getsockname()[0])
        if not addr.startswith("0."):
            return addr
    with contextlib.suppress(OSError):
        return socket.gethostbyname(socket.gethostname())
    return "127.0.0.1"


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats by ``None`` (JSON has no NaN) recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def encode_event(
    data: dict[str, Any], *, event_id: int | None = None, name: str | None = None
) -> bytes:
    """One SSE message (``id:``, optional ``event:``, one ``data:`` line of JSON)."""
    text = json.dumps(_jsonable(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    head = f"id: {event_id}\n" if event_id is not None else ""
    if name:
        head += f"event: {name}\n"
    return f"{head}data: {text}\n\n".encode()


class CatchUpState(Protocol):
    """What a newly connected client is sent before the live events."""

    def update(self, data: dict[str, Any]) -> None:
        """Fold one published dict into the state."""

    def events(self) -> list[dict[str, Any]]:
        """The state as event dicts in the order a new client gets them, each marked ``"replay": true``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot (``/state``)."""


class _Client:
    """One connected SSE client: a bounded outbox and a wake-up event (loop side)."""

    def __init__(self, max_queue: int) -> None:
        self.outbox: deque[bytes] = deque()
        self.max_queue = max_queue
        self.wake = asyncio.Event()
        self.overflow = False
        self.evicted = False
        self.writer: asyncio.StreamWriter | None = None
        self.connected_at = time.monotonic()
        #: since when data has been waiting that the client did not take (None: all taken)
        self.behind_since: float | None = None

    def staleness(self, now: float) -> tuple[float, float]:
        """Sort key, largest first: longest undelivered data, then the oldest connection."""
        behind = now - self.behind_since if self.behind_since is not None else 0.0
        return (behind, now - self.connected_at)

    def offer(self, payload: bytes) -> None:
        if len(self.outbox) >= self.max_queue:
            self.overflow = True
        else:
            self.outbox.append(payload)


class PhonePageServer:
    """Serve the phone page and stream published dicts to it as Server-Sent Events.

    Parameters
    ----------
    state
        The catch-up state: fed with every published dict, sent to each new
        client and served as ``/state``.
    host
        Address to bind; ``127.0.0.1`` (default) or e.g. ``0.0.0.0`` for the LAN,
        which requires a token.
    port
        TCP port; 0 picks a free one.
    token
        Access token, always required; generated (``secrets.token_urlsafe``)
        when none is given.
    max_clients
        Concurrent SSE clients; one more with the token takes the slot of the
        stalest client.
    max_queue
        Events buffered per client before it is dropped as too slow.
    heartbeat_s
        Interval of the ``ping`` events.
    retry_ms
        Reconnection delay the page's EventSource is told to use.
    write_timeout_s
        A client whose socket accepts nothing for this long is disconnected.
    send_buffer_bytes
        Send buffer of each stream socket (and the transport's high-water
        mark): small, so a client that does not read is noticed soon.

    Attributes
    ----------
    events_
        Events handled.
    clients_dropped_
        Clients disconnected for falling behind or failing or timed-out writes.
    clients_evicted_
        Clients disconnected to make room for a newer one.
    """

    def __init__(
        self,
        state: CatchUpState,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        token: str | None = None,
        max_clients: int = 16,
        max_queue: int = 512,
        heartbeat_s: float = 5.0,
        retry_ms: int = 1500,
        write_timeout_s: float = 5.0,
        send_buffer_bytes: int = 16384,
    ) -> None:
        if token is not None and len(token) < 8:
            raise ValueError("the token must be at least 8 characters")
        if max_clients < 1:
            raise ValueError("max_clients must be at least 1")
        self.host = host
        self.port = port
        self.token: str = token if token is not None else secrets.token_urlsafe(16)
        self.max_clients = max_clients
        self.max_queue = max_queue
        self.heartbeat_s = heartbeat_s
        self.retry_ms = retry_ms
        self.write_timeout_s = write_timeout_s
        self.send_buffer_bytes = send_buffer_bytes
        self.state = state
        self.events_ = 0
        self.clients_dropped_ = 0
        self.clients_evicted_ = 0
        self._seq = 0
        self._lock = threading.Lock()
        self._clients: set[_Client] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: a wake-up of the clients is scheduled on the loop and has not run yet
        self._wake_pending = False
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # the connections being served (loop side)
        self._files: dict[str, bytes] = {}
        self._actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self.actions_ = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout_s: float = 5.0) -> str:
        """Start serving in a background thread; return :attr:`url`.

        Raises
        ------
        OSError
            If the address cannot be bound (e.g. the port is in use).
        """
        if self._thread is not None:
            return self.url
        web = resources.files("strideguard") / "web"
        for name, _ in STATIC_FILES.values():
            self._files[name] = (web / name).read_bytes()
        ready = threading.Event()
        error: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            with self._lock:
                self._loop = loop
                self._wake_pending = False
            try:
                loop.run_until_complete(self._main(ready))
            except BaseException as exc:
                error.append(exc)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="strideguard-web", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise OSError("the web server did not start in time")
        if error:
            self._thread.join()
            self._thread = None
            raise error[0]
        return self.url

    async def _main(self, ready: threading.Event) -> None:
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=MAX_REQUEST_BYTES, reuse_address=True
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        ready.set()
        await self._stopped.wait()
        self._server.close()
        for c in list(self._clients):
            if c.writer is not None:
                c.writer.close()
            c.wake.set()
        # let every connection finish (its last events are already flushed), then stop the rest
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2.0)

    def close(self, flush_timeout_s: float = 1.0) -> None:
        """Stop the server and disconnect every client.

        Parameters
        ----------
        flush_timeout_s
            How long to wait for queued events (e.g. the run's end) to go out first.
        """
        loop, stopped, thread = self._loop, self._stopped, self._thread
        if thread is None:
            return
        deadline = time.monotonic() + flush_timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                pending = any(c.outbox for c in self._clients)
            if not pending:
                break
            time.sleep(0.01)
        if loop is not None and stopped is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopped.set)
        thread.join(timeout=5.0)
        self._thread = None

    def __enter__(self) -> PhonePageServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ addresses

    def _with_token(self, base: str) -> str:
        return f"{base}/?token={quote(self.token)}"

    @property
    def url(self) -> str:
        """The page's URL to open (LAN address when bound to all interfaces), with token."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = lan_address()
        if ":" in host:
            host = f"[{host}]"
        return self._with_token(f"http://{host}:{self.port}")

    @property
    def local_url(self) -> str:
        """The page's URL on this machine."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return self._with_token(f"http://{host}:{self.port}")

    @property
    def local_only(self) -> bool:
        """Bound to a loopback address: only this computer can open the page."""
        return is_loopback(self.host)

    @property
    def clients(self) -> int:
        """Connected SSE clients."""
        with self._lock:
            return len(self._clients)

    # ------------------------------------------------------------------ events

    def publish(self, data: dict[str, Any]) -> None:
        """Fold an event dict (with a ``"type"`` key) into the state and queue it for every client.

        May be called from any thread.
        """
        with self._lock:
            self.state.update(data)
            self._seq += 1
            self.events_ += 1
            if not self._clients:
                return
            payload = encode_event(data, event_id=self._seq)
            for c in self._clients:
                c.offer(payload)
            loop = self._loop
            if loop is None or loop.is_closed() or self._wake_pending:
                return  # a wake-up already on its way sends this event too
            self._wake_pending = True
        # one wake-up for a burst of events (a stride and its alert, the status every 2 s):
        # each costs a write to the loop's self-pipe and a turn of the loop
        try:
            loop.call_soon_threadsafe(self._wake_clients)
        except RuntimeError:  # the loop closed meanwhile: no client to wake
            with self._lock:
                self._wake_pending = False

    def _wake_clients(self) -> None:
        """Wake every client (on the loop) to send what waits in its outbox."""
        with self._lock:
            self._wake_pending = False
            clients = list(self._clients)
        _wake_all(clients)

    def disconnect_clients(self) -> None:
        """Drop every SSE connection (they reconnect; used to test reconnection)."""
        with self._lock:
            clients = list(self._clients)
        loop = self._loop
        if loop is None:
            return

        def drop() -> None:
            for c in clients:
                if c.writer is not None:
                    c.writer.transport.abort()
                c.wake.set()

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(drop)

    def add_action(self, name: str, handler: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Answer ``POST /action/<name>`` (JSON in, JSON out) with ``handler``.

        The handler runs in a worker thread; it may raise ``ValueError`` for a
        bad request (answered with 400 and its message).
        """
        with self._lock:
            self._actions[name] = handler

    # ------------------------------------------------------------------ HTTP

    def _authorized(self, query: dict[str, list[str]]) -> bool:
        given = query.get("token", [""])[0]
        return secrets.compare_digest(given.encode(), self.token.encode())

    def _host_allowed(self, head: bytes) -> bool:
        """Bound to loopback, only accept requests addressed to a loopback name.

        This stops DNS-rebinding pages in the local browser from even probing the server.
        """
        if not self.local_only:
            return True
        for raw in head.split(b"\r\n")[1:]:
            name, _, value = raw.partition(b":")
            if name.strip().lower() == b"host":
                host = value.strip().decode("latin-1").lower()
                if host.startswith("["):
                    host = host[1 : host.find("]")] if "]" in host else host
                else:
                    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
                return is_loopback(host)
        return True  # HTTP/1.0 without Host: only a local client gets here

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            except ValueError:
                return
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            if len(parts) != 3:
                await self._respond(writer, 400, b"bad request\n")
                return
            method, target, _ = parts
            url = urlsplit(target)
            path = url.path
            query = parse_qs(url.query)
            if method == "POST" and path.startswith("/action/"):
                await self._action(reader, writer, head, path[len("/action/") :], query)
                return
            if method not in ("GET", "HEAD"):
                await self._respond(
                    writer, 405, b"method not allowed\n", extra="Allow: GET, HEAD\r\n"
                )
                return
            head_only = method == "HEAD"
            if not self._host_allowed(head):
                await self._respond(writer, 403, b"forbidden: unexpected Host header\n")
                return
            if path in PUBLIC_PATHS:
                name, ctype = STATIC_FILES[path]
                await self._respond(writer, 200, self._files[name], ctype, head_only=head_only)
                return
            if path not in STATIC_FILES and path not in ("/events", "/state"):
                await self._respond(writer, 404, b"not found\n", head_only=head_only)
                return
            if not self._authorized(query):
                await self._respond(
                    writer, 403, b"forbidden: open the URL with its token\n", head_only=head_only
                )
                return
            if path == "/events":
                if head_only:
                    await self._respond(writer, 200, b"", "text/event-stream", head_only=True)
                    return
                await self._stream(writer)
            elif path == "/state":
                with self._lock:
                    body = json.dumps(_jsonable(self.state.to_dict()), ensure_ascii=False).encode()
                await self._respond(writer, 200, body, "application/json", head_only=head_only)
            else:
                name, ctype = STATIC_FILES[path]
                await self._respond(writer, 200, self._files[name], ctype, head_only=head_only)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), self.write_timeout_s)
            except (TimeoutError, ConnectionError, OSError):
                writer.transport.abort()  # a peer that reads nothing cannot hold the socket

    async def _action(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: bytes,
        name: str,
        query: dict[str, list[str]],
    ) -> None:
        """One ``POST /action/<name>`` request (see the module docstring)."""
        headers: dict[str, str] = {}
        for raw in head.split(b"\r\n")[1:]:
            key, _, value = raw.partition(b":")
            if key:
                headers[key.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        with self._lock:
            handler = self._actions.get(name)
        if not self._host_allowed(head) or not self._authorized(query):
            await self._respond(writer, 403, b"forbidden\n")
            return
        if headers.get(ACTION_HEADER) != "1":
            await self._respond(writer, 403, b"forbidden: missing X-Strideguard header\n")
            return
        if handler is None:
            await self._respond(writer, 404, b"not found\n")
            return
        try:
            length = int(headers.get("content-length", "-1"))
        except ValueError:
            length = -1
        if length < 0:
            await self._respond(writer, 400, b"bad request: Content-Length needed\n")
            return
        if length > MAX_ACTION_BYTES:
            await self._respond(writer, 413, b"request too large\n")
            return
        try:
            body = await asyncio.wait_for(reader.readexactly(length), 10.0)
            data = json.loads(body.decode("utf-8")) if body else {}
        except (
            asyncio.IncompleteReadError,
            TimeoutError,
            UnicodeDecodeError,
            json.JSONDecodeError,
            RecursionError,  # a JSON bomb within the size limit
        ):
            await self._respond(writer, 400, b"bad request: expected a JSON object\n")
            return
        if not isinstance(data, dict):
            await self._respond(writer, 400, b"bad request: expected a JSON object\n")
            return
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, handler, data)
        except ValueError as exc:
            await self._respond(writer, 400, f"bad request: {exc}\n".encode())
            return
        except Exception as exc:  # the page gets an answer, the server goes on
            log.warning("web action %s failed: %s", name, exc)
            await self._respond(writer, 500, b"the action failed\n")
            return
        self.actions_ += 1
        body_out = json.dumps(_jsonable(result), ensure_ascii=False).encode()
        await self._respond(writer, 200, body_out, "application/json")

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        ctype: str = "text/plain; charset=utf-8",
        *,
        head_only: bool = False,
        extra: str = "",
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n"
            f"{SECURITY_HEADERS}{extra}"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + (b"" if head_only else body))
        await asyncio.wait_for(writer.drain(), 10.0)

    def _evict_stalest(self) -> None:
        """Make room: disconnect the client that is furthest behind (else the oldest).

        Called with the lock held, in the server's loop.
        """
        now = time.monotonic()
        victim = max(self._clients, key=lambda c: c.staleness(now))
        self._clients.discard(victim)
        victim.evicted = True
        self.clients_evicted_ += 1
        log.info("web client evicted for a newer one (%d slots)", self.max_clients)
        if victim.writer is not None:
            victim.writer.transport.abort()
        victim.wake.set()

    def _small_buffers(self, writer: asyncio.StreamWriter) -> None:
        """Small send buffers: a client that does not read blocks ``drain`` soon."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
        with contextlib.suppress(AttributeError, NotImplementedError):
            writer.transport.set_write_buffer_limits(high=self.send_buffer_bytes)

    async def _drain(self, writer: asyncio.StreamWriter, client: _Client) -> None:
        """Wait until the socket took the data; a client that takes nothing is timed out."""
        if writer.transport.get_write_buffer_size() > 0:
            if client.behind_since is None:
                client.behind_since = time.monotonic()
        await asyncio.wait_for(writer.drain(), self.write_timeout_s)
        if writer.transport.get_write_buffer_size() == 0:
            client.behind_since = None

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        client = _Client(self.max_queue)
        client.writer = writer
        self._small_buffers(writer)
        with self._lock:
            if len(self._clients) >= self.max_clients:
                self._evict_stalest()  # the newest authenticated client has priority
            self._seq += 1
            client.offer(f"retry: {self.retry_ms}\n\n".encode())
            client.offer(encode_event({"type": "reset"}, event_id=self._seq))
            for d in self.state.events():
                client.offer(encode_event(d, event_id=self._seq))
            self._clients.add(client)
        try:
            writer.write(
                (
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/event-stream; charset=utf-8\r\n"
                    "Cache-Control: no-store\r\n"
                    "X-Accel-Buffering: no\r\n"
                    f"{SECURITY_HEADERS}"
                    "Connection: keep-alive\r\n\r\n"
                ).encode("latin-1")
            )
            ping = 0
            while not writer.is_closing() and not client.evicted:
                with self._lock:
                    batch = list(client.outbox)
                    client.outbox.clear()
                    overflow = client.overflow
                if overflow:
                    self.clients_dropped_ += 1
                    log.info("web client dropped: it fell %d events behind", self.max_queue)
                    writer.transport.abort()
                    return
                if batch:
                    writer.write(b"".join(batch))
                    await self._drain(writer, client)
                try:
                    await asyncio.wait_for(client.wake.wait(), self.heartbeat_s)
                    client.wake.clear()
                except TimeoutError:
                    ping += 1
                    writer.write(encode_event({"type": "ping", "n": ping}, name="ping"))
                    await self._drain(writer, client)
        except TimeoutError:
            self.clients_dropped_ += 1
            log.info("web client dropped: it took nothing for %.0f s", self.write_timeout_s)
            writer.transport.abort()
        except (ConnectionError, OSError):
            if not client.evicted:
                self.clients_dropped_ += 1
        finally:
            with self._lock:
                self._clients.discard(client)


def _wake_all(clients: list[_Client]) -> None:
    for c in clients:
        c.wake.set()
