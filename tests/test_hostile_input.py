"""Input a hostile or careless user sends: each gets a clear answer and changes nothing.

A gzip bomb behind a recipe link, IPv6 forms that hide a private IPv4 address, control
characters (NUL among them, which PostgreSQL cannot store) and negative amounts, in Hebrew,
English and Arabic, through the real fetcher and the real Dispatcher, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.dispatch import Dispatcher
from db.models import BugReport, Group, Item, User
from db.store import UnitOfWorkFactory
from handlers.i18n import render
from router.classifier import Classifier
from router.entities import extract
from router.recipes import RecipeReader, is_public_address
from router.router import Router
from router.types import ChatKind, Incoming, Intent
from tests.support.postgres import migrated_store
from tests.support.recipe_server import RecipeServer, json_ld_page

# --- recipe links -------------------------------------------------------------------------


@pytest.fixture
def pages() -> Iterator[RecipeServer]:
    with RecipeServer("127.0.0.2") as server:
        yield server


def reader(**kwargs: object) -> RecipeReader:
    return RecipeReader(allowed_networks=("127.0.0.2/32",), **kwargs)  # type: ignore[arg-type]


def gzip_bomb(inflated: int) -> bytes:
    """`inflated` bytes of one repeated line, gzip-compressed without ever holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"<p>" + b"a" * 1_048_570 + b"</p>\n"
    parts = [packer.compress(b"<!doctype html><html><body>")]
    parts += [packer.compress(block) for _ in range(inflated // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


async def test_a_gzip_bomb_stops_at_the_cap_without_inflating_it_all(
        pages: RecipeServer) -> None:
    bomb = gzip_bomb(133_000_000)
    assert len(bomb) < 400_000  # a small download that would inflate to 133 MB
    pages.pages["/bomb"] = (200, {"Content-Type": "text/html; charset=utf-8",
                                  "Content-Encoding": "gzip"}, bomb, 0.0)
    tracemalloc.start()
    try:
        result = await reader().read(pages.url("/bomb"))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error == "recipe_too_big"
    assert peak < 12_000_000, f"peak {peak / 1e6:.1f} MB while refusing a 2 MB page"


async def test_a_gzip_or_deflate_recipe_page_is_still_read(pages: RecipeServer) -> None:
    page = json_ld_page("שקשוקה", ["4 ביצים", "2 עגבניות"]).encode()
    pages.pages["/gz"] = (200, {"Content-Type": "text/html; charset=utf-8",
                                "Content-Encoding": "gzip"}, gzip.compress(page), 0.0)
    pages.pages["/zlib"] = (200, {"Content-Type": "text/html; charset=utf-8",
                                  "Content-Encoding": "deflate"}, zlib.compress(page), 0.0)
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    pages.pages["/raw"] = (200, {"Content-Type": "text/html; charset=utf-8",
                                 "Content-Encoding": "deflate"},
                           raw.compress(page) + raw.flush(), 0.0)
    for path in ("/gz", "/zlib", "/raw"):
        result = await reader().read(pages.url(path))
        assert result.error is None, path
        assert [(i.name, i.quantity) for i in result.items] == [("ביצים", 4.0),
                                                                 ("עגבניות", 2.0)]


async def test_a_corrupt_or_unasked_encoding_fails_cleanly(pages: RecipeServer) -> None:
    pages.pages["/bad"] = (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                           b"\x1f\x8b not really gzip", 0.0)
    pages.pages["/br"] = (200, {"Content-Type": "text/html", "Content-Encoding": "br"},
                          b"\x0b\x02\x80hello", 0.0)
    for path in ("/bad", "/br"):
        assert (await reader().read(pages.url(path))).error == "recipe_failed"


EMBEDDED_PRIVATE = [
    "2002:7f00:1::1",                          # 6to4 of 127.0.0.1
    "2002:a00:1::1",                           # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::1",                       # 6to4 of 169.254.169.254 (cloud metadata)
    "2001:0:7f00:1::1",                        # Teredo, server 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",    # Teredo, client 10.0.0.1 (obfuscated)
    "64:ff9b::7f00:1",                         # NAT64 of 127.0.0.1
    "64:ff9b::c0a8:101",                       # NAT64 of 192.168.1.1
    "64:ff9b:1::a00:1",                        # local-use NAT64
    "::ffff:127.0.0.1",                        # IPv4-mapped
    "::7f00:1",                                # IPv4-compatible 127.0.0.1
]


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE)
async def test_ipv6_forms_of_private_ipv4_addresses_are_refused(address: str) -> None:
    assert not is_public_address(address)
    result = await RecipeReader().read(f"http://[{address}]/recipe")
    assert result.error == "recipe_refused"


def test_public_ipv6_and_public_6to4_stay_allowed() -> None:
    assert is_public_address("2a00:1450:4001:80b::200e")
    assert is_public_address("2002:808:808::1")  # 6to4 of 8.8.8.8


# --- the Dispatcher, on both databases ----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path
                ) -> AsyncIterator[UnitOfWorkFactory]:
    async with migrated_store(request.param, tmp_path) as factory:
        yield factory


