"""Where one request in a message may end and the next begin.

People put several requests in one message ("we bought everything but the cheese, and add
cream too", "show me the list and add bananas"). This module only finds the places such a
message could be cut: sentence ends, new lines and commas; joining words ("then", "after
that"); and "and" (free, or glued to the next word as Hebrew and Arabic write it) before a word
that opens a request (a verb, a question word). It also reads what a clause opens with (an
add verb, a remove verb, a word pointing back), which the router uses on each part. Every word
lives in `router/data/lang/<code>/clauses.json` (what no language owns in
`router/data/clauses.json`). Whether a cut is taken is the router's decision, made with
the model on each side (`router.router`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from router.entities import corrects_amount, extract
from router.languages import LANG_DIR, codes, read_json
from router.lexicon import lexicon
from router.normalize import normalize
from router.types import Intent

__all__ = ["Clause", "ClauseWords", "bare", "clause_rule", "clause_words", "clauses",
           "follow_up_lean", "follows_up", "handed_on", "in_place_of", "names_an_item", "needs",
           "opens_with_add", "opens_with_need", "opens_with_remove", "same_request", "says_list",
           "shared_verb", "unwrapped"]

DATA = Path(__file__).with_name("data") / "clauses.json"
_TOKEN = re.compile(r"\S+")
# Sentence ends, commas and quotes of every script (the Arabic comma, semicolon and question
# mark are U+060C, U+061B, U+061F).
_SENTENCE_END = re.compile("[.!?\u061f;\u061b\u2026]+[\"')\\]]*$")
_COMMA_END = re.compile("[,\u060c]+$")
# A pasted link ends what was said before it, as a sentence end does ("here's the recipe
# https://… show me what's missing after").
_LINK = re.compile(r"(?:https?://|www\.)\S+$", re.IGNORECASE)
_EDGE_PUNCT = re.compile("^[\"'(\\[\u00ab\u201c]+"
                         "|[\"')\\]\u00bb\u201d.,\u060c!?\u061f;\u061b:\u2026]+$")
_EDGE_SPACE = " \t\n,\u060c"
# A token that ends in an emoji ("done 👍 show me who's in") closes a thought like a comma.
_EMOJI_END = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff]"
                        "[\ufe0f\u200d\U0001f3fb-\U0001f3ff]*$")

Phrases = tuple[tuple[str, ...], ...]
# Questions about the list or a dish: "what do we need" is no add, whatever it names.
_ASKS = frozenset({Intent.LIST_QUERY, Intent.RECIPE_SEARCH, Intent.RECIPE_URL})
# Requests about items, one of which a correction of an amount may be heard as.
_ITEM_REQUESTS = frozenset({Intent.GROCERY_REQUEST, Intent.UPDATE_QUANTITY, Intent.REMOVE_ITEM,
                            Intent.PARTIAL_COMPLETION})


@dataclass(frozen=True, slots=True)
class ClauseWords:
    """The word lists of `clauses.json`, normalized, all languages together."""

    glued: frozenset[str]
    free: frozenset[str]
    connectors: frozenset[str]
    joins: Phrases  # longest first
    starters: frozenset[str]
    add_cues: frozenset[str]
    same_request: frozenset[tuple[str, str]]
    not_items: frozenset[str]
    back_references: Phrases
    pronoun_suffixes: tuple[str, ...]
    verb_suffixes: tuple[str, ...]
    fillers: frozenset[str]
    asides: frozenset[str]
    modals: Phrases
    add_verbs: Phrases
    add_leads: Phrases
    remove_verbs: Phrases
    invitees: frozenset[str]
    wrappers: Phrases
    verb_prefixes: tuple[str, ...]
    verb_endings: tuple[str, ...]
    question_wrappers: Phrases
    question_words: frozenset[str]
    instead: Phrases
    max_clauses: int


def _phrases(values: list[str]) -> Phrases:
    return tuple(sorted({tuple(normalize(v).split()) for v in values} - {()}, key=len,
                        reverse=True))


@cache
def clause_words() -> ClauseWords:
    """The bundled word lists of every registered language, joined (read once)."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    per_language = [read_json(code, "clauses.json") for code in codes()
                    if (LANG_DIR / code / "clauses.json").is_file()]

    def every(key: str) -> list[str]:
        return [str(w) for data in per_language for w in data.get(key, [])]

    def words(key: str) -> frozenset[str]:
        return frozenset(normalize(w) for w in every(key))

    def suffixes(key: str) -> tuple[str, ...]:
        return tuple(sorted({normalize(s) for s in every(key)}, key=len, reverse=True))

    pairs = set()
    for first, second in raw["same_request"]["either_order"]:
        pairs |= {(first, second), (second, first)}
    pairs |= {(first, second) for first, second in raw["same_request"]["in_this_order"]}
    return ClauseWords(
        glued=frozenset(every("glued")),
        free=words("free"),
        connectors=words("connectors"),
        joins=_phrases(every("joins")),
        starters=words("starters"),
        add_cues=words("add_cues"),
        same_request=frozenset(pairs),
        not_items=words("not_items"),
        back_references=_phrases(every("back_references")),
        pronoun_suffixes=suffixes("pronoun_suffixes"),
        verb_suffixes=suffixes("verb_suffixes"),
        fillers=words("fillers"),
        asides=words("asides"),
        modals=_phrases(every("modals")),
        add_verbs=_phrases(every("add_verbs")),
        add_leads=_phrases(every("add_leads")),
        remove_verbs=_phrases(every("remove_verbs")),
        invitees=words("invitees"),
        wrappers=_phrases(every("wrappers")),
        verb_prefixes=tuple(normalize(p) for p in every("verb_prefixes")),
        verb_endings=suffixes("verb_endings"),
        question_wrappers=_phrases(every("question_wrappers")),
        question_words=words("question_words"),
        instead=_phrases(every("instead")),
        max_clauses=int(raw["max_clauses"]),
    )


