"""PTB's callback context with the bot's services typed: `context.services`, not a lookup in
an untyped `bot_data` dictionary at every handler."""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.services import Services

__all__ = ["CONTEXT_TYPES", "SERVICES_KEY", "BotContext"]

# Where build_application keeps the services among the application's bot_data.
SERVICES_KEY = "services"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler of bot/app.py receives."""

    @property
    def services(self) -> Services:
        """The process's services (bot/services.py), set once by build_application."""
        services = self.application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        return services


CONTEXT_TYPES = ContextTypes(context=BotContext)
