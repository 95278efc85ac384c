"""Entity extraction (intents.md): items with amounts, new names, states, dishes, URLs.

Rule-based and lexicon-assisted, shared by the handlers (through `Routed`) and by
`shopbot classify`, so what the command prints is what the bot acts on.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from router.history import history_entities
from router.languages import codes, languages, read_json, read_tsv, script_class
from router.lexicon import Lexicon, lexicon
from router.lists import asked_list, list_entities, split_target
from router.normalize import clean_text, normalize, strip_marks
from router.types import Entities, Intent, Item

__all__ = ["MAX_ITEMS", "amount_in", "bought_items", "corrects_amount", "extract",
           "is_bare_item_list", "is_bare_removal", "parse_items", "parse_quantity_unit",
           "suggestions_switch"]

MAX_ITEMS = 100

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?|\d+/\d+|[½¼¾⅓⅔])$")
# A minus glued to a number ("-5 milk") is kept as the minus sign, which no punctuation rule
# strips, so the amount stays negative and the handler refuses it instead of adding 5.
_MINUS = "\u2212"
_NEGATIVE = re.compile(r"(?<!\S)[-–](?=\d)")
_BULLETS = re.compile(r"(?m)^[ \t]*[-–—•*][ \t]*")
_MIXED = re.compile(r"^(\d+)([½¼¾⅓⅔])$")
_GLUED = re.compile(r"^(\d+(?:[.,]\d+)?)([^\d\s.,/].*)$")
_TIMES = re.compile(r"^(?:x|×)(\d+)$|^(\d+)(?:x|×)$", re.IGNORECASE)
_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75, "⅓": 1 / 3, "⅔": 2 / 3}

# Every registered language's words (router/data/lang/<code>/amounts.json and words.json; the
# README there says what each key means), joined in the languages' order: the code below
# knows no language, only kinds of words.
_AMOUNT_DATA: list[dict[str, Any]] = [read_json(code, "amounts.json") for code in codes()]
_WORD_DATA: list[dict[str, Any]] = [read_json(code, "words.json") for code in codes()]
# An alternation that never matches, for a kind of words no language has yet.
_NEVER = r"(?!)"


def _listed(key: str, data: list[dict[str, Any]] = _WORD_DATA) -> list[Any]:
    return [value for language in data for value in language.get(key) or ()]


def _normalized(key: str, data: list[dict[str, Any]] = _WORD_DATA) -> frozenset[str]:
    return frozenset(normalize(word) for word in _listed(key, data))


def _patterns(key: str) -> str:
    """The languages' regex fragments of one kind as one alternation."""
    return "|".join(fragment for language in _WORD_DATA
                    for fragment in language["patterns"].get(key) or ()) or _NEVER


def _escaped(words: list[str]) -> str:
    return "|".join(map(re.escape, words)) or _NEVER


NUMBER_WORDS: dict[str, float] = {normalize(word): float(value) for language in _AMOUNT_DATA
                                  for word, value in language["numbers"].items()}
# Canonical unit per language, keyed by every spelling (normalized).
UNITS: dict[str, str] = {normalize(spelling): canonical for language in _AMOUNT_DATA
                         for canonical, spellings in language["units"].items()
                         for spelling in [canonical, *spellings]}
# Units that carry their own "2" (Arabic duals), and words that are an amount and a unit.
DUAL_UNITS: dict[str, str] = {normalize(word): unit for language in _AMOUNT_DATA
                              for word, unit in language["dual_units"].items()}
_PACKED: dict[str, tuple[float, str]] = {
    **{word: (2.0, unit) for word, unit in DUAL_UNITS.items()},
    **{normalize(word): (float(value), str(unit)) for language in _AMOUNT_DATA
       for word, (value, unit) in (language.get("amount_units") or {}).items()},
}
_DUAL_SUFFIXES: list[tuple[str, str]] = [(normalize(suffix), ending) for suffix, ending
                                         in _listed("dual_suffixes", _AMOUNT_DATA)]
# "and a half" after an amount: its one-word forms, and every form as its words.
_HALF_PHRASES = tuple(sorted({tuple(normalize(p).split()) for p in _listed("half_after",
                                                                          _AMOUNT_DATA)},
                             key=len, reverse=True))
_HALF_AFTER = frozenset(p[0] for p in _HALF_PHRASES if len(p) == 1)
_HALF_WORDS = _normalized("half_words", _AMOUNT_DATA)
_NOT_TRAILING = _normalized("not_trailing", _AMOUNT_DATA)
_UNIT_PREFIXES = tuple(_listed("unit_prefixes", _AMOUNT_DATA))
_SET_MARKERS = _normalized("set_markers")
_EXCEPT_TAIL = _normalized("except_tail")
# "and" glued to the front of the next word (single letters), and standing alone.
_CONJUNCTIONS = "".join(_listed("conjunctions"))
_AND_WORDS = _normalized("and_words")
_OF_WORDS = _normalized("of_words")
_AMOUNT_ARTICLES = _normalized("amount_articles")
_SKIP_WORDS = _normalized("skip_words")
_STRIP_PREFIXES: list[tuple[str, str]] = [(prefix, rule) for prefix, rule
                                          in _listed("strip_prefixes")]

# Words that frame a request rather than name an item; stripped from the edges of a
# segment. None of them is a grocery item on its own.
FILLERS = _normalized("fillers")

_HYPHENS = "-\u05be"  # ASCII and the Hebrew maqaf
_SPLIT = re.compile(r"\s*(?:[\n;,\u060c+&]|\b(?:" + _escaped(_listed("and_words"))
                    + r")\b|\s-\s|\s\|\s)\s*", re.IGNORECASE)
_PUNCT = "\\s\"'()\\[\\]{}.!?\u061f:*\u2022\u00b7\\-\u2013\u2014\u2026"
_TRAILING_PUNCT = re.compile(f"^[{_PUNCT}]+|[{_PUNCT}]+$")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u2190-\u21ff\u2300-\u23ff]"
)

# Clause markers for PARTIAL_COMPLETION ("all but X") and UPDATE_QUANTITY ("3, not 2").
_EXCEPT = re.compile(r"(?:" + _patterns("except") + r")\s*", re.IGNORECASE)


def _except_words(key: str, glued: bool) -> re.Pattern[str]:
    """"except" as a word of its own, a glued "and" allowed before it when `glued`."""
    alternatives = []
    for language in _WORD_DATA:
        words = language.get(key) or []
        if not words:
            continue
        conjunctions = "".join(language.get("conjunctions") or ()) if glued else ""
        lead = f"[{re.escape(conjunctions)}]?" if conjunctions else ""
        alternatives.append(lead + "(?:" + "|".join(map(re.escape, words)) + ")")
    return re.compile(r"(?<!\S)(?:" + ("|".join(alternatives) or _NEVER) + r")(?!\S)\s*")


