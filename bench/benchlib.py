"""What the benchmarks share: paths, a loopback Daphne, process figures, percentiles."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DAPHNE = str(ROOT / ".venv" / "bin" / "daphne")
# Benchmark servers run production-shaped: DEBUG off (no per-query recording), which the
# settings allow only with every secret set explicitly. A benchmark's own env overrides these
# (e.g. the Twilio token it signs with).
PRODUCTION_SHAPED = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-secret-key-not-for-production",
    "FERNET_KEYS": "bench-fernet-key-not-for-production",
    "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
    "TWILIO_AUTH_TOKEN": "bench-auth-token",
    # Plain http on loopback: no https redirect, secure-only cookies or HSTS.
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


async def ring(port: int, token: str, *, slug: str, call_sid: str, from_: str, to: str) -> None:
    """Twilio's signed voice webhook for a call: the server accepts a call's ConversationRelay
    socket only after it has recorded the call this way."""
    import aiohttp  # the twilio library's own dependency
    from twilio.request_validator import RequestValidator

    url = f"http://127.0.0.1:{port}/voice/incoming/{slug}/"
    form = {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": from_,
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    headers = {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}
    async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as r:
        r.raise_for_status()


def start_daphne(
    workdir: Path, env: dict[str, str], port: int, app: str, prepare: list[list[str]]
) -> subprocess.Popen:
    """Run the `manage.py` commands in `prepare`, then Daphne serving `app` on `port`;
    return once it accepts connections. `env` is laid over PRODUCTION_SHAPED."""
    env = {**PRODUCTION_SHAPED, **env}
    for command in prepare:
        subprocess.run(
            [PY, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    server = subprocess.Popen(
        [DAPHNE, "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        # A file, not a pipe nobody reads: a full pipe would stall the server.
        stderr=(workdir / "server.log").open("w"),
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("Daphne did not start: " + (workdir / "server.log").read_text()[-2000:])
