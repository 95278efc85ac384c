"""Dishes to list items: the bundled catalog (RECIPE_SEARCH) and recipe links (RECIPE_URL)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from db.models import ActionKind
from db.store import UnitOfWork
from handlers.buttons import AddDishItems, AddOfferItems, UndoAction, encode
from handlers.common import Context, resolve
from handlers.items import add_items, describe
from handlers.reply import Button, Effect, EffectKind, Reply, Role
from router.languages import LANG_DIR, codes, read_json
from router.normalize import normalize
from router.recipes import look_up_dish
from router.types import Item, Routed

__all__ = [
    "Dish",
    "add_dish",
    "add_offer",
    "catalog",
    "find_dish",
    "find_in_catalog",
    "handle_recipe_search",
    "handle_recipe_url",
]

CATALOG = Path(__file__).with_name("data") / "dishes.json"
RECIPE_WORDS = "recipes.json"


@dataclass(frozen=True, slots=True)
class Dish:
    """One catalog dish: its names per language and its ingredients."""

    id: str
    names: dict[str, list[str]]
    ingredients: list[dict[str, Any]]
    keys: tuple[str, ...] = ()  # every name in every language, normalized once at load

    def name(self, lang: str) -> str:
        names = self.names.get(lang) or self.names.get("en") or [self.id]
        return names[0]

    def items(self, lang: str) -> list[Item]:
        """The ingredients in one language; one of a thing counted by itself is named in the
        singular where the catalog gives it ("one": 1 onion, not 1 onions)."""
        out = []
        for ingredient in self.ingredients:
            unit = (ingredient.get("unit") or {}).get(lang)
            quantity = ingredient.get("quantity")
            name = ingredient.get(lang) or ingredient.get("en")
            if quantity == 1 and not unit:
                name = (ingredient.get("one") or {}).get(lang) or name
            out.append(Item(name=str(name),
                            quantity=float(quantity) if quantity is not None else None,
                            unit=unit))
        return out


@lru_cache(maxsize=1)
def catalog() -> tuple[Dish, ...]:
    """The bundled dishes (handlers/data/dishes.json)."""
    if not CATALOG.exists():
        return ()
    raw = json.loads(CATALOG.read_text(encoding="utf-8"))
    return tuple(Dish(id=d["id"], names=d["names"], ingredients=d["ingredients"],
                      keys=tuple(normalize(n) for names in d["names"].values() for n in names))
                 for d in raw)


@lru_cache(maxsize=1)
def _affixes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What people glue before a dish name and its plural endings, in every language
    (router/data/lang/<code>/recipes.json), longest first."""
    prefixes: set[str] = set()
    suffixes: set[str] = set()
    for code in codes():
        if (LANG_DIR / code / RECIPE_WORDS).exists():
            data = read_json(code, RECIPE_WORDS)
            prefixes.update(normalize(p) for p in data.get("dish_prefixes", []))
            suffixes.update(normalize(s) for s in data.get("dish_suffixes", []))
    def order(words: set[str]) -> tuple[str, ...]:
        return tuple(sorted((w for w in words if w), key=lambda w: (-len(w), w)))
    return order(prefixes), order(suffixes)


def _variants(text: str) -> list[str]:
    """The text without the prefixes people glue on (the, to, of) and plural endings."""
    key = normalize(text)
    out = [key]
    prefixes, suffixes = _affixes()
    for prefix in prefixes:
        if key.startswith(prefix) and len(key) - len(prefix) >= 3:
            out.append(key[len(prefix):])
    for suffix in suffixes:
        for value in list(out):
            if value.endswith(suffix) and len(value) - len(suffix) >= 3:
                out.append(value[: -len(suffix)])
    return out


def find_dish(text: str) -> tuple[Dish | None, list[Dish]]:
    """The dish a text names, forgiving typos and prefixes; else the closest few."""
    dishes = catalog()
    variants = _variants(text)
    for dish in dishes:
        keys = dish.keys
        if any(v == k for v in variants for k in keys):
            return dish, []
    for dish in dishes:
        keys = dish.keys
        if any(len(k) >= 4 and (k in v.split() or f" {k} " in f" {v} ") for v in variants
               for k in keys):
            return dish, []
    # A dish named inside a longer sentence, with a glued prefix ("what for-the-maqluba").
    words = normalize(text).split()
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start:start + size])
            phrase_variants = _variants(phrase)
            for dish in dishes:
                if any(v == k for v in phrase_variants for k in dish.keys):
                    return dish, []
    scored: list[tuple[float, bool, Dish]] = []
    for dish in dishes:
        best, typo = 0.0, False
        for v in variants:
            for k in dish.keys:
                ratio = difflib.SequenceMatcher(None, v, k).ratio()
                if ratio > best:
                    best, typo = ratio, _is_typo(v, k, ratio)
        scored.append((best, typo, dish))
    scored.sort(key=lambda entry: -entry[0])
    if scored and scored[0][1]:
        return scored[0][2], []
    # Unsure: no dish is taken; the reply asks with the closest names.
    return None, [dish for _score, _typo, dish in scored[:3]]


def find_in_catalog(text: str) -> tuple[str | None, tuple[str, ...]]:
    """The catalog dish a text names, by id; else None and the closest dishes' ids (the
    recipe step's DishFinder)."""
    dish, closest = find_dish(text)
    return (dish.id if dish is not None else None), tuple(d.id for d in closest)


def _dish(dish_id: str | None) -> Dish | None:
    return next((d for d in catalog() if d.id == dish_id), None) if dish_id else None


