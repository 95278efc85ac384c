"""Golden answers of the bundled model: about 30 messages per language that it is sure of.

Each line of tests/data/golden.jsonl is a message written for this test (not taken from the
corpus templates or the evaluation sets), in every language the model knows, covering every
intent of the model per language, with the intent the bundled model gives it and the
confidence it had when the line was written (0.9 or more, far from the 0.7 threshold and the
0.9 a clear needs).

Two things are checked. The behaviour: each message gets its intent from the model and is
routed, so the bot acts on it without asking anyone and without the LLM. The model itself:
the confidence is the recorded one to within 0.01, so a model directory replaced by accident
(`shopbot train` writes to SHOPBOT_MODEL_DIR, which defaults to the bundled one) fails here
even when every answer stays the same.

After a deliberate promotion the confidences are refreshed, never the intents (a changed
intent is a regression to look at, or a line to rewrite):

    .venv/bin/python tests/test_golden.py --refresh
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

if __name__ == "__main__":  # run as a script from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import BUNDLED_MODEL
from router.classifier import Classifier
from router.router import LlmProposal, Router
from router.types import Incoming, Intent, Scored, Source

GOLDEN = Path(__file__).parent / "data" / "golden.jsonl"
LANGUAGES = ("he", "en", "ar", "ru")
# The recorded confidence is the model's fingerprint; onnxruntime's own noise is far smaller.
SAME_MODEL = 0.01


def _lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()
            if line.strip()]


LINES = _lines()


class NoLlm:
    """An LLM that must never be asked: golden messages are the model's to decide."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def propose(self, text: str, lang: str, top: Any) -> LlmProposal | None:
        self.asked.append(text)
        return None


@pytest.fixture(scope="module")
def router(classifier: Classifier) -> Router:
    return Router(classifier, llm=NoLlm())


def test_every_language_has_about_thirty_lines_over_all_intents(router: Router) -> None:
    per_language = Counter(line["lang"] for line in LINES)
    assert set(per_language) == set(LANGUAGES)
    assert all(count >= 30 for count in per_language.values()), per_language
    for lang in LANGUAGES:
        assert {Intent(line["intent"]) for line in LINES if line["lang"] == lang} == set(
            router.classifier.labels)
    assert len({line["text"] for line in LINES}) == len(LINES)


@pytest.mark.parametrize("line", LINES, ids=[f"{g['lang']}-{i:03d}" for i, g in enumerate(LINES)])
async def test_the_bundled_model_answers_as_recorded(router: Router, line: dict[str, Any]
                                                     ) -> None:
    routed = await router.route(Incoming(chat_id=1, user_id=1, text=line["text"]))
    assert isinstance(router.llm, NoLlm)
    assert router.llm.asked == [], f"sent to the LLM: {line['text']}"
    assert routed.routed and routed.source is not Source.LLM, (line["text"], routed.reason)
    assert routed.intents == (Intent(line["intent"]),), (line["text"], routed.intents)
    best: Scored = router.top(line["text"], k=1)[0]
    assert best.label is Intent(line["intent"]), (line["text"], best)
    assert best.score == pytest.approx(line["confidence"], abs=SAME_MODEL), (
        f"{line['text']}: {best.score:.4f}, recorded {line['confidence']} — the bundled model "
        "changed; after a deliberate promotion run tests/test_golden.py --refresh")


def refresh() -> int:
    """Record the bundled model's confidences; refuse if any answer changed or is unsure."""
    router = Router(Classifier.from_dir(BUNDLED_MODEL))
    out, wrong = [], []
    for line in LINES:
        routed = asyncio.run(router.route(Incoming(chat_id=1, user_id=1, text=line["text"])))
        best = router.top(line["text"], k=1)[0]
        if (best.label is not Intent(line["intent"]) or best.score < 0.9
                or routed.intents != (best.label,) or not routed.routed):
            wrong.append(f"{line['lang']} {line['intent']} -> {best.label.value} "
                         f"{best.score:.3f}: {line['text']}")
        out.append({**line, "confidence": round(best.score, 4)})
    if wrong:
        print("not refreshed; these lines are no longer sure answers:", *wrong, sep="\n  ")
        return 1
    GOLDEN.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in out),
                      encoding="utf-8")
    print(f"{GOLDEN}: {len(out)} confidences recorded")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--refresh"]:
        raise SystemExit("usage: tests/test_golden.py --refresh")
    raise SystemExit(refresh())
