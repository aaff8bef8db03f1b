"""The verifiable lottery draw (摇号). Decisions: docs/decisions/0013-verifiable-draw.md.

Standard library only, no I/O. A round is drawn in two published steps:

1. **Commit.** Before the draw, the city publishes the commitment document
   (``commitment_document``): the round, the ranked priority groups, every registrant (masked name
   and ID only, sorted by ``registration_no``), where the public random value will come from, and
   when the list was frozen. The published file is exactly ``canonical_bytes(document)``; its
   SHA-256 (``sha256_hex``) is published with it.
2. **Draw.** Once the announced public value exists (one that nobody can know or steer when the
   commitment is published, e.g. a named lottery's drawn numbers or a future block hash), ``draw``
   derives the seed from the commitment hash and that value and ranks everyone.

The algorithm, ``sha256-fisher-yates-v1``, exactly:

- ``seed = SHA-256(b"gongzufang-draw-v1\\n" + commitment_sha256 + b"\\n" + public_value)`` as lowercase
  hex, where ``commitment_sha256`` is the 64 lowercase hex characters (ASCII) and ``public_value``
  is the value with leading and trailing whitespace removed, in UTF-8.
- Groups are ranked in the commitment's ``groups`` order: every registrant of the first group comes
  before any of the second, and so on. Ranks run 1..N over the whole round.
- Within a group, take its registrants sorted by ``registration_no`` (Unicode code point order) as
  ``a[0..n-1]`` and shuffle with Fisher-Yates: for ``i = n-1`` down to ``1``: ``j`` = a uniform
  integer in ``[0, i]``, swap ``a[i]`` and ``a[j]``. The shuffled ``a`` is the group's order.
- The random integers of a group come from the stream of blocks
  ``SHA-256(bytes.fromhex(seed) + group.encode("utf-8") + counter.to_bytes(8, "big"))`` for
  ``counter = 0, 1, 2, ...`` (a fresh stream per group), each 32-byte block read as four 8-byte
  big-endian unsigned integers, in order.
- A uniform integer in ``[0, i]`` with ``m = i + 1``: take the next integer ``x`` from the stream;
  if ``x >= (2**64 // m) * m`` reject it and take the next one; else the answer is ``x % m``
  (rejection sampling: no modulo bias).

``tools/verify_draw.py`` implements the same algorithm a second time, on purpose: it is the one file
anyone downloads to check a published draw, so it must not import (or trust) this module. A test
asserts that the two agree.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct
from typing import Any

ALGORITHM = "sha256-fisher-yates-v1"
COMMITMENT_FORMAT = "gongzufang-draw-commitment/1"
RESULT_FORMAT = "gongzufang-draw-result/1"
SEED_DOMAIN = b"gongzufang-draw-v1\n"
REGISTRANT_FIELDS = ("registration_no", "priority_group", "masked_name", "masked_id")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_UNMASKED_ID = re.compile(r"\d{17}[\dXx]|\d{15}")
_TWO64 = 1 << 64


class DrawError(ValueError):
    """The inputs of a commitment or a draw are not valid (the message says which)."""


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DrawError(f"{name} must be a non-empty string")
    return value


def _check_groups(groups: Any) -> list[str]:
    if not isinstance(groups, list) or not groups:
        raise DrawError("groups must be a non-empty list")
    for group in groups:
        _text(group, "each group")
    if len(set(groups)) != len(groups):
        raise DrawError("groups must not repeat")
    return groups


def _check_registrants(registrants: Any, groups: list[str]) -> None:
    if not isinstance(registrants, list):
        raise DrawError("registrants must be a list")
    known, seen = set(groups), set()
    for index, item in enumerate(registrants):
        if not isinstance(item, dict):
            raise DrawError(f"registrants[{index}] must be an object")
        number = _text(item.get("registration_no"), f"registrants[{index}].registration_no")
        group = _text(item.get("priority_group"), f"registrants[{index}].priority_group")
        if group not in known:
            raise DrawError(f"registrant {number}: priority_group {group!r} is not one of the groups")
        if number in seen:
            raise DrawError(f"registration_no {number} appears more than once")
        seen.add(number)


def commitment_document(round_id: str, title: str, groups: list[str], registrants: list[dict[str, Any]],
                        randomness_source: str, committed_at: str) -> dict[str, Any]:
    """The document published before the draw. Registrants keep only the four public fields
    (``registration_no``, ``priority_group``, ``masked_name``, ``masked_id``); a registrant in a
    group not listed in ``groups``, a repeated ``registration_no`` or an unmasked ID number is a
    ``DrawError``."""
    _text(round_id, "round_id")
    _text(title, "title")
    _text(randomness_source, "randomness_source")
    _text(committed_at, "committed_at")
    groups = list(_check_groups(list(groups) if isinstance(groups, (list, tuple)) else groups))
    _check_registrants(list(registrants) if isinstance(registrants, (list, tuple)) else registrants, groups)
    public = []
    for item in registrants:
        entry = {}
        for key in REGISTRANT_FIELDS:
            value = item.get(key)
            if not isinstance(value, str):
                raise DrawError(f"registrant {item['registration_no']}: {key} must be a string")
            entry[key] = value
        if _UNMASKED_ID.fullmatch(entry["masked_id"]):
            raise DrawError(f"registrant {entry['registration_no']}: masked_id is not masked")
        public.append(entry)
    public.sort(key=lambda r: r["registration_no"])
    return {
        "format": COMMITMENT_FORMAT,
        "round_id": round_id,
        "title": title,
        "algorithm": ALGORITHM,
        "groups": groups,
        "randomness_source": randomness_source,
        "committed_at": committed_at,
        "registrants": public,
    }


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The one encoding that is published and hashed: sorted keys, no spaces, UTF-8, one newline."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def derive_seed(commitment_hash: str, public_value: str) -> str:
    """``SHA-256(b"gongzufang-draw-v1\\n" + hash + b"\\n" + public_value.strip())`` as hex."""
    if not isinstance(commitment_hash, str) or not _HEX64.fullmatch(commitment_hash):
        raise DrawError("commitment_hash must be 64 lowercase hex characters")
    if not isinstance(public_value, str) or not public_value.strip():
        raise DrawError("public_value must be a non-empty string")
    material = SEED_DOMAIN + commitment_hash.encode("ascii") + b"\n" + public_value.strip().encode("utf-8")
    return hashlib.sha256(material).hexdigest()


class _Stream:
    """The deterministic integer stream of one group (see the module docstring)."""

    __slots__ = ("_base", "_counter", "_buffer", "_pos")

    def __init__(self, seed: bytes, group: str) -> None:
        self._base = hashlib.sha256(seed + group.encode("utf-8"))
        self._counter = 0
        self._buffer: tuple[int, ...] = ()
        self._pos = 4

    def next_u64(self) -> int:
        if self._pos == 4:
            block = self._base.copy()
            block.update(self._counter.to_bytes(8, "big"))
            self._counter += 1
            self._buffer = struct.unpack(">4Q", block.digest())
            self._pos = 0
        value = self._buffer[self._pos]
        self._pos += 1
        return value

    def below(self, m: int) -> int:
        """A uniform integer in ``[0, m)`` by rejection sampling."""
        limit = (_TWO64 // m) * m
        x = self.next_u64()
        while x >= limit:
            x = self.next_u64()
        return x % m


def _shuffle(items: list[Any], seed: bytes, group: str) -> list[Any]:
    out = list(items)
    stream = _Stream(seed, group)
    below = stream.below
    for i in range(len(out) - 1, 0, -1):
        j = below(i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def _ranks(commitment: dict[str, Any], seed: str) -> list[dict[str, Any]]:
    seed_bytes = bytes.fromhex(seed)
    by_group: dict[str, list[str]] = {group: [] for group in commitment["groups"]}
    for item in commitment["registrants"]:
        by_group[item["priority_group"]].append(item["registration_no"])
    ranks: list[dict[str, Any]] = []
    for group in commitment["groups"]:
        for number in _shuffle(sorted(by_group[group]), seed_bytes, group):
            ranks.append({"rank": len(ranks) + 1, "registration_no": number, "priority_group": group})
    return ranks


def _check_commitment(commitment: Any) -> None:
    if not isinstance(commitment, dict):
        raise DrawError("the commitment must be an object")
    if commitment.get("format") != COMMITMENT_FORMAT:
        raise DrawError(f"commitment format must be {COMMITMENT_FORMAT!r}")
    if commitment.get("algorithm") != ALGORITHM:
        raise DrawError(f"commitment algorithm must be {ALGORITHM!r}")
    _text(commitment.get("round_id"), "round_id")
    _check_registrants(commitment.get("registrants"), _check_groups(commitment.get("groups")))


def draw(commitment: dict[str, Any], public_value: str) -> dict[str, Any]:
    """The result document of a round: deterministic in (the commitment, the public value)."""
    _check_commitment(commitment)
    commitment_hash = sha256_hex(canonical_bytes(commitment))
    seed = derive_seed(commitment_hash, public_value)
    return {
        "format": RESULT_FORMAT,
        "round_id": commitment["round_id"],
        "algorithm": ALGORITHM,
        "commitment_sha256": commitment_hash,
        "public_value": public_value.strip(),
        "seed": seed,
        "ranks": _ranks(commitment, seed),
    }


def verify(commitment_bytes: bytes, result: dict[str, Any]) -> tuple[bool, list[str]]:
    """Recompute a published result from the published commitment file (its exact bytes) and the
    result's public value. ``(True, [])`` when everything matches, else ``(False, reasons)``."""
    try:
        commitment = json.loads(commitment_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return False, [f"commitment file malformed: {exc}"]
    reasons: list[str] = []
    try:
        _check_commitment(commitment)
    except DrawError as exc:
        return False, [f"commitment file malformed: {exc}"]
    if canonical_bytes(commitment) != commitment_bytes:
        reasons.append("commitment file is not in the canonical encoding")
    numbers = [item["registration_no"] for item in commitment["registrants"]]
    if numbers != sorted(numbers):
        reasons.append("commitment registrants are not sorted by registration_no")
    if not isinstance(result, dict):
        return False, reasons + ["result malformed: not an object"]
    for key in ("format", "round_id", "algorithm", "commitment_sha256", "public_value", "seed"):
        if not isinstance(result.get(key), str):
            return False, reasons + [f"result malformed: {key} missing or not a string"]
    if not isinstance(result.get("ranks"), list):
        return False, reasons + ["result malformed: ranks missing or not a list"]
    if result["format"] != RESULT_FORMAT:
        reasons.append(f"result format is {result['format']!r}, expected {RESULT_FORMAT!r}")
    if result["algorithm"] != ALGORITHM:
        reasons.append(f"result algorithm is {result['algorithm']!r}, expected {ALGORITHM!r}")
    if result["round_id"] != commitment["round_id"]:
        reasons.append("round_id differs between commitment and result")
    actual_hash = sha256_hex(commitment_bytes)
    if result["commitment_sha256"] != actual_hash:
        reasons.append(f"commitment hash differs: result names {result['commitment_sha256']}, "
                       f"the commitment file hashes to {actual_hash}")
    try:
        seed = derive_seed(actual_hash, result["public_value"])
    except DrawError as exc:
        return False, reasons + [f"result malformed: {exc}"]
    if result["seed"] != seed:
        reasons.append(f"seed differs: result has {result['seed']}, recomputed {seed}")
    expected, published = _ranks(commitment, seed), result["ranks"]
    for index, want in enumerate(expected):
        got = published[index] if index < len(published) else None
        if got != want:
            shown = got.get("registration_no") if isinstance(got, dict) else got
            reasons.append(f"ranks differ at rank {index + 1}: result has {shown}, recomputed {want['registration_no']}")
            break
    else:
        if len(published) != len(expected):
            reasons.append(f"ranks differ at rank {len(expected) + 1}: result has {len(published)} ranks, "
                           f"recomputed {len(expected)}")
    return not reasons, reasons
