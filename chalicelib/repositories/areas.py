"""Areas and streets: one partition per city ("A#{area}", "S#{street}"), so the list is one Query."""
from __future__ import annotations

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.areas import Area, Street
from chalicelib.repositories.common import put_new
from chalicelib.repositories.tables import AreaRecord


def area_key(area_id: str) -> str:
    return f"A#{area_id}"


def street_key(street_id: str) -> str:
    return f"S#{street_id}"


class AreaRepository:
    def __init__(self, settings: Settings) -> None:
        self.city = settings.city_code

    def list(self) -> list[Area]:
        records = list(AreaRecord.query(self.city))
        streets: dict[str, list[Street]] = {}
        for r in records:
            if r.kind == "street":
                streets.setdefault(r.area_id, []).append(_street(r))
        return [_area(r, streets.get(r.area_id, [])) for r in records if r.kind == "area"]

    def get_area(self, area_id: str) -> Area:
        try:
            return _area(AreaRecord.get(self.city, area_key(area_id)), [])
        except AreaRecord.DoesNotExist:
            raise errors.AreaNotFound(area_id, field="area") from None

    def get_street(self, street_id: str) -> Street:
        try:
            return _street(AreaRecord.get(self.city, street_key(street_id)))
        except AreaRecord.DoesNotExist:
            raise errors.StreetNotFound(street_id, field="street") from None

    def create_area(self, area: Area) -> Area:
        self._put_new(AreaRecord(self.city, area_key(area.area_id), kind="area", area_id=area.area_id,
                                 name=area.name, district=area.district))
        return area

    def create_street(self, street: Street) -> Street:
        self._put_new(AreaRecord(self.city, street_key(street.street_id), kind="street",
                                 area_id=street.area_id, street_id=street.street_id, name=street.name))
        return street

    @staticmethod
    def _put_new(record: AreaRecord) -> None:
        put_new(record, AreaRecord.key.does_not_exist(), errors.AlreadyExists(record.key))


def _area(r: AreaRecord, streets: list[Street]) -> Area:
    return Area(r.area_id, r.name, r.district, int(r.units_total), int(r.units_vacant), streets)


def _street(r: AreaRecord) -> Street:
    return Street(str(r.street_id), r.area_id, r.name, int(r.units_total), int(r.units_vacant))
