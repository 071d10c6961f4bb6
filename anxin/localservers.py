"""Private PostgreSQL clusters and Mosquitto brokers on free loopback ports.

Fault tests stop and restart servers, and benchmarks need a broker tuned for load; neither may
touch the machine's shared servers, so they start their own with these helpers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

MOSQUITTO_TUNED_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {data}/
autosave_interval 300
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 0
max_packet_size 1048576
log_dest file {data}/mosquitto.log
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


@dataclass
class PrivateMosquitto:
    """A Mosquitto of our own: unlimited queues, persistence to ``data``, restartable."""

    data: Path
    port: int = field(default_factory=free_port)
    extra_conf: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.data.mkdir(parents=True, exist_ok=True)
        conf = self.data / "mosquitto.conf"
        # Run as root, Mosquitto drops to the 'mosquitto' user, which cannot write our data
        # directory: persistence would then fail silently and a restart would lose messages.
        user = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            MOSQUITTO_TUNED_CONF.format(port=self.port, data=self.data) + user + self.extra_conf
        )
        self.process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM lets Mosquitto save its queues; SIGKILL is a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for version in sorted(Path("/usr/lib/postgresql").glob("*"), reverse=True):
        candidate = version / "bin" / name
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError(f"{name} not found: install the PostgreSQL server package")


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; CI containers often are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL cluster with trust auth on a free port; ``bin_dir`` runs another
    installation's ``pg_ctl`` and ``postgres`` than the machine's."""

    data: Path
    port: int = field(default_factory=free_port)
    bin_dir: Path | None = None

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name) if self.bin_dir else _pg_bin(name)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/anxin"

    def init(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        subprocess.run(
            _as_postgres_user(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data / "pg"),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        subprocess.run(
            _as_postgres_user(
                [
                    self._bin("pg_ctl"),
                    "-D",
                    str(self.data / "pg"),
                    "-l",
                    str(self.data / "pg.log"),
                    "-o",
                    f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres_user(
                [self._bin("pg_ctl"), "-D", str(self.data / "pg"), "-m", mode, "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )
