"""Each contract test runs twice: on the in-memory twin and on the DynamoDB repository (moto).

A twin that behaves differently from DynamoDB fails here, so the fast domain tests
(tests/domain/) can trust it."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.units import Layout, Unit, UnitStatus


@pytest.fixture(params=["memory", "dynamodb"])
def container(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        from tests.twins import memory_container

        return memory_container()
    request.getfixturevalue("stack")  # the worker's moto (tables, bucket): only for this backend
    from chalicelib.composition import Container
    from chalicelib.deps import deps

    return Container(deps().settings)


@pytest.fixture()
def vacant_unit(container: Any) -> Unit:
    """A vacant unit in its own estate, far from the demo city's map, in whichever backend."""
    at = now_iso()
    estate_id = new_id("twinest")
    unit = Unit(unit_id=new_id("twinunit"), estate_id=estate_id, building_id="b1", area_id="twins",
                street_id="twins-st", number="101", layout=Layout.TWO_BED, floor_area=55.5, floor=1, rent=60000,
                status=UnitStatus.VACANT, created_at=at, updated_at=at)
    if hasattr(container.units, "units"):  # the twin keeps no estates
        return container.units.create(unit, "admin-twins", "admin")
    from chalicelib.domain.estates import Estate

    container.estates.create(Estate(estate_id=estate_id, name="孪生测试苑", area_id="twins", street_id="twins-st",
                                    address="测试路1号", lat=1.0, lng=1.0, created_at=at, updated_at=at))
    return container.units.create(unit, "admin-twins", "admin")
