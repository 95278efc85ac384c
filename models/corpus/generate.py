"""The training corpus: seed templates × slot lexicons × noise, split by template.

Deterministic for a seed. Whole templates are held out: the test split holds only the
expansions of templates that never reach training, so a score on it measures how the model
does on phrasings it has not seen, not on its own sentences with other nouns.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from router.lexicon import Lexicon, lexicon
from router.normalize import normalize
from router.types import Intent

__all__ = ["LANGUAGES", "Example", "Split", "Template", "build_splits", "load_templates"]

ROOT = Path(__file__).resolve().parent
LANGUAGES = ("he", "en", "ar", "ru")
# The first three languages share one random stream, as they always have; a language added
# later draws from its own, so adding it leaves the others' corpus exactly as it was.
_SHARED_STREAM = ("he", "en", "ar")
_SLOT = re.compile(
    r"\{(items|item|item_nom|item_gen|qty_item|qty|dish|dish_acc|dish_gen|group_name|person"
    r"|url)\}")


@dataclass(frozen=True, slots=True)
class Template:
    """One seed phrasing of one intent."""

    lang: str
    intent: Intent
    text: str


@dataclass(frozen=True, slots=True)
class Example:
    """One generated training message."""

    text: str
    intent: Intent
    lang: str
    template: str

    def to_json(self) -> dict[str, str]:
        return {"text": self.text, "intent": self.intent.value, "lang": self.lang}


@dataclass(frozen=True, slots=True)
class Split:
    """The three splits and the templates behind each."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]


def load_templates(lang: str, root: Path = ROOT) -> list[Template]:
    """Parse `templates/<lang>.txt` and `templates/<lang>_*.txt`.

    `## LABEL` headers, one template a line, `# ` comments; a repeated line counts once.
    """
    paths = sorted((root / "templates").glob(f"{lang}_*.txt"))
    templates: list[Template] = []
    seen: set[str] = set()
    for path in [root / "templates" / f"{lang}.txt", *paths]:
        if not path.exists():
            continue
        intent: Intent | None = None
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or (line.startswith("#") and not line.startswith("##")):
                continue
            if line.startswith("##"):
                intent = Intent(line.lstrip("#").strip())
                continue
            if intent is None:
                raise ValueError(f"{path}: template before any ## LABEL: {line!r}")
            if line in seen:
                continue
            seen.add(line)
            templates.append(Template(lang, intent, line))
    return templates


def load_slots(lang: str, root: Path = ROOT) -> dict[str, list[str]]:
    """The slot lists (dishes, group names, people, URLs) of one language."""
    data: dict[str, list[str]] = json.loads(
        (root / "slots" / f"{lang}.json").read_text(encoding="utf-8"))
    return data


NUMBER_WORDS = {
    "he": {1: ["אחד", "אחת"], 2: ["שניים", "שתיים", "זוג"], 3: ["שלושה", "שלוש"],
           4: ["ארבעה", "ארבע"], 5: ["חמישה", "חמש"], 6: ["שישה"], 10: ["עשרה"]},
    "en": {1: ["one", "a"], 2: ["two", "a couple of"], 3: ["three"], 4: ["four"], 5: ["five"],
           6: ["six"], 12: ["a dozen", "twelve"]},
    "ar": {1: ["واحد", "وحدة"], 2: ["اثنين", "تنين", "ثنتين", "اتنين"],
           3: ["ثلاثة", "تلاتة", "ثلاث"], 4: ["أربعة", "اربع"], 5: ["خمسة", "خمس"],
           6: ["ستة", "ست"], 10: ["عشرة"], 12: ["دزينة", "درزن"]},
}
HALF = {"he": "חצי", "en": "half a", "ar": "نص"}
UNITS = {
    "he": ["קילו", "ק\"ג", "גרם", "ליטר", "בקבוקים", "חבילות", "קרטונים", "שקיות", "קופסאות"],
    "en": ["kg", "kilos", "g", "liters", "bottles", "packs", "cartons", "bags", "cans", "boxes"],
    "ar": ["كيلو", "غرام", "لتر", "قناني", "علب", "كراتين", "أكياس", "ربطات", "باكو", "ازازة",
           "حبات", "أرغفة"],
}
# Arabic duals carry their own "2" (كيلوين بندورة), and "ونص" adds a half (كيلو ونص).
ARABIC_DUALS = ["كيلوين", "لترين", "علبتين", "كيسين", "كرتونتين", "كرتونين", "ربطتين",
                "قنينتين", "ازازتين", "حبتين", "رغيفين"]
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# Family chats carry all sorts of emoji; the model should learn that none of them decides
# the intent ("اشترينا كل شي 🛍️" is still a clear).
EMOJI = ["🙏", "😊", "👍", "🛒", "❤️", "😂", "🙂", "🥛", "🍅", "!!", "?", "...", "😅", "🤔",
         "🛍️", "🥖", "🧀", "🥚", "🍞", "🙃", "😉", "👌", "✅", "🔥", "💪", "😍", "🤷", "😬",
         "🙈", "😋", "🥲", "🍋", "🥒", "🍗", "💯", "👀", "😩", "✨", "🤦", "😎", "🎉", "🥳"]
