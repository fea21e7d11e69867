"""The pluggy markers for the ``botoware`` project name."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "botoware"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in a hookspec module as a botoware hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin method or function as a botoware hook implementation.

Accepts pluggy's options: ``tryfirst``, ``trylast``, ``wrapper``, ``optionalhook``.
"""
