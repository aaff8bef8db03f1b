"""Every city's stack, synthesized once per test run and shared by the infra test files.

Under xdist, ``--dist loadfile`` may hand tests/infra/test_stack.py and test_compliance.py to
different workers: the first to ask synthesizes every city into the run's shared temporary root
(under a file lock), the others wait for it and read the same cloud assemblies.
"""
from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from tests.infra.synthesized import CITIES, Synth


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Synth]:
    from infra.city_config import load_city
    from infra.synth import synth

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "cdk-shared"
    root.mkdir(exist_ok=True)
    result = {}
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for city in CITIES:
            out, done = root / city, root / f"{city}.done"
            if not done.is_file():
                path = synth(city, outdir=out)
                done.write_text(str(path), encoding="utf-8")
            path = Path(done.read_text(encoding="utf-8"))
            text = path.read_text(encoding="utf-8")
            result[city] = Synth(city, load_city(city).region, path, text, json.loads(text))
    return result
