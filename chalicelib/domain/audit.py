"""The audit trail (等级保护 2.0): every staff read of personal data, who, what, when and why."""
from __future__ import annotations

import hashlib
import json

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.idnumbers import mask_free_text
from chalicelib.identity import Actor

MAX_REASON = 200


def record(actor: Actor, target: str, action: str, reason: str | None) -> None:
    """Write before the data is served: no reason, no read (a 400 naming ``reason``). The reason is
    free text (often a query parameter): personal numbers in it are masked before it is stored."""
    if not reason or not reason.strip():
        raise errors.InvalidInput("staff must say why they read personal data", field="reason",
                                  message="工作人员查看个人信息须填写查看事由")
    at = f"{now_iso()}#{new_id('aud')}"
    role = sorted(r.value for r in actor.roles)[0] if actor.roles else "unknown"
    entry = {"target": target, "at": at, "actor": actor.subject, "actor_role": role, "action": action,
             "reason": mask_free_text(reason.strip())[:MAX_REASON], "day": at[:10]}
    entry["digest"] = hashlib.sha256(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    deps().audit.append(entry)


def trail(target: str) -> list[dict[str, object]]:
    return deps().audit.of_target(target)
