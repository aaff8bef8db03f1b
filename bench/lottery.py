"""lottery_draw_50k_s and lottery_verify_50k_s: drawing a round of 50,000 registrants in four
priority groups (median of 3 runs of ``draw``), and checking it with the standalone verifier run as
a citizen runs it (``python tools/verify_draw.py commitment.json result.json``: wall time of the
subprocess, interpreter start included). Decisions: docs/decisions/0013-verifiable-draw.md."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Result, at_most, median

GROUPS = (("subsistence", 2_000), ("special_needs", 5_000), ("low_income", 8_000), ("general", 35_000))
PUBLIC_VALUE = "05 11 17 23 28 31 + 09"
RUNS = 3


def _commitment() -> dict[str, Any]:
    from chalicelib.domain import draw

    registrants, n = [], 0
    for group, count in GROUPS:
        for _ in range(count):
            n += 1
            registrants.append({"registration_no": f"R2026{n:07d}", "priority_group": group,
                                "masked_name": "张*明", "masked_id": f"4407**********{n % 10_000:04d}"})
    return draw.commitment_document("2026-R01", "2026年第一批公租房摇号", [g for g, _ in GROUPS], registrants,
                                    "中国福利彩票双色球 2026-030 期开奖号码", "2026-03-10T09:00:00+08:00")


def lottery_draw_50k() -> Result:
    from chalicelib.domain import draw

    commitment = _commitment()
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = draw.draw(commitment, PUBLIC_VALUE)
        times.append(time.perf_counter() - started)
    assert result is not None and len(result["ranks"]) == 50_000
    value = round(median(times), 4)
    return Result("lottery_draw_50k_s", value, "s", "<= 1", at_most(value, 1.0),
                  {"registrants": 50_000, "groups": dict(GROUPS), "runs_s": [round(t, 4) for t in times],
                   "algorithm": draw.ALGORITHM})


def lottery_verify_50k() -> Result:
    from chalicelib.domain import draw

    commitment = _commitment()
    result = draw.draw(commitment, PUBLIC_VALUE)
    with tempfile.TemporaryDirectory() as tmp:
        commitment_path, result_path = Path(tmp) / "commitment.json", Path(tmp) / "result.json"
        commitment_path.write_bytes(draw.canonical_bytes(commitment))
        result_path.write_bytes(draw.canonical_bytes(result))
        times, last = [], None
        for _ in range(RUNS):
            started = time.perf_counter()
            last = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_draw.py"), str(commitment_path),
                                   str(result_path)], capture_output=True, timeout=120)
            times.append(time.perf_counter() - started)
        size = commitment_path.stat().st_size
    assert last is not None
    matched = last.returncode == 0
    value = round(median(times), 4) if matched else None
    return Result("lottery_verify_50k_s", value, "s", "<= 2", matched and at_most(value, 2.0),
                  {"registrants": 50_000, "commitment_bytes": size, "exit_code": last.returncode,
                   "runs_s": [round(t, 4) for t in times], "python": sys.version.split()[0],
                   **({} if matched else {"output": last.stdout.decode("utf-8", "replace")[-2000:]})})


if __name__ == "__main__":
    for measure in (lottery_draw_50k, lottery_verify_50k):
        print(measure().as_dict())
