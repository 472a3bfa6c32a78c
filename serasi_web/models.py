"""Every model, imported in one place so the metadata (and Alembic) sees them all."""
from .accounts.models import AccountKind, LoginFailure, Role, User, UserSession  # noqa: F401
from .lodgings.models import Lodging, LodgingStatus  # noqa: F401
from .offices.models import ImmigrationOffice, OfficeArea  # noqa: F401
