"""The typed bag of long-lived objects, built once from the settings at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.dispatch import Dispatcher
from bot.settings import Settings, SettingsError
from db.engine import make_engine, make_sessionmaker, upgrade
from db.store import UnitOfWorkFactory
from router.classifier import Classifier, ModelDirError
from router.llm import LlmClient
from router.recipes import RecipeReader
from router.router import LlmProposer, Router

__all__ = ["Services", "build_llm", "build_router", "build_services"]


@dataclass
class Services:
    """Everything the bot runs on; one per process."""

    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    router: Router
    dispatcher: Dispatcher

    async def close(self) -> None:
        """Release the database connections and the LLM client's keep-alive connections."""
        if isinstance(self.router.llm, LlmClient):
            await self.router.llm.aclose()
        await self.engine.dispose()


def build_llm(settings: Settings) -> LlmProposer | None:
    """The LLM fallback client when one is configured."""
    if not settings.llm_configured:
        return None
    return LlmClient(base_url=settings.llm_base_url, api_key=settings.llm_api_key,
                     model=settings.llm_model, timeout=settings.llm_timeout)


def build_router(settings: Settings, with_llm: bool = True) -> Router:
    """The router over the configured model directory."""
    try:
        classifier = Classifier.from_dir(settings.model_dir)
    except ModelDirError as error:
        raise SettingsError(f"SHOPBOT_MODEL_DIR: {error}") from None
    return Router(classifier, threshold=settings.threshold, margin=settings.margin,
                  llm=build_llm(settings) if with_llm else None)


async def build_services(settings: Settings, migrate: bool = True) -> Services:
    """Migrate the database, load the model and wire the dispatcher."""
    router = build_router(settings)
    if migrate:
        await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    uow = UnitOfWorkFactory(make_sessionmaker(engine))
    llm = router.llm if isinstance(router.llm, LlmClient) else None
    # A page without a schema.org recipe has its ingredient lines read by the LLM, if any.
    recipes = RecipeReader(allow_private=settings.fetch_allow_private, llm=llm)
    dispatcher = Dispatcher(router, uow, admin_chat_id=settings.admin_chat_id,
                            llm_all_group_messages=settings.llm_all_group_messages,
                            store_fallbacks=settings.store_fallbacks,
                            recipes=recipes, dish_llm=llm)
    return Services(settings=settings, engine=engine, uow=uow, router=router,
                    dispatcher=dispatcher)
