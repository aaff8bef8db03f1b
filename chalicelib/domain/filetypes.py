"""What an uploaded file really is, from its first bytes (the name and the declared type can lie).

Accepted documents are photos (JPEG, PNG) and PDF. Anything else is described in zh-CN, naming what
it looks like when that is recognisable, so the citizen knows why the upload was refused.
"""
from __future__ import annotations

#: Every upload a presigned POST allows (an application's documents, a review's proof, a move-out's
#: photos) lives under this prefix: the bucket announces it to the checking worker (infra/stack.py,
#: devstack/aws.py), and documents.record_check hands each key to its owner by the id after it.
UPLOADS = "applications/"

ACCEPTED = ("image/jpeg", "image/png", "application/pdf")
#: Bytes the checker reads from the start of an object (a ranged GET).
HEAD_BYTES = 64

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
_NOT_ACCEPTED = "不是图片或 PDF"


def sniff(head: bytes) -> str | None:
    """The media type of an accepted document, from its magic number; None for anything else."""
    for magic, media_type in _SIGNATURES:
        if head.startswith(magic):
            return media_type
    return None


def describe_unknown(head: bytes) -> str:
    """A zh-CN reason for refusing a file that ``sniff`` does not accept."""
    if not head:
        return "文件是空的，请重新上传"
    if head.startswith(b"MZ"):
        kind = "可执行程序"
    elif head.startswith(b"\x7fELF"):
        kind = "可执行程序"
    elif head.startswith(b"#!"):
        kind = "脚本程序"
    elif head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        kind = "压缩包或 Office 文档"
    elif _looks_like_html(head):
        kind = "网页文件"
    elif head.startswith((b"GIF87a", b"GIF89a")):
        kind = "GIF 动图"
    elif head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1"):
        return "文件是 HEIC 格式的照片，请转为 JPG 或 PNG 后重新上传"
    else:
        return f"无法识别的文件格式，{_NOT_ACCEPTED}（请上传 JPG、PNG 或 PDF）"
    return f"文件实际是{kind}，{_NOT_ACCEPTED}"


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script"))