@dataclass(frozen=True, slots=True)
class Clause:
    """One stretch of a message between two possible cuts.

    Attributes:
        start, end: the clause's words in the original text (joining words left out).
        strong: the cut before it is a sentence end, a new line or a joining word ("then",
            "and also"), not just a comma or an "and".
        cue: its first word says "add" ("add", "also", "we need"), so a bare list of items
            after another request is a request of its own.
        opens: its first word opens a request (a verb, a question word, an add cue); after
            a weak cut only such a clause starts a new request ("…, found a bag" does not).
        refers_back: its object points at the clause before ("add it", "cancel that").
        joined: after a comma, an "and" (free, glued, or a language's contrasting "and")
            introduces it ("…, and the pasta we don't need"): it may be a request of its own
            even when it opens with its object, not a verb.
        also: the joining word before it says "add" as well ("also", "plus", Hebrew "and
            also"): "who's in the group? also tampons" adds them.
    """

    start: int
    end: int
    strong: bool = False
    cue: bool = False
    opens: bool = False
    refers_back: bool = False
    joined: bool = False
    also: bool = False


def _word(token: str) -> str:
    return normalize(_EDGE_PUNCT.sub("", token))


def _is_starter(word: str, words: ClauseWords) -> bool:
    """A word that opens a request, also with an object pronoun glued to its end (Arabic
    "turn off for me" is the verb and a suffix)."""
    return word in words.starters or any(
        word.endswith(suffix) and word[:-len(suffix)] in words.starters
        for suffix in words.verb_suffixes if len(word) >= len(suffix) + 3)


def _verb_like(word: str, words: ClauseWords) -> bool:
    """A word of four letters or more shaped like a command (a language's `verb_prefixes`,
    Hebrew future-tense; its `verb_endings`, Russian imperatives) that names no known item:
    it may open a request though no list has it."""
    shaped = word.startswith(words.verb_prefixes) or word.endswith(words.verb_endings)
    return len(word) >= 4 and shaped and word not in words.not_items \
        and lexicon().lookup(word) is None


def _unglued(word: str, words: ClauseWords) -> str | None:
    """The word without a glued "and" when what is left opens a request: a starter, or a
    Hebrew verb form (a future-tense prefix and four letters or more)."""
    if len(word) > 2 and word[0] in words.glued and not _is_starter(word, words) and (
            _is_starter(word[1:], words)
            or (len(word) > 4 and word[1:].startswith(words.verb_prefixes))):
        return word[1:]
    return None


