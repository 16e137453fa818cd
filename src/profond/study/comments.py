"""Blanking out HTML comments (``<!-- … -->``) of a markdown bank, keeping line numbers.

Banks use comments for templates, notes and links, some of which look exactly like cards;
none of it may become a card. Comments inside fenced code blocks are code, and stay.
"""

from __future__ import annotations

import re
from typing import NamedTuple

OPEN, CLOSE = "<!--", "-->"
_FENCE = re.compile(r"^\s*(```|~~~)")


def is_fence(line: str) -> bool:
    """Whether ``line`` opens or closes a fenced code block."""
    return _FENCE.match(line) is not None


class Stripped(NamedTuple):
    """The result of :func:`strip_comments`.

    Attributes:
        lines: the input lines with comments blanked out, same count and order.
        comment_starts: 0-based indices of lines that begin with a comment (a block boundary).
        problems: ``(line_number, message)`` for each unterminated comment (1-based).
    """

    lines: list[str]
    comment_starts: set[int]
    problems: list[tuple[int, str]]


def strip_comments(lines: list[str]) -> Stripped:
    """Remove every HTML comment from ``lines``, one output line per input line.

    A comment that is never closed, or that is still open when another ``<!--`` starts
    (comments do not nest, so the first one was left open), is reported and taken to end at
    the first blank line after it, so that the cards below it are still read.

    Args:
        lines: the bank's lines, without line ends.

    Returns:
        a :class:`Stripped`.
    """
    out = list(lines)
    problems: list[tuple[int, str]] = []
    starts: set[int] = set()
    in_fence = False
    i = 0
    while i < len(out):
        line = out[i]
        if is_fence(line) and OPEN not in line:
            in_fence = not in_fence
            i += 1
            continue
        if in_fence or OPEN not in line:
            i += 1
            continue
        start = line.index(OPEN)
        if not line[:start].strip():
            starts.add(i)
        end = line.find(CLOSE, start + len(OPEN))
        if end >= 0:  # a comment within one line: drop it and look at the rest of the line
            out[i] = line[:start] + line[end + len(CLOSE) :]
            continue
        close_line = _find_close(out, i)
        if close_line is None:
            problems.append(
                (
                    i + 1,
                    "unterminated HTML comment '<!--' (no '-->' closes it); "
                    "ignored up to the next blank line",
                )
            )
            stop = _next_blank(out, i + 1)
            out[i] = line[:start]
            for j in range(i + 1, stop):
                out[j] = ""
            i = stop
            continue
        out[i] = line[:start]
        for j in range(i + 1, close_line):
            out[j] = ""
        closing = out[close_line]
        out[close_line] = closing[closing.index(CLOSE) + len(CLOSE) :]
        i = close_line
    return Stripped(out, starts, problems)


def _find_close(lines: list[str], start: int) -> int | None:
    """The line that closes the comment opened on ``lines[start]``, or None if none does first."""
    for j in range(start + 1, len(lines)):
        close = lines[j].find(CLOSE)
        opened = lines[j].find(OPEN)
        if opened >= 0 and (close < 0 or opened < close):
            return None
        if close >= 0:
            return j
    return None


def _next_blank(lines: list[str], start: int) -> int:
    """Index of the first blank line at or after ``start`` (``len(lines)`` if none)."""
    for j in range(start, len(lines)):
        if not lines[j].strip() or OPEN in lines[j]:
            return j
    return len(lines)
