"""Entity extraction (intents.md): items with amounts, new names, states, dishes, URLs.

Rule-based and lexicon-assisted, shared by the handlers (through `Routed`) and by
`shopbot classify`, so what the command prints is what the bot acts on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from router.languages import codes, read_tsv
from router.lexicon import Lexicon, lexicon
from router.normalize import clean_text, normalize
from router.types import Entities, Intent, Item

__all__ = ["MAX_ITEMS", "extract", "is_bare_item_list", "is_bare_removal", "parse_items",
           "parse_quantity_unit"]

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

NUMBER_WORDS: dict[str, float] = {
    # Hebrew
    "אחד": 1, "אחת": 1, "שניים": 2, "שתיים": 2, "שני": 2, "שתי": 2, "שנים": 2, "שתים": 2,
    "שלוש": 3, "שלושה": 3, "שלושת": 3, "ארבע": 4, "ארבעה": 4, "חמש": 5, "חמישה": 5,
    "שש": 6, "שישה": 6, "שבע": 7, "שבעה": 7, "שמונה": 8, "תשע": 9, "תשעה": 9, "עשר": 10,
    "עשרה": 10, "זוג": 2, "חצי": 0.5, "רבע": 0.25, "תריסר": 12,
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "half": 0.5,
    "couple": 2, "pair": 2, "quarter": 0.25,
    # Arabic (compared after normalization: ة→ه, أ→ا)
    "واحد": 1, "وحده": 1, "اثنين": 2, "اتنين": 2, "تنين": 2, "ثنين": 2, "زوج": 2, "جوز": 2,
    "ثلاث": 3, "ثلاثه": 3, "تلاته": 3, "تلات": 3, "اربع": 4, "اربعه": 4, "خمس": 5,
    "خمسه": 5, "ست": 6, "سته": 6, "سبع": 7, "سبعه": 7, "ثمان": 8, "ثمانيه": 8, "تمانيه": 8,
    "تسع": 9, "تسعه": 9, "عشر": 10, "عشره": 10, "نص": 0.5, "نصف": 0.5, "ربع": 0.25,
    "دزينه": 12,
}

# Canonical unit per language, keyed by every spelling (normalized).
_UNIT_SPELLINGS: dict[str, list[str]] = {
    "קילו": ["קילו", 'ק"ג', "קג", "קילוגרם", "קילוגרמים", "קילואים", "קילוגרם"],
    "גרם": ["גרם", "ג'", "גר'", "גר", "גרמים"],
    "ליטר": ["ליטר", "ליטרים", "ל'"],
    'מ"ל': ['מ"ל', "מל"],
    # Construct forms too ("2 בקבוקי קולה", "חבילת פסטה").
    "בקבוק": ["בקבוק", "בקבוקים", "בקבוקי"],
    "חבילה": ["חבילה", "חבילות", "חבילת"],
    "קרטון": ["קרטון", "קרטונים", "קרטוני"],
    "שקית": ["שקית", "שקיות"],
    "קופסה": ["קופסה", "קופסא", "קופסאות", "קופסות", "קופסת", "קופסאת"],
    "מגש": ["מגש", "מגשים", "מגשי"],
    "יחידות": ["יחידה", "יחידות"],
    "פחית": ["פחית", "פחיות"],
    "צנצנת": ["צנצנת", "צנצנות"],
    "כיכר": ["כיכר", "כיכרות"],
    "תבנית": ["תבנית", "תבניות"],
    "שישייה": ["שישייה", "שישיה"],
    "ארגז": ["ארגז", "ארגזים"],
    "kg": ["kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"],
    "g": ["g", "gr", "gram", "grams"],
    "lb": ["lb", "lbs", "pound", "pounds"],
    "l": ["l", "liter", "liters", "litre", "litres"],
    "ml": ["ml"],
    "bottle": ["bottle", "bottles"],
    "pack": ["pack", "packs", "packet", "packets", "package", "packages"],
    "carton": ["carton", "cartons"],
    "bag": ["bag", "bags"],
    "can": ["can", "cans", "tin", "tins"],
    "box": ["box", "boxes"],
    "loaf": ["loaf", "loaves"],
    "jar": ["jar", "jars"],
    "bunch": ["bunch", "bunches"],
    "tray": ["tray", "trays"],
    "كيلو": ["كيلو", "كغ", "كيلوغرام", "كيلوجرام", "كيلوات", "كيلوهات"],
    "غرام": ["غرام", "جرام", "غم", "غرامات"],
    "لتر": ["لتر", "ليتر", "لترات"],
    "قنينة": ["قنينة", "قناني", "زجاجة", "زجاجات", "قزازة"],
    "كرتونة": ["كرتونة", "كرتون", "كراتين"],
    "كيس": ["كيس", "أكياس"],
    "علبة": ["علبة", "علب"],
    "ربطة": ["ربطة", "ربطات"],
    "باكيت": ["باكيت", "باكيتات"],
    "حبة": ["حبة", "حبات"],
    "صحن": ["صحن", "طبق"],
    # Kitchen measures, for recipe ingredient lines.
    "cup": ["cup", "cups"],
    "tbsp": ["tbsp", "tablespoon", "tablespoons", "tbs"],
    "tsp": ["tsp", "teaspoon", "teaspoons"],
    "כוס": ["כוס", "כוסות"],
    "כף": ["כף", "כפות"],
    "כפית": ["כפית", "כפיות"],
    "كوب": ["كوب", "اكواب", "كاسة", "كاسات"],
    "ملعقة": ["ملعقة", "ملاعق", "معلقة"],
}
UNITS: dict[str, str] = {
    normalize(spelling): canonical
    for canonical, spellings in _UNIT_SPELLINGS.items()
    for spelling in spellings
}
# Arabic duals carry their own "2": كيلوين, لترين, كيسين.
DUAL_UNITS: dict[str, str] = {
    normalize("كيلوين"): "كيلو", normalize("لترين"): "لتر", normalize("كيسين"): "كيس",
    normalize("علبتين"): "علبة", normalize("كرتونتين"): "كرتونة", normalize("ربطتين"): "ربطة",
    normalize("حبتين"): "حبة", normalize("قنينتين"): "قنينة",
}
# Arabic number words, units, duals and the words around amounts, in all the dialects the
# bot hears (Levantine, Gulf, Egyptian, Iraqi, MSA), are data: router/data/amounts_ar.json.
AMOUNT_WORDS = Path(__file__).with_name("data") / "amounts_ar.json"
_AMOUNTS: dict[str, Any] = json.loads(AMOUNT_WORDS.read_text(encoding="utf-8"))
NUMBER_WORDS.update({normalize(w): float(v) for w, v in _AMOUNTS["numbers"].items()})
UNITS.update({normalize(spelling): canonical
              for canonical, spellings in _AMOUNTS["units"].items()
              for spelling in [canonical, *spellings]})
DUAL_UNITS.update({normalize(w): unit for w, unit in _AMOUNTS["dual_units"].items()})
_HALF_AFTER = frozenset(normalize(w) for w in ("וחצי", "ونص", *_AMOUNTS["half_after"]))
_SET_MARKERS = frozenset(normalize(w) for w in _AMOUNTS["set_markers"])
_EXCEPT_TAIL = frozenset(normalize(w) for w in _AMOUNTS["except_tail"])

# Words that frame a request rather than name an item; stripped from the edges of a
# segment. None of them is a grocery item on its own.
_FILLER_TEXT = """
תוסיף תוסיפי תוסיפו הוסף הוסיפי הוסיפו להוסיף תכניס תכניסי להכניס תרשום תרשמי רשום לרשום
תקנה תקני תקנו לקנות קנה קני תביא תביאי תביאו להביא תשים תשימי שים לשים צריך צריכה צריכים
צריכות חסר חסרה חסרים חסרות נגמר נגמרה נגמרו אין לנו לי גם עוד בבקשה בבקשהה אפשר רק ממש
דחוף יאללה אחי אחותי כפרה נו את לרשימה ברשימה מהרשימה לליסט תוריד תורידי תורידו להוריד
הורד תמחק תמחקי תמחקו למחוק מחק תסיר תסירי להסיר הסר בעצם תשנה תשני לשנות שנה תעדכן תעדכני
לעדכן עדכן תעשה תעשי שיהיה שיהיו תהיה יהיה מספיק כבר צריך שצריך שחסר שנגמר אז טוב אוקיי
סבבה תודה היום מחר לשבת הביתה בדרך קח קחי תקח תקחי לקחת והוסף ותוסיף ותוסיפי שוב איזה
please pls plz add buy get grab need we i you us our some the a an more also to list the
from remove delete drop take off out of just put on can could would need needs also
actually make change set update it let's lets and ok okay hey yo bro thanks thank pick up
too ו و
بدنا بدي نحتاج لازمنا لازم عايزين عايز نبي ابي ابغى جيب جيبي جيبوا هات هاتي اشتري اشتريلنا
ضيف ضيفي ضيفوا اضف اضيف زيد كمان خلص خلصت خلصوا ما في مافي عنا عندنا لو سمحت من فضلك
يا الله يلا شيل شيلي شيلوا احذف احذفي امسح امسحي الغي على القائمه للقائمه من بالقائمه
اللسته لا خليها خليه غير غيري عدل عدلي بدل هلق اليوم بكرا بكره شي شوية شويه
"""
FILLERS = frozenset(normalize(word)
                    for word in [*_FILLER_TEXT.split(), *_AMOUNTS["request_words"]])

_SPLIT = re.compile(r"\s*(?:[\n;,،+&]|\band\b|\s-\s|\s\|\s)\s*", re.IGNORECASE)
_TRAILING_PUNCT = re.compile(r"^[\s\"'()\[\]{}.!?؟:*•·\-–—…]+|[\s\"'()\[\]{}.!?؟:*•·\-–—…]+$")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u2190-\u21ff\u2300-\u23ff]"
)

# Clause markers for PARTIAL_COMPLETION ("all but X") and UPDATE_QUANTITY ("3, not 2").
_EXCEPT = re.compile(
    r"(?:חוץ\s*מ|מלבד|למעט|פרט\s*ל|בלי|לא\s+מצאתי|לא\s+היה|לא\s+היו|אין\s+להם|חסר\s+להם"
    r"|\bexcept(?:\s+for)?\b|\bbut(?:\s+not)?\b|\bbesides\b|\bother\s+than\b|\bapart\s+from\b"
    r"|\bwithout\b|\bno\b|\bcouldn'?t\s+find\b|\bcould\s+not\s+find\b|\bdidn'?t\s+get\b"
    r"|\bthey\s+(?:had|have)\s+no\b|\bout\s+of\b|\bmissing\b"
    r"|ما\s*عدا|بدون|ما\s+لقيت|مالقيت|ما\s+في|ما\s+كان\s+في|ما\s+جبت|ماجبت)\s*",
    re.IGNORECASE,
)
# Arabic "except" words standing as words of their own ("عدا", "باستثناء"), and the weaker
# "بس"/"لكن" ("جبت الكل بس الموز خلص"), tried only when no other marker gives an item.
_EXCEPT_WORDS = re.compile(
    r"(?<!\S)و?(?:" + "|".join(map(re.escape, _AMOUNTS["except_words"])) + r")(?!\S)\s*")
_EXCEPT_WEAK = re.compile(
    r"(?<!\S)(?:" + "|".join(map(re.escape, _AMOUNTS["except_weak"])) + r")(?!\S)\s*")
_REST = re.compile(
    r"(?:,|\.|\s)\s*(?:את\s+)?(?:ה)?(?:שאר|כל\s+השאר|כל\s+היתר|היתר)|"
    r"(?:,|\.|\s)\s*(?:got|bought|have)?\s*(?:the\s+)?rest\b|(?:,|\.|\s)\s*(?:everything|all)\s+else|"
    r"(?:,|\.|\s)\s*(?:و)?(?:ال)?باقي|(?:,|\.|\s)\s*(?:the\s+)?others?\b",
    re.IGNORECASE,
)
_NOT_CLAUSE = re.compile(
    r"(?:,|\s)\s*(?:ולא|לא|במקום|instead\s+of|instead|not|rather\s+than|مش|بدل|بدال|مو|وليس)\b.*$",
    re.IGNORECASE,
)
_TO_AMOUNT = re.compile(
    r"^(?P<name>.+?)\s+(?:ל|ל-|ל־|to|into|for|ل|الى|إلى|لـ)\s*-?\s*(?P<amount>\d+(?:[.,]\d+)?|[^\s]+)"
    r"(?:\s+(?P<unit>\S+))?\s*$",
    re.IGNORECASE,
)

_OFF = re.compile(
    r"בלי|תפסיק|להפסיק|תפסיקו|תכבה|לכבות|כבה|תשתיק|להשתיק|השתק|השתיק|אל\s+ת|די\s+עם|לא\s+רוצה|מיוט"
    r"|\bmute\b|\bstop\b|\boff\b|\bdisable\b|\bdon'?t\b|\bno\s+more\b|\bsilence\b|\bquiet\b|\bpause\b"
    r"|وقف|اوقف|طفي|اطفي|سكت|بدون|بلا|الغي|ألغي|كتم|لا\s+تبعت|ما\s+بدي|بطل|بطلوا",
    re.IGNORECASE,
)
_ON = re.compile(
    r"תפעיל|להפעיל|הפעל|תחזיר|להחזיר|תדליק|להדליק|כן\s+התראות|אני\s+רוצה\s+התראות|תעדכן\s+אותי"
    r"|\bon\b|\benable\b|\bresume\b|\bunmute\b|\bstart\b|\bnotify\s+me\b|\bkeep\s+me\b"
    r"|شغل|فعل|رجع|ارجع|شغلي|فعلي|بدي\s+اشعارات|خبروني|خبرني",
    re.IGNORECASE,
)
_STATUS = re.compile(r"\?|؟|האם|\bam\s+i\b|\bare\b|\bdo\s+i\b|\bis\b|هل|شو\s+وضع|مفعل",
                     re.IGNORECASE)

_RENAME_MARKERS = re.compile(
    r"(?:\bto\b|\bas\b|:|\bcall(?:ed)?\s+(?:it|us|the\s+\w+|this\s+\w+)?|\bname\s+(?:it|us)\b"
    r"|(?:^|\s)ל-?|(?:^|\s)ל־|(?:^|\s)לשם|יקראו\s+לה|תקרא\s+לה|תקראי\s+לה|יהיה|שמה|שם\s+חדש"
    r"|(?:^|\s)لـ?|(?:^|\s)ل|سميها|سمي\s+\S+|الى|إلى|يكون|اسم\s+جديد)\s*",
    re.IGNORECASE,
)
_RENAME_NOISE = re.compile(
    r"^(?:שם\s+)?(?:ה)?(?:קבוצה|רשימה|ליסט)\b\s*|^(?:the\s+)?(?:group|list|chat)\b\s*"
    r"|^(?:ال)?(?:مجموعه|مجموعة|قائمه|قائمة|جروب|قروب)\b\s*",
    re.IGNORECASE,
)

_DISH_MARKERS = re.compile(
    r"(?:מתכון\s+(?:של|ל)?|מצרכים\s+(?:של|ל)|מרכיבים\s+(?:של|ל)|רשימה\s+ל|צריך\s+ל|צריכים\s+ל"
    r"|צריכה\s+ל|להכין|מכינה|מכין|מכינים|נכין|אכין|בשביל|עבור|(?<!\S)ל(?=\S)"
    r"|ingredients\s+(?:for|of)|recipe\s+for|\bfor\b|\bmake\b|\bmaking\b|\bcook(?:ing)?\b"
    r"|\bbake\b|\bbaking\b|\bprepare\b"
    r"|مكونات|مقادير|وصفة|لعمل|نعمل|اعمل|اطبخ|نطبخ|بدي\s+اطبخ|(?<!\S)لل?(?=\S)|عشان|مشان"
    r"|حق)\s*",
    re.IGNORECASE,
)
_CLAUSES = re.compile(r"[,،;؛\n]|[?؟!.](?:\s|$)")
_GLUED_PREFIX = re.compile(r"ל|لل?")
DISH_WORDS = "dish_words.tsv"  # in each language's folder, router/data/lang/<code>/
_DISH_TAIL = re.compile(
    r"\s*(?:\?|؟|!|\.|,|בבקשה|please|pls|\btonight\b|\btomorrow\b|\bfor\s+\d+.*|הערב|מחר|בשבת"
    r"|لو\s+سمحت|اليوم|بكرا|بكره|الليله).*$",
    re.IGNORECASE,
)
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
    # Hebrew and Arabic glue "and" onto the number: ושלושה, وثلاثة.
    if len(word) > 2 and word[0] in "וو" and word[1:] in NUMBER_WORDS:
        return float(NUMBER_WORDS[word[1:]])
    return None


def _unit(token: str) -> str | None:
    key = normalize(token)
    if key in UNITS:
        return UNITS[key]
    # Hebrew glues "of the" style prefixes rarely onto units; strip a ו only.
    if len(key) > 2 and key[0] in "וו" and key[1:] in UNITS:
        return UNITS[key[1:]]
    return None


def _strip_article(word: str, lex: Lexicon, definite: bool) -> str:
    """Drop a conjunction or article glued to the front of an item's first word."""
    if lex.knows(word):
        return word
    for prefix in ("וה", "מה", "שה", "לה", "בה", "ה", "ו", "ال", "وال", "بال", "لل", "و"):
        if not word.startswith(prefix):
            continue
        rest = word[len(prefix):]
        if len(rest) < 2:
            continue
        if lex.knows(rest):
            return rest
        if prefix in ("ال", "وال", "بال", "لل") and len(rest) >= 3:
            return rest
        if prefix in ("וה", "ה", "מה") and definite and len(rest) >= 3:
            return rest
        if prefix in ("ו", "و") and len(rest) >= 3 and not lex.knows(word):
            rest_stripped = _strip_article(rest, lex, definite)
            if lex.knows(rest_stripped):
                return rest_stripped
    return word


