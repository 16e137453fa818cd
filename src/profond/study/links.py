"""Which labs a card is about: a lab's keywords found in the card's text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from profond.labs.base import Lab


def _pattern(keyword: str) -> re.Pattern[str]:
    # Whole words only, so that "adam" does not match inside "adamant".
    return re.compile(rf"(?<!\w){re.escape(keyword.casefold())}(?!\w)")


def linked_labs(text: str, labs: Sequence[Lab]) -> list[Lab]:
    """The labs with at least one keyword in ``text`` (case-insensitive), in the given order."""
    folded = text.casefold()
    return [lab for lab in labs if any(_pattern(k).search(folded) for k in lab.keywords)]
