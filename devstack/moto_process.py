"""moto's server in a process of its own, for measurements where DynamoDB should not share the app's
interpreter (and its one core) with the code calling it, as on AWS, where DynamoDB is its own service.

    python -m devstack.moto_process [HOST] [PORT]    # prints "ready HOST PORT" once it serves

The same server as the in-process one (``ThreadedMotoServer``) with the same changes
(``moto_speed``) and settings; ``LocalStack(own_process=True)`` starts one and stops it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


class MotoProcess:
    """What LocalStack needs of its server (``get_host_and_port``, ``stop``), as a child process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # the environment LocalStack.start set (moto's settings, e.g. the queue purge rule) is inherited
        self._child = subprocess.Popen([sys.executable, "-m", "devstack.moto_process", host, str(port)],
                                       cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self._child.stdout is not None
        line = self._child.stdout.readline().split()
        if len(line) != 3 or line[0] != "ready":
            self._child.kill()
            raise RuntimeError(f"moto's process did not start: {line}")
        self._address = (line[1], int(line[2]))
        self._drain = threading.Thread(target=_discard, args=(self._child.stdout,), daemon=True)
        self._drain.start()

    def get_host_and_port(self) -> tuple[str, int]:
        return self._address

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (user + system; Linux's /proc, else 0)."""
        try:
            fields = Path(f"/proc/{self._child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self._child.terminate()
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()


def _discard(stream: IO[str]) -> None:
    for _ in stream:
        pass


def main(argv: list[str]) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    from devstack import moto_speed

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_speed.install()
    host = argv[0] if argv else "127.0.0.1"
    port = int(argv[1]) if len(argv) > 1 else 0
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    print(f"ready {bound_host} {bound_port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