def _opening(said: list[str], words: ClauseWords) -> list[str]:
    """A clause's words from where its request opens: past fillers ("please", "so"), a glued
    "and", and words that only soften the verb after them ("can you", "I want to")."""
    said = list(said)

    def softened() -> list[str] | None:
        for modal in words.modals:
            rest = said[len(modal):]
            if tuple(said[:len(modal)]) == modal and rest and (
                    _is_starter(rest[0], words) or rest[0] in words.add_cues):
                return rest
        return None

    while len(said) > 1 and said[0] in words.fillers:
        if (rest := softened()) is not None:  # a modal that starts with a filler word
            return rest
        said.pop(0)
    if said and len(said[0]) > 2 and said[0][0] in words.glued and (
            said[0][1:] in words.add_cues or _is_starter(said[0][1:], words)):
        said[0] = said[0][1:]
    return softened() or said


def _is_and(word: str, words: ClauseWords) -> bool:
    """"and" as a word of its own, also a glued "and" written apart as a word."""
    return word in words.free or word in words.glued


def clauses(text: str) -> list[Clause]:
    """The clauses of a message in order; one clause when there is nowhere to cut.

    Every clause is a possible request; neighbours may still belong together ("milk, eggs"),
    which the router decides. A clause of nothing but fillers ("oops,", "ok so") is no
    request: it joins the clause after it.
    """
    words = clause_words()
    tokens = list(_TOKEN.finditer(text))
    if len(tokens) < 2:
        return [Clause(0, len(text))]
    normal = [_word(t.group(0)) for t in tokens]
    out: list[Clause] = []
    start, strong, joined, also = tokens[0].start(), False, False, False
    opened = 0  # the token the current clause starts at
    after = ""  # what the previous token ended with: "", "weak" (a comma), "strong"
    index = 0
    while index < len(tokens):
        token, word = tokens[index], normal[index]
        base = after
        if index > 0 and "\n" in text[tokens[index - 1].end():token.start()]:
            base = "strong"
        join = next((phrase for phrase in words.joins
                     if tuple(normal[index:index + len(phrase)]) == phrase), None)
        cut, skip, glued, linked = base, 0, 0, False
        if index == 0:
            cut = ""
        elif join is not None and index + len(join) < len(tokens):
            cut, skip = "strong", len(join)
        elif _is_and(word, words) and index + 1 < len(tokens) and (
                _is_starter(normal[index + 1], words) or _unglued(normal[index + 1], words)
                or _verb_like(normal[index + 1], words)):
            cut, skip, linked = base or "weak", 1, True
        elif _unglued(word, words) is not None:
            cut, glued, linked = base or "weak", 1, True
        elif not cut and index + 1 < len(tokens) and _verb_last(normal[opened:index], words) \
                and (_is_and(word, words) or word in words.connectors
                     or (len(word) > 2 and word[0] in words.glued)):
            # "the bread remove it and the milk make it 2": after a clause that put its object
            # first and ended on its verb, an "and" opens the next one
            cut, linked = "weak", True
            skip = 1 if _is_and(word, words) or word in words.connectors else 0
        elif not cut and _verb_head([t.group(0) for t in tokens], normal, index, words) \
                and _commands(normal[opened:index], words) \
                and normal[index - 1] not in words.question_words \
                and not _points_back(normal[index + 1:index + 3], words):
            # (not "write down what to buy": a verb after a question word is that question's)
            cut = "weak"  # "add bamba show me what we have": a verb phrase opens a request
        elif cut and (_is_and(word, words) or word in words.connectors) \
                and index + 1 < len(tokens):
            skip, linked = 1, True  # ", and milk", ", and the pasta we don't need"
        elif cut and len(word) > 2 and word[0] in words.glued:
            linked = True  # ", and-the-pasta …" with the "and" glued on
        if cut:
            if text[start:tokens[index - 1].end()].strip():
                out.append(Clause(start, tokens[index - 1].end(), strong, joined=joined,
                                  also=also))
            strong = cut == "strong"
            joined = linked and cut == "weak"
            also = join is not None and skip == len(join) and _says_add(join[-1], words)
            index += skip
            opened = index
            start = tokens[index].start() + glued
            if skip and _unglued(normal[index], words) is not None:
                start += 1  # ", and then" followed by a verb with its own glued "and"
        raw = tokens[index].group(0)
        listed = _is_number(raw) and (index == 0 or "\n" in text[
            tokens[index - 1].end():token.start()])
        after = ("strong" if (_SENTENCE_END.search(raw) and not listed)
                 or _LINK.match(raw)
                 else "weak" if _COMMA_END.search(raw) or _EMOJI_END.search(raw) else "")
        index += 1
    if text[start:].strip():
        out.append(Clause(start, len(text), strong, joined=joined, also=also))
    found = [_with_cue(_trimmed(clause, text), text, words) for clause in _merged(out, text)]
    return found or [Clause(0, len(text))]


