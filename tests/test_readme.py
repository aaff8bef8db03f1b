"""The README's by-hand journey runs as written: every ```sh block after the set-up one, pasted in
order into one bash shell against the local server with the demo city seeded (`make run`), with
`make -s token ROLE=...` and `make demo` doing what they do there.

Each curl's status is recorded; the only refusals allowed are the ones the README says it shows.
`set -u` makes a variable used before an earlier command set it ($APP, $ROUND, ...) fail the run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_URL = "http://127.0.0.1:8000"
#: The refusals the README shows on purpose, in order: a forged token, a citizen on an admin route.
EXPECTED_REFUSALS = [401, 403]

PRELUDE = r"""
set -u
make() {  # what `make -s token ROLE=...` and `make demo` do with `make run` up
  local target="" role=applicant
  for a in "$@"; do case "$a" in ROLE=*) role="${a#ROLE=}";; -*) ;; *) target="$a";; esac; done
  case "$target" in
    token) "$PY" -m devstack.token "$role";;
    demo) "$PY" -m devstack.demo --base "$API" > demo.log 2>&1 || { echo "make demo failed" >&2; tail -30 demo.log >&2; return 1; };;
    *) echo "make $target: not part of the journey" >&2; return 2;;
  esac
}
curl() {  # the real curl; every answer's status and method+URL recorded for the test
  local out status
  out=$(command curl -sS -w '\n@@%{http_code} %{method} %{url_effective}' "$@") || return $?
  status="${out##*@@}"
  printf '%s' "${out%@@*}"
  printf '%s\n' "$status" >> "$CURL_LOG"
}
"""


def readme_blocks(text: str) -> list[str]:
    """The journey: every ```sh block except the first (the set-up commands themselves)."""
    import textwrap

    blocks = re.findall(r"^( *)```sh\n(.*?)^ *```", text, flags=re.S | re.M)
    return [textwrap.dedent(body) for _, body in blocks[1:]]


@pytest.fixture()
def running_city(stack: Any, local_server: str, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """`make run`: the demo city seeded, the verification workflow on, the queue workers polling."""
    from devstack.__main__ import _run_workers
    from devstack.seed import seed

    monkeypatch.setenv("PUBLICITY_DEMO_MINUTES_ALLOWED", "1")  # as `make run` allows
    stack.reset()
    seed(stack.city)
    stack.enable_verification()
    stop = threading.Event()
    drainer = threading.Thread(target=_run_workers, args=(stack, stop), daemon=True)
    drainer.start()
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"api": local_server, "city": stack.city, "endpoint": stack.endpoint,
                                 "pool_id": stack.identity.pool_id, "client_id": stack.identity.client_id,
                                 "users": stack.identity.users}))
    try:
        yield {"api": local_server, "state": state}
    finally:
        stop.set()
        drainer.join(5)
        stack.disable_verification()


@pytest.mark.skipif(not shutil.which("jq"), reason="the README's journey uses jq")
def test_readme_journey_runs_as_written(running_city: dict[str, Any], tmp_path: Path) -> None:
    blocks = readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 4, "the README lost its journey"
    script = PRELUDE + "\n".join(b.replace(README_URL, running_city["api"]) for b in blocks)
    log = tmp_path / "curl.log"
    (tmp_path / "tools").symlink_to(ROOT / "tools")  # the README's commands run from the project root
    env = {**os.environ, "PY": sys.executable, "API": running_city["api"], "CURL_LOG": str(log),
           "DEVSTACK_STATE": str(running_city["state"]), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    calls = [line.split(" ", 2) for line in log.read_text().splitlines()] if log.exists() else []
    report = f"stderr:\n{done.stderr[-3000:]}\nstdout:\n{done.stdout[-3000:]}\ncalls:\n" + "\n".join(
        " ".join(c) for c in calls)
    assert done.returncode == 0, report
    assert "unbound variable" not in done.stderr, report
    assert not [c for c in calls if c[0].startswith("5") or c[0] == "000"], report
    refusals = [int(c[0]) for c in calls if c[0].startswith("4")]
    assert refusals == EXPECTED_REFUSALS, report
    assert "Verdict: 一致 / MATCH" in done.stdout, report  # tools/verify_draw.py on the published files
