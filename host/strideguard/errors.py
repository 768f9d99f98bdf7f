"""Exceptions that carry a one-line message meant for the user."""

from __future__ import annotations


class StrideguardError(Exception):
    """An error the CLI reports as one line (no traceback) with exit code 2."""

    exit_code: int = 2


class InputError(StrideguardError):
    """Input data (file, units, columns, content) cannot be used."""


class ConfigError(StrideguardError):
    """A configuration value is missing or out of range."""
