"""Where one request in a message may end and the next begin.

People put several requests in one message ("קנינו הכל חוץ מהגבינה, ותוסיף גם שמנת", "show me
the list and add bananas", "شيل الحليب وضيف بيض"). This module only finds the places such a
message could be cut: sentence ends, new lines and commas; joining words ("then", "ואז",
"وبعدين"); and "and" (free, or glued as ו/و) before a word that opens a request (a verb, a
question word). The words live in `router/data/clauses.json`. Whether a cut is taken is the
router's decision, made with the model on each side (`router.router`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from router.normalize import normalize

__all__ = ["Clause", "ClauseWords", "clause_words", "clauses", "names_an_item", "opens_with_add",
           "same_request", "unwrapped"]

DATA = Path(__file__).with_name("data") / "clauses.json"
_TOKEN = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?؟;…]+[\"')\]]*$")
_COMMA_END = re.compile(r"[,،]+$")
_EDGE_PUNCT = re.compile(r"^[\"'(\[«“]+|[\"')\]»”.,،!?؟;:…]+$")


@dataclass(frozen=True, slots=True)
class ClauseWords:
    """The word lists of `clauses.json`, normalized, all languages together."""

    glued: frozenset[str]
    free: frozenset[str]
    joins: tuple[tuple[str, ...], ...]  # longest first
    starters: frozenset[str]
    add_cues: frozenset[str]
    same_request: frozenset[frozenset[str]]
    not_items: frozenset[str]
    back_references: tuple[tuple[str, ...], ...]
    pronoun_suffixes: tuple[str, ...]
    fillers: frozenset[str]
    add_verbs: tuple[tuple[str, ...], ...]
    wrappers: tuple[tuple[str, ...], ...]
    verb_prefixes: tuple[str, ...]
    question_wrappers: tuple[tuple[str, ...], ...]
    question_words: frozenset[str]
    max_clauses: int


@cache
def clause_words() -> ClauseWords:
    """The bundled word lists (read once)."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))

    def words(section: str) -> frozenset[str]:
        return frozenset(normalize(w) for values in raw[section].values() for w in values)

    joins = {tuple(normalize(phrase).split()) for values in raw["joins"].values()
             for phrase in values}
    return ClauseWords(
        glued=frozenset(raw["conjunctions"]["glued"]),
        free=frozenset(normalize(w) for w in raw["conjunctions"]["free"]),
        joins=tuple(sorted(joins, key=len, reverse=True)),
        starters=words("starters"),
        add_cues=words("add_cues"),
        same_request=frozenset(frozenset(pair) for pair in raw["same_request"]),
        not_items=words("not_items"),
        back_references=tuple({tuple(normalize(phrase).split())
                               for values in raw["back_references"].values()
                               for phrase in values}),
        pronoun_suffixes=tuple(sorted({normalize(s) for values in raw["pronoun_suffixes"].values()
                                       for s in values}, key=len, reverse=True)),
        fillers=words("fillers"),
        add_verbs=tuple(sorted({tuple(normalize(v).split()) for values in raw["add_verbs"].values()
                                for v in values}, key=len, reverse=True)),
        wrappers=tuple(sorted({tuple(normalize(v).split()) for values in raw["wrappers"].values()
                               for v in values}, key=len, reverse=True)),
        verb_prefixes=tuple(normalize(p) for values in raw["verb_prefixes"].values()
                            for p in values),
        question_wrappers=tuple(sorted({tuple(normalize(v).split())
                                        for values in raw["question_wrappers"].values()
                                        for v in values}, key=len, reverse=True)),
        question_words=words("question_words"),
        max_clauses=int(raw["max_clauses"]),
    )


@dataclass(frozen=True, slots=True)
class Clause:
    """One stretch of a message between two possible cuts.

    Attributes:
        start, end: the clause's words in the original text (joining words left out).
        strong: the cut before it is a sentence end, a new line or a joining word ("then",
            "וגם"), not just a comma or an "and".
        cue: its first word says "add" ("תוסיף", "also", "بدنا"), so a bare list of items
            after another request is a request of its own.
        opens: its first word opens a request (a verb, a question word, an add cue); after
            a weak cut only such a clause starts a new request ("…, found a bag" does not).
        refers_back: its object points at the clause before ("add it", "תמחק אותו", "شيله").
    """

    start: int
    end: int
    strong: bool = False
    cue: bool = False
    opens: bool = False
    refers_back: bool = False


def _word(token: str) -> str:
    return normalize(_EDGE_PUNCT.sub("", token))


def _unglued(word: str, words: ClauseWords) -> str | None:
    """The word without a glued "and" (ו, و) when what is left opens a request: a starter,
    or a Hebrew verb form ("ותבדוק")."""
    if len(word) > 2 and word[0] in words.glued and word not in words.starters and (
            word[1:] in words.starters
            or (len(word) > 4 and word[1:].startswith(words.verb_prefixes))):
        return word[1:]
    return None