# Arabic "except" words standing as words of their own, and the weaker "but" ones, tried only
# when no other marker gives an item.
_EXCEPT_WORDS = _except_words("except_words", glued=True)
_EXCEPT_WEAK = _except_words("except_weak", glued=False)
_REST = re.compile(r"(?:,|\.|\s)\s*(?:" + _patterns("rest") + ")", re.IGNORECASE)
_NOT_CLAUSE = re.compile(r"(?:,|\s)\s*(?:" + _patterns("not_clause") + r")\b.*$",
                         re.IGNORECASE)
_NOT_AMOUNT = re.compile(r"(?:,|\s)\s*(?:" + _patterns("not_clause") + r")\s+(?P<said>.+?)[.!?]*$",
                         re.IGNORECASE)
_TO_AMOUNT = re.compile(
    r"^(?P<name>.+?)\s+(?:" + _patterns("to_amount")
    + r")\s*-?\s*(?P<amount>\d+(?:[.,]\d+)?|[^\s]+)(?:\s+(?P<unit>\S+))?\s*$",
    re.IGNORECASE,
)
_BOUGHT = re.compile(r"(?:,\s*|\.\s*|\s-\s)(?:" + _escaped(_listed("bought_words")) + ")")

_OFF = re.compile(_patterns("notify_off"), re.IGNORECASE)
_ON = re.compile(_patterns("notify_on"), re.IGNORECASE)
_STATUS = re.compile(r"\?|\u061f|" + _patterns("notify_status"), re.IGNORECASE)
_COMMANDING = re.compile(_patterns("notify_command"), re.IGNORECASE)
_SWITCH_WORDS = re.compile(_patterns("notify_switch"), re.IGNORECASE)

_RENAME_MARKERS = re.compile(r"(?::|" + _patterns("rename_markers") + r")\s*", re.IGNORECASE)
_RENAME_NOISE = re.compile(r"^(?:" + _patterns("rename_noise") + r")\b\s*", re.IGNORECASE)
_NAME_WORDS = re.compile(_patterns("rename_name_words"), re.IGNORECASE)
_RENAME_INTENT = re.compile(_patterns("rename_intent"), re.IGNORECASE)
_TO_PREFIXES = frozenset(_listed("to_prefixes"))
_NAME_RESTORE: dict[str, str] = {
    glued: letters for language in _WORD_DATA
    for glued, letters in (language.get("name_restore") or {}).items()}
_POLITE = re.compile(r"\s*(?:" + _escaped(_listed("polite")) + ")$", re.IGNORECASE)

_DISH_MARKERS = re.compile(r"(?:" + _patterns("dish_markers") + r")\s*", re.IGNORECASE)
_CLAUSES = re.compile("[,\u060c;\u061b\\n]|[?\u061f!.](?:\\s|$)")
_GLUED_PREFIX = re.compile(_patterns("dish_glued"))
DISH_WORDS = "dish_words.tsv"  # in each language's folder, router/data/lang/<code>/
_DISH_TAIL = re.compile(
    r"\s*(?:\?|\u061f|!|\.|,|" + _patterns("dish_tail") + ").*$", re.IGNORECASE)
_DISH_LEADS = _normalized("dish_leading_words")
_DISH_ARTICLES: list[dict[str, Any]] = [language["dish_article"] for language in _WORD_DATA
                                        if language.get("dish_article")]
_DEFINITE = re.compile(r"(?:^|\s)(?:" + _escaped(_listed("definite_cues")) + r")\s")
ITEM_WORDS = "item_words.tsv"  # in each language's folder


