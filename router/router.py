"""The router: normalize, classify, decide, ask the LLM when unsure, extract entities.

The fallback is its own step with two settings, a confidence threshold and a margin
between the top two intents (as Rasa's FallbackClassifier has), and it always yields an
ordinary `Routed` with a logged reason, so nothing downstream special-cases it.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any, Protocol

import numpy as np

from router.classifier import Classifier
from router.clauses import (
    Clause,
    bare,
    clause_rule,
    clause_words,
    clauses,
    follow_up_lean,
    follows_up,
    handed_on,
    in_place_of,
    names_an_item,
    needs,
    opens_with_add,
    opens_with_need,
    opens_with_remove,
    same_request,
    says_list,
    shared_verb,
    unwrapped,
)
from router.entities import amount_in, extract, is_bare_item_list, is_bare_removal
from router.history import PERIODS, asks_who, asks_who_changed
from router.languages import codes, read_json
from router.layout import retype
from router.lexicon import lexicon
from router.lists import ACTIONS
from router.normalize import clean_text, detect_language, normalize
from router.types import Entities, Incoming, Intent, Item, Routed, Scored, Source

__all__ = ["LlmProposal", "LlmProposer", "Router", "entities_from_json"]

log = logging.getLogger(__name__)

# Where one request ends and the next begins: "and" glued to a word (Hebrew, Arabic), commas,
# new lines, and the languages' join words ("and", "then"; router/data/lang/<code>/words.json).
_WORD_DATA = [read_json(code, "words.json") for code in codes()]
_GLUED_AND = "".join(letter for words in _WORD_DATA for letter in words["conjunctions"])
_JOIN_WORDS = "|".join(re.escape(word) for words in _WORD_DATA
                       for word in words["join_words"]) or r"(?!)"
_JOINS = re.compile((rf"\s(?=[{re.escape(_GLUED_AND)}]\S)|" if _GLUED_AND else "")
                    + rf",|\u060c|\n|\s(?:{_JOIN_WORDS})\s", re.IGNORECASE)
_LEADING_JOIN = re.compile(rf"^(?:{_JOIN_WORDS})\s+", re.IGNORECASE)
_EDGES = " ,\u060c\n"


def _strip_join(text: str) -> str:
    text = _LEADING_JOIN.sub("", text.strip())
    if len(text) > 2 and text[0] in _GLUED_AND and not text[1].isspace():
        text = text[1:]
    return text


# Punctuation around a word, left out when a word is matched as written.
_EDGE_PUNCT = "?!.,;:\u061f\u060c\"'()"

# At most this many texts' scores are kept for one message (a message of the most clauses
# has 55 runs of neighbouring clauses), a few rows of 19 floats each.
_SCORES_KEPT = 128

# Requests whose entities are items: a bare list of items after one of these is more of it.
_TAKES_ITEMS = frozenset({Intent.GROCERY_REQUEST, Intent.REMOVE_ITEM,
                          Intent.PARTIAL_COMPLETION, Intent.UPDATE_QUANTITY})

# Requests that change the list's lines: a question asking who did one is about history.
_CHANGES_ITEMS = _TAKES_ITEMS | {Intent.CLEAR_LIST}

# How much a part alone must lean to a request for the whole message's reading to settle it.
_LEANS = 0.25

# Requests that may point back at the item a question before them named ("who added the oat
# milk?? remove it"): the verb says which, the question says what.
_POINTS_BACK = {Intent.REMOVE_ITEM: opens_with_remove, Intent.GROCERY_REQUEST: opens_with_add}

_BUG_COMMAND = re.compile(r"^\s*/bug(?:@\w+)?(?:\s|$)", re.IGNORECASE)


def _asks_who_changed(likeliest: Intent, text: str) -> bool:
    """A question opening with "who" that the model reads as a change to the list ("who
    deleted the sugar?"), or as a question about the group or history naming a grocery
    (Arabic "who wiped the sugar?", which it may hear as "who is in the group"): it asks
    about the list's history and changes nothing."""
    if not asks_who(text):
        return False
    if asks_who_changed(text) and not _names_someone(text):
        return True  # "who deleted the avocados??", whatever the model makes of a typo
    if likeliest in _CHANGES_ITEMS:
        return True
    if likeliest not in (Intent.HISTORY_QUERY, Intent.GROUP_INFO):
        return False
    item = extract(Intent.HISTORY_QUERY, text).item
    return item is not None and lexicon().lookup(item) is not None


def _sets_amount(intent: Intent, piece: str) -> bool:
    """A new amount that names no item ("change it to 2"): after a question that named one
    ("who added 5 lbs of potatoes?"), it is that item's new amount."""
    return intent is Intent.UPDATE_QUANTITY and amount_in(piece)[0] is not None and not any(
        names_an_item(item.name) for item in extract(intent, piece).items)


def _replaces(previous: Intent | None, piece: str) -> bool:
    """Whether a part after a removal names what goes on the list in its place ("scratch the
    cucumbers, zucchini instead"): an add, whatever the model reads (it hears "put whole
    wheat instead" as a new amount)."""
    if previous is not Intent.REMOVE_ITEM:
        return False
    return in_place_of(piece) is not None


def _renames_a_list(likeliest: Intent, text: str) -> bool:
    """A rename the model hears as the group's that names a list and its new name ("rename
    the 'home' list to weekly shop"): it renames that list (LIST_MANAGE)."""
    if likeliest is not Intent.RENAME_GROUP or not says_list(text):
        return False
    named = extract(Intent.LIST_MANAGE, text)
    return named.action == "rename" and bool(named.list_name) and bool(named.new_name)


def _names_someone(text: str) -> bool:
    """Whether a message names a person or the group ("who added me to the group?"): a
    question about members, not about the list's items."""
    return bool(set(normalize(text).split()) & clause_words().invitees)


def _as_written(text: str, normalized: str) -> str:
    """The words of `text` that normalize to `normalized` (an entity read from the normalized
    text), as their author wrote them: a line keeps its author's spelling."""
    tokens = [token.strip(_EDGE_PUNCT) for token in text.split()]
    size = len(normalized.split())
    for start in range(len(tokens) - size + 1):
        run = " ".join(tokens[start:start + size])
        if normalize(run) == normalized:
            return run
    return normalized


LlmProposal = list[tuple[Intent, dict[str, Any]]]


class LlmProposer(Protocol):
    """What the router needs of an LLM: intents proposed for an unsure message."""

    async def propose(self, text: str, lang: str, top: Sequence[Scored]) -> LlmProposal | None:
        """The intents (with raw entities) the message asks for, or None when unusable."""
        ...


# An amount the LLM reads from a family's message; beyond it the answer is not believed.
MAX_LLM_QUANTITY = 1000


def _grounded(name: str, said: str, concepts: set[str]) -> bool:
    """Whether an item the LLM names is in what the user wrote: its words are there, or it is
    the same lexicon item as a word there ("milk" for its Hebrew word). A message that talks
    the LLM into adding something nobody wrote adds nothing."""
    written = normalize(name)
    words = [word for word in written.split() if len(word) >= 3] or written.split()
    if written and (written in said or all(word in said for word in words)):
        return True
    entry = lexicon().lookup(name)
    return entry is not None and entry.concept in concepts


def entities_from_json(intent: Intent, raw: dict[str, Any], text: str) -> Entities:
    """Entities from an LLM answer, checked field by field; ours fill what it lacks. Items
    must be grounded in the user's words, amounts are bounded."""
    ours = extract(intent, text)
    said = normalize(text)
    concepts = {entry.concept for entry in map(lexicon().lookup, [
        *(item.name for item in ours.items), *re.findall(r"\w+", text)]) if entry is not None}
    items: list[Item] = []
    for entry in raw.get("items") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = clean_text(entry["name"])[:100]
        if not name or not _grounded(name, said, concepts):
            continue
        quantity = entry.get("quantity")
        unit = entry.get("unit")
        items.append(Item(
            name=name,
            quantity=float(quantity) if isinstance(quantity, (int, float))
            and not isinstance(quantity, bool) and 0 < quantity <= MAX_LLM_QUANTITY else None,
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
        item=ours.item or ((clean_text(raw["item"])[:100] or None)
                           if isinstance(raw.get("item"), str) else None),
        period=ours.period or (raw["period"] if raw.get("period") in PERIODS else None),
        # The LLM's reading of what to do with a list; the list's name as written, ours
        # first (it is cut from the words themselves).
        action=raw["action"] if raw.get("action") in ACTIONS else ours.action,
        list_name=ours.list_name or ((clean_text(raw["list_name"])[:64] or None)
                                     if isinstance(raw.get("list_name"), str) else None),
    )


class Router:
    """Turns an `Incoming` into a `Routed`."""

    def __init__(self, classifier: Classifier, threshold: float = 0.7, margin: float = 0.1,
                 llm: LlmProposer | None = None) -> None:
        self.classifier = classifier
        self.threshold = threshold
        self.margin = margin
        self.llm = llm
        self._scored: OrderedDict[str, np.ndarray] = OrderedDict()

    def _scores(self, text: str) -> np.ndarray:
        """One text's scores, alone (as the router always reads a text). A message and its
        parts are read several times while it is decided: their scores are kept (read-only)
        until the next message is decided."""
        row = self._scored.get(text)
        if row is not None:
            self._scored.move_to_end(text)
            return row
        row = np.asarray(self.classifier.scores([text])[0])
        row.flags.writeable = False
        self._scored[text] = row
        if len(self._scored) > _SCORES_KEPT:
            self._scored.popitem(last=False)
        return row

    def top(self, text: str, k: int = 3) -> tuple[Scored, ...]:
        """The model's k best labels for a text."""
        scores = self._scores(text)
        order = scores.argsort()[::-1][:k]
        return tuple(Scored(self.classifier.labels[i], float(scores[i])) for i in order)

    def decide(self, incoming: Incoming) -> Routed:
        """Rules and the model only: what the bot would do without asking anyone. Hebrew
        typed on the English layout is decided as the Hebrew meant (router/layout.py); the
        typed text is kept in `typed`."""
        self._scored.clear()  # what was kept is the last message's
        meant = retype(incoming.text, self._sure)
        if meant is None:
            return self._decide(incoming)
        routed = self._decide(replace(incoming, text=meant))
        return replace(routed, typed=incoming.text)

    def _sure(self, text: str) -> bool:
        top = self.top(text, 2)
        return (top[0].label is not Intent.OTHER and top[0].score >= self.threshold
                and top[0].score - top[1].score >= self.margin)

    def _decide(self, incoming: Incoming) -> Routed:
        text = incoming.text
        lang = detect_language(text, incoming.language_hint)
        if _BUG_COMMAND.match(text):
            return self._after_report(incoming, lang) or Routed(
                incoming, (Intent.BUG_REPORT,), (Entities(),), 1.0, True, Source.RULE, lang,
                reason="/bug command")
        scores = self._scores(text)
        order = list(scores.argsort()[::-1])
        top = tuple(Scored(self.classifier.labels[i], float(scores[i])) for i in order[:3])
        sure = (top[0].score >= self.threshold
                and top[0].score - (top[1].score if len(top) > 1 else 0.0) >= self.margin)
        if is_bare_item_list(text):
            # A clause that opens with a verb other than "add" ("…, and tell me who's in") may be
            # a second request among words that all look like items.
            split = (self._split(incoming, lang, top) if any(
                c.opens and not c.cue for c in clauses(text)[1:]) else None)
            if split is not None:
                return split
            # intents.md: a bare list of items, or a single word, is a grocery request.
            intent = Intent.GROCERY_REQUEST
            return Routed(incoming, (intent,), (extract(intent, text),), 1.0, True,
                          Source.RULE, lang, top, reason="only known grocery items")
        if is_bare_removal(text) and not any(
                in_place_of(text[c.start:c.end]) for c in clauses(text)[1:]):
            # (not "remove the eggs, we have some. put labneh instead")
            intent = Intent.REMOVE_ITEM
            return Routed(incoming, (intent,), (extract(intent, text),), 1.0, True,
                          Source.RULE, lang, top, reason="known items not needed")
        split = self._split(incoming, lang, top, whole_is_sure=sure) or self._shared_verb(
            incoming, lang, top)
        if split is not None:
            return split
        plain = bare(text)
        spoken = handed_on(text)
        if spoken != plain:
            # "oops, add milk": an aside before the request names no item, and the request
            # is what follows it when the model is sure of that alone (it may read "mistake,
            # add milk" as a removal); "oops, 4 eggs not 2" needs the aside to be a correction
            intent, score, confident = self._clause_verdict(spoken, self._scores(spoken))
            if confident and intent is not Intent.OTHER:
                return Routed(incoming, (intent,), (extract(intent, spoken),), score,
                              True, Source.MODEL, lang, top, part_texts=(spoken,),
                              reason="the request after an aside")
        if not sure and plain != text:
            # "hi bot! add milk": the model unsure of the whole may be sure of the request
            # without the words before it
            intent, score, confident = self._clause_verdict(plain, self._scores(plain))
            if confident and intent is not Intent.OTHER:
                return Routed(incoming, (intent,), (extract(intent, plain),), score,
                              True, Source.MODEL, lang, top, part_texts=(plain,),
                              reason="confident without the words before the request")
        if self.classifier.multi_label and self.classifier.thresholds is not None:
            return self._decide_multi(incoming, lang, scores, order, top)
        if not sure and opens_with_need(spoken):
            # A part's "we need" rule ("we're out of coffee": the words before known
            # groceries only) holds for a message of one part the model is unsure of.
            intent, score, confident = self._clause_verdict(spoken, scores)
            entities = extract(intent, spoken)
            if confident and intent is Intent.GROCERY_REQUEST and entities.items and all(
                    lexicon().lookup(item.name) is not None for item in entities.items):
                return Routed(incoming, (intent,), (entities,), score, True, Source.RULE,
                              lang, top, reason="a part's rule, model unsure")
        best = top[0]
        if _renames_a_list(best.label, spoken):
            intent = Intent.LIST_MANAGE
            return Routed(incoming, (intent,), (extract(intent, spoken),), 1.0, True,
                          Source.RULE, lang, top, reason="renames a named list")
        if _asks_who_changed(best.label, spoken) and len(clauses(spoken)) == 1:
            # one clause: "who's in the group? also tampons" asks who in one and adds in another
            intent = Intent.HISTORY_QUERY
            return Routed(incoming, (intent,), (extract(intent, spoken),), 1.0, True,
                          Source.RULE, lang, top, reason="asks who changed the list")
        second = top[1].score if len(top) > 1 else 0.0
        confident = best.score >= self.threshold and best.score - second >= self.margin
        reason = ("confident" if confident else
                  f"below threshold {self.threshold}" if best.score < self.threshold
                  else f"margin {best.score - second:.2f} below {self.margin}")
        return Routed(incoming, (best.label,), (extract(best.label, spoken),), best.score,
                      confident, Source.MODEL, lang, top, reason=reason)

    def _decide_multi(self, incoming: Incoming, lang: str, scores: np.ndarray,
                      order: list[int], top: tuple[Scored, ...]) -> Routed:
        """A multi-label model on a message not cut into clauses.

        Labels above their own thresholds are chosen; the bot acts on its own only when the
        best is above SHOPBOT_THRESHOLD and the weakest chosen label leads the best one not
        chosen by SHOPBOT_MARGIN, the same two settings the single-label path has.
        """
        text = incoming.text
        assert self.classifier.thresholds is not None
        thresholds = self.classifier.thresholds
        chosen = [i for i in order if scores[i] >= thresholds[i]]
        rest = [float(scores[i]) for i in order if i not in chosen]
        weakest = float(scores[chosen[-1]]) if chosen else float(scores[order[0]])
        lead = weakest - (rest[0] if rest else 0.0)
        confident = bool(chosen) and top[0].score >= self.threshold and lead >= self.margin
        reason = ("no label above its threshold" if not chosen else
                  f"below threshold {self.threshold}" if top[0].score < self.threshold else
                  f"margin {lead:.2f} below {self.margin}" if lead < self.margin else
                  "label above its threshold")
        labels = [self.classifier.labels[i] for i in chosen]
        if len(labels) >= 2:
            ordered = self._in_said_order(text, labels[0], labels[1])
            if ordered is not None:
                return Routed(incoming, tuple(i for i, _piece in ordered),
                              tuple(extract(i, piece) for i, piece in ordered),
                              top[0].score, confident, Source.MODEL, lang, top,
                              reason=f"two intents, in the order said; {reason}",
                              part_texts=tuple(piece for _i, piece in ordered))
        intent = labels[0] if labels else top[0].label
        return Routed(incoming, (intent,), (extract(intent, text),), top[0].score, confident,
                      Source.MODEL, lang, top, reason=reason)

    def _clause_verdict(self, text: str, row: np.ndarray) -> tuple[Intent, float, bool]:
        """One clause on its own: its intent, its confidence, and whether the bot would act
        on it (the same threshold and margin as a whole message).

        Rules come first, as for a whole message: a bare list of known items is an add, and
        `router.clauses.clause_rule` reads an add or remove verb before named items. A part
        read as a request whose entity it lacks, with that request's sibling as runner-up,
        is the sibling (`router.clauses.needs`: "show list" with no list's name); with
        another runner-up it is no request the bot acts on.
        """
        if is_bare_item_list(text):
            return Intent.GROCERY_REQUEST, 1.0, True
        order = row.argsort()[::-1]
        labels = self.classifier.labels
        sibling = needs(labels[int(order[0])], text)
        if sibling is not None and len(order) > 1 and labels[int(order[1])] is sibling:
            row = row.copy()
            row[int(order[1])] += row[int(order[0])]
            row[int(order[0])] = 0.0
            order = row.argsort()[::-1]
            sibling = None
        best, second = float(row[order[0]]), float(row[order[1]]) if len(order) > 1 else 0.0
        confident = best >= self.threshold and best - second >= self.margin
        if _asks_who_changed(labels[int(order[0])], text):
            return Intent.HISTORY_QUERY, 1.0, True  # "who deleted the sugar?" changes nothing
        if _renames_a_list(labels[int(order[0])], text):
            return Intent.LIST_MANAGE, 1.0, True  # "rename the 'home' list to weekly shop"
        ruled = clause_rule(text, self.classifier.labels[int(order[0])], confident)
        if ruled is not None:
            return ruled, 1.0, True
        # "show me the quantities" names no list of its own to show: no request to act on
        return labels[int(order[0])], best, confident and sibling is None

    def _part_verdict(self, piece: str, joined: bool) -> tuple[Intent, float, bool]:
        """A part of a message read without what only joins it to the part before ("and",
        "then", "ok so": `router.clauses.bare`) and without words wrapping its request; as
        written when the model is not sure of it that way."""
        verdict = self._clause_verdict(piece, self._scores(unwrapped(bare(piece, joined))))
        if not verdict[2] and unwrapped(piece) != unwrapped(bare(piece, joined)):
            written = self._clause_verdict(piece, self._scores(unwrapped(piece)))
            if written[2]:
                return written
        return verdict

    def _part_in_context(self, piece: str, joined: bool, previous: Intent | None,
                         whole: np.ndarray) -> tuple[Intent, float, bool]:
        """A part the model is unsure of alone, read in its message: the request before it
        is `previous`, the whole message scored `whole`.

        The whole message's scores are a second opinion, multiplied with the part's and made to
        sum to one: a short part ("what do I need for shakshuka?") is often torn between two
        close requests that the whole, read with its context, tells apart. That reading counts
        only for the request the whole reads likeliest and surely (at least the threshold),
        when it is not `previous` (the whole often reads as the request before: "I'm out of the
        group, remove my beer") and the part alone leans to it most (its likeliest, at least
        `_LEANS`). The threshold and margin hold for it as for any other reading.
        """
        row = self._scores(unwrapped(bare(piece, joined)))
        order = [int(i) for i in row.argsort()[::-1][:2]]
        labels = self.classifier.labels
        label = int(whole.argmax())
        joint = row * whole
        if labels[label] is not previous and label == order[0] and float(row[label]) >= _LEANS \
                and float(whole[label]) >= self.threshold and float(joint.sum()) > 0:
            verdict = self._clause_verdict(piece, joint / joint.sum())
            if verdict[2] and verdict[0] is labels[label]:
                return verdict
        return self._clause_verdict(piece, row)

    def _split(self, incoming: Incoming, lang: str, top: tuple[Scored, ...],
               whole_is_sure: bool = True) -> Routed | None:
        """Several requests in one message, each carried out in the order said.

        The message is cut into clauses (`router.clauses`) and every run of neighbouring
        clauses is classified on its own. A way of grouping the clauses into requests counts
        only when every request is one the bot would act on by itself (threshold and margin),
        neighbours ask for different things, a request that takes items names some, and a
        bare run of items after another request says "add" itself ("…, and add cream") or follows
        a strong join after a request that takes no items: "got everything but cheese, milk"
        stays one request. Chit-chat clauses ("thanks,") are dropped. Of the groupings that
        count, the one with the most requests, then the surest, wins. Fewer than two requests
        leave the message whole (None), except one sure request beside chit-chat in a message
        the model is unsure of as a whole ("thanks, add bread too").
        """
        text = incoming.text
        found = clauses(text)
        if len(found) < 2 or len(found) > clause_words().max_clauses:
            return None
        count = len(found)
        spans = [(i, j) for i in range(count) for j in range(i, count)
                 if (i, j) != (0, count - 1)]
        pieces = {span: text[found[span[0]].start:found[span[1]].end] for span in spans}
        whole = self._scores(text)
        verdicts = {span: self._part_verdict(pieces[span], found[span[0]].joined)
                    for span in spans}

        @cache
        def verdict_after(span: tuple[int, int], previous: Intent | None,
                          named: str | None = None) -> tuple[Intent, float, bool]:
            """A part's verdict after the request `previous` (`_part_in_context`); after a
            question that named an item (`named`), a remove or add verb pointing back at it
            ("…?? remove it") is that request by rule."""
            if named is not None and found[span[0]].refers_back:
                for intent, opens in _POINTS_BACK.items():
                    if opens(pieces[span]):
                        return intent, 1.0, True
            if _replaces(previous, pieces[span]):
                return Intent.GROCERY_REQUEST, 1.0, True  # "…, zucchini instead"
            if verdicts[span][2]:
                return verdicts[span]
            verdict = self._part_in_context(pieces[span], found[span[0]].joined, previous,
                                            whole)
            if not verdict[2] and verdict[1] >= follow_up_lean() and follows_up(
                    previous, verdict[0]):
                return verdict[0], verdict[1], True  # "cancel it and make another"
            if not verdict[2] and found[span[0]].also and self._adds_also(
                    pieces[span], found[span[0]].joined):
                return Intent.GROCERY_REQUEST, verdict[1], True  # "…? also tampons (super)"
            return verdict

        def named_by(intent: Intent, span: tuple[int, int]) -> str | None:
            """The item a question about the list's history names, or the grocery a bug
            report is about ("the bot added cucumbers I never asked for"), for a part after
            it to point at."""
            if intent not in (Intent.HISTORY_QUERY, Intent.BUG_REPORT):
                return None
            item = extract(Intent.HISTORY_QUERY, pieces[span]).item
            if not item or not names_an_item(item) or (
                    intent is Intent.BUG_REPORT and lexicon().lookup(item) is None):
                return None
            return _as_written(pieces[span], item)

        Best = tuple[int, float, tuple[tuple[int, int], ...]]

        @cache
        def best_from(start: int, previous: Intent | None,
                      named: str | None = None) -> Best | None:
            """The best grouping of clauses start.. given the request before them (and the
            item it named, when it was a question about one)."""
            if start == count:
                return (0, 0.0, ())
            winner: Best | None = None
            for end in range(start, count):
                if (start, end) not in verdicts:
                    continue
                intent, score, confident = verdict_after((start, end), previous, named)
                if not confident or intent is previous or (previous is not None and same_request(
                        previous, intent, pieces[(start, end)])):
                    continue
                if intent is not Intent.OTHER and start > 0 and not self._stands_alone(
                        intent, pieces[(start, end)], found[start], previous,
                        named is not None):
                    continue
                rest = (best_from(end + 1, previous, named) if intent is Intent.OTHER
                        else best_from(end + 1, intent, named_by(intent, (start, end))))
                if rest is None:
                    continue
                candidate = (rest[0] + (intent is not Intent.OTHER),
                             rest[1] + math.log(max(score, 1e-9)), ((start, end), *rest[2]))
                if winner is None or candidate[:2] > winner[:2]:
                    winner = candidate
            return winner

        grouping = best_from(0, None)
        if grouping is None:
            return None
        chosen = []
        previous: Intent | None = None
        named: str | None = None
        for span in grouping[2]:
            intent, score, _confident = verdict_after(span, previous, named)
            if intent is not Intent.OTHER:  # each part's words without "oops,", "and then"
                piece = handed_on(pieces[span].strip(), found[span[0]].joined)
                entities = extract(intent, piece)
                if named is not None and intent in _POINTS_BACK and found[span[0]].refers_back:
                    entities = extract(intent, named)  # "remove it": the item asked about
                elif named is not None and _sets_amount(intent, piece):
                    quantity, unit = amount_in(piece)  # "change it to 2": the item asked about
                    entities = replace(entities, items=(Item(named, quantity, unit),))
                elif _replaces(previous, piece):
                    # its last clause names what goes in ("we have plenty. put labneh instead")
                    last = text[found[span[1]].start:found[span[1]].end]
                    entities = extract(intent, in_place_of(last) or in_place_of(piece) or piece)
                chosen.append((intent, piece, score, entities))
                previous, named = intent, named_by(intent, span)
        if len(chosen) == 1 and not whole_is_sure and len(grouping[2]) > 1:
            intent, piece, score, entities = chosen[0]
            return Routed(incoming, (intent,), (entities,), score, True,
                          Source.MODEL, lang, top, reason="one request beside chit-chat",
                          part_texts=(piece,))
        if len(chosen) < 2:
            return None
        return Routed(incoming, tuple(intent for intent, _t, _s, _e in chosen),
                      tuple(entities for _i, _t, _s, entities in chosen),
                      min(score for _i, _t, score, _e in chosen), True, Source.MODEL, lang,
                      top, reason=f"{len(chosen)} requests, in the order said",
                      part_texts=tuple(piece for _i, piece, _s, _e in chosen))

    def _adds_also(self, piece: str, joined: bool) -> bool:
        """A part after "also"/"plus" that names items and that the model, leaving talk aside,
        reads likeliest as an add (at least `_LEANS`): "…? also tampons (super)" adds them,
        though the note in brackets makes the model unsure of it alone."""
        row = self._scores(unwrapped(bare(piece, joined)))
        labels = self.classifier.labels
        requests = [i for i in row.argsort()[::-1] if labels[int(i)] is not Intent.OTHER]
        add = labels.index(Intent.GROCERY_REQUEST)
        return bool(requests) and int(requests[0]) == add and float(row[add]) >= _LEANS \
            and any(names_an_item(item.name)
                    for item in extract(Intent.GROCERY_REQUEST, piece).items)

    def _after_report(self, incoming: Incoming, lang: str) -> Routed | None:
        """A `/bug` report followed, after a sentence end or a new line, by requests ("/bug
        the bot deleted my cheese. add cheese again"): the report is the words before, the
        requests are carried out after it. They count only when the sentence opens with a
        verb and every request in it is one the bot would act on by itself, so a report that
        goes on telling ("… it happened twice.") stays all report."""
        text = incoming.text
        found = clauses(text)
        for before, clause in itertools.pairwise(found):
            if not (clause.strong and clause.opens):
                continue
            rest = self._decide(replace(incoming, text=text[clause.start:]))
            if not rest.routed or any(intent in (Intent.OTHER, Intent.BUG_REPORT)
                                      for intent in rest.intents):
                continue
            report = text[:before.end].strip()
            return Routed(incoming, (Intent.BUG_REPORT, *rest.intents),
                          (Entities(), *rest.entities_list), rest.confidence, True,
                          rest.source, lang, rest.top, part_texts=(report, *rest.texts),
                          reason=f"/bug command, then {rest.reason}")
        return None

    def _shared_verb(self, incoming: Incoming, lang: str,
                     top: tuple[Scored, ...]) -> Routed | None:
        """Two requests sharing one verb ("show me the list and the invite code"): each half
        read with the verb (`router.clauses.shared_verb`) is a sure request, they ask for
        different things that are not one request said twice, and neither is about items (so
        "add milk and eggs", "remove the milk and the eggs" stay one request)."""
        text = incoming.text
        if len(clauses(text)) != 1:
            return None
        for said_first, right in shared_verb(text):
            left = handed_on(said_first)
            first = self._part_verdict(left, False)
            second = self._part_verdict(right, False)
            intents = (first[0], second[0])
            if not (first[2] and second[2]) or intents[0] is intents[1] or any(
                    i in _TAKES_ITEMS or i is Intent.OTHER for i in intents) \
                    or same_request(*intents, right):
                continue
            return Routed(incoming, intents, (extract(intents[0], left),
                                              extract(intents[1], right)),
                          min(first[1], second[1]), True, Source.MODEL, lang, top,
                          reason="2 requests sharing one verb, in the order said",
                          part_texts=(left, right))
        return None

    @staticmethod
    def _stands_alone(intent: Intent, piece: str, clause: Clause,
                      previous: Intent | None, item_named_before: bool = False) -> bool:
        """Whether a clause after the first can be a request of its own after `previous`
        (None when only chit-chat came before); `item_named_before`: that request was a
        question naming an item, which "remove it" may point at."""
        names = intent in _TAKES_ITEMS and any(
            names_an_item(item.name) for item in extract(intent, piece).items)
        if item_named_before and ((clause.refers_back and intent in _POINTS_BACK)
                                  or _sets_amount(intent, piece)):
            return True
        if intent is Intent.GROCERY_REQUEST and _replaces(previous, piece):
            return True
        if intent in _TAKES_ITEMS and not names:
            return False  # "scratch that", "remove" with nothing to remove: not on its own
        if not clause.strong and not clause.opens and not clause.joined:
            return False  # "…, found a bag": more about the clause before, not a request
        if clause.refers_back and not names:
            # "…, cancel it", "…, pop it on the list": about the clause before; but after
            # "show me the list", "then clear it" is the list (`follows_up`)
            return follows_up(previous, intent)
        if intent is Intent.GROCERY_REQUEST and previous is not None and not clause.cue:
            return clause.strong and previous not in _TAKES_ITEMS
        return True

    def _in_said_order(self, text: str, a: Intent,
                       b: Intent) -> list[tuple[Intent, str]] | None:
        """Split a two-request message where it reads best as "a then b" or "b then a".

        Each place people join requests ("and", a glued "and", a comma, a new line, "then") is
        tried; the split whose halves the model scores highest for the two intents wins, and
        each intent gets its own half's entities.
        """
        cuts = sorted({m.start() for m in _JOINS.finditer(text)} - {0})
        if not cuts:
            return None
        halves = [(text[:cut].strip(_EDGES), text[cut:].lstrip(_EDGES)) for cut in cuts]
        halves = [(left, _strip_join(right)) for left, right in halves if left and right]
        if not halves:
            return None
        scores = [self._scores(piece) for pair in halves for piece in pair]
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
        incoming = routed.incoming  # the Hebrew meant, when typed on the wrong layout
        proposal = await self.llm.propose(incoming.text, routed.lang, routed.top)
        if not proposal:
            log.info("llm gave no usable answer; %s", routed.reason)
            return routed
        intents = tuple(intent for intent, _raw in proposal)
        entities = tuple(entities_from_json(intent, raw, incoming.text)
                         for intent, raw in proposal)
        return Routed(incoming, intents, entities, routed.confidence, True, Source.LLM,
                      routed.lang, routed.top, reason=f"llm after {routed.reason}",
                      typed=routed.typed)
