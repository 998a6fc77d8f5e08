"""Django's view of the backoffice app's models: the incident notices, whose code lives in
``backoffice.notices``."""

from .notices.models import IncidentNotice, NoticeEvent  # noqa: F401
from .savedviews.models import SavedView  # noqa: E402, F401