def parse_quantity_unit(words: list[str]) -> tuple[float | None, str | None, list[str]]:
    """Pull a leading or trailing amount and unit off a phrase's words.

    Returns the quantity, the canonical unit and the words that are left (the name).
    Handles "2 ק"ג עגבניות", "חצי קילו גבינה", "קילו וחצי", "half a kilo of cheese",
    "a dozen eggs", "نص كيلو جبنة", "كيلوين بندورة", "milk x3", "עגבניות 2 קילו".
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
    if words and words[0].lower() in ("a", "an") and len(words) > 1:
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
                if i < len(words) and words[i].lower() in ("a", "an"):
                    i += 1
                dual = normalize(words[i]) if i < len(words) else ""
                if dual in DUAL_UNITS:
                    quantity, unit = 2.0 * value, DUAL_UNITS[dual]
                    i += 1
                else:
                    i = take_unit(i)
            elif words[i] and normalize(words[i]) in DUAL_UNITS:
                quantity, unit = 2.0, DUAL_UNITS[normalize(words[i])]
                i += 1
            elif i == 0 and _unit(words[0]) and len(words) > 1:
                # "קילו עגבניות", "kilo of tomatoes": a bare unit means one of it.
                quantity, unit = 1.0, _unit(words[0])
                i = 1
    if quantity is not None and i < len(words) and (
            normalize(words[i]) in ("and", "و") or normalize(words[i]) in _HALF_AFTER):
        if normalize(words[i]) == "and" and i + 2 < len(words) and words[i + 2] == "half":
            quantity += 0.5
            i += 3
        elif normalize(words[i]) in _HALF_AFTER:
            quantity += 0.5
            i += 1
        elif normalize(words[i]) == "و" and i + 1 < len(words) \
                and NUMBER_WORDS.get(normalize(words[i + 1])) == 0.5:
            quantity += 0.5  # "كيلو و نص"
            i += 2
    if quantity is not None and i < len(words) and normalize(words[i]) in ("of", "של", "من"):
        i += 1
    rest = words[i:]
    # "ربطة خبز وحدة", "علبة تونة تنتين": a bare unit said one; the number after the name
    # says how many.
    if quantity == 1.0 and i == 1 and unit is not None and _unit(words[0]) and rest \
            and _number(rest[-1]) is not None and _number(rest[-1]) != 0.5:
        quantity = _number(rest[-1])
        rest = rest[:-1]

    # Trailing: name number [unit] | name unit | name xN
    if quantity is None and len(rest) >= 3 and normalize(rest[-1]) in _HALF_AFTER \
            and _unit(rest[-2]):
        # "موز كيلو ونص", "موز ٢ كيلو ونص"
        number = _number(rest[-3]) if len(rest) >= 4 else None
        quantity, unit = (number if number is not None else 1.0) + 0.5, _unit(rest[-2])
        rest = rest[:-3] if number is not None else rest[:-2]
    if quantity is None and len(rest) >= 2:
        last = rest[-1]
        value = _number(last)
        if value is not None and normalize(last) not in ("חצי", "half"):
            quantity = value
            rest = rest[:-1]
        elif _unit(last) and len(rest) >= 3 and _number(rest[-2]) is not None:
            quantity, unit = _number(rest[-2]), _unit(last)
            rest = rest[:-2]
        elif normalize(last) in DUAL_UNITS:
            quantity, unit = 2.0, DUAL_UNITS[normalize(last)]
            rest = rest[:-1]
    return quantity, unit, rest


def _is_filler(word: str) -> bool:
    key = normalize(word)
    fillers = _fillers()
    # "וגם", "ועוד", "وكمان": a filler with "and" glued on is still a filler.
    return key in fillers or (len(key) > 2 and key[0] in "וو" and key[1:] in fillers)


@lru_cache(maxsize=1)
def _fillers() -> frozenset[str]:
    return FILLERS | _words_of("add") | _words_of("more")


def _clean_segment(text: str) -> list[str]:
    text = _EMOJI.sub(" ", text)
    text = _TRAILING_PUNCT.sub("", text)
    words = [w for w in text.split() if w]
    # Fillers and framing phrases in any order: "please, we're out of …", "حط على القائمة …".
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
    """Split "חלב ביצים לחם" into items when every word belongs to a known item."""
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
    """Split at a Hebrew ו or Arabic و glued to a word that starts a new item."""
    groups: list[list[str]] = [[]]
    for index, word in enumerate(words):
        starts_new = False
        if len(word) > 2 and word[0] in "וو" and word[1] in "-־":
            word = word[2:]  # "ו-2 מלפפונים"
            if index > 0:
                groups.append([word])
                continue
        rest = word[1:]
        if normalize(word) in ("וחצי", "ونص", "ونصف") or normalize(word) in NUMBER_WORDS:
            pass  # "קילו וחצי", "ربطة وحدة": an amount of the same thing, not a new item
        elif index > 0 and len(word) >= 2 and word[0] in "וو" and not lex.knows(word) and (
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
    """Start a new item at a number that follows a name: "2 חלב 3 ביצים"."""
    groups: list[list[str]] = [[]]
    for index, word in enumerate(words):
        value = _number(word)
        previous = groups[-1]
        after = words[index + 1:]
        # "eggs 2 cartons", "ביצים 2": an amount after the name belongs to it.
        trailing = not after or (len(after) == 1 and _unit(after[0]) is not None) or (
            len(after) == 2 and _unit(after[0]) is not None
            and normalize(after[1]) in _HALF_AFTER)
        if value is not None and previous and not trailing and _number(previous[-1]) is None \
                and not _unit(previous[-1]) and normalize(word) not in ("חצי", "half", "نص"):
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
    definite = definite or bool(re.search(
        r"(?:^|\s)(?:את|נגמר|נגמרה|נגמרו|חסר|חסרה|חסרים|אין|כל)\s", text))
    # "אזל לנו הקפה": after a framing phrase, a glued ה is the article.
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


# Notes written beside an item: "(גדולה)", "[big]", "3%", "%3" (typed right to left).
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
    comma = "، " if any(re.search("[\u0620-\u064a]", n) for n in unique) else ", "
    return comma.join(unique)[:100] or None


def _percent(found: str) -> str:
    return found.replace(" ", "").strip("%") + "%"


def _mark(notes: list[str], note: str) -> str:
    notes.append(note)
    return f" {_NOTE_MARK}{len(notes) - 1}{_NOTE_MARK} "


def _noted_segments(text: str, lex: Lexicon, notes: list[str]) -> list[str]:
    """The phrase cut where `_SPLIT` cuts it, its notes marked in place (kept in `notes`).

    Brackets and percentages are notes wherever they stand (a comma inside brackets does not
    cut); a piece after a dash is a note of the one before when it is a brand or note word,
    has a percentage, or is a short description of a known item ("שמן זית - כתית מעולה"),
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
    """Brand and note words at either end of an item's name ("low fat milk", "חלב תנובה"),
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
    """The words less brand and note phrases and percentages ("בדנה חלב דל שומן 3%")."""
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
    words = [w for w in words if not _MARKED.fullmatch(w)
             and normalize(w) not in ("את", "the", "some", "of")]
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
    """The food and what it is for: "cucumbers for salad", "מלפפונים לסלט", "بندورة للسلطة".

    Only a known item is cut from its purpose, and never a phrase that is an item as a
    whole ("גבינה לבנה"); a glued ל/لل word that is an item itself ("חלב לחם") is not a
    purpose, nor is an amount ("pasta for 4").
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
    """The singular of an Arabic dual of a known item ("بطيختين" → "بطيخة"), else None."""
    key = normalize(word)
    if len(key) < 5 or not key.endswith("تين") or lex.knows(word):
        return None
    singular = word[:-3] + "ة"
    return singular if lex.knows(singular) else None


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
    # The marker written first wins; the weak "بس" only when no other one names an item.
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
    remainder = re.split(r"(?:,\s*|\.\s*|\s-\s)(?:קניתי|קנינו|לקחתי|got|bought|اشتريت|جبت)",
                         remainder)[0]
    words = remainder.split()
    # "بس السكر كان خلصان عندهم", "عدا الموز ما لقيته": the item, not why it is missing.
    cut = next((i for i, word in enumerate(words)
                if i > 0 and normalize(_TRAILING_PUNCT.sub("", word)) in _EXCEPT_TAIL), None)
    if cut is not None:
        remainder = " ".join(words[:cut])
    return parse_items(remainder, definite=True, lex=lex)


