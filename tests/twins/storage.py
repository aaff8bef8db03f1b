"""In-memory document storage: an ``s3`` with the calls the repositories make, and the storage's own
methods (presigned links point at a fake host; nothing reaches the network)."""
from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.common import now


class _S3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **extra: Any) -> dict[str, Any]:  # noqa: N803
        self.objects[(Bucket, Key)] = {"Body": bytes(Body), **extra}
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        return {"Body": io.BytesIO(self._find(Bucket, Key)["Body"])}

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        return {"ContentLength": len(self._find(Bucket, Key)["Body"])}

    def delete_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        self.objects.pop((Bucket, Key), None)
        return {}

    def generate_presigned_url(self, op: str, Params: dict[str, Any], ExpiresIn: int) -> str:  # noqa: N803
        return f"https://twin.invalid/{Params['Bucket']}/{Params['Key']}?expires={ExpiresIn}"

    def _find(self, bucket: str, key: str) -> dict[str, Any]:
        if (bucket, key) not in self.objects:
            raise KeyError(f"NoSuchKey: {key}")
        return self.objects[(bucket, key)]


class StorageTwin:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.s3 = _S3()

    def presigned_post(self, key: str, content_type: str) -> dict[str, Any]:
        s = self.settings
        return {"url": f"https://twin.invalid/{s.document_bucket}", "fields": {"key": key, "Content-Type": content_type},
                "max_bytes": s.max_document_bytes,
                "expires_at": (now() + timedelta(seconds=s.document_url_seconds)).isoformat(timespec="seconds")}

    def presigned_get(self, key: str, content_type: str) -> dict[str, Any]:
        s = self.settings
        return {"url": self.s3.generate_presigned_url("get_object", {"Bucket": s.document_bucket, "Key": key},
                                                      s.document_url_seconds),
                "expires_at": (now() + timedelta(seconds=s.document_url_seconds)).isoformat(timespec="seconds")}

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.settings.document_bucket, Key=key)
