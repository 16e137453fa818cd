"""The one exception type whose message is shown to the user as a one-line error."""


class ProfondError(Exception):
    """A user-facing error: bad input, a missing file, an unknown name.

    The CLI prints ``error: <message>`` and exits with status 2; the server answers 4xx.
    The message says what was wrong and what to do about it.
    """