def _set_amount(text: str, lex: Lexicon) -> list[Item]:
    """"الموز خليه كيلو ونص", "بدل ٦ بيضات خليهم دزينة", "لا مش علبة وحدة، خليها أربعة": the
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
    if not named or _unit(named[0].name) or normalize(named[0].name) in DUAL_UNITS:
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
            # "لكيلوين", "لكيلو واحد": a dual or a unit with its number
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
    "השם", "اسم المجموعة"), so a ל/ل or "to" inside the name itself ("משפחת לוי", "Back to
    School") is not taken for it."""
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
        if re.search(r"\b(?:want|like|need|how|have|going|wanna|trying|able)\s+to\s*$",
                     text[: found.end()], re.IGNORECASE):
            continue  # "I want to change the name": an intention, not a name
        following = text[found.end():].split()
        if found.group(0).strip() in ("ל", "ل") and following \
                and normalize(following[0]) in _words_of("rename_skip"):
            continue  # "תשנה לנו …": to us, not to a name
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
    if last.group(0).strip() == "ل" and re.match(r"ل\w\w", name):
        name = "ا" + name  # "للبيت الكبير" is ل + "البيت الكبير"
    name = _RENAME_NOISE.sub("", name)
    if re.search(r"\b(?:name|rename|title)\b|(?:^|\s)(?:שם|השם)(?:\s|$)|اسم", name,
                 re.IGNORECASE):
        return None
    name = re.sub(r"[\s.!?؟]+$", "", name)
    name = re.sub(r"\s*(?:בבקשה|please|pls|لو سمحت|من فضلك|thanks|תודה)$", "", name,
                  flags=re.IGNORECASE)
    if not name or len(name) < 2 or normalize(name) in FILLERS:
        return None
    return name[:64]