def _says_add(word: str, words: ClauseWords) -> bool:
    """Whether a joining word says "add" too ("also"; Hebrew, Arabic with "and" glued on)."""
    return word in words.add_cues or (len(word) > 2 and word[0] in words.glued
                                      and word[1:] in words.add_cues)


def _points_back(said: list[str], words: ClauseWords) -> bool:
    """Whether words right after a verb point back at what came before ("remove it")."""
    return any(tuple(said[:len(ref)]) == ref for ref in words.back_references)


def _verb_last(said: list[str], words: ClauseWords) -> bool:
    """Whether a clause so far put its object first and ends on its verb ("the bread, remove
    it"; a verb with an object pronoun glued on counts): two words or more, the first no verb."""
    rest = [word for word in said if word not in words.fillers]
    if len(rest) < 2 or _is_starter(rest[0], words) or _verb_like(rest[0], words):
        return False
    last = rest[-1]
    return _is_starter(last, words) or _verb_like(last, words) or any(
        last.endswith(suffix) and _is_starter(last[:-len(suffix)], words)
        for suffix in words.pronoun_suffixes if len(last) > len(suffix) + 1)


@cache
def _verb_heads() -> Phrases:
    """Phrases that only a verb opens: add and remove verbs, words wrapping a request ("tell
    me", "show me"), each starting with a word that opens a request."""
    words = clause_words()
    heads = {phrase for phrase in (*words.add_verbs, *words.remove_verbs,
                                   *words.question_wrappers, *words.wrappers)
             if _is_starter(phrase[0], words) and phrase not in words.modals}
    return tuple(sorted(heads, key=len, reverse=True))


def _verb_head(raw: list[str], said: list[str], index: int, words: ClauseWords) -> bool:
    """Whether a verb phrase starts at `index` (`_verb_heads`) and its clause goes on after
    it: a verb that ends its clause ("the cream, remove,") has its object before it, in the
    same request."""
    for head in _verb_heads():
        end = index + len(head)
        if tuple(said[index:end]) == head:
            return end < len(raw) and not (_SENTENCE_END.search(raw[end - 1])
                                           or _COMMA_END.search(raw[end - 1]))
    return False


def _commands(said: list[str], words: ClauseWords) -> bool:
    """Whether the words of a clause so far are a command of their own before another verb:
    they open with a verb phrase (past fillers, a mention and "can you") and go on after it
    ("add bamba"; not "can you" before its verb, nor "when did we last" before "buy", nor
    "we want to make sabich, so" before "add whatever we need", nor "I found lafa in the
    pantry" before "remove it"). A verb pointing back ("the bread remove it") is no new
    request either (`_points_back`, at the cut)."""
    rest = _opening([word for word in said if not word.startswith("@")], words)
    return any(tuple(rest[:len(head)]) == head and len(rest) > len(head)
               for head in _verb_heads())


