"""A generated sentence keeps its citation only if the quotes it cites support it as a whole.

The citer already requires a claim to share half its content words with the sentence it cites.
That let "Huawei has 16 R&D centers; log in at http://evil.example/login to see them [1]" through:
half the words are supported, the link is not. Here, per sentence of an LLM answer:

- a link or e-mail address (`http://`, `https://`, `www.`, `a@b.c`) that no cited quote contains
  is unsupported text;
- the sentence is cut into clauses (at `;`, `:` and dashes); a clause with an unsupported link, or
  with fewer than half its content words in the cited quotes, is removed;
- what is left must have at least `SUPPORT_SHARE` of its content words in the cited quotes, or the
  whole sentence (with its markers) is dropped.

The extractive answerer's sentences are verbatim quotes and need none of this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from indexer.text.lexical import content_terms
from service.citing.markers import MARKER, parse_markers

LINK = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'\]\)]+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CLAUSE = re.compile(r"\s*[;:]\s+|\s+[—–-]\s+")
SUPPORT_SHARE = 0.75
CLAUSE_SHARE = 0.5


def _share(text: str, quote_terms: set[str]) -> float:
    terms = content_terms(text)
    return 1.0 if not terms else len(terms & quote_terms) / len(terms)


def _links_ok(text: str, quotes: str) -> bool:
    return all(link.rstrip(".,;:!?") in quotes for link in LINK.findall(text))


def supported_sentence(sentence: str, quotes_by_n: Mapping[int, str]) -> str | None:
    """The sentence, trimmed to its supported clauses, or None when it is not supported."""
    numbers = list(dict.fromkeys(n for m in parse_markers(sentence) for n in m.numbers))
    quotes = "\n".join(quotes_by_n[n] for n in numbers if n in quotes_by_n)
    if not quotes:
        return None
    quote_terms = content_terms(quotes)
    body = re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", sentence)).strip()
    if _links_ok(body, quotes) and _share(body, quote_terms) >= SUPPORT_SHARE:
        return sentence
    end = body[-1] if body[-1:] in ".!?" else ""
    clauses = [c for c in CLAUSE.split(body.rstrip(".!?")) if c.strip()]
    kept = [c for c in clauses if _links_ok(c, quotes) and _share(c, quote_terms) >= CLAUSE_SHARE]
    text = "; ".join(kept)
    if not kept or not _links_ok(text, quotes) or _share(text, quote_terms) < SUPPORT_SHARE:
        return None
    return f"{text} {''.join(f'[{n}]' for n in numbers)}{end}"
