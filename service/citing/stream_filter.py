"""Hold back `[...]` while it streams: a marker to a passage that does not exist is never shown."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from service.citing.markers import MARKER, parse_markers

_MARKER_PREFIX = re.compile(r"\[[\d\s,\-–]*")
_MAX_HOLD = 200  # a "[" that long ago opened prose, not a marker


class MarkerFilter:
    def __init__(self, valid: Iterable[int]) -> None:
        self._valid = set(valid)
        self._pending = ""
        self._before = ""  # the last character shown: MARKER's look-behind needs it across feeds

    def _clean(self, marker: str) -> str:
        kept = [n for m in parse_markers(marker) for n in m.numbers if n in self._valid]
        return "".join(f"[{n}]" for n in kept)

    def feed(self, delta: str) -> str:
        """The part of the text so far that is safe to show now."""
        text = self._pending + delta
        self._pending = ""
        out: list[str] = []
        i = 0
        while i < len(text):
            open_at = text.find("[", i)
            if open_at < 0:
                out.append(text[i:])
                break
            out.append(text[i:open_at])
            prefix = _MARKER_PREFIX.match(text, open_at)
            assert prefix is not None  # the pattern matches any "["
            if prefix.end() == len(text) and len(text) - open_at <= _MAX_HOLD:
                self._pending = text[open_at:]  # may still become a marker: hold it back
                break
            last = "".join(out)[-1:] or self._before  # what MARKER's look-behind must see
            candidate = MARKER.match(last + text[open_at:], len(last))
            if candidate is not None:
                out.append(self._clean(candidate.group()))
                i = open_at + len(candidate.group())
            else:  # prose bracket: show it, and look for markers right after it
                out.append("[")
                i = open_at + 1
        shown = "".join(out)
        self._before = (self._before + shown)[-1:]
        return shown

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return rest


def filter_markers(deltas: Iterable[str], valid: Iterable[int]) -> Iterator[str]:
    filt = MarkerFilter(valid)
    for delta in deltas:
        shown = filt.feed(delta)
        if shown:
            yield shown
    rest = filt.flush()
    if rest:
        yield rest