def _merged(found: list[Clause], text: str) -> list[Clause]:
    """Clauses of nothing but fillers ("oops,", "correction:") joined to the clause after them
    (the last one to the clause before it)."""
    words = clause_words()
    fillers = words.fillers | words.asides
    out: list[Clause] = []
    waiting: Clause | None = None
    for clause in found:
        if waiting is not None:
            clause = Clause(waiting.start, clause.end, waiting.strong, joined=waiting.joined,
                            also=waiting.also)
            waiting = None
        said = _said(text[clause.start:clause.end])
        if said and all(word in fillers for word in said):
            waiting = clause
            continue
        out.append(clause)
    if waiting is not None:
        if out:
            last = out.pop()
            out.append(Clause(last.start, waiting.end, last.strong, joined=last.joined,
                              also=last.also))
        else:
            out.append(waiting)
    return out


def _trimmed(clause: Clause, text: str) -> Clause:
    """Without the spaces and commas at its edges (a question mark stays: it tells)."""
    piece = text[clause.start:clause.end]
    left = len(piece) - len(piece.lstrip(_EDGE_SPACE))
    right = len(piece.rstrip(_EDGE_SPACE))
    return Clause(clause.start + left, clause.start + max(right, left), clause.strong,
                  joined=clause.joined, also=clause.also)


def _is_number(token: str) -> bool:
    """"2." opening a line of a numbered list is not the end of a sentence; nor is "1.5"
    (but "make it 3, not 2. and bananas" ends one)."""
    return bool(re.fullmatch(r"\d+[.)]?", token))


def _said(text: str) -> list[str]:
    return [word for word in (_word(token) for token in text.split()) if word]


def _with_cue(clause: Clause, text: str, words: ClauseWords) -> Clause:
    said = _opening(_said(text[clause.start:clause.end]), words)
    if not said:
        return clause
    first = said[0]
    # "cancel it", "add them too": the verb, the word pointing back and at most one more;
    # "rename it to Home" says more than that and stands on its own.
    refers = len([w for w in said if w not in words.fillers]) <= 3 and any(
        tuple(said[1:1 + len(ref)]) == ref for ref in words.back_references)
    if len([w for w in said if w not in words.fillers]) == 1:
        # "remove-it", also with a word of no meaning after it ("cancel-it quickly")
        refers = any(first.endswith(suffix) and first[:-len(suffix)] in words.starters
                     for suffix in words.pronoun_suffixes if len(first) > len(suffix) + 1)
    # A verb alone with its object glued on ("cancel it") points back; it opens nothing.
    opens = first in words.add_cues or first in words.starters or bool(
        _unglued(first, words)) or (_is_starter(first, words) and not refers) or (
        _verb_like(first, words) and not refers)
    cue = (first in words.add_cues or _opening_verb(said, words.add_verbs) > 0
           or clause.also) and not _removes_first(said, words)
    return Clause(clause.start, clause.end, clause.strong, cue=cue, opens=opens or cue,
                  refers_back=refers, joined=clause.joined, also=clause.also)


@cache
def _needs() -> dict[Intent, tuple[str, Intent]]:
    raw = json.loads(DATA.read_text(encoding="utf-8")).get("needs", {})
    return {Intent(label): (str(need["entity"]), Intent(need["else"]))
            for label, need in raw.items()}


@cache
def _follow_ups() -> tuple[frozenset[tuple[Intent, Intent]], float]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    pairs = frozenset((Intent(first), Intent(second)) for first, second in raw["follow_ups"])
    return pairs, float(raw["follow_up_lean"])


def follows_up(previous: Intent | None, intent: Intent) -> bool:
    """Whether `intent` often comes right after `previous`, pointing back at it ("cancel it
    and make another", "switch to the pharmacy list and show it"; data/clauses.json)."""
    return (previous, intent) in _follow_ups()[0] if previous is not None else False


def follow_up_lean() -> float:
    """How much a part must lean to a follow-up request for it to count (data/clauses.json)."""
    return _follow_ups()[1]


def needs(intent: Intent, said: str) -> Intent | None:
    """The sibling request a part read as `intent` is when it names none of the entity
    that request carries (router/data/clauses.json `needs`): "show list" with no list's name
    is the list question; None when it names one, or `intent` needs none."""
    need = _needs().get(intent)
    if need is None:
        return None
    entity, sibling = need
    return None if getattr(extract(intent, said), entity) else sibling


