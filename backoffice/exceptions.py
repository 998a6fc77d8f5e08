class NoticeError(Exception):
    """A notice rule refused the operation; ``message`` is French and shown as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