def _notification_state(text: str) -> str:
    if _STATUS.search(text):
        # "are my notifications on?" asks; "can you turn them off?" still commands.
        verbs = re.sub(r"\b(?:on|off)\b", " ", text, flags=re.IGNORECASE)
        commanding = re.search(r"\b(?:turn|switch|put|set)\b", text, re.IGNORECASE)
        if not commanding and not _OFF.search(verbs) and not _ON.search(verbs):
            return "status"
    if _OFF.search(text):
        return "off"
    if _ON.search(text):
        return "on"
    return "status"


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
            re.compile(r"(?<!\S)(?:" + "|".join(drops) + r")(?![^\s,،;؛.?؟!:])",
                       re.IGNORECASE))


def _dish_in_clause(clause: str) -> tuple[str | None, bool]:
    """The dish a clause names after its last marker; whether it had a marker."""
    verbs, _drops = _dish_words()
    # The marker that ends last wins, overlaps included: in "צריכה להכין מרק" both
    # "צריכה ל" and "להכין" match, and only the second ends where the dish begins.
    # A glued ל/لل right after another marker is the dish's own first letter ("בשביל לזניה").
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
    while words and normalize(words[0]) in ("ה", "את", "the", "a", "an", "ال", "של", "some"):
        words.pop(0)
    if words and words[0].startswith("ה") and len(words[0]) > 3:
        words[0] = words[0][1:]
    if len(words) == 1 and words[0].startswith("ال") and len(words[0]) > 4:
        words[0] = words[0][2:]
    return " ".join(words).strip() or None, last >= 0


