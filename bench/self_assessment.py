"""self_assessment_p50_ms: the self-assessment as its route runs it, in process, 1,000 times."""
from __future__ import annotations

import random
import statistics
import time

from bench.common import Result

TARGET_MS = 5.0


def self_assessment_p50(runs: int = 1000) -> Result:
    from chalicelib.domain import self_assessment

    rng = random.Random(7)
    samples = []
    verdicts: dict[str, int] = {}
    for _ in range(runs):  # varied households, so every branch (pass, fail, unknown) is timed
        answers = {
            "household_size": rng.randint(1, 6), "hukou_local": rng.random() < 0.6,
            "residence_permit": rng.random() < 0.5, "social_insurance_months": rng.randint(0, 60),
            "homes_owned_in_city": rng.choice([0, 0, 0, 1]), "housing_floor_area": round(rng.uniform(0, 120), 2),
            "household_monthly_income": rng.randint(0, 1_500_000), "max_vehicle_value": rng.choice([0, 5_000_000, 20_000_000]),
            "max_company_capital": rng.choice([0, 0, 500_000_000]), "subsistence_allowance": rng.random() < 0.2,
        }
        if rng.random() < 0.2:
            answers.pop("household_monthly_income")
        started = time.perf_counter()
        a = self_assessment.assess("jiangmen", rng.choice(["individual", "graduate"]), answers)
        samples.append((time.perf_counter() - started) * 1000)
        verdicts[a.verdict.value] = verdicts.get(a.verdict.value, 0) + 1
    p50 = statistics.median(samples)
    return Result("self_assessment_p50_ms", round(p50, 4), "ms", f"<= {TARGET_MS:g}", p50 <= TARGET_MS,
                  {"runs": runs, "p95_ms": round(sorted(samples)[int(runs * 0.95)], 4), "verdicts": verdicts})
