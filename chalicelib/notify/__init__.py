"""Notifications to citizens: a ``Notice`` is queued, and a worker renders and sends it.

``notify(notice)`` never raises and never blocks on the channel: with ``NOTIFY_QUEUE_URL`` set (every
deployed stack, and the local stack) it only enqueues the notice; the ``send_notifications`` worker
sends it through the city's channel, and SQS offers a failed send again (a DLQ keeps the hopeless
ones). Without a queue (unit tests) the notice goes straight to the channel. Messages are zh-CN and
carry no full ID number; logs never carry a mobile number or an ID number in clear.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.config import settings
from chalicelib.domain.idnumbers import mask_mobile
from chalicelib.notify.adapters import RECORDED, SendFailed, adapter, aws_client
from chalicelib.notify.templates import TEMPLATES, UnknownTemplate, render
from chalicelib.observability import logger

__all__ = [
    "Notice", "Notifier", "notify", "notify_many", "deliver", "render_notice", "adapter", "RECORDED", "TEMPLATES",
    "SendFailed",
    "UnknownTemplate",
]


@dataclass
class Notice:
    template: str
    params: dict[str, str] = field(default_factory=dict)
    recipient: str | None = None  # the citizen's login subject
    mobile: str | None = None  # 11 digits
    application_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes | dict[str, Any]) -> "Notice":
        data = raw if isinstance(raw, dict) else json.loads(raw)
        return cls(
            template=str(data["template"]),
            params={str(k): "" if v is None else str(v) for k, v in (data.get("params") or {}).items()},
            recipient=data.get("recipient"),
            mobile=data.get("mobile"),
            application_id=data.get("application_id"),
        )


def render_notice(notice: Notice) -> str:
    return render(notice.template, notice.params, city_name=settings().city_name,
                  application_id=notice.application_id)


def _normalised_mobile(mobile: str | None) -> str | None:
    if not mobile:
        return None
    value = mobile.strip().replace(" ", "").replace("-", "")
    value = value.removeprefix("+86")
    return value if len(value) == 11 and value.isdigit() and value.startswith("1") else None


def _log_keys(notice: Notice, mobile: str | None) -> dict[str, Any]:
    return {"template": notice.template, "application_id": notice.application_id,
            "to": mask_mobile(mobile) if mobile else None}


def deliver(notice: Notice) -> None:
    """Render and send now through the configured channel; raises when the channel fails."""
    text = render_notice(notice)
    mobile = _normalised_mobile(notice.mobile)
    channel = adapter()
    record = getattr(channel, "record", None)
    if record is not None:  # the local outbox keeps what a developer wants to see, the mobile masked
        record({"template": notice.template, "recipient": notice.recipient, "mobile": mask_mobile(mobile),
                "application_id": notice.application_id, "text": text})
    elif mobile is None:
        # Nothing to send to: retrying would not help. A later channel (app push) may use the recipient.
        logger.warning("notice without a usable mobile number, not sent", extra=_log_keys(notice, None))
        return
    else:
        channel.send(mobile, text)
    logger.info("notice sent", extra={**_log_keys(notice, mobile), "channel": settings().notify_channel})


def notify(notice: Notice) -> bool:
    """Queue (or, without a queue, send) a notice. Never raises: False when it could not be handed on."""
    try:
        if notice.template not in TEMPLATES:
            raise UnknownTemplate(notice.template)
        queue_url = settings().notify_queue_url
        if queue_url:
            aws_client("sqs").send_message(QueueUrl=queue_url, MessageBody=notice.to_json())
        else:
            deliver(notice)
        return True
    except Exception as exc:  # noqa: BLE001 - the workflow that notifies must not fail because of it
        logger.warning("notice not handed on", extra={
            **_log_keys(notice, _normalised_mobile(notice.mobile)), "error": exc.__class__.__name__})
        return False


def notify_many(notices: list[Notice]) -> int:
    """Queue many notices, 10 a SendMessageBatch (a review campaign's page); without a queue, send
    each. Never raises: the number handed on (a batch that failed is logged and not counted)."""
    queue_url = settings().notify_queue_url
    if not queue_url:
        return sum(notify(n) for n in notices)
    handed = 0
    for start in range(0, len(notices), 10):
        chunk = [n for n in notices[start:start + 10] if n.template in TEMPLATES]
        entries = [{"Id": str(k), "MessageBody": n.to_json()} for k, n in enumerate(chunk)]
        if not entries:
            continue
        try:
            failed = aws_client("sqs").send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed") or []
            handed += len(entries) - len(failed)
            handed += sum(notify(chunk[int(f["Id"])]) for f in failed)  # once more, one by one
        except Exception as exc:  # noqa: BLE001 - as notify(): the caller's work must not fail because of it
            logger.warning("notices not handed on", extra={"count": len(entries), "error": exc.__class__.__name__})
    return handed


class Notifier:
    """The domain's notifier (``deps().notifier``, docs/decisions/0023): :func:`notify` behind an object
    the composition root serves, so a test hands in a recording one instead."""

    def notify(self, notice: Notice) -> bool:
        return notify(notice)

    def notify_many(self, notices: list[Notice]) -> int:
        return notify_many(notices)