def _dish(text: str) -> str | None:
    """The dish a recipe question names, cut from the sentence around it: words that never
    name a dish go first, then the first clause with a marker ("for", "להכין", "اعمل",
    a glued ל/لل) gives the words after its last marker."""
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
    """A removal without what frames it: the reason after the items ("…, יש לנו עוד במקרר",
    "…, we have some") is cut, and a "no need for" before them ("אין צורך בקוטג'", "ما في
    داعي للجبنة") goes with the prefix glued to the item. Also says whether a reason was cut
    and whether the message said "no need"."""
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
    needed: "אין צורך בקוטג'", "no need for cottage cheese", "תוריד את הקוטג', יש לנו עוד
    במקרר", "شيل اللبنة، في عنا". The reason would otherwise blur what the model hears."""
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


def extract(intent: Intent, text: str, lex: Lexicon | None = None) -> Entities:
    """The entities intents.md lists for `intent`, read from the message text."""
    lex = lex or lexicon()
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


_BARE_NOISE = frozenset(normalize(w) for w in (
    "ו", "و", "and", "&", "+", "בבקשה", "please", "pls", "plz", "لو سمحت", "من فضلك", "x",
))
# Words that can only mean "put it on the list" before a run of known items.
_ADD_LEADS = frozenset(normalize(w) for w in """
add buy get grab need we also more pls please plz and some us to list the a an
תוסיף תוסיפי תוסיפו הוסף הוסיפי להוסיף תקנה תקני תקנו לקנות קנה קני תביא תביאי תביאו
להביא צריך צריכה צריכים חסר חסרה חסרים נגמר נגמרה נגמרו תרשום תרשמי רשום תכניס תכניסי עוד
גם לנו לי את בבקשה אפשר
بدنا بدي نحتاج لازمنا جيب جيبي جيبوا هات هاتي ضيف ضيفي ضيفوا اشتري اشتريلنا عايزين نبي ابي
كمان خلص خلصت خلصوا لو سمحت
""".split()) | frozenset(normalize(w) for w in _AMOUNTS["bare_leads"])


