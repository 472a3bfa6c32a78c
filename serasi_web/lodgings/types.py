"""Lodging types (tempat penginapan). The list itself comes from plugins (the bundled one is
``plugins/lodging_types.py``); this module defines what a type is and how to look one up."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import current_app


@dataclass(frozen=True)
class LodgingType:
    key: str
    label: Any  # a lazy string
    commercial: bool = True  # commercial lodgings must give their NIB
    # A person's own home (rumah tinggal): "residence" wording, the host's NIK instead of a NIB,
    # no room count.
    individual_host: bool = False
    order: int = 100
    # Extra form fields of this type (name -> unbound WTForms field), kept in Lodging.extra.
    extra_fields: dict[str, Any] = field(default_factory=dict)
    # The type's own rules: values of the lodging form -> {field: message}.
    validate: Callable[[dict], dict[str, str]] | None = None


def lodging_types() -> list[LodgingType]:
    """Every registered type, in display order."""
    return current_app.extensions["serasi.registry"].lodging_types


def lodging_type(key: str) -> LodgingType | None:
    return next((t for t in lodging_types() if t.key == key), None)


def lodging_type_label(key: str) -> str:
    found = lodging_type(key)
    return str(found.label) if found else key
