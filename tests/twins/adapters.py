"""In-memory fakes of the adapters the composition root serves (docs/decisions/0023): what the
domain handed on is recorded, nothing leaves the process."""
from __future__ import annotations

from typing import Any


class RecordingNotifier:
    """``deps().notifier``: keeps each notice in ``sent`` and answers True (handed on, as notify() does)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def notify(self, notice: Any) -> bool:
        self.sent.append(notice)
        return True

    def templates(self) -> list[str]:
        return [n.template for n in self.sent]


class RecordingWorkflow:
    """``deps().workflow``: records each run it is asked to start (``(application_id, run_id)``) and
    answers an execution ARN like Step Functions; ``fail_with`` makes the next starts raise it."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None

    def start_verification(self, application_id: str, run_id: str) -> str | None:
        if self.fail_with is not None:
            raise self.fail_with
        self.started.append((application_id, run_id))
        return f"arn:twin:execution:{application_id}-{run_id}"
