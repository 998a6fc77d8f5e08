from tickets.exceptions import TicketError


class SiretVerificationRefused(TicketError):
    """A verdict the rules refuse. ``field`` names the input at fault ("verdict" or
    "comment"), so that forms and the API can show the message next to it."""

    def __init__(self, message: str, *, field: str = "verdict"):
        super().__init__(message)
        self.field = field
