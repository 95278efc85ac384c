"""Errors the command line turns into one line and an exit code; no third-party imports,
so `bot.cli` can name them before anything heavy (or interruptible) is loaded."""

from __future__ import annotations

__all__ = ["SettingsError"]


class SettingsError(ValueError):
    """A setting, option or file that cannot work, said in one line."""