def clauses(text: str) -> list[Clause]:
    """The clauses of a message in order; one clause when there is nowhere to cut.

    Every clause is a possible request; neighbours may still belong together ("milk, eggs"),
    which the router decides.
    """
    words = clause_words()
    tokens = list(_TOKEN.finditer(text))
    if len(tokens) < 2:
        return [Clause(0, len(text))]
    normal = [_word(t.group(0)) for t in tokens]
    out: list[Clause] = []
    start, strong = tokens[0].start(), False
    after = ""  # what the previous token ended with: "", "weak" (a comma), "strong"
    index = 0
    while index < len(tokens):
        token, word = tokens[index], normal[index]
        base = after
        if index > 0 and "\n" in text[tokens[index - 1].end():token.start()]:
            base = "strong"
        join = next((phrase for phrase in words.joins
                     if tuple(normal[index:index + len(phrase)]) == phrase), None)
        cut, skip, glued = base, 0, 0
        if index == 0:
            cut = ""
        elif join is not None and index + len(join) < len(tokens):
            cut, skip = "strong", len(join)
        elif word in words.free and index + 1 < len(tokens) and (
                normal[index + 1] in words.starters or _unglued(normal[index + 1], words)):
            cut, skip = base or "weak", 1
        elif _unglued(word, words) is not None:
            cut, glued = base or "weak", 1
        elif cut and word in words.free and index + 1 < len(tokens):
            skip = 1  # ", and milk"
        if cut:
            if text[start:tokens[index - 1].end()].strip():
                out.append(Clause(start, tokens[index - 1].end(), strong))
            strong = cut == "strong"
            index += skip
            start = tokens[index].start() + glued
            if skip and _unglued(normal[index], words) is not None:
                start += 1  # ", and then ותוסיף": a glued "and" after the joining words
        raw = tokens[index].group(0)
        after = ("strong" if _SENTENCE_END.search(raw) and not _is_number(raw)
                 else "weak" if _COMMA_END.search(raw) else "")
        index += 1
    if text[start:].strip():
        out.append(Clause(start, len(text), strong))
    return [_with_cue(_trimmed(clause, text), text, words) for clause in out] or [
        Clause(0, len(text))]


def _trimmed(clause: Clause, text: str) -> Clause:
    """Without the spaces and commas at its edges (a question mark stays: it tells)."""
    piece = text[clause.start:clause.end]
    left = len(piece) - len(piece.lstrip(" \t\n,،"))
    right = len(piece.rstrip(" \t\n,،"))
    return Clause(clause.start + left, clause.start + max(right, left), clause.strong)


def _is_number(token: str) -> bool:
    """"2." in a numbered list is not the end of a sentence; nor is "1.5"."""
    return bool(re.fullmatch(r"\d+[.)]?", token))


def _with_cue(clause: Clause, text: str, words: ClauseWords) -> Clause:
    said = [_word(token) for token in text[clause.start:clause.end].split()]
    said = [word for word in said if word]
    while len(said) > 1 and said[0] in words.fillers:
        said.pop(0)  # "please add …", "يلا ضيف …": the request opens after the filler
    if not said:
        return clause
    first = said[0]
    if len(first) > 2 and first[0] in words.glued and (
            first[1:] in words.add_cues or first[1:] in words.starters):
        first = first[1:]
    refers = any(tuple(said[1:1 + len(ref)]) == ref for ref in words.back_references)
    if len(said) == 1:
        refers = any(first.endswith(suffix) and first[:-len(suffix)] in words.starters
                     for suffix in words.pronoun_suffixes if len(first) > len(suffix) + 1)
    return Clause(clause.start, clause.end, clause.strong, cue=first in words.add_cues,
                  opens=first in words.add_cues or first in words.starters
                  or bool(_unglued(first, words)), refers_back=refers)


def same_request(first: str, second: str) -> bool:
    """Neighbouring clauses with these two intents are one request said in two breaths."""
    return frozenset((first, second)) in clause_words().same_request


def names_an_item(name: str) -> bool:
    """False for a word that stands for an item without naming one ("that", "זה", "هاد")
    and for a bare number ("not 1")."""
    key = normalize(name).strip()
    return bool(key) and key not in clause_words().not_items and not re.fullmatch(
        r"[\d.,/]+", key)


def opens_with_add(text: str) -> bool:
    """Whether a clause opens with a verb that says "put it on the list" ("add", "תוסיף",
    "ضيف"), after any fillers and a glued "and"."""
    words = clause_words()
    said = [_word(token) for token in text.split()]
    said = [word for word in said if word]
    while len(said) > 1 and said[0] in words.fillers:
        said.pop(0)
    if said and len(said[0]) > 2 and said[0][0] in words.glued and (said[0][1:],) in \
            words.add_verbs:
        said[0] = said[0][1:]
    return any(tuple(said[:len(verb)]) == verb and len(said) > len(verb)
               for verb in words.add_verbs)


def unwrapped(text: str) -> str:
    """A clause without words that only wrap a question ("tell me who's here" → "who's
    here", "قلي مين هون" → "مين هون", "وريني مين فيه" → "مين فيه"); the clause itself when
    nothing wraps it."""
    words = clause_words()
    tokens = text.split()
    said = [_word(token) for token in tokens]
    start = 1 if said and len(said[0]) > 2 and said[0][0] in words.glued and (
        said[0][1:],) in words.wrappers else 0
    if start:
        said[0] = said[0][1:]
    for wrapper in words.wrappers:
        if tuple(said[:len(wrapper)]) == wrapper and len(said) > len(wrapper):
            return " ".join(tokens[len(wrapper):])
    for wrapper in words.question_wrappers:  # "show me who's in it", not "show me the list"
        if tuple(said[:len(wrapper)]) == wrapper and len(said) > len(wrapper) \
                and said[len(wrapper)] in words.question_words:
            return " ".join(tokens[len(wrapper):])
    return text
