"""Exports (数据导出, docs/decisions/0036 "Export"): the job's small JSON records (the job, each scan
segment's progress), its parts and the joined file under the document bucket's private ``exports/``
prefix; and the tenants' reads: a page of one segment of a parallel Scan of the households table (an
export reads every household by definition: no index is kept for it, and no request path scans; IAM
grants the imports worker Scan on that one table) and the leases the page's households hold."""
from __future__ import annotations

import json
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.leases import Lease
from chalicelib.repositories.common import plain

#: A multipart upload's parts (S3: at least 5 MiB each but the last): the joined file is streamed
#: through a buffer of this size, never held whole.
JOIN_PART_BYTES = 8 * 1024 * 1024


class ExportRepository:
    def __init__(self, settings: Settings, *, storage: Any) -> None:
        self.settings = settings
        self._storage = storage

    @property
    def s3(self) -> Any:
        return self._storage().s3

    @property
    def bucket(self) -> str:
        return self.settings.document_bucket

    def _encryption(self) -> dict[str, str]:
        if self.settings.document_kms_key:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.settings.document_kms_key}
        return {}

    # --- the job's records and parts ------------------------------------------------------------------
    def put_json(self, key: str, data: dict[str, Any]) -> None:
        self.put_text(key, json.dumps(data, ensure_ascii=False))

    def get_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return dict(json.loads(body.decode("utf-8")))

    def put_text(self, key: str, text: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=text.encode("utf-8"), **self._encryption())

    def join(self, key: str, head: str, parts: list[str], content_type: str) -> None:
        """``head`` then every part in order as one object: a multipart upload fed part by part through
        a bounded buffer (one part object read at a time). Joining again writes the same object."""
        s3 = self.s3
        upload = s3.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type,
                                            **self._encryption())["UploadId"]
        done: list[dict[str, Any]] = []
        buffer = bytearray(head.encode("utf-8"))

        def flush() -> None:
            answer = s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=len(done) + 1,
                                    Body=bytes(buffer))
            done.append({"PartNumber": len(done) + 1, "ETag": answer["ETag"]})
            buffer.clear()

        try:
            for part in parts:
                buffer += s3.get_object(Bucket=self.bucket, Key=part)["Body"].read()
                if len(buffer) >= JOIN_PART_BYTES:
                    flush()
            if buffer or not done:
                flush()
            s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                         MultipartUpload={"Parts": done})
        except Exception:
            s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            raise

    # --- the tenants' reads --------------------------------------------------------------------------
    def households(self, segment: int, segments: int, cursor: dict[str, Any] | None,
                   limit: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One Scan page of one segment of the households table (as plain dicts: the household's
        members, owner, the leases an import gave it, its import hash), and the key to go on from
        (None: the segment ends here)."""
        from chalicelib.repositories.tables import HouseholdRecord

        result = HouseholdRecord.scan(segment=segment, total_segments=segments, last_evaluated_key=cursor,
                                      page_size=limit, limit=limit)
        page = next(result.page_iter)
        out = []
        for raw in page.get("Items", []):
            r = HouseholdRecord.from_raw_data(raw)
            out.append({"household_id": r.household_id, "owner": r.owner, "import_hash": r.import_hash,
                        "members": [plain(m) for m in r.members or []], "leases": list(r.leases or [])})
        return out, page.get("LastEvaluatedKey")

    def leases(self, lease_ids: list[str]) -> list[Lease]:
        """The leases by id (BatchGetItem, 100 a request); a missing one is left out."""
        from chalicelib.repositories.leases import to_lease
        from chalicelib.repositories.tables import LeaseRecord

        return [to_lease(r) for r in LeaseRecord.batch_get(sorted(set(lease_ids)))] if lease_ids else []