def same_request(first: str, second: str, said: str | None = None) -> bool:
    """A request `second` right after `first` is the same request said in two breaths
    ("the code leaked, cancel it"); "cancel the code and make a new one" is two.

    With the later part's words (`said`), a pair about a recipe and the list is one request
    only while the later part names nothing of its own: "https://… what do we need?" and
    "https://… add the ingredients" are one, "https://… and show me the list" (it names the
    list) and "…, and add milk" (a known grocery) are two."""
    if (first, second) not in clause_words().same_request:
        return False
    return said is None or not _names_its_own(Intent(second), said)


@cache
def _list_words() -> frozenset[str]:
    """The word "list" in its forms, every language (words.json `lists.words`)."""
    return frozenset(normalize(word) for code in codes()
                     for word in read_json(code, "words.json").get("lists", {}).get("words", []))


def says_list(text: str) -> bool:
    """Whether a text has the word "list" in one of its forms, in any language."""
    return bool(set(_said(text)) & _list_words())


def _names_its_own(intent: Intent, said: str) -> bool:
    """Whether a part names the thing it is about rather than pointing back: the list, a
    known grocery, a link."""
    if intent is Intent.LIST_QUERY:
        return bool(set(_said(said)) & _list_words())
    if intent is Intent.GROCERY_REQUEST:
        return any(_known(item.name) for item in extract(intent, said).items)
    if intent is Intent.RECIPE_URL:
        return extract(intent, said).url is not None
    return False


def names_an_item(name: str) -> bool:
    """False for a word that stands for an item without naming one ("that", "the list") and
    for a bare number ("not 1")."""
    key = normalize(name).strip()
    return bool(key) and key not in clause_words().not_items and not re.fullmatch(
        r"[\d.,/]+", key)


def _opens_with(text: str, verbs: Phrases) -> bool:
    said = _opening(_said(text), clause_words())
    return _opening_verb(said, verbs) > 0


def _opening_verb(said: list[str], verbs: Phrases) -> int:
    """How many words the longest of `verbs` that opens `said` has, with words after it."""
    return max((len(verb) for verb in verbs
                if tuple(said[:len(verb)]) == verb and len(said) > len(verb)), default=0)


def _removes_first(said: list[str], words: ClauseWords) -> bool:
    """Whether a remove verb opens the words that is longer than any add verb opening them:
    "get rid of the cream cheese" removes though "get" adds."""
    return _opening_verb(said, words.remove_verbs) > _opening_verb(said, words.add_verbs)


def in_place_of(text: str) -> str | None:
    """The words of a clause that name what goes on the list in place of something removed
    ("zucchini instead", Hebrew "instead-of-it write tahini", Arabic "put instead-of-it
    labneh"), without the word saying so; None when the clause says no such thing, or what is
    left neither opens with an add verb nor names known groceries only. The word
    counts at the clause's start or end, or right after its first word (the verb); a bare
    "instead" that takes an object ("instead of the milk …") only at the end."""
    tokens = text.split()
    said = [_word(token) for token in tokens]
    phrases = clause_words().instead
    for phrase in phrases:
        takes_object = len(phrase) == 1 and any(
            len(longer) > 1 and longer[0] == phrase[0] for longer in phrases)
        size = len(phrase)
        ends = [len(said) - size] + ([] if takes_object else [0, 1])
        for at in ends:
            if at < 0 or tuple(said[at:at + size]) != phrase:
                continue
            rest = " ".join(tokens[:at] + tokens[at + size:]).strip(" ,\u060c")
            items = extract(Intent.GROCERY_REQUEST, rest).items if rest else ()
            # what is left says "add", or names groceries only ("we have it instead" does not)
            if items and (opens_with_add(rest) or all(_known(normalize(item.name))
                                                     for item in items)):
                return rest
    return None


def opens_with_add(text: str) -> bool:
    """Whether a clause opens with a verb that says "put it on the list" ("add", "buy"),
    after any fillers, a glued "and" and a softening "can you" (not "get rid of")."""
    words = clause_words()
    said = _opening(_said(text), words)
    return _opening_verb(said, words.add_verbs) > 0 and not _removes_first(said, words)


def opens_with_need(text: str) -> bool:
    """Whether a clause opens with words that say "we need" ("we're out of", Gulf "I want")."""
    return _opens_with(text, clause_words().add_leads)


