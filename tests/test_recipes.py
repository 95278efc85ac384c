"""Recipe links from a loopback page server, refused URLs, and the dish catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.services import build_services
from bot.settings import Settings
from db.store import UnitOfWorkFactory
from handlers.i18n import render
from handlers.recipes import catalog, find_dish
from router.llm import LlmClient
from router.recipes import RecipeReader, ingredient_item, ingredient_items
from router.types import Intent
from tests.support.direct import handle, open_items, routed
from tests.support.fake_openai import FakeOpenAI, Plan
from tests.support.recipe_server import FIXTURES, RecipeServer, json_ld_page, microdata_page

SHAKSHUKA = ["6 eggs", "1 kg tomatoes", "2 red peppers, sliced", "3 garlic cloves",
             "1 tsp paprika", "salt to taste"]


@pytest.fixture
def pages() -> Iterator[RecipeServer]:
    with RecipeServer("127.0.0.2") as server:
        yield server


def reader(**kwargs: object) -> RecipeReader:
    # Only the test server's own loopback address is let through; everything else private
    # (127.0.0.1, 10.x, the metadata address) stays refused.
    return RecipeReader(allowed_networks=("127.0.0.2/32",), **kwargs)  # type: ignore[arg-type]


async def test_json_ld_recipe_becomes_items(pages: RecipeServer) -> None:
    pages.html("/shakshuka", json_ld_page("Shakshuka", SHAKSHUKA))
    result = await reader().read(pages.url("/shakshuka"))
    assert result.error is None and result.title == "Shakshuka"
    assert [(i.name, i.quantity, i.unit) for i in result.items] == [
        ("eggs", 6, None), ("tomatoes", 1, "kg"), ("red peppers", 2, None),
        ("garlic", 3, "cloves"), ("paprika", 1, "tsp"), ("salt", None, None)]


async def test_microdata_recipe_is_read_too(pages: RecipeServer) -> None:
    pages.html("/cake", microdata_page("Chocolate cake", ["200 g flour", "3 eggs", "1 cup sugar"]))
    result = await reader().read(pages.url("/cake"))
    assert [(i.name, i.quantity, i.unit) for i in result.items] == [
        ("flour", 200, "g"), ("eggs", 3, None), ("sugar", 1, "cup")]


async def test_hebrew_page_in_windows_1255_is_decoded(pages: RecipeServer) -> None:
    page = json_ld_page("שקשוקה של אמא", ["6 ביצים", "קילו עגבניות", "2 כפות שמן זית"],
                        charset="windows-1255")
    pages.pages["/he"] = (200, {"Content-Type": "text/html"}, page.encode("windows-1255"), 0.0)
    result = await reader().read(pages.url("/he"))
    assert result.title == "שקשוקה של אמא"
    assert [(i.name, i.quantity, i.unit) for i in result.items] == [
        ("ביצים", 6, None), ("עגבניות", 1, "קילו"), ("שמן זית", 2, "כפות")]


async def test_page_without_a_recipe_says_so(pages: RecipeServer) -> None:
    pages.html("/blog", "<html><body><p>We went to the beach.</p></body></html>")
    assert (await reader().read(pages.url("/blog"))).error == "recipe_not_found"


async def test_a_ten_megabyte_page_is_not_read(pages: RecipeServer) -> None:
    pages.html("/huge", "<html>" + "x" * 10_000_000 + "</html>")
    assert (await reader().read(pages.url("/huge"))).error == "recipe_too_big"


async def test_a_slow_server_times_out(pages: RecipeServer) -> None:
    pages.html("/slow", json_ld_page("Slow", SHAKSHUKA), delay=2.0)
    assert (await reader(timeout=0.5).read(pages.url("/slow"))).error == "recipe_timeout"


async def test_a_redirect_to_loopback_is_refused(pages: RecipeServer) -> None:
    pages.pages["/go"] = (302, {"Location": "http://127.0.0.1:9/admin"}, b"", 0.0)
    assert (await reader().read(pages.url("/go"))).error == "recipe_refused"


async def test_too_many_redirects_are_refused(pages: RecipeServer) -> None:
    for hop in range(8):
        pages.pages[f"/r{hop}"] = (302, {"Location": f"/r{hop + 1}"}, b"", 0.0)
    assert (await reader().read(pages.url("/r0"))).error == "recipe_refused"


async def test_a_non_html_answer_is_refused(pages: RecipeServer) -> None:
    pages.pages["/file"] = (200, {"Content-Type": "application/octet-stream"}, b"\0" * 10, 0.0)
    assert (await reader().read(pages.url("/file"))).error == "recipe_not_html"


@pytest.mark.parametrize(("url", "error"), [
    ("http://127.0.0.1/recipe", "recipe_refused"),
    ("http://169.254.169.254/latest/meta-data/", "recipe_refused"),
    ("http://[::1]/recipe", "recipe_refused"),
    ("http://10.1.2.3/recipe", "recipe_refused"),
    ("http://192.168.1.1/recipe", "recipe_refused"),
    ("http://localhost:8080/recipe", "recipe_refused"),
    ("file:///etc/passwd", "recipe_bad_url"),
    ("gopher://example.com/1", "recipe_bad_url"),
])
async def test_private_and_odd_urls_are_refused(url: str, error: str) -> None:
    assert (await RecipeReader().read(url)).error == error


def test_ingredient_lines_in_three_languages() -> None:
    cases = {
        "2-3 ripe tomatoes, diced": ("ripe tomatoes", 3.0, None),
        "1 1/2 kg potatoes": ("potatoes", 1.5, "kg"),
        "חצי קילו בשר טחון": ("בשר טחון", 0.5, "קילו"),
        "٣ حبات بندورة": ("بندورة", 3.0, "حبة"),
    }
    for line, expected in cases.items():
        item = ingredient_item(line)
        assert item is not None and (item.name, item.quantity, item.unit) == expected


@pytest.mark.parametrize(("line", "expected"), [
    # To taste, optional, for serving: the item stays, without an amount unless one is printed.
    ("salt and pepper to taste", [("salt", None, None), ("pepper", None, None)]),
    ("kosher salt, to taste", [("kosher salt", None, None)]),
    ("Flaky sea salt (optional)", [("Flaky sea salt", None, None)]),
    ("1/2 teaspoon onion powder (optional)", [("onion powder", 0.5, "tsp")]),
    ("optional: 50g chopped walnuts", [("chopped walnuts", 50, "g")]),
    ("Chopped fresh parsley, for serving", [("Chopped fresh parsley", None, None)]),
    ("to serve: tofu cubes, toasted almonds, scallions",
     [("tofu cubes", None, None), ("toasted almonds", None, None), ("scallions", None, None)]),
    ("מלח לפי הטעם", [("מלח", None, None)]),
    ("פטרוזיליה קצוצה לקישוט", [("פטרוזיליה", None, None)]),
    ("ملح حسب الرغبة", [("ملح", None, None)]),
    ("بقدونس للتزيين", [("بقدونس", None, None)]),
    ("соль по вкусу", [("соль", None, None)]), ("зелень для подачи", [("зелень", None, None)]),
    ("1 стакан тёплой воды", []), ("3 зубчика чеснока", [("чеснока", 3, "зубчик")]),
    # Kitchen measures are the recipe's amount.
    ("1 1/2 cups whole milk", [("whole milk", 1.5, "cup")]),
    ("3 Tbsp. rice vinegar", [("rice vinegar", 3, "tbsp")]),
    ("2 כוסות קמח", [("קמח", 2, "כוסות")]),
    ("1 כפית כמון", [("כמון", 1, "כפית")]),
    ("3 ملاعق زيت زيتون", [("زيت زيتون", 3, "ملعقة")]),
    ("2 كوب طحين", [("طحين", 2, "كوب")]),
    # Parentheses, nested or left open, and second measures do not break a line.
    ("25 ounces ravioli )", [("ravioli", 25, "oz")]),
    ("1 bag frozen peas (thawed (12 ounces))", [("frozen peas", 1, "bag")]),
    ("1 (14-ounce) can coconut milk", [("coconut milk", 1, "can")]),
    ("100g/3½oz butter, softened", [("butter", 100, "g")]),
    ("2 to 2 1/2 pounds chicken wings", [("chicken wings", 2.5, "lb")]),
    ("Juice of 1 lemon", [("lemon", 1, None)]),
    # Notes after a dash, a second measure added on, an alternative with its own amount.
    ("2 1/2 cups coconut milk– preferably boxed (see notes)", [("coconut milk", 2.5, "cup")]),
    ("1/2 cup plus 2 tablespoons cane sugar", [("cane sugar", 0.5, "cup")]),
    ("1 cinnamon stick or 1/2 teaspoon ground cinnamon", [("cinnamon stick", 1, None)]),
    ("6 large or 8 medium celery stalks", [("large or 8 medium celery stalks", 6, None)]),
    # Tap water is not bought; sparkling water is.
    ("1 cup water", []), ("2 cups warm water", []), ("1 כוס מים חמים", []),
    ("2 كوب ماء دافئ", []), ("1 bottle sparkling water", [("sparkling water", 1, "bottle")]),
])
def test_every_ingredient_to_buy_is_offered(line: str,
                                            expected: list[tuple[str, float | None,
                                                                 str | None]]) -> None:
    assert [(i.name, i.quantity, i.unit) for i in ingredient_items(line)] == expected


async def test_a_recipe_link_offers_buttons_and_add_all_merges(
        uow: UnitOfWorkFactory, pages: RecipeServer) -> None:
    pages.html("/shakshuka", json_ld_page("Shakshuka", SHAKSHUKA))
    await handle(uow, routed("2 eggs", Intent.GROCERY_REQUEST))
    message = routed(f"check this {pages.url('/shakshuka')}", Intent.RECIPE_URL)
    result = await reader().read(message.entities.url or "")
    reply = await handle(uow, replace(message, recipe=result))
    assert reply.key == "recipe_items" and "Shakshuka" in render(reply)
    add_all = reply.buttons[0][0].data
    assert add_all.startswith("o:") and add_all.endswith(":*")
    from handlers.recipes import add_offer

    async with uow() as unit:
        offer_id = int(add_all.split(":")[1])
        await add_offer(message, unit, offer_id, "*")
        await unit.commit()
    items = dict((n, q) for n, q, _u in await open_items(uow))
    assert items["eggs"] == 8.0 and "tomatoes" in items


def test_the_catalog_has_sixty_dishes_in_three_languages() -> None:
    dishes = catalog()
    assert len(dishes) >= 60
    assert all(all(d.names.get(lang) for lang in ("he", "en", "ar")) for d in dishes)


@pytest.mark.parametrize(("query", "dish_id"), [
    ("שקשוקה", "shakshuka"), ("לשקשוקה", "shakshuka"), ("shakshouka", "shakshuka"),
    ("lasagne", "lasagna"), ("مقلوبة", "maqluba"), ("المقلوبة", "maqluba"),
    ("pancake", "pancakes"),
])
def test_catalog_matching_forgives_prefixes_typos_and_plurals(query: str,
                                                              dish_id: str) -> None:
    dish, _closest = find_dish(query)
    assert dish is not None and dish.id == dish_id


async def test_recipe_search_in_hebrew_offers_the_dish_in_hebrew(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("מה צריך לשקשוקה?", Intent.RECIPE_SEARCH))
    assert reply.key == "recipe_items" and reply.lang == "he"
    assert "ביצים" in render(reply)


async def test_unknown_dish_offers_the_closest(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("ingredients for zxqwv stew", Intent.RECIPE_SEARCH))
    assert reply.key == "dish_unknown" and len(reply.params["closest"]) == 3


EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", sorted(k for k in EXPECTED if not k.startswith("_")))
async def test_fixture_pages_offer_every_ingredient(pages: RecipeServer, page: str) -> None:
    # JSON-LD alone and in a Yoast @graph, microdata, WP Recipe Maker and Tasty Recipes
    # markup, Hebrew and Arabic sites; pages without a recipe say so.
    pages.fixtures()
    result = await reader().read(pages.url(f"/{page}"))
    if EXPECTED[page] is None:
        assert result.error == "recipe_not_found"
        return
    assert [[i.name, i.quantity, i.unit] for i in result.items] == EXPECTED[page]


def page_llm(server: FakeOpenAI) -> LlmClient:
    return LlmClient(base_url=server.base_url, api_key="test", model="fake-model", timeout=2.0,
                     backoff=0.01)


async def test_a_page_without_a_recipe_is_read_by_the_llm_and_checked_against_the_page(
        pages: RecipeServer) -> None:
    pages.fixtures()
    with FakeOpenAI() as server:
        # Five lines copied from the page, one invented, one far too long: only the page's stay.
        server.plans.append(Plan(content=json.dumps({"lines": [
            "2 cups red lentils", "1 large onion", "3 carrots", "1 tablespoon ground cumin",
            "salt to taste", "2 kg beef fillet", "x" * 500]})))
        result = await reader(llm=page_llm(server)).read(pages.url("/en_blog_no_recipe.html"))
    assert result.error is None and result.from_text
    assert result.title == "Our weekend lentil soup"
    assert [(i.name, i.quantity, i.unit) for i in result.items] == [
        ("red lentils", 2, "cup"), ("large onion", 1, None), ("carrots", 3, None),
        ("ground cumin", 1, "tbsp"), ("salt", None, None)]
    # The page's text went to the LLM as data; its script, navigation and footer did not.
    sent = server.requests[0]["messages"][-1]["content"]
    assert "red lentils" in sent and "About" not in sent and "Rainy Kitchen blog" not in sent


@pytest.mark.parametrize("answer", [
    "not json", json.dumps({"lines": "2 cups lentils"}), json.dumps({"lines": []}),
    json.dumps({"lines": ["1 kg caviar"]}),
])
async def test_an_llm_answer_the_page_does_not_hold_offers_nothing(
        pages: RecipeServer, answer: str) -> None:
    pages.fixtures()
    with FakeOpenAI() as server:
        server.plans.append(Plan(content=answer))
        result = await reader(llm=page_llm(server)).read(pages.url("/en_blog_no_recipe.html"))
    assert result.error == "recipe_not_found" and not result.items


async def test_llm_page_items_get_the_same_buttons(uow: UnitOfWorkFactory,
                                                  pages: RecipeServer) -> None:
    pages.fixtures()
    with FakeOpenAI() as server:
        server.plans.append(Plan(content=json.dumps({"lines": ["2 cups red lentils",
                                                               "3 carrots"]})))
        result = await reader(llm=page_llm(server)).read(pages.url("/en_blog_no_recipe.html"))
    message = routed(f"look {pages.url('/en_blog_no_recipe.html')}", Intent.RECIPE_URL)
    reply = await handle(uow, replace(message, recipe=result))
    # Said to come from the page's text, with the same Add-all and per-item buttons.
    assert reply.key == "recipe_items_from_text"
    assert "read this list from its text" in render(reply)
    assert reply.buttons[0][0].data.endswith(":*")
    assert [b[0].params.get("item") for b in reply.buttons[1:]] == ["2 cups red lentils",
                                                                     "3 carrots"]


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "I found no recipe on that page"), ("he", "לא מצאתי מתכון"),
    ("ar", "ما لقيت وصفة"),
])
async def test_without_an_llm_a_page_without_a_recipe_is_said_so_with_the_dish_hint(
        uow: UnitOfWorkFactory, pages: RecipeServer, lang: str, text: str) -> None:
    pages.fixtures()
    page = pages.url(f"/{lang}_blog_no_recipe.html")
    result = await reader().read(page)
    message = routed(f"{page}", Intent.RECIPE_URL)
    reply = await handle(uow, replace(message, lang=lang, recipe=result))
    assert reply.key == "recipe_not_found" and text in render(reply)


async def test_the_bot_hands_its_llm_to_the_recipe_reader(tmp_path: Path) -> None:
    settings = Settings(_env_file=None,  # type: ignore[call-arg]
                        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
                        llm_base_url="http://127.0.0.1:9/v1")
    services = await build_services(settings)
    try:
        reader = services.dispatcher.recipes
        assert reader is not None and reader.llm is not None
        assert reader.llm is services.router.llm
    finally:
        await services.close()