@lru_cache(maxsize=1)
def _item_words() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Words around items that are not items, by kind (each language's item_words.tsv): each
    phrase as its normalized words, longest first so "we're out of" goes before "out of"."""
    kinds: dict[str, list[tuple[str, ...]]] = {}
    for lang in codes():
        for kind, phrase in read_tsv(lang, ITEM_WORDS):
            words = tuple(normalize(phrase).split())
            if words:
                kinds.setdefault(kind, []).append(words)
    return {kind: tuple(sorted(set(phrases), key=len, reverse=True))
            for kind, phrases in kinds.items()}


def _words_of(kind: str) -> frozenset[str]:
    """The one-word phrases of a kind, normalized."""
    return frozenset(p[0] for p in _item_words().get(kind, ()) if len(p) == 1)


def _phrase_at(words: list[str], index: int, kind: str) -> int:
    """How many words from `index` on make a phrase of `kind` (0 when none does)."""
    keys = [normalize(w) for w in words[index:]]
    for phrase in _item_words().get(kind, ()):
        if tuple(keys[:len(phrase)]) == phrase:
            return len(phrase)
    return 0



def _number(token: str) -> float | None:
    """A quantity token as a number: digits, decimals, fractions or a number word."""
    token = token.strip()
    if not token:
        return None
    if token[0] == _MINUS and len(token) > 1:
        value = _number(token[1:])
        return -value if value is not None else None
    mixed = _MIXED.match(token)
    if mixed:
        return float(mixed.group(1)) + _FRACTIONS[mixed.group(2)]
    if _NUMBER.match(token):
        if token in _FRACTIONS:
            return _FRACTIONS[token]
        if "/" in token:
            top, bottom = token.split("/")
            return float(top) / float(bottom) if float(bottom) else None
        return float(token.replace(",", "."))
    times = _TIMES.match(token)
    if times:
        return float(times.group(1) or times.group(2))
    word = normalize(token)
    if word in NUMBER_WORDS:
        return float(NUMBER_WORDS[word])
    # Hebrew and Arabic glue "and" onto the number ("and-three").
    if len(word) > 2 and word[0] in _CONJUNCTIONS and word[1:] in NUMBER_WORDS:
        return float(NUMBER_WORDS[word[1:]])
    return None


def _unit(token: str) -> str | None:
    key = normalize(token)
    if key in UNITS:
        return UNITS[key]
    # Hebrew glues "and" onto units now and then; the language's unit prefixes only.
    for prefix in _UNIT_PREFIXES:
        if len(key) > len(prefix) + 1 and key.startswith(prefix) and key[len(prefix):] in UNITS:
            return UNITS[key[len(prefix):]]
    return None


def _strip_article(word: str, lex: Lexicon, definite: bool) -> str:
    """Drop a conjunction or article glued to the front of an item's first word."""
    if lex.knows(word):
        return word
    for prefix, rule in _STRIP_PREFIXES:
        if not word.startswith(prefix):
            continue
        rest = word[len(prefix):]
        if len(rest) < 2:
            continue
        if lex.knows(rest):
            return rest
        if rule == "article" and len(rest) >= 3:
            return rest
        if rule == "definite" and definite and len(rest) >= 3:
            return rest
        if rule == "conjunction" and len(rest) >= 3 and not lex.knows(word):
            rest_stripped = _strip_article(rest, lex, definite)
            if lex.knows(rest_stripped):
                return rest_stripped
    return word


def _amount_alone(words: list[str]) -> tuple[float | None, str | None] | None:
    """The amount and unit that all of `words` say ("2", "a kilo", Arabic "two kilos");
    None when they say more or no amount."""
    # A placeholder name after the words: an amount is read only beside a name.
    quantity, unit, rest = parse_quantity_unit([*words, "_"])
    return (quantity, unit) if (quantity is not None or unit is not None) \
        and rest == ["_"] else None


def amount_in(text: str) -> tuple[float | None, str | None]:
    """The first amount a text says, with its unit ("change it to 2", "make it 2 kg", Arabic
    "keep it two kilos"); (None, None) when it says none."""
    words = _clean_segment(text)
    for start in range(len(words)):
        amount = _amount_alone(words[start:])
        if amount is not None:
            return amount
    return None, None


def corrects_amount(text: str) -> bool:
    """Whether a part corrects an amount: an item with an amount, then "not" (a language's
    `not_clause` words) and another amount alone ("actually 1.5 kilo chicken, not a kilo",
    the same in every language), as intents.md's example of UPDATE_QUANTITY "actually 3
    milk, not 2"."""
    match = _NOT_AMOUNT.search(text)
    if match is None:
        return False
    if _amount_alone(_clean_segment(match.group("said"))) is None:
        return False
    before = extract(Intent.UPDATE_QUANTITY, text[:match.start()]).items
    return any(item.quantity is not None for item in before)


def parse_quantity_unit(words: list[str]) -> tuple[float | None, str | None, list[str]]:
    """Pull a leading or trailing amount and unit off a phrase's words.

    Returns the quantity, the canonical unit and the words that are left (the name).
    Handles "2 kg tomatoes", "half a kilo of cheese", "a kilo and a half", "a dozen eggs",
    a unit that says two (Arabic duals), "milk x3", "tomatoes 2 kilo", in every language
    whose words are registered.
    """
    words = list(words)
    quantity: float | None = None
    unit: str | None = None

    def take_unit(index: int) -> int:
        nonlocal unit
        if index < len(words):
            found = _unit(words[index])
            if found:
                unit = found
                return index + 1
        return index

    # Leading: [a|an] number [and a half] [a|of] unit [of]
    i = 0
    if words and normalize(words[0]) in _AMOUNT_ARTICLES and len(words) > 1:
        following = _number(words[1])
        if following is not None or _unit(words[1]):
            i = 1
    if i < len(words):
        glued = _GLUED.match(words[i])
        if glued and _unit(glued.group(2)):
            quantity = float(glued.group(1).replace(",", "."))
            unit = _unit(glued.group(2))
            i += 1
        else:
            value = _number(words[i])
            if value is not None:
                quantity = value
                i += 1
                if i < len(words) and re.fullmatch(r"\d+/\d+|[½¼¾⅓⅔]", words[i]) \
                        and float(value).is_integer():
                    quantity += _number(words[i]) or 0.0  # "1 1/2 cups"
                    i += 1
                if i < len(words) and normalize(words[i]) in _words_of("more"):
                    i += 1  # "1 more liter of milk": the amount is 1 liter
                if i < len(words) and normalize(words[i]) in _AMOUNT_ARTICLES:
                    i += 1
                packed = normalize(words[i]) if i < len(words) else ""
                if packed in _PACKED:
                    factor, unit = _PACKED[packed]
                    quantity = factor * value
                    i += 1
                else:
                    i = take_unit(i)
            elif words[i] and normalize(words[i]) in _PACKED:
                quantity, unit = _PACKED[normalize(words[i])]
                i += 1
            elif i == 0 and _unit(words[0]) and len(words) > 1:
                # "kilo of tomatoes": a bare unit means one of it.
                quantity, unit = 1.0, _unit(words[0])
                i = 1
    if quantity is not None and i < len(words):
        half = _half_at(words, i)
        if half:
            quantity += 0.5
            i += half
    if quantity is not None and i < len(words) and normalize(words[i]) in _OF_WORDS:
        i += 1
    rest = words[i:]
    # "a bunch of bread, one", "a can of tuna, two" (as Arabic says it): a bare unit said
    # one; the number after the name says how many.
    if quantity == 1.0 and i == 1 and unit is not None and _unit(words[0]) and rest \
            and _number(rest[-1]) is not None and _number(rest[-1]) != 0.5:
        quantity = _number(rest[-1])
        rest = rest[:-1]

    # Trailing: name number [unit] | name unit | name xN
    if quantity is None and len(rest) >= 3 and normalize(rest[-1]) in _HALF_AFTER \
            and _unit(rest[-2]):
        # "bananas kilo and-a-half", "bananas 2 kilo and-a-half"
        number = _number(rest[-3]) if len(rest) >= 4 else None
        quantity, unit = (number if number is not None else 1.0) + 0.5, _unit(rest[-2])
        rest = rest[:-3] if number is not None else rest[:-2]
    if quantity is None and len(rest) >= 2:
        last = rest[-1]
        value = _number(last)
        if value is not None and normalize(last) not in _NOT_TRAILING:
            quantity = value
            rest = rest[:-1]
        elif _unit(last) and len(rest) >= 3 and _number(rest[-2]) is not None:
            quantity, unit = _number(rest[-2]), _unit(last)
            rest = rest[:-2]
        elif normalize(last) in _PACKED:
            quantity, unit = _PACKED[normalize(last)]
            rest = rest[:-1]
    return quantity, unit, rest


def _half_at(words: list[str], index: int) -> int:
    """How many words from `index` on say "and a half" (0 when they do not)."""
    keys = [normalize(w) for w in words[index:index + 4]]
    for phrase in _HALF_PHRASES:
        if tuple(keys[:len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _is_filler(word: str) -> bool:
    key = normalize(word)
    fillers = _fillers()
    # "and-also", "and-more": a filler with "and" glued on is still a filler.
    return key in fillers or (len(key) > 2 and key[0] in _CONJUNCTIONS and key[1:] in fillers)


@lru_cache(maxsize=1)
def _fillers() -> frozenset[str]:
    return FILLERS | _words_of("add") | _words_of("more")


def _clean_segment(text: str) -> list[str]:
    text = _EMOJI.sub(" ", text)
    text = _TRAILING_PUNCT.sub("", text)
    words = [w for w in text.split() if w]
    # Fillers and framing phrases in any order: "please, we're out of …", "put on the list …".
    while words:
        lead = _phrase_at(words, 0, "lead")
        if lead and len(words) > lead:
            del words[:lead]
        elif _is_filler(words[0]):
            words.pop(0)
        else:
            break
    while words and _is_filler(words[-1]):
        words.pop()
    return [_TRAILING_PUNCT.sub("", w) for w in words if _TRAILING_PUNCT.sub("", w)]


def _split_known_run(words: list[str], lex: Lexicon) -> list[list[str]] | None:
    """Split "milk eggs bread" into items when every word belongs to a known item."""
    pieces: list[list[str]] = []
    i = 0
    while i < len(words):
        for size in range(min(lex.max_words, len(words) - i), 0, -1):
            chunk = words[i:i + size]
            candidate = " ".join(chunk)
            if lex.knows(candidate) or lex.knows(_strip_article(candidate, lex, True)):
                pieces.append(chunk)
                i += size
                break
        else:
            return None
    return pieces


def _split_conjunctions(words: list[str], lex: Lexicon) -> list[list[str]]:
    """Split at a Hebrew or Arabic "and" glued to a word that starts a new item."""
    groups: list[list[str]] = [[]]
    for index, word in enumerate(words):
        starts_new = False
        if len(word) > 2 and word[0] in _CONJUNCTIONS and word[1] in _HYPHENS:
            word = word[2:]  # "and-2 cucumbers"
            if index > 0:
                groups.append([word])
                continue
        rest = word[1:]
        if normalize(word) in _HALF_AFTER or normalize(word) in NUMBER_WORDS:
            pass  # "a kilo and-a-half", "a bunch, one": an amount of the same thing
        elif index > 0 and len(word) >= 2 and word[0] in _CONJUNCTIONS and not lex.knows(word) \
                and (
                len(word) > 2 or _number(rest) is not None):
            stripped = _strip_article(rest, lex, True)
            if lex.knows(stripped) or _number(rest) is not None or _unit(rest) or len(rest) >= 3:
                starts_new = True
                words = list(words)
                word = rest
        if starts_new and groups[-1]:
            groups.append([word])
        else:
            groups[-1].append(word)
    return [group for group in groups if group]


def _split_numbers(words: list[str]) -> list[list[str]]:
    """Start a new item at a number that follows a name: "2 milk 3 eggs"."""
    groups: list[list[str]] = [[]]
    for index, word in enumerate(words):
        value = _number(word)
        previous = groups[-1]
        after = words[index + 1:]
        # "eggs 2 cartons", "eggs 2": an amount after the name belongs to it.
        trailing = not after or (len(after) == 1 and _unit(after[0]) is not None) or (
            len(after) == 2 and _unit(after[0]) is not None
            and normalize(after[1]) in _HALF_AFTER)
        if value is not None and previous and not trailing and _number(previous[-1]) is None \
                and not _unit(previous[-1]) and normalize(word) not in _HALF_WORDS:
            groups.append([word])
        else:
            previous.append(word)
    return [group for group in groups if group]


def parse_items(text: str, definite: bool = False, lex: Lexicon | None = None) -> list[Item]:
    """Every item a phrase names, with its amount, unit and note, in the user's order."""
    lex = lex or lexicon()
    if "\n" in text:
        text = _BULLETS.sub("", text)  # "-2 eggs" on its own line is a list, not minus two
    text = _NEGATIVE.sub(_MINUS, clean_text(_URL.sub(" ", text)))
    items: list[Item] = []
    definite = definite or bool(_DEFINITE.search(text))
    # "we ran out of the-coffee": after a framing phrase, a glued article is the article.
    definite = definite or any(_phrase_at(text.split(), i, "lead")
                               for i in range(len(text.split())))
    notes: list[str] = []
    for segment in _noted_segments(text, lex, notes):
        words = _clean_segment(segment)
        if not words:
            continue
        for group in _split_conjunctions(words, lex):
            for chunk in _split_numbers(group):
                items.extend(_parse_chunk(chunk, lex, definite, notes))
    return items[: MAX_ITEMS + 1]


# Notes written beside an item: "(large)", "[big]", "3%", "%3" (typed right to left).
_BRACKETS = re.compile(r"[(\[]([^()\[\]]*)[)\]]")
_PERCENT = re.compile(r"(?<![\w.,])(?:\d+(?:[.,]\d+)?\s?%|%\s?\d+(?:[.,]\d+)?)(?![\w%])")
_DASH = re.compile(r"^\s*[-–—]\s*$")
# A note stands in the words as one token, "\ue000N\ue000" (N its index), until the chunk of
# words it belongs to is read: so it stays with the item it was written beside, whatever cuts
# the phrase into items.
_NOTE_MARK = "\ue000"
_MARKED = re.compile(f"{_NOTE_MARK}(\\d+){_NOTE_MARK}")


def _join_notes(notes: list[str]) -> str | None:
    unique = list(dict.fromkeys(n.strip() for n in notes if n.strip()))
    # Notes are read in the language they were written in: Arabic ones with its comma.
    comma = next((comma for pattern, comma in _COMMAS if any(pattern.search(n) for n in unique)),
                 ", ")
    return comma.join(unique)[:100] or None


# The languages that write another comma than ", ", by their script.
_COMMAS = [(re.compile(script_class(lang)), lang.comma) for lang in languages()
           if lang.comma != ", "]


def _percent(found: str) -> str:
    return found.replace(" ", "").strip("%") + "%"


def _mark(notes: list[str], note: str) -> str:
    notes.append(note)
    return f" {_NOTE_MARK}{len(notes) - 1}{_NOTE_MARK} "


def _noted_segments(text: str, lex: Lexicon, notes: list[str]) -> list[str]:
    """The phrase cut where `_SPLIT` cuts it, its notes marked in place (kept in `notes`).

    Brackets and percentages are notes wherever they stand (a comma inside brackets does not
    cut); a piece after a dash is a note of the one before when it is a brand or note word,
    has a percentage, or is a short description of a known item ("olive oil - extra virgin"),
    and another item otherwise ("milk - eggs").
    """
    def bracket(found: re.Match[str]) -> str:
        inner = found.group(1).strip()
        if _number(inner) is not None:
            return f" {inner} "  # "(2)" is an amount, not a note
        return _mark(notes, inner) if inner else " "

    text = _BRACKETS.sub(bracket, text)
    text = _PERCENT.sub(lambda found: _mark(notes, _percent(found.group(0))), text)
    pieces: list[str] = []
    separators: list[str] = []
    start = 0
    for cut in _SPLIT.finditer(text):
        pieces.append(text[start:cut.start()])
        separators.append(cut.group(0))
        start = cut.end()
    pieces.append(text[start:])
    out: list[str] = []
    for index, piece in enumerate(pieces):
        marks = _MARKED.findall(piece)
        if index > 0 and out and _DASH.match(separators[index - 1]) \
                and _is_note_tail(piece, [notes[int(i)] for i in marks], out[-1], lex):
            described = " ".join(_clean_segment(_MARKED.sub(" ", piece)))
            tail = "".join(f" {_NOTE_MARK}{i}{_NOTE_MARK} " for i in marks)
            out[-1] += tail + (_mark(notes, described) if described else "")
            continue
        out.append(piece)
    return out


def _is_note_tail(piece: str, marked: list[str], head: str, lex: Lexicon) -> bool:
    words = _clean_segment(_MARKED.sub(" ", piece))
    if not words:
        return bool(marked)
    phrase = " ".join(words)
    if normalize(phrase) in lex.notes or any(n.endswith("%") for n in marked):
        return True
    if _number(words[0]) is not None or lex.lookup(phrase) is not None \
            or _split_known_run(words, lex) is not None or len(words) > 3:
        return False
    head_words = _clean_segment(_MARKED.sub(" ", head))
    # An unknown word after a known item describes it; after an unknown one it may be
    # another item of a dash-separated list.
    return bool(head_words) and lex.lookup(" ".join(
        parse_quantity_unit(head_words)[2])) is not None


def _edge_notes(words: list[str], lex: Lexicon) -> tuple[list[str], list[str]]:
    """Brand and note words at either end of an item's name ("low fat milk", "milk Tnuva"),
    unless the whole name is an item of its own ("light bulbs")."""
    notes: list[str] = []
    while len(words) > 1 and lex.lookup(" ".join(words)) is None:
        for size in (3, 2, 1):
            if len(words) <= size:
                continue
            if normalize(" ".join(words[-size:])) in lex.notes:
                notes.insert(0, " ".join(words[-size:]))
                words = words[:-size]
                break
            if normalize(" ".join(words[:size])) in lex.notes:
                notes.append(" ".join(words[:size]))
                words = words[size:]
                break
        else:
            break
    return words, notes


def _without_notes(words: list[str], lex: Lexicon) -> list[str]:
    """The words less brand and note phrases and percentages ("Tnuva low fat milk 3%")."""
    kept: list[str] = []
    i = 0
    while i < len(words):
        for size in (3, 2, 1):
            if normalize(" ".join(words[i:i + size])) in lex.notes and i + size <= len(words):
                i += size
                break
        else:
            if not _PERCENT.fullmatch(words[i]):
                kept.append(words[i])
            i += 1
    return kept


def _parse_chunk(words: list[str], lex: Lexicon, definite: bool,
                 notes: list[str] | None = None) -> list[Item]:
    # Marked notes before the name go first, those after it last, as written.
    first_word = next((i for i, w in enumerate(words) if not _MARKED.fullmatch(w)), len(words))
    marked = [(i < first_word, (notes or [])[int(found.group(1))]) for i, w in enumerate(words)
              for found in [_MARKED.fullmatch(w)] if found]
    words = [w for w in words if not _MARKED.fullmatch(w) and normalize(w) not in _SKIP_WORDS]
    quantity, unit, rest = parse_quantity_unit(words)
    if quantity is None and len(rest) == 1 and _dual_noun(rest[0], lex):
        quantity, rest = 2.0, [_dual_noun(rest[0], lex) or rest[0]]
    rest = _clean_segment(" ".join(rest))
    if not rest:
        return []
    rest, purpose = _cut_purpose(rest, lex)
    rest, edge = _edge_notes(rest, lex)
    said = ([note for front, note in marked if front] + edge + ([purpose] if purpose else [])
            + [note for front, note in marked if not front])
    if quantity is None and unit is None and len(rest) > 1 and not said:
        run = _split_known_run(rest, lex)
        if run and len(run) > 1:
            return [_make_item(piece, None, None, lex, definite) for piece in run]
    item = _make_item(rest, quantity, unit, lex, definite)
    return [replace(item, note=_join_notes(said)) if said else item]


def _cut_purpose(words: list[str], lex: Lexicon) -> tuple[list[str], str | None]:
    """The food and what it is for: "cucumbers for salad", in every language.

    Only a known item is cut from its purpose, and never a phrase that is an item as a
    whole ("white cheese"); a glued "for" word that is an item itself (Hebrew "bread" starts
    with one) is not a purpose, nor is an amount ("pasta for 4").
    """
    if len(words) < 2 or lex.lookup(" ".join(words)) is not None:
        return words, None
    glued = _words_of("purpose_glued")
    for index in range(1, len(words)):
        marked = _phrase_at(words, index, "purpose")
        if marked:
            after = words[index + marked:]
            if not after or _number(after[0]) is not None:
                continue
        else:
            key = normalize(words[index])
            prefix = next((g for g in sorted(glued, key=len, reverse=True)
                           if key.startswith(g) and len(key) - len(g) >= 2), None)
            if prefix is None or lex.knows(words[index]) or key in _words_of("not_purpose") \
                    or _number(key[len(prefix):]) is not None:
                continue
        head = words[:index]
        if len(words) - index <= 6 and (lex.lookup(" ".join(head)) is not None
                                        or lex.lookup(" ".join(_edge_notes(head, lex)[0]))):
            return head, " ".join(words[index:])
    return words, None


def _dual_noun(word: str, lex: Lexicon) -> str | None:
    """The singular of an Arabic dual of a known item ("two watermelons" in one word), else
    None."""
    key = normalize(word)
    if len(key) < 5 or lex.knows(word):
        return None
    for suffix, ending in _DUAL_SUFFIXES:
        if key.endswith(suffix):
            singular = word[:-len(suffix)] + ending
            if lex.knows(singular):
                return singular
    return None


def _make_item(words: list[str], quantity: float | None, unit: str | None, lex: Lexicon,
               definite: bool) -> Item:
    words = list(words)
    words[0] = _strip_article(words[0], lex, definite)
    name = " ".join(words)
    if not lex.knows(name):
        stripped = _strip_article(name, lex, definite)
        if lex.knows(stripped):
            name = stripped
    if quantity is not None and (math.isnan(quantity) or math.isinf(quantity)):
        quantity = None
    return Item(name=name, quantity=quantity, unit=unit)


def _after_marker(text: str, marker: re.Pattern[str]) -> str | None:
    found = marker.search(text)
    if not found:
        return None
    return text[found.end():]


def _partial_items(text: str, lex: Lexicon) -> list[Item]:
    text = clean_text(text)
    strong = [m for m in (_EXCEPT.search(text), _EXCEPT_WORDS.search(text)) if m]
    # The marker written first wins; the weak "but" only when no other one names an item.
    for found in [*sorted(strong, key=lambda m: m.start()), *_EXCEPT_WEAK.finditer(text)]:
        items = _excepted(text[found.end():], lex)
        if items:
            return items
    return []


def _excepted(remainder: str, lex: Lexicon) -> list[Item]:
    """The items after an "except" marker, up to where the sentence goes on about them."""
    rest = _REST.search(remainder)
    if rest:
        remainder = remainder[: rest.start()]
    remainder = _BOUGHT.split(remainder)[0]
    words = remainder.split()
    # "but the sugar, they were out of it": the item, not why it is missing.
    cut = next((i for i, word in enumerate(words)
                if i > 0 and normalize(_TRAILING_PUNCT.sub("", word)) in _EXCEPT_TAIL), None)
    if cut is not None:
        remainder = " ".join(words[:cut])
    return parse_items(remainder, definite=True, lex=lex)


def _set_amount(text: str, lex: Lexicon) -> list[Item]:
    """"the bananas, make them a kilo and a half", "instead of 6 eggs make it a dozen": the
    new amount follows the word that sets it; the item is named after it or else before it
    (its old amount there is dropped, its unit kept when the new amount has none)."""
    words = text.split()
    at = next((i for i, word in enumerate(words)
               if i > 0 and normalize(_TRAILING_PUNCT.sub("", word)) in _SET_MARKERS), None)
    if at is None:
        return []
    after = " ".join(words[at + 1:])
    quantity, unit, rest = parse_quantity_unit(_clean_segment(_NOT_CLAUSE.sub("", after)
                                                             or after))
    if quantity is None:
        return []
    named = parse_items(" ".join(rest), definite=True, lex=lex) if rest else []
    if not named:
        before = " ".join(words[:at])
        trimmed = _NOT_CLAUSE.sub("", before)
        named = parse_items(trimmed if _clean_segment(trimmed) else before, definite=True,
                            lex=lex)
    if not named or _unit(named[0].name) or normalize(named[0].name) in _PACKED:
        return []
    return [Item(name=named[0].name, quantity=quantity, unit=unit or named[0].unit)]


def _update_items(text: str, lex: Lexicon) -> list[Item]:
    text = clean_text(text)
    set_to = _set_amount(text, lex)
    if set_to:
        return set_to
    head = _NOT_CLAUSE.sub("", text) or text
    words = _clean_segment(head)
    joined = " ".join(words)
    to_amount = _TO_AMOUNT.match(joined)
    if to_amount:
        amount = _number(to_amount.group("amount"))
        unit_word = to_amount.group("unit")
        unit = _unit(unit_word) if unit_word else None
        if amount is None:
            glued = _GLUED.match(to_amount.group("amount"))
            if glued and _unit(glued.group(2)):
                amount, unit = float(glued.group(1)), _unit(glued.group(2))
        if amount is None:
            # "to-two-kilos", "to-a-kilo one": a dual or a unit with its number
            said, said_unit, left = parse_quantity_unit(
                [to_amount.group("amount"), unit_word or "x"])
            if said is not None and left in ([], ["x"]):
                amount, unit = said, said_unit
        if amount is not None:
            name_items = parse_items(to_amount.group("name"), definite=True, lex=lex)
            if name_items:
                first = name_items[0]
                return [Item(name=first.name, quantity=amount, unit=unit or first.unit)]
    items = parse_items(head, definite=True, lex=lex)
    return [item for item in items if item.quantity is not None] or items


def _rename_marker(text: str) -> re.Match[str] | None:
    """The marker the new name follows: the first one after what is renamed ("the group",
    "the name"), so a glued "to" or "to" inside the name itself ("Back to School") is not
    taken for it."""
    objects = _words_of("rename_object")
    after = 0
    for word in re.finditer(r"\S+", text):
        key = normalize(_TRAILING_PUNCT.sub("", word.group(0)))
        if key in objects or (key.endswith("'s") and key[:-2] in objects):
            after = word.end()
            break
    for found in _RENAME_MARKERS.finditer(text):
        if found.end() >= len(text) or found.end() < after:
            continue
        if _RENAME_INTENT.search(text[: found.end()]):
            continue  # "I want to change the name": an intention, not a name
        following = text[found.end():].split()
        if found.group(0).strip() in _TO_PREFIXES and following \
                and normalize(following[0]) in _words_of("rename_skip"):
            continue  # "change for-us the name": to us, not to a name
        return found
    return None


def _new_name(text: str) -> str | None:
    text = clean_text(text)
    quoted = re.search(r"[\"'«“„](.+?)[\"'»”]", text)
    if quoted and quoted.group(1).strip():
        return quoted.group(1).strip()[:64]
    last = _rename_marker(text)
    if last is None:
        return None
    name = text[last.end():]
    glued = last.group(0).strip()
    if glued in _NAME_RESTORE and re.match(re.escape(glued) + r"\w\w", name):
        # Arabic "to" + "the big house" is written with the article's alef swallowed.
        name = _NAME_RESTORE[glued] + name
    name = _RENAME_NOISE.sub("", name)
    if _NAME_WORDS.search(name):
        return None
    name = re.sub("[\\s.!?\u061f]+$", "", name)
    name = _POLITE.sub("", name)
    if not name or len(name) < 2 or normalize(name) in FILLERS:
        return None
    return name[:64]


def _notification_state(text: str) -> str:
    if _STATUS.search(text):
        # "are my notifications on?" asks; "can you turn them off?" still commands.
        verbs = _SWITCH_WORDS.sub(" ", text)
        commanding = _COMMANDING.search(text)
        if not commanding and not _OFF.search(verbs) and not _ON.search(verbs):
            return "status"
    if _OFF.search(text):
        return "off"
    if _ON.search(text):
        return "on"
    return "status"


_SUGGEST_TOPIC = re.compile(_patterns("suggest_topic"), re.IGNORECASE)
_SUGGEST_OFF = re.compile(_patterns("suggest_off"), re.IGNORECASE)
_SUGGEST_ON = re.compile(_patterns("suggest_on"), re.IGNORECASE)
_QUESTION = re.compile("[?\u061f]")
# Longer than this, a message about suggestions is something else ("what do you suggest we
# cook tonight, we're out of …").
SWITCH_MAX_WORDS = 8


def suggestions_switch(text: str) -> str | None:
    """The `/suggestions` switch a message says in words: "off" for "stop the suggestions",
    "on" for "bring the suggestions back". A short message about the bot's suggestions from
    habit (words.json `suggest_topic`) that turns them off (`suggest_off`, which wins when both
    are said) or on (`suggest_on`); None for anything else: no such words, a question ("what
    do you suggest?"), a link, a long message."""
    plain = strip_marks(text)
    if (len(plain.split()) > SWITCH_MAX_WORDS or _QUESTION.search(plain) or _URL.search(plain)
            or not _SUGGEST_TOPIC.search(plain)):
        return None
    if _SUGGEST_OFF.search(plain):
        return "off"
    if _SUGGEST_ON.search(plain):
        return "on"
    return None


# Longer than this, "I got …" is a story, not items ticked off in the shop.
BOUGHT_MAX_WORDS = 10
_BOUGHT_VERBS = tuple(sorted({tuple(normalize(phrase).split()) for phrase in
                              _listed("bought_words")} - {()}, key=len, reverse=True))
_BOUGHT_LEADS = _normalized("bought_leads")
_BOUGHT_ALL = _normalized("bought_all")


def bought_items(text: str) -> tuple[Item, ...] | None:
    """The items a short message says were just bought: "bought milk", "I got the eggs and
    the bread", a first-person "bought/got" verb (words.json `bought_words`, after any
    `bought_leads` such as "I", "already") and then the items. None for anything else: no
    such verb first, a question, a link, a long message, no items after the verb, and
    "bought everything" or "bought all but the milk" (`bought_all`, the except and rest
    markers), which say what was not bought, and a message naming a time ("bought milk
    yesterday", words.json `history.periods`): a story or a history question, not the shop."""
    plain = strip_marks(text).strip()
    tokens = list(re.finditer(r"\S+", plain))
    if len(tokens) > BOUGHT_MAX_WORDS:
        return None
    said = [normalize(_TRAILING_PUNCT.sub("", _EMOJI.sub("", t.group(0)))) for t in tokens]
    start = 0
    while start < len(said) and (not said[start] or said[start] in _BOUGHT_LEADS):
        start += 1
    verb = next((phrase for phrase in _BOUGHT_VERBS
                 if tuple(said[start:start + len(phrase)]) == phrase), None)
    if (verb is None or start + len(verb) >= len(tokens) or _BOUGHT_ALL & set(said)
            or _QUESTION.search(plain) or _URL.search(plain) or _EXCEPT.search(plain)
            or _EXCEPT_WORDS.search(plain) or _REST.search(plain)
            or _NOT_CLAUSE.search(plain) or history_entities(plain)[1] is not None):
        return None
    items = extract(Intent.REMOVE_ITEM, plain[tokens[start + len(verb)].start():]).items
    return tuple(items) or None


@lru_cache(maxsize=1)
def _dish_words() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Verbs the dish follows and words never in a dish name (each language's
    dish_words.tsv)."""
    verbs: list[str] = []
    drops: list[str] = []
    for lang in codes():
        for kind, phrase in read_tsv(lang, DISH_WORDS):
            (verbs if kind == "verb" else drops).append(re.escape(phrase.strip()))
    # Longest first, so "to buy" goes before "buy".
    verbs.sort(key=len, reverse=True)
    drops.sort(key=len, reverse=True)
    return (re.compile(r"(?<!\S)(?:" + "|".join(verbs) + r")\s+", re.IGNORECASE),
            re.compile(r"(?<!\S)(?:" + "|".join(drops) + r")(?![^\s,\u060c;\u061b.?\u061f!:])",
                       re.IGNORECASE))


def _dish_in_clause(clause: str) -> tuple[str | None, bool]:
    """The dish a clause names after its last marker; whether it had a marker."""
    verbs, _drops = _dish_words()
    # The marker that ends last wins, overlaps included: in Hebrew "need to-make soup" both
    # "need to-" and "to-make" match, and only the second ends where the dish begins.
    # A glued "for" right after another marker is the dish's own first letter ("for lasagna"
    # in Hebrew).
    last = -1
    ends: set[int] = set()
    for start in range(len(clause)):
        for pattern in (_DISH_MARKERS, verbs):
            found = pattern.match(clause, start)
            if not found or found.end() >= len(clause):
                continue
            if _GLUED_PREFIX.fullmatch(found.group(0)) and start in ends:
                continue
            ends.add(found.end())
            last = max(last, found.end())
    tail = _DISH_TAIL.sub("", clause[last:] if last >= 0 else clause)
    words = _clean_segment(tail)
    while words and normalize(words[0]) in _DISH_LEADS:
        words.pop(0)
    for article in _DISH_ARTICLES:
        prefix = str(article["prefix"])
        if words and (len(words) == 1 or not article.get("single_word")) \
                and words[0].startswith(prefix) and len(words[0]) >= int(article["min_length"]):
            words[0] = words[0][len(prefix):]
    return " ".join(words).strip() or None, last >= 0


def _dish(text: str) -> str | None:
    """The dish a recipe question names, cut from the sentence around it: words that never
    name a dish go first, then the first clause with a marker ("for", "to make", a glued
    "for") gives the words after its last marker."""
    text = clean_text(_URL.sub(" ", text))
    text = _EMOJI.sub(" ", text)
    text = _dish_words()[1].sub(" ", text)
    clauses = [c for c in _CLAUSES.split(text) if c.strip()]
    fallback = None
    for clause in clauses:
        dish, marked = _dish_in_clause(clause)
        if dish and marked:
            return dish
        fallback = fallback or dish
    return fallback


def _removal_text(text: str, lex: Lexicon) -> tuple[str, bool, bool]:
    """A removal without what frames it: the reason after the items ("…, we have more in the
    fridge") is cut, and a "no need for" before them goes, with the prefix Hebrew and Arabic
    glue to the item. Also says whether a reason was cut and whether the message said "no
    need"."""
    text = clean_text(text)
    spans = [(m.start(), _TRAILING_PUNCT.sub("", m.group(0))) for m in re.finditer(r"\S+", text)]
    words = [word for _start, word in spans]
    start = 0
    while start < len(words) and _is_filler(words[start]) \
            and not _phrase_at(words, start, "no_need"):
        start += 1
    cue = _phrase_at(words, start, "no_need")
    reasoned = False
    for index in range(start + cue + 1, len(words)):
        if _phrase_at(words, index, "reason") or _phrase_at(words, index, "no_need"):
            text, words, reasoned = text[:spans[index][0]], words[:index], True
            break
    if not cue:
        return text, reasoned, False
    if start + cue >= len(words):
        return "", reasoned, True
    rest = words[start + cue:]
    first = rest[0]
    key = normalize(first)
    for prefix in sorted(_words_of("no_need_glued"), key=len, reverse=True):
        if key.startswith(prefix) and not lex.knows(first) \
                and lex.lookup(first[len(prefix):]) is not None:
            rest[0] = first[len(prefix):]
            break
    return " ".join(rest), reasoned, True


def is_bare_removal(text: str, lex: Lexicon | None = None) -> bool:
    """True when a message takes known items off the list and says why or that they are not
    needed: "no need for cottage cheese", "remove the cottage cheese, we have more in the
    fridge". The reason would otherwise blur what the model hears."""
    lex = lex or lexicon()
    rest, reasoned, no_need = _removal_text(text, lex)
    if not no_need:
        if not reasoned:
            return False
        words = [_TRAILING_PUNCT.sub("", word) for word in rest.split()]
        start = 0
        while start < len(words) and not _phrase_at(words, start, "remove") \
                and _is_filler(words[start]):
            start += 1
        verb = _phrase_at(words, start, "remove")
        if not verb:
            return False
        rest = " ".join(words[start + verb:])
    return is_bare_item_list(rest, lex)


def _list_entities(text: str, lex: Lexicon) -> Entities:
    """LIST_MANAGE's entities; items put on a named list ("add shampoo to the pharmacy list")
    are an add to that list (action `add`), whichever of the two intents the model chose."""
    rest, name = split_target(text)
    if name is not None:
        items = parse_items(rest, lex=lex)
        words = normalize(rest).split()
        if items and (any(lex.find(item.name) for item in items)
                      or (words and (words[0] in _words_of("add")
                                     or words[0] in _ADD_LEADS))):
            return Entities(action="add", items=tuple(items), list_name=name)
    return list_entities(text)


def extract(intent: Intent, text: str, lex: Lexicon | None = None) -> Entities:
    """The entities intents.md lists for `intent`, read from the message text."""
    lex = lex or lexicon()
    if intent is Intent.HISTORY_QUERY:
        item, period = history_entities(text)
        return Entities(item=item, period=period)
    if intent is Intent.LIST_MANAGE:
        return _list_entities(text, lex)
    if intent is Intent.LIST_QUERY:
        return Entities(list_name=asked_list(text))
    if intent is Intent.GROCERY_REQUEST:
        # "add shampoo to the pharmacy list": the list's words are no item.
        text, list_name = split_target(text)
        return Entities(items=tuple(parse_items(text, lex=lex)), list_name=list_name)
    if intent is Intent.REMOVE_ITEM:
        text = _removal_text(text, lex)[0]
    if intent in (Intent.GROCERY_REQUEST, Intent.REMOVE_ITEM):
        return Entities(items=tuple(parse_items(text, definite=intent is Intent.REMOVE_ITEM,
                                                lex=lex)))
    if intent is Intent.PARTIAL_COMPLETION:
        return Entities(items=tuple(_partial_items(text, lex)))
    if intent is Intent.UPDATE_QUANTITY:
        return Entities(items=tuple(_update_items(text, lex)))
    if intent is Intent.RENAME_GROUP:
        return Entities(new_name=_new_name(text))
    if intent is Intent.NOTIFICATION_SETTINGS:
        return Entities(state=_notification_state(text))
    if intent is Intent.RECIPE_SEARCH:
        return Entities(dish=_dish(text))
    if intent is Intent.RECIPE_URL:
        found = _URL.search(text)
        if found:
            url = found.group(0).rstrip(".,!?)")
            if url.lower().startswith("www."):
                url = "https://" + url
            return Entities(url=url)
        return Entities()
    return Entities()


_BARE_NOISE = _normalized("bare_noise") | {"&", "+"}
# Words that can only mean "put it on the list" before a run of known items.
_ADD_LEADS = _normalized("add_leads")


def is_bare_item_list(text: str, lex: Lexicon | None = None) -> bool:
    """True when a message is nothing but known grocery items (with amounts): "eggs",
    "milk, 2 bread", "eggs and milk", in any language. Such a message can only mean "add
    these"."""
    lex = lex or lexicon()
    cleaned = _EMOJI.sub(" ", clean_text(text))
    if _URL.search(cleaned) or len(cleaned) > 300:
        return False
    words: list[str] = []
    leading = True
    for raw in re.split("[\\s,\u060c;\\n]+", cleaned):
        lead = normalize(_TRAILING_PUNCT.sub("", raw))
        # A glued "and" before the lead ("and-we-need labneh too") leads the same way.
        unglued = lead[1:] if len(lead) > 2 and lead[0] in _CONJUNCTIONS else lead
        if leading and any(word in _ADD_LEADS or word in _words_of("add")
                           or word in _words_of("more") for word in {lead, unglued}):
            continue
        leading = False
        word = _TRAILING_PUNCT.sub("", raw)
        if not word or normalize(word) in _BARE_NOISE or _number(word) is not None \
                or _unit(word) or normalize(word) in _PACKED:
            continue
        if _GLUED.match(word) and _unit(_GLUED.match(word).group(2)):  # type: ignore[union-attr]
            continue
        words.append(word)
    words = _without_notes(words, lex)
    if not words:
        return False
    # Glued conjunctions and articles: "and-eggs", "the-coffee" in Hebrew and Arabic.
    written = words
    words = [w[1:] if len(w) > 2 and w[0] in _CONJUNCTIONS and not lex.knows(w) else w
             for w in words]
    words = [_strip_article(w, lex, True) for w in words]
    if _split_known_run(words, lex) is not None:
        return True
    # Known items and what the last one is for: "cucumbers for salad".
    return any(_split_known_run(words[:start], lex) is not None
               and _cut_purpose(written[start:], lex)[1] is not None
               for start in range(len(words)))
