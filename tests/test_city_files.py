"""A city's data files are one typed model each, loaded and validated once (issue 10 §3,
docs/decisions/0022): every shipped file of every city loads through its model; a broken copy
fails naming the file and the field; `make synth` refuses a broken city before building anything.
(The deployment file infra/cities/<city>.json has its own checks: tests/infra/test_city_config.py.)"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from chalicelib import city_files
from chalicelib.city_files import MODELS, CityFileError, check_city, parse_file
from infra.city_config import available_cities


def test_every_city_has_its_data_and_every_file_loads_through_its_model() -> None:
    cities = city_files.cities()
    assert cities and set(available_cities()) <= set(cities), "each deployable city has its app data"
    seen = set()
    for city in cities:
        names = check_city(city)
        seen.update(names)
        for name in names:
            assert isinstance(parse_file(city_files.CITIES_DIR / city / name), MODELS[name])
    assert set(city_files.REQUIRED) <= seen


def test_every_file_name_has_a_model() -> None:
    """A new kind of city file without a model fails here (and in check_city)."""
    for path in city_files.CITIES_DIR.glob("*/*.json"):
        assert path.name in MODELS, f"{path} has no model in chalicelib/city_files.py"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[int(last) if isinstance(node, list) else last] = value
    return change


BROKEN = [  # (file, change, what the error must name)
    ("applications.json", _set("leases.term_months", 120), "leases.term_months"),
    ("applications.json", _set("leases.reductions.subsistence.percent", "50"), "leases.reductions.subsistence.percent"),
    ("applications.json", _set("publicity.min_days", 9), "publicity"),
    ("applications.json", _set("lottery.layouts_by_size", {"1": ["castle"]}), "lottery.layouts_by_size"),
    ("applications.json", _set("required_documents.individual", ["id_card", "passport"]), "required_documents.individual"),
    ("applications.json", _set("consent_text.version", ""), "consent_text.version"),
    ("applications.json", _set("max_members", "12"), "max_members"),
    ("applications.json", _set("surprise", 1), "surprise"),
    ("eligibility.json", _set("versions.0.effective_from", "someday"), "versions[0].effective_from"),
    ("eligibility.json", _set("facts.household_size.type", "text"), "facts.household_size.type"),
    ("eligibility.json", _set("no_record.vehicles", "maybe"), "no_record"),
    ("rent.json", _set("due", {"day_of_month": 10, "days_after_issue": 5}), "due"),
    ("rent.json", _set("due.day_of_month", 31), "due.day_of_month"),
    ("rent.json", _set("providers", ["wechat", "unionpay"]), "providers.1"),
    ("rent.json", _set("providers", []), "providers"),
    ("rent.json", _set("reminders_days", [7, 0, 30]), "reminders_days"),
    ("rent.json", _set("proration", "weekly"), "proration"),
    ("rent.json", _set("schedule.hour", 24), "schedule.hour"),
    ("rent.json", _set("arrears_months", "6"), "arrears_months"),
    ("departments.json", _set("real_estate", {"secret_arn": "arn:x"}), "real_estate"),
    ("departments.json", _set("weather", {"url": "https://example.gov.cn"}), "weather"),
    ("privacy.json", _set("audit_retention_days", 90), "audit_retention_days"),
    ("privacy.json", _set("application_retention_days", "180"), "application_retention_days"),
]


@pytest.mark.parametrize(("name", "change", "field"), BROKEN, ids=[f"{n}:{f}" for n, _, f in BROKEN])
def test_a_broken_copy_fails_naming_the_file_and_the_field(tmp_path: Path, name: str,
                                                          change: Callable[[dict[str, Any]], None], field: str) -> None:
    shutil.copytree(city_files.CITIES_DIR / "jiangmen", tmp_path / "jiangmen")
    path = tmp_path / "jiangmen" / name
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    check_city("jiangmen", directory=tmp_path)  # the copy as shipped is fine
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CityFileError) as caught:
        check_city("jiangmen", directory=tmp_path)
    assert str(path) in str(caught.value) and field in str(caught.value), str(caught.value)
    with pytest.raises(CityFileError, match=name):
        city_files.city_file("jiangmen", name, directory=tmp_path)


def test_missing_and_unreadable_files_are_named(tmp_path: Path) -> None:
    shutil.copytree(city_files.CITIES_DIR / "jiangmen", tmp_path / "jiangmen")
    (tmp_path / "jiangmen" / "eligibility.json").write_text("{", encoding="utf-8")
    with pytest.raises(CityFileError, match=r"eligibility\.json: not readable JSON"):
        check_city("jiangmen", directory=tmp_path)
    (tmp_path / "jiangmen" / "eligibility.json").unlink()
    with pytest.raises(CityFileError, match=r"missing eligibility\.json"):
        check_city("jiangmen", directory=tmp_path)
    with pytest.raises(CityFileError, match="no city data folder"):
        check_city("atlantis", directory=tmp_path)


def test_synth_refuses_a_broken_city_before_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`make synth` runs infra.synth.main: a wrong app city file is an error naming file and field."""
    from infra import synth

    shutil.copytree(city_files.CITIES_DIR / "sandbox", tmp_path / "sandbox")
    path = tmp_path / "sandbox" / "applications.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["leases"]["term_months"] = 0
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(city_files, "CITIES_DIR", tmp_path)

    def no_build(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing is built for a broken city")

    monkeypatch.setattr(synth, "_build_lock", no_build)
    assert synth.main(["sandbox", "--outdir", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert str(path) in err and "leases.term_months" in err
