"""The verifiable lottery draw (chalicelib/domain/draw.py) and its standalone verifier
(tools/verify_draw.py, run as a subprocess the way a citizen would run it)."""
from __future__ import annotations

import collections
import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain import draw as d

ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / "tools" / "verify_draw.py"
GROUPS = ["subsistence", "special_needs", "low_income", "general"]


def registrants(counts: tuple[int, ...] = (3, 5, 8, 20)) -> list[dict[str, Any]]:
    out, n = [], 0
    for group, count in zip(GROUPS, counts):
        for _ in range(count):
            n += 1
            out.append({"registration_no": f"R{n:06d}", "priority_group": group,
                        "masked_name": "张*明", "masked_id": f"4407**********{n % 10000:04d}"})
    out.reverse()  # the order given must not matter
    return out


def commitment(counts: tuple[int, ...] = (3, 5, 8, 20), groups: list[str] | None = None) -> dict[str, Any]:
    return d.commitment_document("2026-R01", "2026年第一批公租房摇号", groups or GROUPS, registrants(counts),
                                 "中国福利彩票双色球 2026-030 期开奖号码（红球升序，空格分隔，后接蓝球）",
                                 "2026-03-10T09:00:00+08:00")


def load_verifier() -> Any:
    spec = importlib.util.spec_from_file_location("verify_draw_standalone", VERIFIER)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


# --- the document and the algorithm ---------------------------------------------------------------

def test_commitment_document_shape() -> None:
    doc = commitment()
    assert doc["format"] == "gongzufang-draw-commitment/1"
    assert doc["algorithm"] == d.ALGORITHM == "sha256-fisher-yates-v1"
    assert doc["groups"] == GROUPS
    numbers = [r["registration_no"] for r in doc["registrants"]]
    assert numbers == sorted(numbers) and len(numbers) == 36
    assert set(doc["registrants"][0]) == {"registration_no", "priority_group", "masked_name", "masked_id"}
    raw = d.canonical_bytes(doc)
    assert raw.endswith(b"}\n") and b", " not in raw and "张*明".encode() in raw
    assert json.loads(raw) == doc


def test_commitment_document_refuses_bad_input() -> None:
    regs = registrants()
    with pytest.raises(ValueError, match="not one of the groups"):
        d.commitment_document("r", "t", GROUPS[:3], regs, "src", "2026-03-10")
    with pytest.raises(ValueError, match="more than once"):
        d.commitment_document("r", "t", GROUPS, regs + regs[:1], "src", "2026-03-10")
    unmasked = dict(regs[0], masked_id="440703199001011234")
    with pytest.raises(ValueError, match="not masked"):
        d.commitment_document("r", "t", GROUPS, [unmasked], "src", "2026-03-10")
    with pytest.raises(ValueError, match="repeat"):
        d.commitment_document("r", "t", GROUPS + GROUPS[:1], regs, "src", "2026-03-10")
    # extra fields (a full name, say) never reach the published document
    doc = d.commitment_document("r", "t", GROUPS, [dict(regs[0], name="张三明")], "src", "2026-03-10")
    assert "name" not in doc["registrants"][0]


def test_derive_seed_is_documented_encoding() -> None:
    import hashlib

    h = "ab" * 32
    expected = hashlib.sha256(b"gongzufang-draw-v1\n" + h.encode() + b"\n" + "05 11 23 | 07".encode()).hexdigest()
    assert d.derive_seed(h, "  05 11 23 | 07\n") == expected
    with pytest.raises(ValueError):
        d.derive_seed("AB" * 32, "x")
    with pytest.raises(ValueError):
        d.derive_seed(h, "   ")


def test_draw_is_deterministic_and_complete() -> None:
    doc = commitment()
    first, again = d.draw(doc, "03 08 15 22 27 31 + 09"), d.draw(json.loads(json.dumps(doc)), "03 08 15 22 27 31 + 09")
    assert first == again
    assert first["format"] == "gongzufang-draw-result/1"
    assert first["commitment_sha256"] == d.sha256_hex(d.canonical_bytes(doc))
    assert first["seed"] == d.derive_seed(first["commitment_sha256"], "03 08 15 22 27 31 + 09")
    ranks = first["ranks"]
    assert [r["rank"] for r in ranks] == list(range(1, 37))
    assert sorted(r["registration_no"] for r in ranks) == sorted(r["registration_no"] for r in doc["registrants"])
    # groups in the committed order, every member of a group before the next group
    assert [g for g, _ in itertools.groupby(r["priority_group"] for r in ranks)] == GROUPS
    group_of = {r["registration_no"]: r["priority_group"] for r in doc["registrants"]}
    assert all(group_of[r["registration_no"]] == r["priority_group"] for r in ranks)


def test_group_order_follows_the_commitment() -> None:
    reversed_groups = list(reversed(GROUPS))
    result = d.draw(commitment(groups=reversed_groups), "x")
    assert [g for g, _ in itertools.groupby(r["priority_group"] for r in result["ranks"])] == reversed_groups