def opens_with_remove(text: str) -> bool:
    """Whether a clause opens with a verb that takes something off the list ("remove")."""
    return _opens_with(text, clause_words().remove_verbs)


def _known(name: str) -> bool:
    """Whether an item's words hold a known grocery: the whole name, or a run of its words
    ("for next time baking paper", "in string cheese": the words around it are no item)."""
    said = name.split()
    return any(lexicon().lookup(" ".join(said[i:j])) is not None
               for i in range(len(said)) for j in range(len(said), i, -1))


def clause_rule(text: str, likeliest: Intent, sure: bool = True) -> Intent | None:
    """The intent a part of a message has by rule, whatever the model's confidence in it
    alone; None when no rule applies. `likeliest` is the model's best label for the part.

    A short part alone is where the model is least sure, and an add verb before a new word
    reads to it like an invitation ("add labneh"). So: an add verb followed by named items is
    an add, unless the model reads it (surely, `sure`, or unsure as a question about the list
    or a dish: "add the ingredients") as something other than an add or an invitation and no
    item holds a known grocery, or it names a person or an invitation ("add my wife"). Words
    that say "we need" ("we're out of", Gulf "I want") before known groceries only are an add
    too, unless the model hears a question about the list or a dish. An item's amount, then
    "not" and another amount, corrects the amount when the model hears a request about items.
    A remove
    verb followed only by known groceries is a removal when the model leans to a removal or
    to one of the requests a remove verb is confused with (revoking, clearing); followed by
    other named things (no person) when the model leans to a removal without being sure.
    """
    words = clause_words()
    said = set(_said(text))
    if likeliest in _ITEM_REQUESTS and corrects_amount(text):
        return Intent.UPDATE_QUANTITY  # "1.5 kilo chicken, not a kilo"
    if opens_with_add(text):
        items = [i for i in extract(Intent.GROCERY_REQUEST, text).items
                 if names_an_item(i.name)]
        known = any(_known(item.name) for item in items)
        if items and (known or (((not sure and likeliest not in _ASKS) or likeliest in (
                Intent.GROCERY_REQUEST, Intent.CREATE_INVITE, Intent.OTHER))
                and not said & words.invitees)):
            return Intent.GROCERY_REQUEST
    if _opens_with(text, words.add_leads) and likeliest not in _ASKS:
        needed = extract(Intent.GROCERY_REQUEST, text).items
        if needed and all(names_an_item(item.name) and lexicon().lookup(item.name) is not None
                         for item in needed):
            return Intent.GROCERY_REQUEST
    if _opens_with(text, words.remove_verbs) and likeliest in (
            Intent.REMOVE_ITEM, Intent.REVOKE_INVITE, Intent.CLEAR_LIST):
        removed = extract(Intent.REMOVE_ITEM, text).items
        if removed and all(names_an_item(item.name) and (_known(item.name) or (
                likeliest is Intent.REMOVE_ITEM and not sure and not said & words.invitees))
                for item in removed):
            return Intent.REMOVE_ITEM
    return None


def bare(text: str, joined: bool = False) -> str:
    """A part as the model should read it: without the words before its request that only
    join it to what came before or soften it ("and", "then", "ok so", "oops,"), and, for a
    part an "and" introduced (`Clause.joined`), without the "and" glued to its first word
    ("and-the-sugar, throw it out" is read as "the sugar, throw it out"). A question word and
    a word that says "add" ("also") are never passed over; the part itself when nothing would
    be left."""
    words = clause_words()
    tokens = text.split()
    said = [_word(token) for token in tokens]
    index = 0
    while index < len(tokens) - 1:
        word = said[index]
        join = next((phrase for phrase in words.joins
                     if tuple(said[index:index + len(phrase)]) == phrase
                     and index + len(phrase) < len(tokens)), None)
        if word in words.add_cues or (len(word) > 2 and word[0] in words.glued
                                      and word[1:] in words.add_cues):
            break  # "also", "and-also": they say "add", the model needs them
        if any(len(phrase) > 1 and tuple(said[index:index + len(phrase)]) == phrase
               for phrase in (*words.modals, *words.wrappers)):
            break  # a softening phrase whose first word is a filler of its own
        if join is not None:
            index += len(join)
        elif word and word not in words.question_words and (
                word in words.fillers or _is_and(word, words) or word in words.connectors):
            index += 1
        elif not word:
            index += 1  # a dash, an emoji
        else:
            break
    rest = tokens[index:]
    first = said[index] if rest else ""
    if (joined or index) and len(first) > 2 and first[0] in words.glued \
            and rest[0][:1] in words.glued and first[1:] not in words.question_words \
            and not _is_starter(first, words) and lexicon().lookup(first) is None:
        rest = [rest[0][1:], *rest[1:]]  # not "show me", which begins with the letter
    return " ".join(rest) if rest else text


