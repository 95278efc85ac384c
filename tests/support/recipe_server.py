"""Recipe pages on a loopback HTTP server, for the recipe-link tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from router.recipes import RecipeReader
from tests.support.loopback import LoopbackServer, QuietHandler

__all__ = ["FIXTURES", "SITE", "RecipeServer", "fixture_site", "json_ld_page", "microdata_page"]

# Pages written for these tests, modeled on real sites' markup (tests/fixtures/recipes).
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "recipes"
# The host name conversation scripts use for those pages: http://recipes.test/<file>.
SITE = "recipes.test"


def json_ld_page(name: str, ingredients: list[str], charset: str = "utf-8") -> str:
    data = {"@context": "https://schema.org", "@type": "Recipe", "name": name,
            "recipeIngredient": ingredients, "recipeInstructions": "Mix. Cook. Eat."}
    return (f'<!doctype html><html><head><meta charset="{charset}"><title>{name}</title>'
            f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}'
            f"</script></head><body><h1>{name}</h1></body></html>")


def microdata_page(name: str, ingredients: list[str]) -> str:
    rows = "".join(f'<li itemprop="recipeIngredient">{i}</li>' for i in ingredients)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{name}</title></head>'
            f'<body><div itemscope itemtype="https://schema.org/Recipe">'
            f'<h1 itemprop="name">{name}</h1><ul>{rows}</ul></div></body></html>')


class RecipeServer:
    """Serves `pages[path] = (status, headers, body bytes, delay)` on one loopback address."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                status, headers, body, delay = server.pages.get(
                    self.path, (404, {"Content-Type": "text/html"}, b"not found", 0.0))
                if delay:
                    time.sleep(delay)
                self.reply(status, headers, body)

        self._loopback = LoopbackServer(Handler, host)
        self.host = host

    @property
    def port(self) -> int:
        return int(self._loopback.port)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def html(self, path: str, text: str, charset: str = "utf-8", delay: float = 0.0) -> None:
        self.pages[path] = (200, {"Content-Type": f"text/html; charset={charset}"},
                            text.encode(charset), delay)

    def fixtures(self, folder: Path = FIXTURES) -> list[str]:
        """Serve every page of a folder at /<file name>; the names served."""
        names = sorted(p.name for p in folder.glob("*.html"))
        for name in names:
            self.pages[f"/{name}"] = (200, {"Content-Type": "text/html; charset=utf-8"},
                                      (folder / name).read_bytes(), 0.0)
        return names

    def __enter__(self) -> RecipeServer:
        self._loopback.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loopback.stop()


@contextmanager
def fixture_site(host: str = "127.0.0.2") -> Iterator[RecipeReader]:
    """The fixture pages on a loopback server, and a reader that finds them at
    http://recipes.test/<file> (only that server's address is let through)."""
    with RecipeServer(host) as server:
        server.fixtures()
        yield RecipeReader(allowed_networks=(f"{host}/32",),
                           hosts={SITE: (host, server.port)})
