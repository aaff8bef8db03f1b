"""review_no_change_to_recommendation_p50_s: an annual review (年审) answered "nothing changed",
from the answer request to the recommendation on the review: the SAME verification workflow on the
local stack (moto runs the state machine, the department simulator answers at once through the real
adapter), the review rules, the recommendation. Tenants and leases are set up as tests/reviewing.py
does; the reviews are opened as a campaign opens them (domain/reviews.open_page)."""
from __future__ import annotations

import functools
import statistics
import time
from typing import Any

from bench.common import Result

REVIEWS = 15


def review_no_change_p50(stack: Any) -> Result:
    from chalice.test import Client

    from app import app
    from chalicelib.deps import deps
    from chalicelib.domain.common import new_id
    from tests import reviewing
    from tests.applying import call

    stack.enable_verification()
    campaign = new_id("rcmp")
    with Client(app) as client:
        do = functools.partial(call, client)
        names = ["年审" + "".join("甲乙丙丁戊己庚辛壬癸"[int(d)] for d in f"{i:02d}") for i in range(REVIEWS)]
        tenants = [reviewing.housed(client, stack, name) for name in names]
        ids = [reviewing.open_review(t.lease_id, campaign) for t in tenants]
        times, outcomes = [], []
        for tenant, review_id in zip(tenants, ids):
            view = reviewing.current(do, tenant.headers)
            body = {"version": view["version"], "change": "none",
                    "consent": {"text_version": view["consent_text_version"], "agree": True}}
            started = time.perf_counter()
            status, answered = do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers, body)
            assert status == 200, answered
            while (review := deps().reviews.get(review_id)).recommendation is None:
                if time.perf_counter() - started > 60:
                    raise TimeoutError(f"{review_id} not recommended in 60 s")
                time.sleep(0.01)
            times.append(time.perf_counter() - started)
            outcomes.append(review.recommendation["outcome"])
    p50 = statistics.median(times)
    clean = all(o == "continue" for o in outcomes)
    return Result("review_no_change_to_recommendation_p50_s", round(p50, 3), "s", "<= 1", p50 <= 1 and clean,
                  {"reviews": REVIEWS, "max_s": round(max(times), 3), "min_s": round(min(times), 3),
                   "all_continue": clean})
