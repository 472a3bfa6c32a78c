"""Countries and nationalities as ICAO Doc 9303 codes: ISO 3166 alpha-3 plus the ICAO-only codes.

Names come from pycountry (English) and Babel's CLDR data (Indonesian and other locales).
"""
from __future__ import annotations

from functools import lru_cache

import pycountry
from babel import Locale

# Codes used in travel documents that are not ISO 3166 alpha-3 country codes.
ICAO_ONLY_CODES: dict[str, str] = {
    "D": "Germany",
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "UNO": "United Nations Organization official",
    "UNA": "United Nations specialized agency official",
    "UNK": "Resident of Kosovo (UNMIK)",
    "XXA": "Stateless person",
    "XXB": "Refugee (1951 Convention)",
    "XXC": "Refugee (other)",
    "XXX": "Unspecified nationality",
    "EUE": "European Union",
    "RKS": "Kosovo",
}

# Indonesian names of the ICAO-only codes (CLDR has none for them).
_ICAO_ONLY_NAMES_ID: dict[str, str] = {
    "D": "Jerman",
    "GBD": "Warga Wilayah Seberang Laut Britania",
    "GBN": "Warga Negara Britania (Seberang Laut)",
    "GBO": "Warga Britania Seberang Laut",
    "GBP": "Orang yang Dilindungi Britania",
    "GBS": "Subjek Britania",
    "UNO": "Pejabat Perserikatan Bangsa-Bangsa",
    "UNA": "Pejabat badan khusus PBB",
    "UNK": "Penduduk Kosovo (UNMIK)",
    "XXA": "Tanpa kewarganegaraan",
    "XXB": "Pengungsi (Konvensi 1951)",
    "XXC": "Pengungsi (lainnya)",
    "XXX": "Kewarganegaraan tidak disebutkan",
    "EUE": "Uni Eropa",
    "RKS": "Kosovo",
}


def is_known(code: str) -> bool:
    """True for an ISO alpha-3 code or an ICAO-only code (case-sensitive, as in documents)."""
    return code in ICAO_ONLY_CODES or code in _alpha3_to_alpha2()


def codes() -> list[str]:
    """Every code ``is_known`` accepts, sorted (the API's OpenAPI document lists them)."""
    return sorted(set(ICAO_ONLY_CODES) | set(_alpha3_to_alpha2()))


@lru_cache(maxsize=1)
def _alpha3_to_alpha2() -> dict[str, str]:
    return {country.alpha_3: country.alpha_2 for country in pycountry.countries}


@lru_cache(maxsize=8)
def _names(locale: str) -> dict[str, str]:
    territories = Locale.parse(locale).territories
    names: dict[str, str] = {}
    for country in pycountry.countries:
        names[country.alpha_3] = territories.get(country.alpha_2) or getattr(country, "common_name", None) or country.name
    extra = _ICAO_ONLY_NAMES_ID if locale.startswith("id") else ICAO_ONLY_CODES
    names.update(extra)
    return names


def country_name(code: str, locale: str = "id") -> str:
    """The country's name in ``locale`` (the code itself when unknown)."""
    return _names(locale).get(code, code)


@lru_cache(maxsize=8)
def choices(locale: str = "id") -> list[tuple[str, str]]:
    """(code, "Name (CODE)") pairs sorted by name, for select fields."""
    names = _names(locale)
    return sorted(((code, f"{name} ({code})") for code, name in names.items()), key=lambda pair: pair[1].casefold())
