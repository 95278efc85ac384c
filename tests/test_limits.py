"""Telegram's flood limits: the bot keeps them, so a busy evening gets no 429 (issue 11).

Against the emulator with Telegram's limits switched on (tests/support/cloud.py): about 30
messages a second per bot and 20 a minute per group, anything above answered with 429.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cloud import CloudBotApi
from tests.support.running import TOKEN, Bot, texts, until

ITEMS = ("milk", "bread")


@pytest.fixture
def cloud() -> Iterator[CloudBotApi]:
    with CloudBotApi(token=TOKEN, bot_username="family_list_bot", flood_limits=True) as api:
        yield api


def _send(api: CloudBotApi, chat_id: int) -> int:
    """One sendMessage over HTTP; the status code."""
    body = json.dumps({"chat_id": chat_id, "text": "hi"}).encode()
    request = urllib.request.Request(f"{api.base_url}{TOKEN}/sendMessage", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_emulator_refuses_what_telegram_would(cloud: CloudBotApi) -> None:
    family = cloud.group(-1002000000001, "Family")
    users = [cloud.private_chat(cloud.user(5000 + i, f"U{i}")) for i in range(40)]
    # 20 a minute to one group (and one of slack): the 22nd waits about 3 s.
    group_codes = [_send(cloud, family["id"]) for _ in range(22)]
    assert group_codes.count(200) == 21 and group_codes[-1] == 429
    assert cloud.refused[-1][1:] == (family["id"], 3)
    # About 30 a second in all: the same burst to 40 people runs into 429s too.
    codes = [_send(cloud, user["id"]) for user in users]
    assert 429 in codes and codes.count(200) <= 31


async def test_a_burst_over_many_groups_gets_no_429_and_every_answer(
        cloud: CloudBotApi, tmp_path: Path) -> None:
    groups = [cloud.group(-1002100000000 - i, f"Family {i}") for i in range(32)]
    members = [cloud.user(6000 + i, f"Member {i}", language_code="en") for i in range(32)]
    bot = await Bot(cloud, tmp_path / "limits.db").start()
    try:
        for item in ITEMS:
            for group, member in zip(groups, members, strict=True):
                cloud.send_text(group, member, f"/add {item}")
        # 64 answers, more than Telegram takes in one second.
        await until(lambda: all(len(texts(cloud, g["id"])) >= len(ITEMS) for g in groups),
                    timeout=30)
        await asyncio.sleep(0.3)  # anything late or doubled would show now
        # Everything is on every list: /list would show it; ask the store directly.
        assert bot.services is not None
        async with bot.services.uow() as uow:
            lists = {}
            for group in groups:
                found = await uow.groups.group_of_chat(group["id"])
                assert found is not None
                lists[group["title"]] = sorted(
                    item.name for item in await uow.items.open_items(found.id))
    finally:
        await bot.stop()
    assert cloud.refused == []
    assert all(len(texts(cloud, g["id"])) == len(ITEMS) for g in groups)
    assert all(names == sorted(ITEMS) for names in lists.values()), lists


async def test_a_429_is_waited_out_and_the_answer_still_arrives(
        cloud: CloudBotApi, tmp_path: Path) -> None:
    family = cloud.group(-1002200000001, "Family")
    dana = cloud.user(7001, "Dana", language_code="en")
    bot = await Bot(cloud, tmp_path / "retry.db").start()
    try:
        cloud.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        started = time.monotonic()
        cloud.send_text(family, dana, "/add milk")
        await until(lambda: texts(cloud, family["id"]))
        waited = time.monotonic() - started
    finally:
        await bot.stop()
    assert len(cloud.calls("sendMessage")) == 2
    assert len(texts(cloud, family["id"])) == 1 and waited >= 1.0
