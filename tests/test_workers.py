"""Several bot processes on one PostgreSQL: digests claimed once, updates applied once in
chat order (issue 11, point 3)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.digests import send_due_digests
from bot.services import Services, build_services
from bot.settings import Settings
from db.store import utcnow
from handlers.i18n import render
from handlers.reply import Reply
from router.types import ChatKind, Incoming
from tests.support.cloud import CloudBotApi
from tests.support.postgres import fresh_database
from tests.support.serving import Served, get

TOKEN = "123456:WORKERS-TEST"
DANA, YOSSI = 11, 22
_update_ids = itertools.count(1)


@asynccontextmanager
async def process(url: str) -> AsyncIterator[Services]:
    """What one bot process holds: its own engine, router and dispatcher."""
    services = await build_services(Settings(database_url=url, digest_delay=3600))
    try:
        yield services
    finally:
        await services.close()


async def say(services: Services, chat_id: int, user_id: int, text: str) -> None:
    group = chat_id < 0
    name = "Dana" if user_id == DANA else "Yossi"
    await services.dispatcher.handle_message(Incoming(
        chat_id=chat_id, user_id=user_id, text=text, user_name=name, language_hint="en",
        chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE, addressed=True,
        update_id=next(_update_ids), chat_title=f"Family {-chat_id}" if group else None))


async def due_now(services: Services, chat_ids: list[int]) -> None:
    async with services.uow() as uow:
        for chat_id in chat_ids:
            group = await uow.groups.group_of_chat(chat_id)
            assert group is not None
            await uow.groups.set_digest_due(group.id, utcnow())
        await uow.commit()


async def test_two_processes_send_each_due_digest_once_and_a_restart_sends_what_was_due(
        ) -> None:
    chats = [-4000 - i for i in range(12)]
    sent: list[tuple[str, int, Reply]] = []

    def sender(name: str):  # type: ignore[no-untyped-def]
        async def send(chat_id: int, reply: Reply) -> None:
            sent.append((name, chat_id, reply))
            await asyncio.sleep(0.01)  # a Telegram round trip, so the claims interleave
        return send

    async with fresh_database() as url:
        async with process(url) as first, process(url) as second:
            await say(first, YOSSI, YOSSI, "/start")
            for chat in chats:
                await say(first, chat, YOSSI, "/members")
                await say(second, chat, DANA, "/add milk")
            await due_now(first, chats)
            claimed = await asyncio.gather(
                send_due_digests(first.uow, sender("first"), batch=2),
                send_due_digests(second.uow, sender("second"), batch=2))
            assert sum(claimed) == len(chats)
            # Each group's digest went to Yossi exactly once, from one process or the other.
            assert len(sent) == len(chats) and {chat for _, chat, _ in sent} == {YOSSI}
            titles = sorted(render(reply).split("\n")[0] for _, _, reply in sent)
            assert len(set(titles)) == len(chats)
            # Nothing is due any more: another round claims nothing.
            assert await send_due_digests(second.uow, sender("second")) == 0
            # A change whose digest falls due while no process runs...
            await say(second, chats[0], DANA, "/add eggs")
            await due_now(second, chats[:1])
        sent.clear()
        async with process(url) as restarted:
            assert await send_due_digests(restarted.uow, sender("restarted")) == 1
        [(_, chat, reply)] = sent
        assert chat == YOSSI and "eggs" in render(reply) and "milk" not in render(reply)


@pytest.mark.slow
async def test_two_workers_behind_one_port_apply_each_update_once_in_chat_order(
        tmp_path: Path) -> None:
    items = ["milk", "eggs", "bread", "rice", "tea"]
    async with fresh_database() as url:
        with CloudBotApi(token=TOKEN, bot_username="family_list_bot") as cloud:
            served = Served(tmp_path, token=TOKEN, api_url=cloud.base_url, database_url=url,
                            workers=2, digest_delay="2")
            with served:
                groups = [cloud.group(-1004000000000 - i, f"Family {i}") for i in range(8)]
                dana = cloud.user(DANA, "Dana", language_code="en")
                yossi = cloud.user(YOSSI, "Yossi", language_code="en")
                private = cloud.private_chat(yossi)
                cloud.send_text(private, yossi, "/start")
                for group in groups:
                    cloud.send_text(group, yossi, "/members")
                for item in items:
                    for group in groups:
                        cloud.send_text(group, dana, f"/add {item}")
                for group in groups:
                    cloud.wait_for_sent(group["id"], 1 + len(items), timeout=120)
                # Digests come two seconds after a group's last change.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    digests = [m["text"] for m in cloud.sent(private["id"])
                               if "Updates in" in m["text"]]
                    told = sum(text.count("Dana added") for text in digests)
                    if told >= len(items) * len(groups):
                        break
                    time.sleep(0.2)
                time.sleep(3)  # a digest sent twice would arrive now
                workers = {json.loads(get(served.base + "/healthz")[1])["worker"]
                           for _ in range(30)}
                metrics = get(served.base + "/metrics")[1].decode()
            assert served.process is not None and served.process.returncode == 0
    # Every update was answered 200 once and applied once, each chat's in the order said.
    delivered = cloud.delivered()
    assert len(delivered) == len(set(delivered)) == 1 + len(groups) * (1 + len(items))
    for group in groups:
        replies = [m["text"] for m in cloud.sent(group["id"])][1:]
        assert [next(i for i in items if i in reply) for reply in replies] == items
    # Each of Dana's adds was told to Yossi once, by whichever worker claimed the digest.
    digests = [m["text"] for m in cloud.sent(private["id"]) if "Updates in" in m["text"]]
    for group in groups:
        mine = [text for text in digests if f"Updates in {group['title']}:" in text]
        for item in items:
            assert sum(text.count(f"Dana added: {item}") for text in mine) == 1, mine
    # Two processes served the one port, and /metrics sums what both counted.
    assert len(workers) == 2
    total = 1 + len(groups) * (1 + len(items))
    assert f'shopbot_updates_total{{kind="message"}} {float(total)}' in metrics
