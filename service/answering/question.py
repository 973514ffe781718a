"""What a question asks for: its weighted terms, the entities and numbers it names, its focus noun
and the kind of answer it expects. The extractive answerer abstains unless a sentence meets all of
it, which is what turns near-miss questions ("How many employees does Haier have?") into honest
"the documents don't say" rather than a confident wrong sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from indexer.text.lexical import STOPWORDS, Token, is_content, stem, tokenize, words

Kind = Literal["count", "amount", "money", "when", "who", "other"]

AUX = words("""is are was were do does did has have had can could will would should""")
# Nouns too generic to demand verbatim: "Which company ..." is answered by a name, not the word.
GENERIC = frozenset(
    stem(word)
    for word in words(
        """company firm organization person people thing way kind type name one place country
        city year date time number amount percentage percent proportion"""
    )
)
_TIME_NOUNS = words("""year years decade century month date day""")
_TIME_PREP = words("""in by since until during""")
_AMOUNT_ADJ = words("""large big tall high long old far wide heavy expensive""")
# "How much did Haier pay ..." is answered by a sum of money, not by any number.
_MONEY = frozenset(
    stem(w) for w in words("""cost costs pay paid price spend spent worth revenue""")
)


@dataclass
class QuestionInfo:
    weights: dict[str, float] = field(default_factory=dict)
    entities: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    focus: str | None = None
    kind: Kind = "other"


def _kind(lowered: list[str]) -> Kind:
    first, second = [*lowered, "", ""][:2]
    if first == "how" and second == "much" and any(stem(w) in _MONEY for w in lowered):
        return "money"
    if first == "how" and second == "many":
        return "count"
    if first == "how" and (second == "much" or second in _AMOUNT_ADJ):
        return "amount"
    if first in ("what", "which") and second in ("percentage", "percent", "proportion", "share"):
        return "amount"
    if first == "when" or (first in ("what", "which") and second in _TIME_NOUNS):
        return "when"
    third = [*lowered, "", "", ""][2]
    # "In what year ...", "By which decade ...", "Since when ...": a date is asked for all the same.
    if first in _TIME_PREP and (
        second == "when" or (second in ("what", "which") and third in _TIME_NOUNS)
    ):
        return "when"
    if first in ("who", "whom", "whose"):
        return "who"
    return "other"


def _head(tokens: list[Token]) -> str | None:
    """Last content word of a noun phrase, stopping at a preposition, verb or clause word."""
    head: str | None = None
    for tok in tokens:
        low = tok.raw.lower()
        if low in AUX or (low in STOPWORDS and low not in ("the", "a", "an")):
            break
        if is_content(tok) and not tok.is_number:
            head = tok.norm
    return head


def _focus(tokens: list[Token]) -> str | None:
    words = [t.raw.lower() for t in tokens]
    if len(words) < 3:
        return None
    if words[0] == "how" and words[1] in ("many", "much"):
        return _head(tokens[2:])
    if words[0] in ("what", "which"):
        if words[1] in AUX:  # "what was Haier's operating income in 2018"
            return _head(tokens[2:])
        for i in range(2, min(5, len(words))):  # "what award did ...": a short phrase, then a verb
            if words[i] in AUX:
                return _head(tokens[1:i])
    return None


def analyze(question: str) -> QuestionInfo:
    tokens = tokenize(question)
    info = QuestionInfo(kind=_kind([t.raw.lower() for t in tokens]))
    focus = _focus(tokens)
    info.focus = focus if focus and focus not in GENERIC else None
    for i, tok in enumerate(tokens):
        # A generic noun or "how tall" is answered by the kind of sentence, not the word itself.
        if (
            not is_content(tok)
            or tok.norm in GENERIC
            or (i == 1 and tok.raw.lower() in _AMOUNT_ADJ)
        ):
            continue
        weight = 1.0
        proper = (i > 0 and tok.raw[0].isupper()) or sum(c.isupper() for c in tok.raw) >= 2
        if tok.is_number:
            info.numbers.add(tok.norm)
            weight = 2.0
        elif proper:
            info.entities.add(tok.norm)
            weight = 1.5
        if tok.norm == info.focus:
            weight = max(weight, 1.5)
        info.weights[tok.norm] = max(weight, info.weights.get(tok.norm, 0.0))
    return info