def on_both(cases: list[tuple[str, ...]], quick_on_postgresql: int) -> list[object]:
    """(store, *case) for every case on both databases; on PostgreSQL only the case at
    `quick_on_postgresql` is in the quick run, the others are slow (CI runs them): the same
    refusal, each a PostgreSQL database made and dropped."""
    return [pytest.param(kind, *case, id="-".join((kind, *case)),
                         marks=pytest.mark.slow if kind == "postgresql"
                         and index != quick_on_postgresql else ())
            for kind in ("sqlite", "postgresql") for index, case in enumerate(cases)]


FAMILY = -100700800900


def say(text: str, user_id: int = 11, name: str = "Dana", title: str = "Family") -> Incoming:
    return Incoming(chat_id=FAMILY, user_id=user_id, text=text, chat_kind=ChatKind.GROUP,
                    user_name=name, addressed=True, chat_title=title, language_hint="he")


async def open_lines(store: UnitOfWorkFactory) -> list[tuple[str, float | None]]:
    async with store() as uow:
        rows = (await uow.session.execute(
            select(Item).where(Item.status == "open").order_by(Item.id))).scalars().all()
        return [(row.name, row.quantity) for row in rows]


async def test_control_characters_never_reach_either_database(
        classifier: Classifier, store: UnitOfWorkFactory) -> None:
    dispatcher = Dispatcher(Router(classifier), store)
    sender = say("/add 2 חל\x00ב, mi\x07lk\x1b[0m", name="Da\x00na\x1b", title="Fam\x00ily\x07")
    outcome = await dispatcher.handle_message(sender)
    assert outcome.reply is not None and outcome.reply.key == "added"
    shown = render(outcome.reply)
    assert "\x00" not in shown and "\x07" not in shown and "\x1b" not in shown
    await dispatcher.handle_message(say("/bug הבוט \x00נתקע\x08 שוב"))
    async with store() as uow:
        stored = [
            *(await uow.session.execute(select(Item.name))).scalars(),
            *(await uow.session.execute(select(User.display_name))).scalars(),
            *(await uow.session.execute(select(Group.title))).scalars(),
            *(await uow.session.execute(select(BugReport.text))).scalars(),
        ]
    assert stored and all(not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)
                          for value in stored), stored
    assert {"חלב", "Dana", "Family"} <= set(stored)
    assert "הבוט נתקע שוב" in stored


@pytest.mark.parametrize(("store", "text", "lang"), on_both([
    ("/add -5 milk", "en"),
    ("/add -5 חלב", "he"),
    ("/add −2 ביצים ולחם", "he"),
    ("/add -3 حليب", "ar"),
    ("/add milk -2", "en"),
], quick_on_postgresql=1), indirect=["store"])
async def test_a_negative_amount_is_refused_and_changes_nothing(
        classifier: Classifier, store: UnitOfWorkFactory, text: str, lang: str) -> None:
    dispatcher = Dispatcher(Router(classifier), store)
    outcome = await dispatcher.handle_message(say(text))
    assert outcome.reply is not None and outcome.reply.key == "absurd_quantity"
    assert outcome.reply.lang == lang
    assert await open_lines(store) == []


def test_a_dashed_list_on_several_lines_is_not_negative() -> None:
    items = extract(Intent.GROCERY_REQUEST, "-2 eggs\n-3 milk")
    assert [(i.name, i.quantity) for i in items.items] == [("eggs", 2.0), ("milk", 3.0)]
    hyphen = extract(Intent.GROCERY_REQUEST, "ו-2 מלפפונים")
    assert [i.quantity for i in hyphen.items] == [2.0]


@pytest.mark.parametrize(("store", "data"), on_both([(data,) for data in [
    "u:" + "9" * 30, "t:" + "1" * 30, "o:" + "9" * 30 + ":all", "t:²", "u:-1",
    "t:" + str(2**63), "iq:" + "7" * 25 + ":1",
]], quick_on_postgresql=5), indirect=["store"])
async def test_a_button_with_an_out_of_range_id_is_out_of_date(
        classifier: Classifier, store: UnitOfWorkFactory, data: str) -> None:
    dispatcher = Dispatcher(Router(classifier), store)
    await dispatcher.handle_message(say("/add חלב"))
    outcome = await dispatcher.handle_button(say("תוסיף חלב"), data)
    assert outcome.reply is not None and outcome.reply.toast == "stale"
    assert "out of date" in render(replace(outcome.reply, key="stale", lang="en")).lower()
    assert await open_lines(store) == [("חלב", None)]
