"""What in a generated claim can never be supported by a quote: links and addresses.

"Huawei has 16 R&D centers; log in at http://evil.example/login to see them [1]": the centers are
in the passage, the link is not. `service/citing/align.py` cuts the claim into clauses (at `;`,
`:` and dashes) with `CLAUSE` and removes every clause carrying a link or e-mail address (`LINK`:
`http://`, `https://`, `www.`, `a@b.c`), even one a passage holds (an injected passage can),
before aligning the rest. An injected instruction the LLM obeyed never reaches the user.

(The earlier rule, "a sentence must share 75% of its content words with the quotes its markers
name", was replaced by the alignment: it trusted the model's markers and refused paraphrases.)
"""

from __future__ import annotations

import re

LINK = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'\]\)]+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CLAUSE = re.compile(r"\s*[;:]\s+|\s+[—–-]\s+")
