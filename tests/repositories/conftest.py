"""Each contract test runs twice: on the in-memory twin and on the DynamoDB repository (moto).

A twin that behaves differently from DynamoDB fails here, so the fast domain tests
(tests/domain/) can trust it."""
from __future__ import annotations

from typing import Any, Iterator

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
def vacant_unit(container: Any) -> Iterator[Unit]:
    """A vacant unit in its own area, street and estate, in whichever backend (on DynamoDB they are
    deleted again afterwards: the demo city's lists and counters stay as other tests expect them)."""
    at = now_iso()
    estate_id, area_id, street_id = new_id("twinest"), new_id("twinarea"), new_id("twinst")
    unit = Unit(unit_id=new_id("twinunit"), estate_id=estate_id, building_id="b1", area_id=area_id,
                street_id=street_id, number="101", layout=Layout.TWO_BED, floor_area=55.5, floor=1, rent=60000,
                status=UnitStatus.VACANT, created_at=at, updated_at=at)
    if hasattr(container.units, "units"):  # the twin keeps no estates or areas
        yield container.units.create(unit, "admin-twins", "admin")
        return
    from chalicelib.domain.areas import Area, Street
    from chalicelib.domain.estates import Estate
    from chalicelib.repositories.areas import area_key, street_key
    from chalicelib.repositories.tables import AreaRecord, EstateRecord, UnitRecord

    container.areas.create_area(Area(area_id=area_id, name="孪生测试片区"))
    container.areas.create_street(Street(street_id=street_id, area_id=area_id, name="孪生测试街道"))
    container.estates.create(Estate(estate_id=estate_id, name="孪生测试苑", area_id=area_id, street_id=street_id,
                                    address="测试路1号", lat=1.0, lng=1.0, created_at=at, updated_at=at))
    yield container.units.create(unit, "admin-twins", "admin")
    city = container.settings.city_code
    for record in (UnitRecord(unit.unit_id), EstateRecord(estate_id), AreaRecord(city, area_key(area_id)),
                   AreaRecord(city, street_key(street_id))):
        record.delete(add_version_condition=False)