def handed_on(text: str, joined: bool = False) -> str:
    """A part's words as its request is carried out with them: `bare`, and without the
    asides before it ("oops, make the eggs 12" is about the eggs, not an item "oops")."""
    words = clause_words()
    said = bare(text, joined)
    tokens = said.split()
    index = 0
    while index < len(tokens) - 1 and _word(tokens[index]) in words.asides:
        index += 1
    return bare(" ".join(tokens[index:])) if index else said


def unwrapped(text: str) -> str:
    """A clause without words that only wrap a question or soften a verb ("tell me who's
    here" is "who's here", "can you show the list" is "show the list"); the clause itself
    when nothing wraps it."""
    words = clause_words()
    tokens = text.split()
    said = [_word(token) for token in tokens]
    if said and len(said[0]) > 2 and said[0][0] in words.glued and (
            (said[0][1:],) in words.wrappers or (said[0][1:],) in words.question_wrappers):
        said[0] = said[0][1:]
    if said and (said[0],) not in words.wrappers:
        # a one-word wrapper with an object pronoun glued on ("tell-me-for-me")
        said[0] = next((said[0][:-len(suffix)] for suffix in words.verb_suffixes
                        if said[0].endswith(suffix) and len(said[0]) - len(suffix) >= 3
                        and (said[0][:-len(suffix)],) in words.wrappers), said[0])
    for wrapper in words.wrappers:
        if tuple(said[:len(wrapper)]) == wrapper and len(said) > len(wrapper):
            return " ".join(tokens[len(wrapper):])
    for wrapper in words.question_wrappers:  # "show me who's in it", not "show me the list"
        if tuple(said[:len(wrapper)]) == wrapper and len(said) > len(wrapper) \
                and said[len(wrapper)] in words.question_words:
            return " ".join(tokens[len(wrapper):])
    return text


def shared_verb(text: str) -> list[tuple[str, str]]:
    """Where one verb may serve two requests ("show me the list and the invite code"): for
    every "and" (free, or glued to a word) after the verb the message opens with, the words
    before it, and the verb with the words after it ("show me the invite code"). The verb is
    a wrapper or a starter that is no question word ("what … and …" is one question); none
    when the message opens with no verb."""
    words = clause_words()
    tokens = text.split()
    said = [_word(token) for token in tokens]
    lead = 0
    while lead < len(said) - 1 and said[lead] in words.fillers:
        lead += 1
    verbs = [*words.question_wrappers, *words.wrappers]
    verb = next((len(phrase) for phrase in sorted(verbs, key=len, reverse=True)
                 if tuple(said[lead:lead + len(phrase)]) == phrase), 0)
    if not verb and lead < len(said) and _is_starter(said[lead], words) \
            and said[lead] not in words.question_words:
        verb = 1
    if not verb:
        return []
    head = " ".join(tokens[lead:lead + verb])
    out = []
    for index in range(lead + verb + 1, len(tokens) - 1):
        if _is_and(said[index], words):
            rest = tokens[index + 1:]
        elif len(said[index]) > 2 and said[index][0] in words.glued \
                and tokens[index][:1] in words.glued and not _is_starter(said[index], words) \
                and lexicon().lookup(said[index]) is None:
            rest = [tokens[index][1:], *tokens[index + 1:]]
        else:
            continue
        out.append((" ".join(tokens[:index]).rstrip(_EDGE_SPACE), f"{head} {' '.join(rest)}"))
    return out
