"""Documents in the private S3 bucket: presigned POST for uploads, short-lived GET links."""
from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.common import now


class DocumentStorage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def s3(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", region_name=self.settings.region, endpoint_url=self.settings.endpoint_url,
                            config=Config(signature_version="s3v4"))

    def presigned_post(self, key: str, content_type: str, max_bytes: int | None = None) -> dict[str, Any]:
        """Straight from the phone to S3: this key, this type, at most the size limit (a document's
        unless ``max_bytes`` says otherwise: an import file), encrypted with the city's KMS key. The
        checker re-checks size and type after upload all the same."""
        s = self.settings
        limit = max_bytes or s.max_document_bytes
        fields: dict[str, str] = {"Content-Type": content_type}
        conditions: list[Any] = [["content-length-range", 1, limit], {"Content-Type": content_type}]
        if s.document_kms_key:
            fields.update({"x-amz-server-side-encryption": "aws:kms",
                           "x-amz-server-side-encryption-aws-kms-key-id": s.document_kms_key})
            conditions += [{"x-amz-server-side-encryption": "aws:kms"},
                           {"x-amz-server-side-encryption-aws-kms-key-id": s.document_kms_key}]
        post = self.s3.generate_presigned_post(s.document_bucket, key, Fields=fields, Conditions=conditions,
                                               ExpiresIn=s.document_url_seconds)
        return {"url": post["url"], "fields": post["fields"], "max_bytes": limit,
                "expires_at": (now() + timedelta(seconds=s.document_url_seconds)).isoformat(timespec="seconds")}

    def presigned_get(self, key: str, content_type: str) -> dict[str, Any]:
        s = self.settings
        url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": s.document_bucket, "Key": key, "ResponseContentType": content_type},
            ExpiresIn=s.document_url_seconds)
        return {"url": url, "expires_at": (now() + timedelta(seconds=s.document_url_seconds)).isoformat(
            timespec="seconds")}

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.settings.document_bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        """Every object under ``prefix`` gone for good, all versions and delete markers (the bucket is
        versioned): the retention job's deletion (docs/decisions/0040). The number of files it held."""
        s3, bucket = self.s3, self.settings.document_bucket
        files: set[str] = set()
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
            files.update(v["Key"] for v in page.get("Versions", []))
            for start in range(0, len(versions), 1000):
                chunk = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions[start:start + 1000]]
                s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
        return len(files)
