#!/usr/bin/env python3
"""Check a published public-rental-housing lottery draw (公租房摇号结果核验).

    python verify_draw.py commitment.json result.json [--public-value V]

Anyone can download this one file and run it with Python 3.9 or later, nothing else installed. It
reads the commitment file published before the draw (its SHA-256 is taken over the file's exact
bytes, and the bytes must be the canonical encoding), and the result published after it; then it
recomputes the seed from the commitment hash and the public random value (the result's, or the
one given with ``--public-value``, e.g. read from the official source yourself) and every rank.

This is an independent second implementation of the algorithm, on purpose: it does not import the
server's code (``chalicelib/domain/draw.py``), so a fault or a change there cannot hide here. The
project's tests check that the two agree. Design note: docs/decisions/0013-verifiable-draw.md.

Algorithm ``sha256-fisher-yates-v1``:

- ``seed = hex SHA-256(b"gongzufang-draw-v1\\n" + commitment_sha256 + b"\\n" + public_value)``;
  ``commitment_sha256`` as 64 lowercase hex ASCII characters, ``public_value`` stripped of leading
  and trailing whitespace, UTF-8.
- Groups in the commitment's ``groups`` order; ranks 1..N over the whole round.
- In a group: its registrants sorted by ``registration_no`` (code point order) as ``a[0..n-1]``;
  for ``i = n-1`` down to 1: ``j`` = uniform integer in ``[0, i]``; swap ``a[i]``, ``a[j]``.
- Integers of a group: blocks ``SHA-256(bytes.fromhex(seed) + group (UTF-8) + counter as 8 bytes
  big-endian)``, counter 0, 1, 2, ...; each block = four 8-byte big-endian unsigned integers.
- Uniform in ``[0, i]``, ``m = i + 1``: next integer ``x``; reject while ``x >= (2**64 // m) * m``;
  answer ``x % m``.

Exit code: 0 the result matches, 1 it does not (each failed check is printed), 2 an input file
cannot be read or is not a draw file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import struct
import sys

ALGORITHM = "sha256-fisher-yates-v1"
COMMITMENT_FORMAT = "gongzufang-draw-commitment/1"
RESULT_FORMAT = "gongzufang-draw-result/1"
SEED_DOMAIN = b"gongzufang-draw-v1\n"
HEX64 = re.compile(r"[0-9a-f]{64}")

OK, FAIL = "[通过 OK]  ", "[不符 FAIL]"


class Malformed(Exception):
    """An input that is not a readable draw file (exit code 2)."""


# --- the algorithm (second implementation; keep in step with the published description) ---------

def seed_of(commitment_sha256: str, public_value: str) -> str:
    material = SEED_DOMAIN + commitment_sha256.encode("ascii") + b"\n" + public_value.strip().encode("utf-8")
    return hashlib.sha256(material).hexdigest()


def shuffled(numbers: list, seed_hex: str, group: str) -> list:
    """Fisher-Yates over ``numbers`` driven by the group's SHA-256 stream, rejection sampling."""
    a = list(numbers)
    base = hashlib.sha256(bytes.fromhex(seed_hex) + group.encode("utf-8"))
    counter, pool = 0, []
    two64 = 1 << 64
    for i in range(len(a) - 1, 0, -1):
        m = i + 1
        limit = two64 - two64 % m  # == (2**64 // m) * m
        while True:
            if not pool:
                block = base.copy()
                block.update(struct.pack(">Q", counter))
                counter += 1
                pool = list(struct.unpack(">4Q", block.digest()))
                pool.reverse()  # pop() then yields the four integers in order
            x = pool.pop()
            if x < limit:
                break
        j = x % m
        a[i], a[j] = a[j], a[i]
    return a


def ranks_of(groups: list, registrants: list, seed_hex: str) -> list:
    members = {g: [] for g in groups}
    for r in registrants:
        members[r["priority_group"]].append(r["registration_no"])
    out = []
    for g in groups:
        for number in shuffled(sorted(members[g]), seed_hex, g):
            out.append({"rank": len(out) + 1, "registration_no": number, "priority_group": g})
    return out


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


