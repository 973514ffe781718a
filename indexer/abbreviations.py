"""Abbreviations a document defines, found at index time: "research and development (R&D)" and
"R&D (research and development)". A question may use either form; the answerer looks for both.

Only definitions the text itself makes count, and only when the short form's letters are the
initials of the long form's words (stop words may be skipped), so "Huawei (China)" is not one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_SHORT = r"[A-Z][A-Za-z&.\-]{0,9}[A-Z0-9s]|[A-Z]{2}"
_LONG_WORDS = r"(?:[A-Za-z][\w'’-]*\s+){0,7}[A-Za-z][\w'’-]*"
_LONG_THEN_SHORT = re.compile(rf"\b({_LONG_WORDS})\s+\(\s*({_SHORT})\s*\)")
_SHORT_THEN_LONG = re.compile(rf"\b({_SHORT})\s+\(\s*({_LONG_WORDS})\s*\)")
_SKIPPABLE = frozenset({"and", "of", "the", "for", "in", "on", "to", "a", "an", "&"})
MAX_PER_DOCUMENT = 200


def _letters(short: str) -> str:
    return "".join(ch for ch in short if ch.isalnum()).lower().removesuffix("s")


def _match_long(short: str, words: list[str]) -> list[str] | None:
    """The shortest run of trailing `words` whose initials spell `short`, else None."""
    letters = _letters(short)
    if len(letters) < 2:
        return None
    for start in range(len(words) - 1, -1, -1):
        run = words[start:]
        initials = "".join(w[0].lower() for w in run if w.lower() not in _SKIPPABLE)
        if initials == letters and run[0].lower() not in _SKIPPABLE:
            return run
        if len(initials) > len(letters):
            return None
    return None


def find_abbreviations(text: str) -> dict[str, str]:
    """Short form -> long form for each definition in `text` (first definition wins)."""
    found: dict[str, str] = {}
    for match in _LONG_THEN_SHORT.finditer(text):
        long = _match_long(match.group(2), match.group(1).split())
        if long:
            found.setdefault(match.group(2), " ".join(long))
    for match in _SHORT_THEN_LONG.finditer(text):
        words = match.group(2).split()
        if _match_long(match.group(1), words) == words:
            found.setdefault(match.group(1), " ".join(words))
    return dict(list(found.items())[:MAX_PER_DOCUMENT])


def merge(maps: Iterable[Mapping[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for one in maps:
        for short, long in one.items():
            out.setdefault(short, long)
    return out
