class TicketError(Exception):
    """A domain rule refused the operation. ``message`` is French and shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidTransition(TicketError):
    pass


class StaleTicket(TicketError):
    pass
