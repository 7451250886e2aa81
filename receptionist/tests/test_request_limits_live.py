"""Large or slow unauthenticated bodies against a real Daphne (issue 10, item 10): refused by
Content-Length before the body is read, a chunked body cut off as it arrives, the server's
memory not growing by the body size, and a half-sent request timed out."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from calls.tests.live_server import LiveServer, running_daphne

pytestmark = pytest.mark.e2e

LIMIT = 64 * 1024
ARRIVAL_TIMEOUT = 1.0
BODY = 200 * 1024 * 1024  # what the attacker in issue 10 sent
PREPARE = 'from django.core.management import call_command\ncall_command("migrate", verbosity=0)'
WEBHOOK = "/voice/incoming/demo/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "HTTP_MAX_BODY_BYTES": str(LIMIT),
        "HTTP_BODY_TIMEOUT_SECONDS": str(ARRIVAL_TIMEOUT),
    }
    with running_daphne(tmp_path_factory.mktemp("limits"), prepare=PREPARE, env=env) as live:
        yield live


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def connect(server: LiveServer, timeout: float = 20) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    return sock


def head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


def answer(sock: socket.socket) -> bytes:
    """What the server said before closing (b"" if it said nothing)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def send_until_refused(sock: socket.socket, chunk: bytes, total: int) -> int:
    """Keep sending until `total` bytes or the server hangs up; return how much went out."""
    sent = 0
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def test_an_oversized_content_length_is_refused_before_the_body_is_sent(server):
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(
            head(
                WEBHOOK,
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {BODY}",
            )
        )
        reply = answer(sock)  # not one byte of the body was sent
        elapsed = time.monotonic() - started

    assert reply.startswith(b"HTTP/1.1 413 Content Too Large\r\n"), reply[:200]
    assert f"at most {LIMIT} bytes".encode() in reply
    assert elapsed < 5


def test_a_200_mb_body_does_not_grow_the_server(server):
    before = rss_kib(server.pid)
    with connect(server) as sock:
        sock.sendall(
            head(WEBHOOK, "Content-Type: application/octet-stream", f"Content-Length: {BODY}")
        )
        sent = send_until_refused(sock, b"x" * 65536, BODY)
        reply = answer(sock)
    grown_kib = rss_kib(server.pid) - before

    assert sent < BODY  # cut off long before the end
    assert grown_kib < 20 * 1024, f"Daphne grew by {grown_kib} KiB for a {BODY} byte body"
    assert reply == b"" or reply.startswith(b"HTTP/1.1 413")


def test_a_chunked_body_is_cut_off_as_it_passes_the_limit(server):
    before = rss_kib(server.pid)
    chunk = b"y" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with connect(server) as sock:
        sock.sendall(head(WEBHOOK, "Transfer-Encoding: chunked"))
        sent = send_until_refused(sock, framed, BODY)
        reply = answer(sock)
    grown_kib = rss_kib(server.pid) - before

    assert sent < BODY
    assert grown_kib < 20 * 1024, f"Daphne grew by {grown_kib} KiB"
    assert reply == b"" or reply.startswith(b"HTTP/1.1 413")


def test_half_sent_requests_are_timed_out(server):
    sockets = [connect(server) for _ in range(20)]
    try:
        for n, sock in enumerate(sockets):
            if n % 2:  # headers done, most of the body missing
                sock.sendall(head(WEBHOOK, "Content-Length: 100") + b"From=%2B1555")
            else:  # stuck in the headers
                sock.sendall(b"POST " + WEBHOOK.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        replies = [answer(sock) for sock in sockets]
        elapsed = time.monotonic() - started
    finally:
        for sock in sockets:
            sock.close()

    assert all(r.startswith(b"HTTP/1.1 408 Request Timeout\r\n") for r in replies), replies
    # The timeout plus Daphne's 2-second check interval, with room for a busy machine.
    assert elapsed < ARRIVAL_TIMEOUT + 10


def test_a_request_within_the_limits_is_served(server):
    with connect(server) as sock:
        sock.sendall(head("/admin/login/", "Content-Length: 5", "Connection: close") + b"a=b&c")
        reply = answer(sock)

    # Reaches Django (which refuses a POST without a CSRF token), not the limits.
    assert reply.startswith(b"HTTP/1.1 403"), reply[:200]