def test_known_answer() -> None:
    """Pins the algorithm: any change to the encoding, the seed or the shuffle shows up here."""
    doc = d.commitment_document("KAT", "known answer", ["a", "b"], [
        {"registration_no": f"N{i}", "priority_group": "a" if i < 4 else "b", "masked_name": "*", "masked_id": "*"}
        for i in range(10)], "test", "2026-01-01T00:00:00+08:00")
    result = d.draw(doc, "42")
    assert result["commitment_sha256"] == KAT_HASH
    assert result["seed"] == KAT_SEED
    assert [r["registration_no"] for r in result["ranks"]] == KAT_ORDER


KAT_HASH = "6cb4867d7908e38256e6f838e0fa47c0d9acccd9d5d13f3b28509374991f8b52"
KAT_SEED = "9d2310da6b3720de4c8ab75c7b68e0a587c006ec592c709c622d58af945c1471"
KAT_ORDER = ["N0", "N2", "N3", "N1", "N9", "N5", "N8", "N7", "N6", "N4"]


def test_different_public_values_give_different_orders() -> None:
    doc = commitment()
    orders = {tuple(r["registration_no"] for r in d.draw(doc, f"value-{k}")["ranks"]) for k in range(20)}
    assert len(orders) == 20


def test_rejection_sampling_rejects_the_biased_tail() -> None:
    class Scripted(d._Stream):
        __slots__ = ("values",)

        def next_u64(self) -> int:
            return self.values.pop(0)

    stream = Scripted(b"\0" * 32, "g")
    stream.values = [2**64 - 1, 5]  # for m = 3 the limit is 2**64 - 1: the first value is rejected
    assert stream.below(3) == 2 and stream.values == []
    stream.values = [2**64 - 2]
    assert stream.below(3) == (2**64 - 2) % 3
    stream.values = [2**63, 2**63 + 1, 7]  # m = 2**63 + 1: limit 2**63 + 1, so 2**63 + 1 is rejected
    assert stream.below(2**63 + 1) == 2**63 and stream.values == [2**63 + 1, 7]
    assert stream.below(2**63 + 1) == 7


def test_stream_blocks_are_the_documented_ones() -> None:
    import hashlib
    import struct

    seed = bytes(range(32))
    stream = d._Stream(seed, "低保")
    got = [stream.next_u64() for _ in range(8)]
    want = []
    for counter in range(2):
        want += struct.unpack(">4Q", hashlib.sha256(seed + "低保".encode() + counter.to_bytes(8, "big")).digest())
    assert got == want


def test_uniformity_of_three() -> None:
    """3 registrants, 6,000 draws: each of the 6 orders about 1,000 times (chi-square, 5 degrees of
    freedom; 20.5 is the 0.999 quantile; the draws are deterministic, so this never flickers)."""
    doc = d.commitment_document("U", "u", ["g"], [
        {"registration_no": n, "priority_group": "g", "masked_name": "*", "masked_id": "*"} for n in "ABC"],
        "test", "2026-01-01")
    counts = collections.Counter(tuple(r["registration_no"] for r in d.draw(doc, str(k))["ranks"]) for k in range(6000))
    assert len(counts) == 6
    chi2 = sum((c - 1000) ** 2 / 1000 for c in counts.values())
    assert chi2 < 20.5, counts
    # every registrant's first place about a third of the time, too
    firsts = collections.Counter(order[0] for order in counts.elements())
    assert all(1850 < firsts[n] < 2150 for n in "ABC"), firsts


def test_library_verify() -> None:
    doc = commitment()
    raw, result = d.canonical_bytes(doc), d.draw(doc, "7")
    assert d.verify(raw, result) == (True, [])
    swapped = json.loads(json.dumps(result))
    swapped["ranks"][0]["registration_no"], swapped["ranks"][1]["registration_no"] = (
        swapped["ranks"][1]["registration_no"], swapped["ranks"][0]["registration_no"])
    ok, reasons = d.verify(raw, swapped)
    assert not ok and reasons == [f"ranks differ at rank 1: result has {swapped['ranks'][0]['registration_no']}, "
                                  f"recomputed {result['ranks'][0]['registration_no']}"]
    ok, reasons = d.verify(raw.replace(b'","', b'", "', 1), result)
    assert not ok and any("canonical" in r for r in reasons) and any("hash differs" in r for r in reasons)
    ok, reasons = d.verify(raw, dict(result, public_value="8"))
    assert not ok and any(r.startswith("seed differs") for r in reasons)
    ok, reasons = d.verify(raw, dict(result, ranks=result["ranks"][:-1]))
    assert not ok and reasons == ["ranks differ at rank 36: result has None, recomputed "
                                  f"{result['ranks'][-1]['registration_no']}"]
    assert d.verify(b"not json", result)[0] is False


