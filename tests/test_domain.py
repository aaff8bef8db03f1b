"""Pure domain rules, no AWS."""
from __future__ import annotations

import math

import pytest

from chalicelib import errors
from chalicelib.domain import geo
from chalicelib.domain.units import TRANSITIONS, UnitStatus
from chalicelib.web import Param, parse_query


def test_every_status_has_transitions_and_none_to_itself() -> None:
    assert set(TRANSITIONS) == set(UnitStatus)
    for status, targets in TRANSITIONS.items():
        assert status not in targets and targets


def test_distance() -> None:
    # 0.01° of latitude is ~1.11 km anywhere
    assert abs(geo.distance_m(22.60, 113.07, 22.61, 113.07) - 1112) < 2


@pytest.mark.parametrize("lat", [22.5, 22.549, 22.55, 22.5999, 39.95, 18.2])
def test_a_five_km_circle_touches_at_most_two_bands(lat: float) -> None:
    bands = geo.bands_for(lat, 5000)
    assert 1 <= len(bands) <= 2
    assert geo.band(lat) in bands
    assert geo.band(lat - 5000 / 111_320) in bands and geo.band(lat + 5000 / 111_320) in bands


def test_lng_key_sorts_like_the_number() -> None:
    values = [73.5, 99.99, 100.0, 113.07, 113.1, 135.0]
    assert sorted(geo.lng_key(v) for v in values) == [geo.lng_key(v) for v in values]


def test_check_bbox() -> None:
    geo.check_bbox((113.0, 22.5, 113.2, 22.7))
    for bad in [(113.2, 22.5, 113.0, 22.7), (2.2, 48.8, 2.4, 48.9), (113.0, 22.5, 140.0, 22.7)]:
        with pytest.raises(errors.InvalidInput):
            geo.check_bbox(bad)


def test_param_parsing() -> None:
    declared = [Param("limit", "integer", minimum=1, maximum=100, default=20), Param("q", max_length=5),
                Param("x", "number")]
    assert parse_query(declared, {}) == {"limit": 20, "q": None, "x": None}
    assert parse_query(declared, {"limit": "7", "x": "1.5"})["limit"] == 7
    for bad in [{"limit": "0"}, {"limit": "x"}, {"q": "toolong"}, {"x": "nan"}, {"y": "1"}]:
        with pytest.raises(errors.InvalidInput):
            parse_query(declared, bad)
    assert math.isclose(parse_query(declared, {"x": "-2.25"})["x"], -2.25)