# --- reading the files ---------------------------------------------------------------------------

def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise Malformed(f"{path}: 无法读取文件 / cannot read the file ({exc.strerror or exc})") from None


def _json(path: str, data: bytes) -> object:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Malformed(f"{path}: 不是 UTF-8 文本 / not UTF-8 text") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Malformed(f"{path}: 不是有效的 JSON / not valid JSON ({exc})") from None


def _need(condition: bool, path: str, what: str) -> None:
    if not condition:
        raise Malformed(f"{path}: 文件格式错误 / file malformed: {what}")


def _string(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def load_commitment(path: str, data: bytes) -> dict:
    doc = _json(path, data)
    _need(isinstance(doc, dict), path, "not a JSON object")
    _need(doc.get("format") == COMMITMENT_FORMAT, path, f"format is not {COMMITMENT_FORMAT}")
    _need(doc.get("algorithm") == ALGORITHM, path, f"algorithm is not {ALGORITHM} (this verifier knows only that one)")
    _need(_string(doc.get("round_id")), path, "round_id missing")
    groups = doc.get("groups")
    _need(isinstance(groups, list) and len(groups) > 0 and all(_string(g) for g in groups), path,
          "groups must be a non-empty list of names")
    _need(len(set(groups)) == len(groups), path, "a group is listed twice")
    registrants = doc.get("registrants")
    _need(isinstance(registrants, list), path, "registrants must be a list")
    known, seen = set(groups), set()
    for index, r in enumerate(registrants):
        _need(isinstance(r, dict) and _string(r.get("registration_no")) and _string(r.get("priority_group")),
              path, f"registrants[{index}] needs registration_no and priority_group")
        _need(r["priority_group"] in known, path, f"registrant {r['registration_no']} is in an unlisted group")
        _need(r["registration_no"] not in seen, path, f"registration_no {r['registration_no']} appears twice")
        seen.add(r["registration_no"])
    return doc


def load_result(path: str, data: bytes) -> dict:
    doc = _json(path, data)
    _need(isinstance(doc, dict), path, "not a JSON object")
    for key in ("format", "round_id", "algorithm", "commitment_sha256", "public_value", "seed"):
        _need(isinstance(doc.get(key), str), path, f"{key} missing or not a string")
    _need(isinstance(doc.get("ranks"), list), path, "ranks missing or not a list")
    return doc


# --- the checks ----------------------------------------------------------------------------------

def check(commitment_path: str, result_path: str, public_value=None, out=print) -> int:
    commitment_bytes = _read(commitment_path)
    result_bytes = _read(result_path)
    commitment = load_commitment(commitment_path, commitment_bytes)
    result = load_result(result_path, result_bytes)

    failures = 0

    def report(passed: bool, zh: str, en: str, detail: str = "") -> None:
        nonlocal failures
        failures += 0 if passed else 1
        out(f"{OK if passed else FAIL} {zh} / {en}" + (f"\n             {detail}" if detail and not passed else ""))

    actual_hash = hashlib.sha256(commitment_bytes).hexdigest()
    value = result["public_value"] if public_value is None else public_value
    out("公租房摇号结果核验 / Public rental housing lottery draw verification")
    out(f"  轮次 / round: {commitment['round_id']}  {commitment.get('title', '')}")
    out(f"  登记人数 / registrants: {len(commitment['registrants'])}, 分组 / groups: {', '.join(commitment['groups'])}")
    out(f"  承诺文件 SHA-256 / commitment file SHA-256: {actual_hash}")
    out(f"  随机源 / randomness source: {commitment.get('randomness_source', '')}")
    out(f"  公开随机值 / public value: {value.strip()!r}" + ("  (命令行给出 / from --public-value)" if public_value is not None else ""))
    out("")

    report(canonical(commitment) == commitment_bytes, "承诺文件为规范编码", "commitment file is in the canonical encoding",
           "" if canonical(commitment) == commitment_bytes else
           "文件字节与规范编码不同(空白、键顺序、转义或换行被改动) / the bytes differ from the canonical encoding "
           "(whitespace, key order, escaping or final newline changed)")
    numbers = [r["registration_no"] for r in commitment["registrants"]]
    sorted_ok = numbers == sorted(numbers)
    report(sorted_ok, "登记人按登记号排序", "registrants sorted by registration_no")
    report(result["format"] == RESULT_FORMAT and result["algorithm"] == ALGORITHM,
           "结果文件格式与算法", "result format and algorithm",
           f"format={result['format']!r}, algorithm={result['algorithm']!r}")
    report(result["round_id"] == commitment["round_id"], "轮次一致", "round_id matches",
           f"result: {result['round_id']!r}, commitment: {commitment['round_id']!r}")
    hash_ok = result["commitment_sha256"] == actual_hash
    report(hash_ok, "承诺哈希一致" if hash_ok else "承诺哈希不一致",
           "commitment hash matches" if hash_ok else "commitment hash differs",
           "" if hash_ok else f"结果文件 / result: {result['commitment_sha256']}\n             "
                              f"承诺文件 / commitment file: {actual_hash}")
    if public_value is not None and public_value.strip() != result["public_value"].strip():
        report(False, "公开随机值与结果文件不一致", "public value differs from the result file",
               f"结果文件 / result: {result['public_value']!r}, 给定 / given: {public_value.strip()!r}")
    if not value.strip():
        raise Malformed(f"{result_path}: 文件格式错误 / file malformed: public_value is empty")
    seed = seed_of(actual_hash, value)
    seed_ok = result["seed"] == seed
    report(seed_ok, "种子一致" if seed_ok else "种子不一致", "seed matches" if seed_ok else "seed differs",
           "" if seed_ok else f"结果文件 / result: {result['seed']}\n             重新计算 / recomputed: {seed}")

    expected = ranks_of(commitment["groups"], commitment["registrants"], seed)
    published = result["ranks"]
    differs_at, detail = None, ""
    for index, want in enumerate(expected):
        got = published[index] if index < len(published) else None
        if got != want:
            differs_at = index + 1
            shown = got.get("registration_no") if isinstance(got, dict) else got
            detail = (f"结果文件 / result: {shown!r} ({got.get('priority_group') if isinstance(got, dict) else '-'}), "
                      f"重新计算 / recomputed: {want['registration_no']} ({want['priority_group']})")
            break
    if differs_at is None and len(published) != len(expected):
        differs_at = len(expected) + 1
        detail = f"结果文件 {len(published)} 名 / result has {len(published)} ranks, 应为 / expected {len(expected)}"
    if differs_at is None:
        report(True, f"全部 {len(expected)} 个名次一致", f"all {len(expected)} ranks match")
    else:
        report(False, f"名次在第 {differs_at} 名处不一致", f"ranks differ at rank {differs_at}", detail)

    out("")
    if failures:
        out(f"结论 / Verdict: 不一致 / MISMATCH ({failures} 项检查未通过 / {failures} check(s) failed)")
        return 1
    out("结论 / Verdict: 一致 / MATCH — 结果可由承诺文件和公开随机值复现 / "
        "the result is reproduced from the commitment file and the public value")
    return 0


def main(argv=None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")  # a console that cannot show Chinese still shows English
    parser = argparse.ArgumentParser(description="核验公租房摇号结果 / verify a public rental housing lottery draw")
    parser.add_argument("commitment", help="摇号前公布的承诺文件 / the commitment file published before the draw")
    parser.add_argument("result", help="公布的摇号结果 / the published result")
    parser.add_argument("--public-value", default=None,
                        help="自行获取的公开随机值 / the public random value, as you read it from its source")
    args = parser.parse_args(argv)
    try:
        return check(args.commitment, args.result, args.public_value)
    except Malformed as exc:
        print(f"无法核验 / cannot verify: {exc}")
        print("结论 / Verdict: 输入无法读取 / UNREADABLE INPUT")
        return 2


if __name__ == "__main__":
    sys.exit(main())
