"""What plugins register, in one module: the shape of every object a discovery hook takes.

``hookspecs.py`` says when each hook runs and what a failure means; this module says what the
registered objects must offer. Decoders, payload parsers, stay sources and forwarders are duck
typed (any object with these attributes), so they are ``Protocol`` classes; lodging types and
lodging links are built by core code, so they are dataclasses a plugin instantiates.

Every registration is checked against its type when the app starts (``plugins.init_app``): an
object that lacks an attribute stops the start with one line naming the plugin and what is
missing, instead of failing on the first photo, pull or delivery that reaches it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Protocol, Sequence, runtime_checkable

from .lodgings.types import LodgingLink, LodgingType

if TYPE_CHECKING:
    from flask import Flask
    from PIL.Image import Image

    from .capture.payloads import ParsedPayload
    from .delivery.forwarders import DeliveryResult
    from .lodgings.models import Lodging
    from .stays.sync import ExternalStay

__all__ = ["Decoder", "PayloadParser", "StaySource", "SourceField", "SourceError", "Forwarder", "LodgingType", "LodgingLink", "AuditLabels", "REGISTERED",
           "missing"]


@runtime_checkable
class Decoder(Protocol):
    """``serasi_register_decoders``: finds codes in a photo. Lower ``priority`` runs first."""

    name: str
    priority: int

    def available(self) -> bool:
        """False when the library it needs is missing (the decoder is then skipped)."""

    def decode(self, image: Image) -> list[str]:
        """The texts of the codes found in ``image`` (a Pillow image), possibly none."""


@runtime_checkable
class PayloadParser(Protocol):
    """``serasi_register_payload_parsers``: turns a code's text into report fields. The first
    parser (by ``priority``) that returns a result wins."""

    name: str
    priority: int

    def parse(self, text: str) -> Optional[ParsedPayload]:
        """The fields the text states, or None when the text is not this parser's."""


@dataclass(frozen=True)
class SourceField:
    """One setting a stay source asks for when a lodging is connected to it (the connection
    form shows one input per field). A ``secret`` (an API key, a token, a password) is stored
    encrypted and never shown again; the others (a property id) are shown on the connection."""

    name: str
    label: Any  # a lazy string
    secret: bool = False
    required: bool = True
    help: Any = ""  # a lazy string, shown under the input


class SourceError(Exception):
    """A pull that could not be done (credentials refused, the system down or answering what its
    documentation does not describe). ``message`` is for the operator, in their words (a lazy
    string); nothing of the other system's answer that may hold guests' data goes in it."""

    def __init__(self, message, *, retry: bool = True):
        super().__init__(str(message))
        self.message = message
        self.retry = retry  # False: retrying will not help (credentials refused) until someone changes the settings


@runtime_checkable
class StaySource(Protocol):
    """``serasi_register_stay_sources``: a pull adapter for another system (a property
    management system, a channel manager, an HR roster). A lodging is connected to it with the
    ``fields`` it asks for; the worker then calls ``pull`` on the connection's schedule."""

    name: str
    label: Any  # shown to people: a lazy string
    fields: Sequence[SourceField]  # what a connection asks for (may be empty)
    cannot_supply: Sequence[str]  # report fields the system has no place for: such stays wait as drafts

    def pull(self, lodging: Lodging, settings: Mapping[str, str]) -> Iterable[ExternalStay]:
        """The lodging's stays as the other system describes them now, in the report form's field
        names. ``settings`` holds the connection's fields (secrets decrypted). Raises SourceError
        when the pull cannot be done."""


@runtime_checkable
class Forwarder(Protocol):
    """``serasi_register_forwarders``: a delivery target for stay events (run by the worker)."""

    name: str

    def configured(self, app: Flask) -> bool:
        """Whether the settings name a target (an unconfigured forwarder gets no deliveries)."""

    def deliver(self, event: dict) -> Optional[DeliveryResult]:
        """Deliver one event; raising (or ``DeliveryFailed``) asks for a retry."""


@dataclass(frozen=True)
class AuditLabels:
    """``serasi_register_audit_labels``: a plugin's audit actions (``import.completed``) and the
    object types its entries are about (a model's class name, ``ImportJob``), each in words (a
    lazy string), for the audit log, its export and a data subject's answer."""

    actions: Mapping[str, Any] = field(default_factory=dict)
    object_types: Mapping[str, Any] = field(default_factory=dict)


# The discovery hook -> the type its registrations must have.
REGISTERED: dict[str, type] = {
    "serasi_register_decoders": Decoder,
    "serasi_register_payload_parsers": PayloadParser,
    "serasi_register_lodging_types": LodgingType,
    "serasi_register_stay_sources": StaySource,
    "serasi_register_forwarders": Forwarder,
    "serasi_register_lodging_links": LodgingLink,
    "serasi_register_audit_labels": AuditLabels,
}


def missing(item: Any, kind: type) -> list[str]:
    """What ``item`` lacks to be a ``kind`` (empty when it is one)."""
    if not getattr(kind, "_is_protocol", False):  # a dataclass: only an instance will do
        return [] if isinstance(item, kind) else [f"an instance of {kind.__module__}.{kind.__name__}"]
    members = {name for name in [*vars(kind), *kind.__annotations__] if not name.startswith("_")}
    return sorted(name for name in members if not hasattr(item, name)
                  or (callable(getattr(kind, name, None)) and not callable(getattr(item, name))))
