"""A fault-injecting HTTP proxy for S3 tests: real HTTP in front of a real server (moto).

Every request gets a number (1, 2, 3, ... across threads, in arrival order). ``Faults`` says
which numbers go wrong and how; the proxy forwards everything else to the upstream server
untouched and counts what it injected in ``FaultProxy.injected``, so a test can check that
the faults really happened.

    error_every   answer every Nth request with 503 SlowDown (500 InternalError every other
                  time) without forwarding it
    cut_every     every Nth GET of a whole object: send the headers and half the body, then
                  reset the connection (a body cut short); resumed GETs (with a Range) pass
    cut_first     the first N GETs of an object, resumed ones included, are cut the same way
    cut_ranged    the first N GETs with a Range (parts of a large object, resumes) are cut
    stall_every   every Nth GET of a whole object: send half the body, then go silent for
                  ``delay`` seconds (a read timeout in the middle of a body) and reset
    delay_every   every Nth request waits ``delay`` seconds before it is forwarded
    dead_after    from request N on, every connection is reset without an answer

``FaultProxy.peak`` is the most requests it had in flight at once (counted from the request
line to the last byte of the answer), and ``ranged`` how many GETs asked for a range.

Usage: ``with FaultProxy(moto_server.endpoint_url, Faults(cut_every=4)) as proxy: proxy.url``.
"""

from __future__ import annotations

import http.client
import http.server
import itertools
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
_ERRORS = [
    (503, b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"),
    (500, b"<Error><Code>InternalError</Code><Message>We encountered an error.</Message></Error>"),
]


@dataclass(frozen=True)
class Faults:
    error_every: int = 0
    cut_every: int = 0
    cut_first: int = 0
    cut_ranged: int = 0
    stall_every: int = 0
    delay_every: int = 0
    delay: float = 0.0
    dead_after: int = 0


def _every(number: int, period: int) -> bool:
    return period > 0 and number % period == 0


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 in front of ``upstream`` (``http://host:port``)."""

    def __init__(self, upstream: str, faults: Faults):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults = faults
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self.bytes_out = 0  # response body bytes sent to clients (for benchmarks)
        self.in_flight = 0
        self.peak = 0
        self.ranged = 0
        self._numbers = itertools.count(1)
        self._gets = itertools.count(1)
        self._ranged_gets = itertools.count(1)
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_number(self) -> int:
        with self._lock:
            self.requests += 1
            return next(self._numbers)

    def track(self, change: int, ranged: bool = False) -> None:
        with self._lock:
            self.in_flight += change
            self.peak = max(self.peak, self.in_flight)
            self.ranged += ranged

    def next_get(self, ranged: bool) -> tuple[int, int]:
        """(this GET's number, and its number among ranged GETs, or 0)."""
        with self._lock:
            return next(self._gets), next(self._ranged_gets) if ranged else 0

    def sent(self, count: int) -> None:
        with self._lock:
            self.bytes_out += count

    def note(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue for uploads
    proxy: FaultProxy

    def do_request(self) -> None:
        ranged = self.command == "GET" and "Range" in self.headers
        self.proxy.track(1, ranged)
        try:
            self._answer()
        finally:
            self.proxy.track(-1)

    def _answer(self) -> None:
        proxy, faults = self.proxy, self.proxy.faults
        number = proxy.next_number()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if faults.dead_after and number >= faults.dead_after:
            proxy.note("dead")
            self._reset()
            return
        if _every(number, faults.error_every):
            proxy.note("error")
            self._send(*_ERRORS[(number // faults.error_every) % 2], {})
            return
        if _every(number, faults.delay_every):
            proxy.note("delay")
            time.sleep(faults.delay)
        status, headers, payload = self._forward(body)
        if self.command == "GET" and "?" not in self.path and len(payload) > 1:
            whole = "Range" not in self.headers
            get, ranged_get = proxy.next_get(not whole)
            stall = whole and _every(get, faults.stall_every)
            cut = get <= faults.cut_first or 0 < ranged_get <= faults.cut_ranged
            if cut or (whole and _every(get, faults.cut_every)) or stall:
                proxy.note("stall" if stall else "cut")
                self._send_half(status, headers, payload, faults.delay if stall else 0.0)
                return
        self._send(status, payload, headers)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_request

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(*self.proxy.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers.pop("Expect", None)
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            return response.status, kept, payload
        finally:
            connection.close()

    def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response_only(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "date", "server"):
                self.send_header(key, value)
        if self.command == "HEAD":
            length = headers.get("Content-Length") or headers.get("content-length") or "0"
            self.send_header("Content-Length", length)
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.proxy.sent(len(payload))

    def _send_half(
        self, status: int, headers: dict[str, str], payload: bytes, silence: float
    ) -> None:
        self.send_response_only(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.proxy.sent(len(payload) // 2)
        self.wfile.flush()
        time.sleep(silence)
        self._reset()

    def _reset(self) -> None:
        """Close the connection with a TCP reset (SO_LINGER 0), as a dropped link would."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def log_message(self, *args: object) -> None:
        pass
