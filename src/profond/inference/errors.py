"""The one error type for input a model cannot take, shared by predict, the server and pyfunc."""

from __future__ import annotations

from profond.errors import ProfondError


class InputError(ProfondError):
    """Raw input refused: one line saying what was wrong and what is expected.

    The CLI prints it as ``error: ...``; the server answers ``status`` with the body
    ``{"error": {"type": kind, "message": ...}}``.

    Args:
        message: what was wrong and what was expected.
        status: the HTTP status a server answers (4xx).
        kind: a short machine-readable type, e.g. ``"invalid_shape"``.
    """

    def __init__(self, message: str, status: int = 422, kind: str = "invalid_input") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
