"""Exceptions and warnings botoware raises."""

from __future__ import annotations


class BotowareError(Exception):
    """Base class of every botoware error."""


class PluginError(BotowareError, ValueError):
    """A plugin cannot be used: unknown name, unknown hook, bad arguments, failed import."""


class ConfigurationError(BotowareError, ValueError):
    """A setting (argument or environment variable) has a value botoware cannot use."""


class MissingExtraError(BotowareError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        super().__init__(
            f"{feature} needs the {missing!r} package, which is not installed. "
            f"Install it with: pip install 'botoware[{extra}]'"
        )
        self.extra = extra
        self.missing = missing


class BotowareWarning(UserWarning):
    """A problem botoware worked around, e.g. an entry-point plugin it had to skip."""
