"""Word-level text analysis shared by the extractive answerer and the citer.

Deliberately small and deterministic: lowercase tokens that keep "r&d", "6g" and "15.1" whole,
a stopword list, and suffix folding light enough to never merge unrelated words.
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
STOPWORDS = words(
    """a an and are as at be been being but by can could did do does doing done for from had has
    have having how i if in into is it its itself of on or our so such that the their theirs
    them then there these they this those to was we were what when where which while who
    whom whose why will with would you your yours about than also more most not no any all
    each other some very much many me my mine he him his she her hers us according article
    articles document documents text passage passages say says said tell please describe
    mention mentioned mentions did get got there's what's who's it's should shall may might
    must just only over under up down out mean means meant meaning refer refers"""
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


def stem(word: str) -> str:
    """Fold plurals and a few verb endings: "centers"->"center", "acquired"->"acquir"."""
    word = word.lower().replace("’", "'")
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