def test_server_and_standalone_verifier_agree() -> None:
    """Two implementations by design; they must give the same seed and ranks."""
    v = load_verifier()
    for counts, value in (((3, 5, 8, 20), "1"), ((0, 1, 2, 300), "双色球 01 02 03"), ((40, 0, 7, 1), " x ")):
        doc = commitment(counts)
        result = d.draw(doc, value)
        assert v.canonical(doc) == d.canonical_bytes(doc)
        assert v.seed_of(result["commitment_sha256"], value) == result["seed"]
        assert v.ranks_of(doc["groups"], doc["registrants"], result["seed"]) == result["ranks"]
    assert "chalicelib" not in VERIFIER.read_text().split('"""', 2)[2].replace("chalicelib/domain/draw.py", "")


# --- the standalone verifier, as a citizen runs it -------------------------------------------------

def run_verifier(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(VERIFIER), *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", timeout=60, cwd="/")


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    doc = commitment((30, 50, 80, 200))
    result = d.draw(doc, "05 12 19 23 28 33 + 11")
    (tmp_path / "commitment.json").write_bytes(d.canonical_bytes(doc))
    (tmp_path / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return tmp_path / "commitment.json", tmp_path / "result.json", doc, result


def test_cli_match(published: Any) -> None:
    c, r, _, _ = published
    out = run_verifier(c, r)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "一致 / MATCH" in out.stdout and "all 360 ranks match" in out.stdout
    assert run_verifier(c, r, "--public-value", "05 12 19 23 28 33 + 11").returncode == 0


def test_cli_edited_registrant_is_a_hash_mismatch(published: Any) -> None:
    c, r, doc, _ = published
    doc["registrants"][5]["priority_group"] = "subsistence" if doc["registrants"][5]["priority_group"] != "subsistence" \
        else "general"
    c.write_bytes(d.canonical_bytes(doc))
    out = run_verifier(c, r)
    assert out.returncode == 1, out.stdout
    assert "commitment hash differs" in out.stdout and "承诺哈希不一致" in out.stdout
    assert "MISMATCH" in out.stdout


def test_cli_swapped_ranks(published: Any) -> None:
    c, r, _, result = published
    ranks = result["ranks"]
    ranks[40]["registration_no"], ranks[41]["registration_no"] = ranks[41]["registration_no"], ranks[40]["registration_no"]
    r.write_text(json.dumps(result), encoding="utf-8")
    out = run_verifier(c, r)
    assert out.returncode == 1
    assert "ranks differ at rank 41" in out.stdout and "名次在第 41 名处不一致" in out.stdout
    assert "commitment hash matches" in out.stdout and "seed matches" in out.stdout


def test_cli_wrong_public_value(published: Any) -> None:
    c, r, _, _ = published
    out = run_verifier(c, r, "--public-value", "05 12 19 23 28 34 + 11")
    assert out.returncode == 1
    assert "seed differs" in out.stdout and "种子不一致" in out.stdout
    assert "public value differs from the result file" in out.stdout


def test_cli_flags_non_canonical_commitment(published: Any) -> None:
    c, r, doc, _ = published
    c.write_bytes(json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode() + b"\n")
    out = run_verifier(c, r)
    assert out.returncode == 1
    assert "[不符 FAIL] 承诺文件为规范编码 / commitment file is in the canonical encoding" in out.stdout
    c.write_bytes(d.canonical_bytes(doc)[:-1])  # the final newline is part of the encoding
    assert "canonical encoding\n" in run_verifier(c, r).stdout and run_verifier(c, r).returncode == 1


@pytest.mark.parametrize("content", [b"\x00\xff garbage", b"[1, 2, 3]\n", b'{"format": "something else"}\n'])
def test_cli_garbage_is_exit_2(published: Any, content: bytes) -> None:
    c, r, _, _ = published
    c.write_bytes(content)
    out = run_verifier(c, r)
    assert out.returncode == 2, out.stdout
    assert "UNREADABLE INPUT" in out.stdout


def test_cli_missing_or_malformed_result_is_exit_2(published: Any, tmp_path: Path) -> None:
    c, r, _, result = published
    assert run_verifier(c, tmp_path / "absent.json").returncode == 2
    del result["seed"]
    r.write_text(json.dumps(result), encoding="utf-8")
    out = run_verifier(c, r)
    assert out.returncode == 2 and "seed missing" in out.stdout


def test_verifier_runs_without_the_project(tmp_path: Path, published: Any) -> None:
    """Copied anywhere, with no project on the path, it still verifies (standard library only)."""
    c, r, _, _ = published
    copy = tmp_path / "verify_draw.py"
    copy.write_bytes(VERIFIER.read_bytes())
    out = subprocess.run([sys.executable, "-I", str(copy), str(c), str(r)], capture_output=True, text=True,
                         encoding="utf-8", timeout=60, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
