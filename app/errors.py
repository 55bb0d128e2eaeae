"""Errors that reach the user: each carries one sentence that says what is wrong."""


class SlaguardError(Exception):
    """Base of every error slaguard reports to a person (CLI exit, admin API)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SlaguardError):
    """A setting is missing or has a value slaguard cannot use."""


class DatabaseError(SlaguardError):
    """The store cannot be reached or brought to the expected schema."""
