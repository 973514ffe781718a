"""Where each character of an indexed text sits in its file as stored (#5, #17).

The indexer reads a file into the text it chunks and quotes (HTML without markup and with entities
decoded, `\\r\\n` read as `\\n`, no BOM). Citations must still point into the file *as stored*:
its bytes decoded as UTF-8, BOM included as character 0. An `OffsetMap` says, for every character
of the text, which file characters it came from:

- `pieces`: `(t, f, n, w)` = text `[t, t+n)` came from file `[f, f+w)`. `n == w`: one to one (the
  characters are the file's, or a lone `\\r` read as `\\n`); otherwise the piece is one unit (an
  entity, `\\r\\n`, a run of whitespace and tags read as one space or newline). Pieces cover the
  text in order; file characters between pieces (tags, a BOM) were dropped.
- `newlines`: file offsets of `\\n`, for line numbers of the file as stored.

No pieces means the identity (a plain UTF-8 text file with `\\n` newlines): offsets are the text's.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field

Piece = tuple[int, int, int, int]


@dataclass(frozen=True)
class OffsetMap:
    pieces: tuple[Piece, ...] = ()
    newlines: tuple[int, ...] = ()
    _t: list[int] = field(default_factory=list, compare=False, repr=False)
    _f: list[int] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._t.extend(p[0] for p in self.pieces)
        self._f.extend(p[1] for p in self.pieces)

    @property
    def identity(self) -> bool:
        return not self.pieces

    def _piece(self, t: int) -> Piece:
        return self.pieces[max(0, bisect.bisect_right(self._t, t) - 1)]

    def file_start(self, t: int) -> int:
        if self.identity:
            return t
        pt, pf, n, w = self._piece(t)
        return pf + (t - pt) if n == w else pf

    def file_end(self, last: int) -> int:
        """The file offset just after text character `last`."""
        if self.identity:
            return last + 1
        pt, pf, n, w = self._piece(last)
        return pf + (last - pt) + 1 if n == w else pf + w

    def file_span(self, start: int, end: int) -> tuple[int, int]:
        return self.file_start(start), self.file_end(max(start, end - 1))

    def line(self, f: int) -> int:
        """1-based line of file offset `f` (needs `newlines`, which an identity map of a whole
        document also carries)."""
        return bisect.bisect_left(self.newlines, f) + 1

    def text_span(self, fs: int, fe: int) -> tuple[int, int] | None:
        """The text span whose file span is exactly `[fs, fe)`, or None if there is none."""
        if fe <= fs:
            return None
        if self.identity:
            return fs, fe
        start = end = None
        k = bisect.bisect_right(self._f, fs) - 1
        if k >= 0:
            pt, pf, n, w = self.pieces[k]
            if (n == w and fs < pf + n) or fs == pf:
                start = pt + (fs - pf if n == w else 0)
        k = bisect.bisect_left(self._f, fe) - 1
        if k >= 0:
            pt, pf, n, w = self.pieces[k]
            if n == w and pf < fe <= pf + n:
                end = pt + (fe - pf)
            elif n != w and fe == pf + w:
                end = pt + n
        return (start, end) if start is not None and end is not None and start < end else None

    def local(self, start: int, end: int) -> OffsetMap:
        """The map of text `[start, end)`, with text and file offsets relative to its start."""
        if self.identity:
            return OffsetMap()
        base = self.file_start(start)
        out: list[Piece] = []
        k = max(0, bisect.bisect_right(self._t, start) - 1)
        for pt, pf, n, w in self.pieces[k:]:
            if pt >= end:
                break
            if n == w:  # one to one: cut to [start, end)
                lo, hi = max(pt, start), min(pt + n, end)
                out.append((lo - start, pf + (lo - pt) - base, hi - lo, hi - lo))
            else:
                out.append((pt - start, pf - base, n, w))
        fe = self.file_end(end - 1)
        nl = self.newlines[bisect.bisect_left(self.newlines, base) : bisect.bisect_left(
            self.newlines, fe)]  # fmt: skip
        return OffsetMap(tuple(out), tuple(x - base for x in nl))

    def encode(self) -> str:
        """Compact text for a store's metadata; "" for the identity."""
        if self.identity:
            return ""
        return json.dumps([[x for p in self.pieces for x in p], list(self.newlines)],
                          separators=(",", ":"))  # fmt: skip

    @staticmethod
    def decode(text: str) -> OffsetMap:
        if not text:
            return OffsetMap()
        flat, newlines = json.loads(text)
        pieces = tuple(tuple(flat[i : i + 4]) for i in range(0, len(flat), 4))
        return OffsetMap(pieces, tuple(newlines))  # type: ignore[arg-type]


class MapBuilder:
    """Builds an `OffsetMap` while text is emitted; merges one-to-one runs."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.pieces: list[list[int]] = []
        self.length = 0

    def copy(self, text: str, f: int) -> None:
        if not text:
            return
        last = self.pieces[-1] if self.pieces else None
        if (
            last
            and last[2] == last[3]
            and last[0] + last[2] == self.length
            and last[1] + last[3] == f
        ):
            last[2] += len(text)
            last[3] += len(text)
        else:
            self.pieces.append([self.length, f, len(text), len(text)])
        self.chars.append(text)
        self.length += len(text)

    def unit(self, text: str, f: int, w: int) -> None:
        if len(text) == w:  # same width: one to one is exact too
            self.copy(text, f)
            return
        self.pieces.append([self.length, f, len(text), w])
        self.chars.append(text)
        self.length += len(text)

    def build(self, raw: str) -> tuple[str, OffsetMap]:
        text = "".join(self.chars)
        newlines = tuple(i for i, ch in enumerate(raw) if ch == "\n")
        if len(self.pieces) == 1 and self.pieces[0] == [0, 0, len(raw), len(raw)] and text == raw:
            return text, OffsetMap((), newlines)
        return text, OffsetMap(tuple(tuple(p) for p in self.pieces), newlines)  # type: ignore[misc]
