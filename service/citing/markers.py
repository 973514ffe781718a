"""Citation markers: the `[n]` syntax answers use, found, parsed and neutralised in one place.

Understood: `[1]`, `[1][2]`, `[1, 2]` and ranges `[1-3]` (at most 20 numbers; a reversed or longer
range is dropped). Both answerers and the citer import this; it imports nothing of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Not right after a digit or "[": removing an invalid inner marker from "[9[9]]" must not leave a
# new one ("[9" + "]"), and "16[1]" is too ambiguous to cite.
MARKER = re.compile(r"(?<![\[\d])\[\s*(\d{1,4}(?:\s*[-–,]\s*\d{1,4})*)\s*\]")
MAX_RANGE = 20


@dataclass(frozen=True)
class Marker:
    start: int
    end: int
    numbers: tuple[int, ...]


def _expand(body: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in re.split(r"\s*,\s*", body.strip()):
        bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part)]
        if len(bounds) == 1:
            out.append(bounds[0])
        elif len(bounds) == 2 and 0 <= bounds[1] - bounds[0] < MAX_RANGE:
            out.extend(range(bounds[0], bounds[1] + 1))
    return tuple(dict.fromkeys(out))


def parse_markers(text: str) -> list[Marker]:
    return [Marker(m.start(), m.end(), _expand(m.group(1))) for m in MARKER.finditer(text)]


def neutralize_markers(text: str) -> str:
    """Source text shown in an answer must not read as a marker: `[3]` becomes `(3)`."""
    return MARKER.sub(lambda m: f"({m.group(1)})", text)
