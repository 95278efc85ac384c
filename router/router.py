"""The router: normalize, classify, decide, ask the LLM when unsure, extract entities.

The fallback is its own step with two settings, a confidence threshold and a margin
between the top two intents (as Rasa's FallbackClassifier has), and it always yields an
ordinary `Routed` with a logged reason, so nothing downstream special-cases it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

from router.classifier import Classifier
from router.entities import extract, is_bare_item_list
from router.normalize import clean_text, detect_language
from router.types import Entities, Incoming, Intent, Item, Routed, Scored, Source

__all__ = ["LlmProposal", "LlmProposer", "Router", "entities_from_json"]

log = logging.getLogger(__name__)

# Where one request ends and the next begins: "and", "ו"/"و" glued to a word, commas, "then".
_JOINS = re.compile(r"\s(?:and|then|also|plus)\s|\s(?=[וو]\S)|,|،|\n|\s(?:ואז|וגם|وبعدين|وكمان)\s",
                    re.IGNORECASE)
_LEADING_JOIN = re.compile(r"^(?:and|then|also|plus|ואז|וגם|وبعدين|وكمان)\s+", re.IGNORECASE)


def _strip_join(text: str) -> str:
    text = _LEADING_JOIN.sub("", text.strip())
    if len(text) > 2 and text[0] in "וو" and not text[1].isspace():
        text = text[1:]
    return text


_BUG_COMMAND = re.compile(r"^\s*/bug(?:@\w+)?(?:\s|$)", re.IGNORECASE)

LlmProposal = list[tuple[Intent, dict[str, Any]]]


class LlmProposer(Protocol):
    """What the router needs of an LLM: intents proposed for an unsure message."""

    async def propose(self, text: str, lang: str, top: Sequence[Scored]) -> LlmProposal | None:
        """The intents (with raw entities) the message asks for, or None when unusable."""
        ...


def entities_from_json(intent: Intent, raw: dict[str, Any], text: str) -> Entities:
    """Entities from an LLM answer, checked field by field; ours fill what it lacks."""
    ours = extract(intent, text)
    items: list[Item] = []
    for entry in raw.get("items") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        quantity = entry.get("quantity")
        unit = entry.get("unit")
        items.append(Item(
            name=clean_text(entry["name"])[:100],
            quantity=float(quantity) if isinstance(quantity, (int, float))
            and not isinstance(quantity, bool) else None,
            unit=clean_text(unit)[:32] if isinstance(unit, str) and unit.strip() else None,
        ))
    state = raw.get("state") if raw.get("state") in ("on", "off", "status") else None
    new_name = raw.get("new_name") if isinstance(raw.get("new_name"), str) else None
    dish = raw.get("dish") if isinstance(raw.get("dish"), str) else None
    return Entities(
        items=tuple(items) or ours.items,
        new_name=(clean_text(new_name)[:64] or None) if new_name else ours.new_name,
        state=state or ours.state,
        dish=(clean_text(dish)[:64] or None) if dish else ours.dish,
        url=ours.url,  # a URL is only ever one the user actually wrote
    )


class Router:
    """Turns an `Incoming` into a `Routed`."""

    def __init__(self, classifier: Classifier, threshold: float = 0.7, margin: float = 0.1,
                 llm: LlmProposer | None = None) -> None:
        self.classifier = classifier
        self.threshold = threshold
        self.margin = margin
        self.llm = llm

    def top(self, text: str, k: int = 3) -> tuple[Scored, ...]:
        """The model's k best labels for a text."""
        scores = self.classifier.scores([text])[0]
        order = scores.argsort()[::-1][:k]
        return tuple(Scored(self.classifier.labels[i], float(scores[i])) for i in order)

    def decide(self, incoming: Incoming) -> Routed:
        """Rules and the model only: what the bot would do without asking anyone."""
        text = incoming.text
        lang = detect_language(text, incoming.language_hint)
        if _BUG_COMMAND.match(text):
            return Routed(incoming, (Intent.BUG_REPORT,), (Entities(),), 1.0, True,
                          Source.RULE, lang, reason="/bug command")
        scores = self.classifier.scores([text])[0]
        order = list(scores.argsort()[::-1])
        top = tuple(Scored(self.classifier.labels[i], float(scores[i])) for i in order[:3])
        if is_bare_item_list(text):
            # intents.md: a bare list of items, or a single word, is a grocery request.
            intent = Intent.GROCERY_REQUEST
            return Routed(incoming, (intent,), (extract(intent, text),), 1.0, True,
                          Source.RULE, lang, top, reason="only known grocery items")
        if self.classifier.multi_label and self.classifier.thresholds is not None:
            thresholds = self.classifier.thresholds
            chosen = [self.classifier.labels[i] for i in order if scores[i] >= thresholds[i]]
            if len(chosen) >= 2:
                ordered = self._in_said_order(text, chosen[0], chosen[1])
                if ordered is not None:
                    intents = tuple(intent for intent, _piece in ordered)
                    return Routed(incoming, intents,
                                  tuple(extract(i, piece) for i, piece in ordered),
                                  top[0].score, True, Source.MODEL, lang, top,
                                  reason="two intents, in the order said")
            if chosen:
                intent = chosen[0]
                return Routed(incoming, (intent,), (extract(intent, text),),
                              top[0].score, True, Source.MODEL, lang, top,
                              reason="label above its threshold")
            return Routed(incoming, (top[0].label,), (extract(top[0].label, text),),
                          top[0].score, False, Source.MODEL, lang, top,
                          reason="no label above its threshold")
        best = top[0]
        second = top[1].score if len(top) > 1 else 0.0
        confident = best.score >= self.threshold and best.score - second >= self.margin
        reason = ("confident" if confident else
                  f"below threshold {self.threshold}" if best.score < self.threshold
                  else f"margin {best.score - second:.2f} below {self.margin}")
        return Routed(incoming, (best.label,), (extract(best.label, text),), best.score,
                      confident, Source.MODEL, lang, top, reason=reason)

    def _in_said_order(self, text: str, a: Intent,
                       b: Intent) -> list[tuple[Intent, str]] | None:
        """Split a two-request message where it reads best as "a then b" or "b then a".

        Each place people join requests ("and", "ו", "و", a comma, a new line, "then") is
        tried; the split whose halves the model scores highest for the two intents wins, and
        each intent gets its own half's entities.
        """
        cuts = sorted({m.start() for m in _JOINS.finditer(text)} - {0})
        if not cuts:
            return None
        halves = [(text[:cut].strip(" ,،\n"), text[cut:].lstrip(" ,،\n")) for cut in cuts]
        halves = [(left, _strip_join(right)) for left, right in halves if left and right]
        if not halves:
            return None
        scores = self.classifier.scores([piece for pair in halves for piece in pair])
        ia, ib = self.classifier.labels.index(a), self.classifier.labels.index(b)
        best: tuple[float, list[tuple[Intent, str]]] | None = None
        for index, (left, right) in enumerate(halves):
            first, second = scores[2 * index], scores[2 * index + 1]
            for score, ordered in ((first[ia] * second[ib], [(a, left), (b, right)]),
                                   (first[ib] * second[ia], [(b, left), (a, right)])):
                if best is None or score > best[0]:
                    best = (float(score), ordered)
        return best[1] if best else None

    async def route(self, incoming: Incoming, use_llm: bool = True) -> Routed:
        """Decide; when unsure and allowed, ask the LLM and act only on a valid answer."""
        routed = self.decide(incoming)
        if routed.routed or self.llm is None or not use_llm:
            return routed
        proposal = await self.llm.propose(incoming.text, routed.lang, routed.top)
        if not proposal:
            log.info("llm gave no usable answer; %s", routed.reason)
            return routed
        intents = tuple(intent for intent, _raw in proposal)
        entities = tuple(entities_from_json(intent, raw, incoming.text)
                         for intent, raw in proposal)
        return Routed(incoming, intents, entities, routed.confidence, True, Source.LLM,
                      routed.lang, routed.top, reason=f"llm after {routed.reason}")
