"""Built-in plugins, registered by name like any plugin (and blockable the same way).

Each entry maps a name to ``module:factory``; the factory returns the plugin configured with
its defaults. Pass a configured instance to ``install(plugins=[...])`` for other settings.
"""

from __future__ import annotations

BUILTINS: dict[str, str] = {
    "tracing": "botoware.plugins.tracing:plugin",
    "metrics": "botoware.plugins.metrics:plugin",
    "policies": "botoware.plugins.policies:plugin",
    "retry": "botoware.plugins.retry:plugin",
    "credentials": "botoware.plugins.credentials:plugin",
    "genai": "botoware.plugins.genai:plugin",
}

DEFAULT_BUILTINS: tuple[str, ...] = ("tracing", "metrics", "genai")
"""Built-in plugins ``install()`` loads when ``autoload`` is true."""
