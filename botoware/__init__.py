"""botoware: a pluggy host over botocore's event lifecycle."""

from botoware.errors import (
    BotowareError,
    BotowareWarning,
    ConfigurationError,
    MissingExtraError,
    PluginError,
)
from botoware.hooks.call import Call, Run, Stash, StashKey
from botoware.hooks.markers import hookimpl, hookspec
from botoware.hooks.specs import NO_RETRY, STEP_OUT
from botoware.host import Installation, PluginInfo, Session, install

__version__ = "0.1.0"

__all__ = [
    "NO_RETRY",
    "STEP_OUT",
    "BotowareError",
    "BotowareWarning",
    "Call",
    "ConfigurationError",
    "Installation",
    "MissingExtraError",
    "PluginError",
    "PluginInfo",
    "Run",
    "Session",
    "Stash",
    "StashKey",
    "__version__",
    "hookimpl",
    "hookspec",
    "install",
]