def _is_typo(query: str, key: str, ratio: float) -> bool:
    """A misspelling of this very name, not a different dish: short names differ by one letter
    from other dishes (kabsa is not kibbeh, one letter apart in Arabic), so they must match
    exactly, and a shorter name is taken for a longer query only when nearly all of it is
    there."""
    if ratio < 0.8 or min(len(query), len(key)) < 6:
        return False
    return len(key) >= len(query) or ratio >= 0.9


def _dish_reply(dish: Dish, lang: str) -> Reply:
    items = dish.items(lang)
    buttons: list[tuple[Button, ...]] = [
        (Button("btn_add_all", encode(AddDishItems(dish.id, None)), role=Role.ALL),)]
    for index, item in enumerate(items[:20]):
        buttons.append((Button("btn_add_one", encode(AddDishItems(dish.id, index)),
                               {"item": describe(item.name, item.quantity, item.unit)},
                               role=Role.OPTION),))
    return Reply("recipe_items", lang, {
        "dish": dish.name(lang),
        "items": [describe(i.name, i.quantity, i.unit) for i in items],
    }, buttons=tuple(buttons))


async def _add(ctx: Context, items: list[Item], uow: UnitOfWork, msg: Routed) -> Reply:
    """Add a recipe's chosen items as one undoable change."""
    lines, undo = await add_items(ctx, items, uow, msg.incoming.user_id)
    action = await uow.items.record(ctx.group.id, msg.incoming.user_id, ActionKind.ADD, lines,
                                    undo)
    return Reply("added", msg.lang, {"items": lines},
                 buttons=((Button("btn_undo", encode(UndoAction(action.id))),),),
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),),
                 toast="added")


async def handle_recipe_search(msg: Routed, uow: UnitOfWork) -> Reply:
    """The catalog's ingredients for the named dish, with buttons to add them; for a dish the
    catalog lacks, the LLM's list when the bot got one."""
    ctx = await resolve(msg.incoming, uow)
    # Looked up by the recipe step before the transaction (router/recipes.py); a command
    # that skipped it is looked up the same way here, without the LLM.
    found = msg.dish or look_up_dish(msg, find_in_catalog)
    dish = _dish(found.dish_id)
    if dish is None and found.items:
        return await _offer(ctx, uow, msg, found.name, list(found.items))
    if dish is None:
        closest = [d for d in (_dish(dish_id) for dish_id in found.closest) if d is not None]
        return Reply("dish_unknown", msg.lang, {
            "dish": msg.entities.dish or "", "closest": [d.name(msg.lang) for d in closest]})
    return _dish_reply(dish, msg.lang)


async def add_dish(msg: Routed, uow: UnitOfWork, dish_id: str, which: str) -> Reply:
    """A press on a recipe button: add every ingredient, or just one."""
    ctx = await resolve(msg.incoming, uow)
    dish = _dish(dish_id)
    if dish is None:
        return Reply(None, msg.lang, toast="stale")
    items = dish.items(msg.lang)
    if which != "*":
        if not which.isdigit() or int(which) >= len(items):
            return Reply(None, msg.lang, toast="stale")
        items = [items[int(which)]]
    return await _add(ctx, items, uow, msg)


async def handle_recipe_url(msg: Routed, uow: UnitOfWork) -> Reply:
    """A recipe link, already read by the bot (outside the transaction): offer its
    ingredients with buttons, or say why it could not be read."""
    ctx = await resolve(msg.incoming, uow)
    if not msg.entities.url:
        return Reply("recipe_bad_url", msg.lang)
    result = msg.recipe
    if result is None:
        return Reply("recipe_failed", msg.lang)
    if result.error:
        return Reply(result.error, msg.lang)
    # A list the LLM read from a page's text says so: the reader should give it a look.
    key = "recipe_items_from_text" if result.from_text else "recipe_items"
    return await _offer(ctx, uow, msg, result.title or msg.entities.url, list(result.items), key)


async def _offer(ctx: Context, uow: UnitOfWork, msg: Routed, title: str,
                 items: list[Item], key: str = "recipe_items") -> Reply:
    """Ingredients kept as an offer, shown with Add-all and per-item buttons."""
    offer = await uow.recipes.offer(ctx.group.id, title, [item.to_json() for item in items])
    buttons: list[tuple[Button, ...]] = [
        (Button("btn_add_all", encode(AddOfferItems(offer.id, None)), role=Role.ALL),)]
    for index, item in enumerate(items[:20]):
        buttons.append((Button("btn_add_one", encode(AddOfferItems(offer.id, index)),
                               {"item": describe(item.name, item.quantity, item.unit)},
                               role=Role.OPTION),))
    return Reply(key, msg.lang, {
        "dish": title, "items": [describe(i.name, i.quantity, i.unit) for i in items],
    }, buttons=tuple(buttons))


async def add_offer(msg: Routed, uow: UnitOfWork, offer_id: int, which: str) -> Reply:
    """A press on a recipe link's button: add every ingredient, or one."""
    ctx = await resolve(msg.incoming, uow)
    offer = await uow.recipes.get(offer_id)
    if offer is None or offer.group_id != ctx.group.id:
        return Reply(None, msg.lang, toast="stale")
    raw = list(offer.items)
    if which != "*":
        if not which.isdigit() or int(which) >= len(raw):
            return Reply(None, msg.lang, toast="stale")
        raw = [raw[int(which)]]
    items = [Item(name=str(r["name"]), quantity=r.get("quantity"), unit=r.get("unit"))
             for r in raw]
    return await _add(ctx, items, uow, msg)