NIQQUD = ["\u05b7", "\u05b8", "\u05b4", "\u05bc", "\u05b0", "\u05b6", "\u05b9"]
HARAKAT = ["\u064e", "\u064f", "\u0650", "\u0651", "\u0652"]
FINALS = {"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ",
          "כ": "ך", "מ": "ם", "נ": "ן", "פ": "ף", "צ": "ץ"}
ARABIC_SWAPS = [("ا", "أ"), ("ا", "إ"), ("ة", "ه"), ("ه", "ة"), ("ي", "ى"), ("ى", "ي")]
LATIN_IN_HEBREW = ["pls", "ok", "אוקיי", "plz", "thx", "btw", "asap"]


class Filler:
    """Fills one template's slots from the lexicons.

    A language whose nouns change with their role (Russian: "молоко" → "нет молока",
    "колбаса" → "купи колбасу") lists its items in its slots file instead, each as
    `nominative|accusative|genitive` (an empty form is the nominative; a word without `|`,
    such as a Hebrew word inside a Russian message, never changes), with its own amounts,
    number words and "and": `{item}` is then the form after a verb, `{item_nom}` the subject,
    `{item_gen}` the form after "no" or an amount. Elsewhere the three slots are one.
    """

    def __init__(self, lang: str, lex: Lexicon, slots: dict[str, list[str]]) -> None:
        self.lang = lang
        self.items = [entry.name for entry in lex.names(lang)]
        self.units = {entry.name: entry.unit for entry in lex.names(lang)}
        self.slots = slots
        self.forms: list[tuple[str, str, str]] = []
        for raw in slots.get("items", []):
            nom, acc, gen = ([*raw.split("|"), "", ""][:3] if "|" in raw else [raw, raw, raw])
            self.forms.append((nom, acc or nom, gen or nom))
        if self.forms:
            self.items = [acc for _, acc, _ in self.forms]

    def quantity(self, rng: random.Random) -> str:
        if self.forms:
            return self._inflected_quantity(rng)
        roll = rng.random()
        if roll < 0.55:
            value = rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 10, 12])
            text = str(value)
            return text.translate(ARABIC_DIGITS) if self.lang == "ar" and rng.random() < 0.4 \
                else text
        if roll < 0.9:
            return rng.choice(rng.choice(list(NUMBER_WORDS[self.lang].values())))
        return rng.choice(["1.5", "2.5", "0.5", "1/2", "½"])

    def _inflected_quantity(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.6:
            return str(rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 10, 12]))
        if roll < 0.9:
            return rng.choice(self.slots["numbers"])
        return rng.choice(["1.5", "2.5", "0.5", "1/2", "½"])

    def _form(self, rng: random.Random, case: int) -> str:
        return rng.choice(self.forms)[case]

    def _inflected_qty_item(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.3:
            return rng.choice(self.slots["qty_items"])
        if roll < 0.75:
            return f"{rng.choice(self.slots['amounts'])} {self._form(rng, 2)}"
        if roll < 0.87:
            count = rng.choice(["5", "6", "10", "12", *self.slots["many"]])
            return f"{count} {self._form(rng, 2)}"
        qty = str(rng.choice([1, 2, 3, 4, 6]))
        return f"{self._form(rng, 1)} {qty}" if rng.random() < 0.7 \
            else f"{self._form(rng, 1)} x{qty}"

    def item(self, rng: random.Random) -> str:
        if self.forms:
            return self._form(rng, 1)
        name = rng.choice(self.items)
        # Arabic speakers name the item on the list with the article as often as without
        # ("شيل الحليب"); the templates write it bare, so half the time add it here.
        if self.lang == "ar" and not name.startswith("ال") and rng.random() < 0.45:
            name = "ال" + name
        return name

    def qty_item(self, rng: random.Random) -> str:
        if self.forms:
            return self._inflected_qty_item(rng)
        name = self.item(rng)
        if self.lang == "ar" and rng.random() < 0.12:
            if rng.random() < 0.6:
                return f"{rng.choice(ARABIC_DUALS)} {name}"
            return f"{rng.choice(['كيلو', 'لتر', 'ربطة'])} ونص {name}"
        unit = self.units.get(name) if rng.random() < 0.5 else None
        if rng.random() < 0.15:
            unit = unit or rng.choice(UNITS[self.lang])
            return f"{HALF[self.lang]} {unit} {name}"
        qty = self.quantity(rng)
        if unit:
            of = " of" if self.lang == "en" and rng.random() < 0.6 else ""
            return f"{qty} {unit}{of} {name}"
        if rng.random() < 0.15:
            return f"{name} {qty}" if self.lang != "en" else f"{name} x{qty}"
        return f"{qty} {name}"

    def items_list(self, rng: random.Random) -> str:
        count = rng.choice([1, 2, 2, 3, 3, 4])
        parts = [self.qty_item(rng) if rng.random() < 0.35 else self.item(rng)
                 for _ in range(count)]
        if count == 1:
            return parts[0]
        style = rng.random()
        if style < 0.12:
            return "\n".join(parts)
        if style < 0.22:
            return " ".join(parts)
        if style < 0.35:
            return ", ".join(parts)
        head, last = parts[:-1], parts[-1]
        if self.lang == "he":
            joined = ", ".join(head) if rng.random() < 0.6 else " ".join(head)
            return f"{joined} ו{last}" if rng.random() < 0.85 else f"{joined} ו {last}"
        if self.lang == "ar":
            joined = "، ".join(head) if rng.random() < 0.6 else " ".join(head)
            return f"{joined} و{last}" if rng.random() < 0.7 else f"{joined} و {last}"
        if self.forms:
            joined = ", ".join(head) if rng.random() < 0.7 else " ".join(head)
            return f"{joined} {rng.choice(self.slots['and'])} {last}"
        joined = ", ".join(head)
        return f"{joined} and {last}" if rng.random() < 0.8 else f"{joined} & {last}"

    def fill(self, template: str, rng: random.Random) -> str:
        def slot(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "items":
                return self.items_list(rng)
            if name == "item":
                return self.item(rng)
            if name in ("item_nom", "item_gen"):
                return self._form(rng, 0 if name == "item_nom" else 2) if self.forms \
                    else self.item(rng)
            if name == "qty_item":
                return self.qty_item(rng)
            if name == "qty":
                return self.quantity(rng)
            if name.startswith("dish"):
                # A dish may come in its three forms too ("шарлотка|шарлотку|шарлотки").
                dish = rng.choice(self.slots["dishes"])
                if "|" not in dish:
                    return dish
                nom, acc, gen = [*dish.split("|"), "", ""][:3]
                return {"dish": nom, "dish_acc": acc or nom}.get(name, gen or nom)
            key = {"group_name": "group_names", "person": "people", "url": "urls"}[name]
            return rng.choice(self.slots[key])
        return _SLOT.sub(slot, template)


def _typo(text: str, rng: random.Random) -> str:
    positions = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(positions) < 4:
        return text
    i = rng.choice(positions[1:])
    kind = rng.random()
    if kind < 0.35:
        return text[:i] + text[i + 1:]
    if kind < 0.6 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind < 0.85:
        return text[:i] + text[i] + text[i:]
    return text[:i] + FINALS.get(text[i], text[i]) + text[i + 1:]


def augment(text: str, lang: str, rng: random.Random) -> str:
    """Family-chat noise: typos, lost spaces, emoji, diacritics, script variants, mentions."""
    if rng.random() < 0.25:
        text = _typo(text, rng)
    if rng.random() < 0.08:
        spaces = [m.start() for m in re.finditer(" ", text)]
        if spaces:
            i = rng.choice(spaces)
            text = text[:i] + text[i + 1:]
    if rng.random() < 0.12:
        text = text + " " + rng.choice(EMOJI) if rng.random() < 0.8 else rng.choice(EMOJI) + text
    if lang == "he" and rng.random() < 0.06:
        chars = list(text)
        for _ in range(3):
            i = rng.randrange(len(chars))
            if "\u05d0" <= chars[i] <= "\u05ea":
                chars[i] += rng.choice(NIQQUD)
        text = "".join(chars)
    if lang == "he" and rng.random() < 0.05:
        text = text + " " + rng.choice(LATIN_IN_HEBREW)
    if lang == "ar":
        if rng.random() < 0.08:
            chars = list(text)
            for _ in range(3):
                i = rng.randrange(len(chars))
                if "\u0620" <= chars[i] <= "\u064a":
                    chars[i] += rng.choice(HARAKAT)
            text = "".join(chars)
        if rng.random() < 0.2:
            old, new = rng.choice(ARABIC_SWAPS)
            text = text.replace(old, new, 1)
        if rng.random() < 0.05:
            i = rng.randrange(max(1, len(text)))
            text = text[:i] + "ـ" + text[i:]
    if lang == "ru" and "ё" in text.lower() and rng.random() < 0.5:
        # Most people type е for ё; the model must know both.
        text = text.replace("ё", "е").replace("Ё", "Е")
    if rng.random() < 0.04:
        text = "@shopbot_family_bot " + text
    if rng.random() < 0.1:
        text = text.lower() if rng.random() < 0.5 else text.capitalize()
    if rng.random() < 0.04:
        text = "\u200f" + text
    return text


def side_of(template_text: str, seed: int, held_out: float, validation: float) -> str:
    """The split a template belongs to, decided by its normalized text alone.

    The same phrasing in two languages' files (a bare "{url}", say) always lands on the
    same side, so a template can never leak from training into the test split.
    """
    roll = random.Random(f"{seed}:{normalize(template_text)}").random()
    if roll < held_out:
        return "test"
    if roll < held_out + validation:
        return "validation"
    return "train"


def _expand(template: Template, filler: Filler, rng: random.Random, count: int,
            noisy: bool) -> Iterator[Example]:
    seen: set[str] = set()
    has_slots = bool(_SLOT.search(template.text))
    attempts = 0
    while len(seen) < count and attempts < count * 4:
        attempts += 1
        text = filler.fill(template.text, rng)
        if noisy and (attempts > 1 or not has_slots):
            text = augment(text, template.lang, rng) if attempts > 1 or rng.random() < 0.5 \
                else text
        if text in seen:
            continue
        seen.add(text)
        yield Example(text, template.intent, template.lang, template.text)


def build_splits(seed: int = 42, per_template: int = 10, root: Path = ROOT,
                 held_out: float = 0.15, validation: float = 0.12) -> Split:
    """Generate the three splits; raises if a template would land on two sides."""
    rng = random.Random(seed)
    lex = lexicon()
    out: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    sides: dict[str, set[str]] = {"train": set(), "validation": set(), "test": set()}
    later: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    for lang in LANGUAGES:
        if lang not in _SHARED_STREAM and not (root / "templates" / f"{lang}.txt").exists():
            continue
        stream = rng if lang in _SHARED_STREAM else random.Random(f"{seed}:{lang}")
        target = out if lang in _SHARED_STREAM else later
        filler = Filler(lang, lex, load_slots(lang, root))
        templates = load_templates(lang, root)
        for intent in Intent:
            group = [t for t in templates if t.intent is intent]
            for template in group:
                side = side_of(template.text, seed, held_out, validation)
                sides[side].add(normalize(template.text))
                count = per_template if side == "train" else max(3, per_template // 3)
                # Slot-free templates have few distinct expansions; noise makes the rest.
                target[side].extend(_expand(template, filler, stream, count, noisy=True))
    leaked = (sides["train"] & sides["test"]) | (sides["train"] & sides["validation"]) | (
        sides["validation"] & sides["test"])
    if leaked:
        raise ValueError(f"templates on two sides of the split: {sorted(leaked)[:5]}")
    for examples in out.values():
        rng.shuffle(examples)
    for name, shuffled in out.items():
        # The later languages' examples go in at places drawn from a stream of their own, so
        # the first three keep their order among themselves.
        mix = random.Random(f"{seed}:mix:{name}")
        added = later[name]
        mix.shuffle(added)
        places = [False] * len(shuffled) + [True] * len(added)
        mix.shuffle(places)
        own, new = iter(shuffled), iter(added)
        out[name] = [next(new) if place else next(own) for place in places]
    return Split(out["train"], out["validation"], out["test"])
