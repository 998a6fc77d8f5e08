"""Django's view of the accounts app: its models live in two layers of their own.

* ``accounts.staff.models``: the back-office staff (``AUTH_USER_MODEL``), API keys and
  personal tokens. The bottom layer: every app may import it.
* ``accounts.extranet.models``: the companies' extranet accounts, their recovery links and
  the reassignment workflow. Above ``tickets``.

Code imports the layer it needs, never this module (import-linter checks it): importing this
module from a lower layer would pull in the extranet layer.
"""

from .extranet.models import (  # noqa: F401
    AccountReassignment,
    ExtranetAccount,
    ExtranetHolderHistory,
    RecoveryLink,
)
from .staff.models import (  # noqa: F401
    ApiKey,
    PersonalToken,
    StaffChange,
    StaffEnrolmentLink,
    User,
)
