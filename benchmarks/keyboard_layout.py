"""How often Hebrew typed with the English layout on is read back, and English never is.

Every Hebrew message of the independent evaluation sets is turned into the keys a Hebrew
speaker presses with the English layout on (router/data/keyboard_he.json, inverted), then
read back by `router.layout.retype` alone (word lists) and by the router (word lists or the
bundled model's confidence). Every English message of the same sets must stay as typed. The
word lists are built from the templates, slots and lexicon only, so these sets are held out.

    .venv/bin/python benchmarks/keyboard_layout.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.settings import BUNDLED_MODEL  # noqa: E402
from router.classifier import Classifier  # noqa: E402
from router.layout import keyboard, retype  # noqa: E402
from router.router import Router  # noqa: E402
from router.types import Incoming  # noqa: E402

EVAL = ROOT / "models" / "corpus" / "eval"


def messages(lang: str) -> list[str]:
    """The evaluation sets' messages of one language."""
    found = []
    for path in sorted(EVAL.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("lang") == lang:
                    found.append(str(row["text"]))
    return found


def typed_on_english(text: str) -> str | None:
    """The keys pressed for `text` on the Hebrew layout, as the English layout shows them;
    None when a character has no key there (an emoji, a dash typed another way)."""
    keys = {hebrew: latin for latin, hebrew in keyboard().keys.items()}
    out = []
    for char in text:
        if char in keys:
            out.append(keys[char])
        elif char.isascii() and not char.isalpha() and char not in ",.;'/":
            out.append(char)  # digits, spaces, ?, ! are the same keys in both layouts
        else:
            return None
    return "".join(out)


def main() -> None:
    router = Router(Classifier.from_dir(BUNDLED_MODEL))
    hebrew = messages("he")
    pairs = [(text, typed) for text in hebrew if (typed := typed_on_english(text))]
    by_words = sum(retype(typed) == text for text, typed in pairs)
    by_router = sum(
        router.decide(Incoming(chat_id=1, user_id=1, text=typed)).incoming.text == text
        for text, typed in pairs)
    english = messages("en")
    kept = sum(router.decide(Incoming(chat_id=1, user_id=1, text=text)).incoming.text == text
               for text in english)
    print(f"Hebrew messages: {len(hebrew)}, typeable on the English layout: {len(pairs)}")
    print(f"  read back exactly by the word lists: {by_words} ({by_words / len(pairs):.1%})")
    print(f"  read back exactly by the router:     {by_router} ({by_router / len(pairs):.1%})")
    print(f"English messages: {len(english)}, left as typed: {kept} ({kept / len(english):.1%})")


if __name__ == "__main__":
    main()
