"""The one exception hierarchy of Anxin; every message says what to do next."""

from __future__ import annotations


class AnxinError(Exception):
    """Base of every error Anxin raises on purpose; the CLI prints these without a traceback."""


class DatabaseUnavailable(AnxinError):
    """The database could not be reached in time."""


class BrokerUnavailable(AnxinError):
    """The MQTT broker could not be reached in time."""


class NotFound(AnxinError):
    """A registry object named by the user does not exist."""


class Conflict(AnxinError):
    """A registry object the user wants to create already exists or breaks a rule."""


class StorageUnavailable(AnxinError):
    """The storage path ``ANXIN_STORAGE`` asks for cannot be used on this server or database."""
