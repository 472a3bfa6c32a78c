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


@dataclass(frozen=True)
class LodgingLink:
    """A page a plugin adds for one lodging (its tokens, an import, a roster), linked from the
    lodging's page so that core templates never name a plugin's endpoint."""

    label: Any  # a lazy string
    endpoint: str  # a view taking ``lodging_id``; checked at start
    lodging_types: tuple[str, ...] = ()  # the types it is for; empty: every type
    order: int = 100

    def applies_to(self, lodging) -> bool:
        return not self.lodging_types or lodging.lodging_type in self.lodging_types


def lodging_links(lodging) -> list[LodgingLink]:
    """The plugins' pages for this lodging, in display order."""
    return [link for link in current_app.extensions["serasi.registry"].lodging_links if link.applies_to(lodging)]


def lodging_types() -> list[LodgingType]:
    """Every registered type, in display order."""
    return current_app.extensions["serasi.registry"].lodging_types


def lodging_type(key: str) -> LodgingType | None:
    return next((t for t in lodging_types() if t.key == key), None)


def lodging_type_label(key: str) -> str:
    found = lodging_type(key)
    return str(found.label) if found else key
