"""Lists in the text. Written as prose: an introduction ("... need to fulfil four essential
roles", "... in the following ways:") followed by items that open with an ordinal ("First, ...",
"Secondly, ...", "Finally, ..."). A list question is answered by the items, not by the
introduction alone, and an item's own explanation sentences are left out so that every item fits
in the answer.

Written as bullets ("- Cost Sharing: ...", "2) ..."): a list question whose chosen sentence is
an item, or is followed within `BULLET_LEAD` sentences by a run of items (a definition, then what
it offers), is answered by the whole run.

This reads the shape of English prose, not any corpus: the ordinals, count words and bullet marks
below are the language's, and the items are only taken from the passages the answer reads (the
retrieved ones, and the chunks a list runs on into: `service.answering.continuation`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from service.answering.discourse import adjacency
from service.answering.evidence import Question, Sentence

_ORDINALS = {
    "first": 1, "firstly": 1, "second": 2, "secondly": 2, "third": 3, "thirdly": 3,
    "fourth": 4, "fourthly": 4, "fifth": 5, "fifthly": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "finally": 99, "lastly": 99,
}  # fmt: skip
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10} | {str(n): n for n in range(2, 10)}  # fmt: skip
# A count word, up to two modifiers, then a plural noun: "four essential roles", "3 ways".
_ANNOUNCED = re.compile(
    r"\b(" + "|".join(_COUNTS) + r")\s+(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*s\b", re.IGNORECASE
)
# "The main problems are: First, ...": the items run on inside the introducing sentence.
_COLON_ITEMS = re.compile(r":\s*(?:first|firstly|one|1[.)])\b", re.IGNORECASE)
_FOLLOWING = re.compile(r"\b(?:the following|as follows)\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u2013\u25aa\u00b7]|\d{1,2}[.)])\s+\S")
BULLET_ITEMS = 8  # the most items of one bulleted run an answer quotes
BULLET_LEAD = 2  # sentences between a chosen sentence and a run it introduces
LIST_ITEMS = 6  # next sentences a bare "...:" introduction pulls in when no item is numbered
ITEM_REACH = 12  # sentences after the introduction (or the last item) to look for the next item


def ordinal(text: str) -> int | None:
    """The position an item announces with its first word ("Secondly, ..." -> 2)."""
    first = re.match(r"\W*([A-Za-z]+)", text)
    return _ORDINALS.get(first.group(1).lower()) if first else None


def announced_count(text: str) -> int | None:
    """How many items a sentence announces ("four essential roles" -> 4), if any."""
    found = _ANNOUNCED.search(text)
    return _COUNTS[found.group(1).lower()] if found else None


def introduces_list(text: str) -> bool:
    stripped = text.rstrip()
    return (
        stripped.endswith(":")
        or _FOLLOWING.search(text) is not None
        or _COLON_ITEMS.search(text) is not None
        or announced_count(text) is not None
    )


def is_bullet(text: str) -> bool:
    return _BULLET.match(text) is not None


def _document_order(
    sentences: Sequence[Sentence], head: Sentence, *, before: bool = False
) -> list[int]:
    """Indices of the sentences of `head`'s source after `head` (or before it, nearest first),
    in document order, each sentence once even where overlapping chunks both hold it."""
    source = head.passage.chunk.source
    start = head.file_start
    seen: set[int] = set()
    found: list[tuple[int, int]] = []
    for i, s in enumerate(sentences):
        at = s.file_start
        wanted = at < start if before else at > start
        if s.passage.chunk.source == source and wanted and at not in seen:
            seen.add(at)
            found.append((at, i))
    return [i for _, i in sorted(found, reverse=before)]


def _in_item(s: Sentence) -> bool:
    """The sentence sits on a bulleted line: an item's first sentence or its continuation."""
    text = s.passage.chunk.text
    return is_bullet(text[text.rfind("\n", 0, s.start) + 1 : s.end])


def _bullets(sentences: Sequence[Sentence], order: list[int], lead: int) -> list[int]:
    """The items of the bulleted run at the start of `order`, after at most `lead` other
    sentences. An item's further sentences neither join the answer nor end the run."""
    run: list[int] = []
    for i in order:
        if _in_item(sentences[i]):
            if is_bullet(sentences[i].text):
                run.append(i)
                if len(run) >= BULLET_ITEMS:
                    break
        elif run:
            break
        else:
            lead -= 1
            if lead < 0:
                break
    return run


def bullet_run(sentences: Sequence[Sentence], i: int) -> list[int]:
    """The bulleted list that sentence `i` belongs to or introduces (two items at least)."""
    after = _document_order(sentences, sentences[i])
    if not is_bullet(sentences[i].text):
        run = _bullets(sentences, after, BULLET_LEAD)
        return run if len(run) >= 2 else []
    earlier = _bullets(sentences, _document_order(sentences, sentences[i], before=True), 0)
    run = [*reversed(earlier), i, *_bullets(sentences, after, 0)]
    return run[:BULLET_ITEMS] if len(run) >= 2 else []


def _numbered_items(sentences: Sequence[Sentence], following: list[int], want: int) -> list[int]:
    items: list[int] = []
    last = 0
    gap = 0
    for i in following:
        position = ordinal(sentences[i].text)
        if position is not None and position > last:
            items.append(i)
            last = position
            gap = 0
            if len(items) >= want or position == 99:
                break
        else:
            gap += 1
            if gap > ITEM_REACH:
                break
    return items


def list_items(q: Question, sentences: Sequence[Sentence], chosen: list[int]) -> list[int]:
    """`chosen` plus the items of any list a chosen sentence introduces. A "...:" introduction
    always brings its list; one that only announces a count does so for a list question."""
    out = list(chosen)
    todo = list(chosen)
    _, next_of = adjacency(sentences)
    while todo:
        i = todo.pop(0)
        if q.listy:
            out.extend(j for j in bullet_run(sentences, i) if j not in out)
            # The sentence right after, when it opens a list ("The main problems are: First,
            # ..."): a list question's answer is the list its chosen sentence leads into.
            lead = next_of.get(i)
            if lead is not None and introduces_list(sentences[lead].text) and lead not in out:
                out.append(lead)
                todo.append(lead)
        head = sentences[i].text
        colon = head.rstrip().endswith(":")
        if not (colon or (q.listy and introduces_list(head))):
            continue
        following = _document_order(sentences, sentences[i])
        want = announced_count(head) or LIST_ITEMS
        items = _numbered_items(sentences, following, want)
        if not items and colon:  # an unnumbered list: the sentences right after, same passage
            same = sentences[i].passage.n
            items = [j for j in following if sentences[j].passage.n == same][:LIST_ITEMS]
        out.extend(j for j in items if j not in out)
    return out
