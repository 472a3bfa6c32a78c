"""Every model, imported in one place so the metadata (and Alembic) sees them all."""
from .accounts.models import AccountKind, LoginFailure, Role, User, UserSession  # noqa: F401
from .lodgings.models import Lodging, LodgingStatus  # noqa: F401
from .offices.models import ImmigrationOffice, OfficeArea  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401,E402
from .reference.models import VisaIndex  # noqa: F401,E402
from .stays.models import Stay, StayGroup, StayStatus, StayVersion  # noqa: F401,E402
from .capture.models import CapturePhoto  # noqa: F401,E402
from .integrations.models import SourceConnection, SourceRun  # noqa: F401,E402
from .accounts.models import SupervisionRegion  # noqa: F401,E402
from .officer.models import InboxMark  # noqa: F401,E402
from .officer import indexes as _officer_indexes  # noqa: F401,E402  (indexes the console adds to stay tables)
from .delivery.models import OutboxEvent  # noqa: F401,E402
from .notifications.models import NotificationPreference, NotificationSent  # noqa: F401,E402
from .privacy.models import LegalHold, RetentionRun, RetentionSetting, SubjectAccessRequest  # noqa: F401,E402
from .searches.models import SavedSearch  # noqa: F401,E402
from .arrivals.models import Arrival, ArrivalGuest, SelfCheckIn  # noqa: F401,E402
from .federation.models import FederatedLodging, FederatedStay, FederationBackfill, FederationPeer  # noqa: F401,E402
