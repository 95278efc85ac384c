"""Webhook mode, `shopbot serve`: Telegram POSTs each update; we answer 200 once it is stored.

A small ASGI app (Starlette, served by uvicorn), as python-telegram-bot's custom-webhook
example does, rather than PTB's own webhook server: PTB's answers 200 as soon as it has
queued an update in memory, while here the 200 must wait for the commit to the inbox, and
the same port serves `/healthz` and `/metrics`, and several processes.

The update goes into the same durable inbox that long polling fills (bot/intake.py), and the
same inbox workers apply it: one chat's updates one after another in update id order, claimed
through the database, so with `SHOPBOT_WORKERS=N` (uvicorn's worker processes behind one
port, on PostgreSQL) a chat's order holds across processes. Digests are claimed in the
database too (bot/digests.py), so each goes out once.

    parent:  check settings → migrate → getMe → setWebhook(url, secret_token) → uvicorn
    worker:  build the bot → inbox worker, digest tick (JobQueue) → serve
             POST <path of SHOPBOT_WEBHOOK_URL>   secret checked (403), stored, then 200
             GET  /healthz                        database reachable, model loaded
             GET  /metrics                        Prometheus text, all workers summed
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.errors import SettingsError
from bot.settings import Settings

__all__ = ["SECRET_HEADER", "check_settings", "create_app", "prepare", "run_server"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes; anything far larger is not from Telegram.
MAX_BODY = 1 << 20
# How often a worker refreshes the inbox depth and LLM figures, and looks for leases held
# by worker processes of this machine that died.
HOUSEKEEPING_SECONDS = 5.0
# How often an idle worker of several looks for stored updates nobody has taken.
IDLE_SECONDS = 0.2


def check_settings(settings: Settings) -> None:
    """What webhook mode needs, each missing piece one `SettingsError` line."""
    if not settings.telegram_token:
        raise SettingsError("SHOPBOT_TELEGRAM_TOKEN: not set (talk to @BotFather)")
    if not settings.webhook_url:
        raise SettingsError("SHOPBOT_WEBHOOK_URL: not set (the public https:// URL Telegram "
                            "calls, e.g. https://bot.example.org/telegram)")
    if not settings.webhook_secret:
        raise SettingsError("SHOPBOT_WEBHOOK_SECRET: not set (webhook mode needs it; make one "
                            "with: openssl rand -hex 32)")
    if webhook_path(settings) in ("/healthz", "/metrics"):
        raise SettingsError(f"SHOPBOT_WEBHOOK_URL: its path {webhook_path(settings)} is taken "
                            "by the bot's own endpoint; use another, e.g. /telegram")
    if settings.workers > 1 and not settings.database_url.startswith("postgresql"):
        raise SettingsError(f"SHOPBOT_WORKERS: {settings.workers} workers need PostgreSQL "
                            "(SHOPBOT_DATABASE_URL=postgresql+asyncpg://…); SQLite takes 1")


def webhook_path(settings: Settings) -> str:
    """The local path Telegram's POSTs arrive at: the webhook URL's own path (a reverse
    proxy passes it on as it is)."""
    return urlsplit(settings.webhook_url or "").path or "/"


async def prepare(settings: Settings) -> str:
    """Once, before any worker starts: migrate, check the token, register the webhook.

    Returns the bot's username. Telegram keeps updates that arrive meanwhile and delivers
    them once the webhook answers.
    """
    from telegram import Bot

    from bot.intake import ALLOWED_UPDATES
    from db.engine import upgrade

    await upgrade(settings.database_url)
    async with Bot(settings.telegram_token, base_url=settings.telegram_api_url) as bot:
        me = await bot.get_me()
        await bot.set_webhook(settings.webhook_url or "", secret_token=settings.webhook_secret,
                              allowed_updates=list(ALLOWED_UPDATES), max_connections=40)
    log.info("webhook set for @%s; %d worker(s) on %s", me.username, settings.workers,
             settings.webhook_listen)
    return str(me.username)


def _metrics_directory() -> None:
    """A fresh multiprocess directory for prometheus-client, shared by the workers; set
    before anything imports prometheus_client, which reads it at import."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()  # counts of an earlier run would be added to this one's
    else:
        directory = Path(tempfile.mkdtemp(prefix="shopbot-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def run_server(settings: Settings) -> int:
    """Serve until SIGINT or SIGTERM: one process, or SHOPBOT_WORKERS processes that share
    the listening socket (uvicorn's supervisor restarts one that dies)."""
    import uvicorn

    owned = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    _metrics_directory()
    host, port = settings.listen
    # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler it
    # found: a stop by systemd or Docker ends quietly with 0, as Ctrl-C ends with 130.
    signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.run("bot.serve:create_app", factory=True, host=host, port=port,
                    workers=settings.workers, log_config=None, access_log=False,
                    lifespan="on", timeout_graceful_shutdown=30, proxy_headers=False,
                    server_header=False)
    finally:
        if owned:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
    return 0


def _stopped(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


# --------------------------------------------------------------------------- worker side


class Worker:
    """One serving process: the bot (with its digest tick), its inbox worker, and the web
    app's endpoints."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = webhook_path(settings)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._closers: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        from bot.app import build_application
        from bot.intake import Intake
        from bot.metrics import LlmCounts
        from bot.services import build_services
        from db.engine import make_engine, make_sessionmaker
        from db.store import UnitOfWorkFactory

        class WebhookIntake(Intake):
            """The inbox worker without a poller: Telegram brings the updates."""

            async def poll(self) -> None:
                await asyncio.Event().wait()

        stack = contextlib.AsyncExitStack()
        self._closers = stack
        self.services = await build_services(self.settings, migrate=False)
        stack.push_async_callback(self.services.close)
        store_uow = self.services.uow
        if self.settings.database_url.startswith("sqlite"):
            # As in long polling: the inbox commit that answers Telegram waits for the disk.
            durable = make_engine(self.settings.database_url, durable=True)
            stack.push_async_callback(durable.dispose)
            store_uow = UnitOfWorkFactory(make_sessionmaker(durable))
        self.app = build_application(self.services)
        # Another worker may store the next update of a chat this one is finishing, a moment
        # too late for this one to take it on; a short idle look bounds that wait.
        self.intake = WebhookIntake(self.app, self.services.uow, store_uow,
                                    idle=IDLE_SECONDS if self.settings.workers > 1 else 2.0)
        self.llm_counts = LlmCounts()
        await self.app.initialize()
        stack.push_async_callback(self.app.shutdown)
        if self.app.post_init is not None:
            await self.app.post_init(self.app)
        await self.app.start()
        stack.push_async_callback(self.app.stop)
        await self._release_dead_workers()
        self._tasks = [
            asyncio.create_task(self.intake.run(self._stop, sole_poller=False),
                                name="serve:inbox"),
            asyncio.create_task(self._housekeeping(), name="serve:housekeeping"),
        ]
        log.info("worker %d ready: POST %s", os.getpid(), self.path)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            if task.get_name() == "serve:housekeeping":
                task.cancel()
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("worker task failed", exc_info=result)
        if self._closers is not None:
            await self._closers.aclose()

    async def _release_dead_workers(self) -> None:
        """Leases held by a process of this machine that is gone are handed back now,
        instead of when they run out (uvicorn has started a new worker in its place)."""
        host = socket.gethostname()[:32]
        async with self.services.uow() as uow:
            released = 0
            for owner in await uow.inbox.lease_owners():
                name, _, rest = owner.partition(":")
                pid = rest.partition(":")[0]
                if name != host or not pid.isdigit() or _alive(int(pid)):
                    continue
                released += await uow.inbox.release(owner)
            await uow.commit()
        if released:
            log.warning("took back %d updates a stopped worker had claimed", released)

    async def _housekeeping(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._sample()
                await self._release_dead_workers()
            await asyncio.sleep(HOUSEKEEPING_SECONDS)

    async def _sample(self) -> None:
        from bot.metrics import INBOX_DEPTH
        from router.llm import LlmClient

        async with self.services.uow() as uow:
            INBOX_DEPTH.set(await uow.inbox.depth())
        llm = self.services.router.llm
        if isinstance(llm, LlmClient):
            self.llm_counts.sync(llm.counts, llm.circuit_open)

    # ------------------------------------------------------------------ endpoints

    async def receive(self, request: Any) -> Any:
        """POST from Telegram: the secret checked, the update stored, then 200."""
        from starlette.responses import Response
        from telegram import Update

        from bot.metrics import WEBHOOK_REQUESTS

        def answer(status: int) -> Response:
            WEBHOOK_REQUESTS.labels(str(status)).inc()
            return Response(status_code=status)

        given = request.headers.get(SECRET_HEADER, "")
        expected = self.settings.webhook_secret or ""
        if not (given and hmac.compare_digest(given.encode(), expected.encode())):
            return answer(403)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return answer(413)
        try:
            data = json.loads(body)
            update = Update.de_json(data, self.app.bot) if isinstance(data, dict) else None
        except Exception:
            update = None
        if update is None or not isinstance(update.update_id, int):
            return answer(400)
        try:
            await self.intake.store([update])
        except Exception:
            # Not stored, so not confirmed: Telegram sends it again.
            log.exception("could not store update %s", update.update_id)
            return answer(503)
        return answer(200)

    async def healthz(self, request: Any) -> Any:
        from sqlalchemy import text
        from starlette.responses import JSONResponse

        from db.engine import describe_error

        database = "ok"
        try:
            async with asyncio.timeout(3), self.services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            database = describe_error(error) if not isinstance(error, TimeoutError) \
                else "no answer within 3 s"
        model = "ok" if self.services.router.classifier is not None else "not loaded"
        healthy = database == "ok" and model == "ok"
        return JSONResponse({"database": database, "model": model, "worker": os.getpid()},
                            status_code=200 if healthy else 503)

    async def metrics(self, request: Any) -> Any:
        from starlette.responses import Response

        from bot.metrics import CONTENT_TYPE_LATEST, render

        with contextlib.suppress(Exception):
            await self._sample()
        return Response(render(), media_type=CONTENT_TYPE_LATEST)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_app() -> Any:
    """The ASGI app of one worker process (uvicorn calls this in each)."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    from bot.logs import configure_logging
    from bot.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level, secrets=settings.secrets(),
                      json_lines=settings.log_format == "json")
    worker = Worker(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await worker.start()
        try:
            yield
        finally:
            await worker.stop()

    routes = [Route(worker.path, worker.receive, methods=["POST"]),
              Route("/healthz", worker.healthz, methods=["GET"]),
              Route("/metrics", worker.metrics, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan)