def is_bare_item_list(text: str, lex: Lexicon | None = None) -> bool:
    """True when a message is nothing but known grocery items (with amounts): "ביצים",
    "חלב, 2 לחם", "eggs and milk", "خبز وحليب". Such a message can only mean "add these"."""
    lex = lex or lexicon()
    cleaned = _EMOJI.sub(" ", clean_text(text))
    if _URL.search(cleaned) or len(cleaned) > 300:
        return False
    words: list[str] = []
    leading = True
    for raw in re.split(r"[\s,،;\n]+", cleaned):
        lead = normalize(_TRAILING_PUNCT.sub("", raw))
        if leading and (lead in _ADD_LEADS or lead in _words_of("add")
                        or lead in _words_of("more")):
            continue
        leading = False
        word = _TRAILING_PUNCT.sub("", raw)
        if not word or normalize(word) in _BARE_NOISE or _number(word) is not None \
                or _unit(word) or normalize(word) in DUAL_UNITS:
            continue
        if _GLUED.match(word) and _unit(_GLUED.match(word).group(2)):  # type: ignore[union-attr]
            continue
        words.append(word)
    words = _without_notes(words, lex)
    if not words:
        return False
    # Glued conjunctions and articles: "וביצים", "وحليب", "הקפה", "الحليب".
    written = words
    words = [w[1:] if len(w) > 2 and w[0] in "וو" and not lex.knows(w) else w for w in words]
    words = [_strip_article(w, lex, True) for w in words]
    if _split_known_run(words, lex) is not None:
        return True
    # Known items and what the last one is for: "מלפפונים לסלט", "cucumbers for salad".
    return any(_split_known_run(words[:start], lex) is not None
               and _cut_purpose(written[start:], lex)[1] is not None
               for start in range(len(words)))
