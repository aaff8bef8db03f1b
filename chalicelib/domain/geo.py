"""Geography: distances, China's bounding box, and the sortable keys the geo indexes use."""
from __future__ import annotations

import math

from chalicelib import errors

EARTH_RADIUS_M = 6_371_008.8
# Mainland China and its islands, generously: a bbox or point outside is a client error.
CHINA_LNG = (73.0, 135.5)
CHINA_LAT = (3.0, 54.0)
BAND_DEGREES = 0.1  # latitude band of the facility index (~11 km)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def check_point(lat: float, lng: float, field: str = "lat,lng") -> None:
    if not (CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LNG[0] <= lng <= CHINA_LNG[1]):
        raise errors.InvalidInput("outside China", field=field,
                                  message=("地图范围" if field == "bbox" else "坐标") + "应在中国境内")


def check_bbox(bbox: tuple[float, float, float, float]) -> None:
    min_lng, min_lat, max_lng, max_lat = bbox
    if min_lng > max_lng or min_lat > max_lat:
        raise errors.InvalidInput("inverted box: minLng,minLat,maxLng,maxLat", field="bbox",
                                  message="地图范围的最小经度、纬度应小于最大经度、纬度")
    check_point(min_lat, min_lng, "bbox")
    check_point(max_lat, max_lng, "bbox")


def band(lat: float) -> str:
    """The latitude band a point falls in (as text, the index's partition key)."""
    return str(math.floor(lat / BAND_DEGREES))


def bands_for(lat: float, radius_m: float) -> list[str]:
    """Bands a circle touches; with radius <= 5 km there are at most two."""
    dlat = radius_m / 111_320.0
    lo, hi = math.floor((lat - dlat) / BAND_DEGREES), math.floor((lat + dlat) / BAND_DEGREES)
    return [str(b) for b in range(lo, hi + 1)]


def lng_delta(lat: float, radius_m: float) -> float:
    """Longitude half-width of a circle of ``radius_m`` at latitude ``lat``."""
    return radius_m / (111_320.0 * max(0.01, math.cos(math.radians(lat))))


def lng_key(lng: float, item_id: str = "") -> str:
    """Longitude as fixed-width text that sorts like the number (lng + 180, 6 decimals)."""
    return f"{lng + 180:010.6f}#{item_id}"
