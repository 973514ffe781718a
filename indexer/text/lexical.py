"""Word-level text analysis: the one tokeniser, stop-word list and stemmer in Citeline.

Used by BM25 (`index_terms`), the extractive answerer, the citer and the condenser. Deliberately
small and deterministic: lowercase tokens that keep "r&d" and "6g" whole, one stop-word
list (a core that BM25 uses, plus question phrasing), and suffix folding light enough to never
merge unrelated words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def words(text: str) -> frozenset[str]:
    """A word list written as prose (one string), as a set."""
    return frozenset(text.split())


_TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:[&'’][^\W\d_]+)*|[^\W_]+")
_NUMBER = re.compile(r"\d")
NUMBER_WORDS = words(
    """one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty
    hundred hundreds thousand thousands million millions billion billions dozen dozens"""
)
MONTHS = words(
    """january february march april may june july august september october november december"""
)
# Function words no keyword search should count: BM25 drops exactly these.
CORE_STOPWORDS = words(
    """a an and are as at be been but by can could did do does for from had has have how i if in
    into is it its of on or our so such that the their them then there these they this to was we
    were what when where which who whom why will with would you your about than also more most
    not no any all each other some"""
)
# The answerer, citer and condenser also drop how a question is phrased ("according to the
# article", "tell me"): one list, the core plus these.
STOPWORDS = CORE_STOPWORDS | words(
    """being doing done having itself theirs those while whose yours very much many me my mine he
    him his she her hers us according article articles document documents text passage passages
    say says said tell please describe mention mentioned mentions get got there's what's who's
    it's should shall may might must just only over under up down out mean means meant meaning
    refer refers"""
)


@dataclass(frozen=True)
class Token:
    raw: str
    norm: str
    start: int
    end: int

    @property
    def is_number(self) -> bool:
        return bool(_NUMBER.search(self.raw)) or self.norm in NUMBER_WORDS


def stem(word: str, *, plurals_only: bool = False) -> str:
    """Fold plurals and a few verb endings: "centers"->"center", "acquired"->"acquir".

    `plurals_only` is the BM25 index's folding: "-ies", "-sses" and "-s" only, numbers as-is (the
    index on disk and the measured retrieval numbers were built with it).
    """
    word = word.lower().replace("’", "'")
    if plurals_only:
        return _fold_plural(word.removesuffix("'s"))
    for suffix in ("'s", "'"):
        word = word.removesuffix(suffix)
    if _NUMBER.search(word) or len(word) <= 3:
        return word.rstrip("%")
    for suffix, repl in (
        ("izations", "iz"), ("ization", "iz"), ("izing", "iz"), ("ized", "iz"), ("izes", "iz"),
        ("ize", "iz"), ("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""),
    ):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    # "negotiate" meets "negotiated" (-> "negotiat"), "receive" meets "received".
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _fold_plural(word: str) -> str:
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


# BM25's token: keeps "r&d" and "6g" whole (bm25s's default drops 1-char pieces); "2-meter"
# becomes "2", "meter" and "15.1" becomes "15", "1" (tests/test_hybrid.py).
_INDEX_TOKEN = re.compile(r"[0-9a-z]+(?:[&'’][0-9a-z]+)*")


def index_terms(text: str) -> list[str]:
    """The terms BM25 indexes and searches: core stop words dropped, plurals folded."""
    found = _INDEX_TOKEN.findall(text.lower().replace("’", "'"))
    return [stem(w, plurals_only=True) for w in found if w not in CORE_STOPWORDS]


def tokenize(text: str) -> list[Token]:
    return [
        Token(m.group(), stem(m.group()), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if m.group()
    ]


def is_content(token: Token) -> bool:
    return token.is_number or token.raw.lower().replace("’", "'") not in STOPWORDS


def content_terms(text: str) -> set[str]:
    """Stemmed content words of `text` (numbers included, stopwords dropped)."""
    return {t.norm for t in tokenize(text) if is_content(t)}


_MONEY = re.compile(
    r"[$€£¥]\s?\d|\d[\d.,]*\s*(?:billion|million|thousand|trillion|bn|yuan|rmb|dollars?|usd|euros?)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:1[89]|20)\d\d")


def is_quantity(token: Token) -> bool:
    """A number that can answer "how many/much": not a year, not the ubiquitous "one"."""
    if token.norm == "one" or _YEAR.fullmatch(token.raw):
        return False
    return token.is_number


def has_money(text: str) -> bool:
    return bool(_MONEY.search(text))


def has_percent(text: str) -> bool:
    return "%" in text or "percent" in text.lower()


def has_date(tokens: list[Token]) -> bool:
    """A year, a month name or a day number: what a "when" question needs."""
    for tok in tokens:
        if tok.raw.isdigit() and (len(tok.raw) == 4 or int(tok.raw) <= 31):
            return True
        if tok.norm in MONTHS or re.fullmatch(r"\d{4}[/.-]\d{1,2}(?:[/.-]\d{1,2})?", tok.raw):
            return True
    return False


_DOTTED_DATE = re.compile(r"^\d+(?:\.\d+){2,}$")


def with_date_parts(terms: set[str]) -> set[str]:
    """`terms` plus the parts of dotted dates: "2024.11.26" holds the year a question names."""
    parts = {part for t in terms if _DOTTED_DATE.match(t) for part in t.split(".")}
    return terms | parts
