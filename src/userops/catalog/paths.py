"""Category paths: ``美妆 › 面膜`` — levels from the root, joined by :data:`SEPARATOR`.

A path is written the same way everywhere (stored products, the category tree, segment rules,
later coupon scopes), so that "in 美妆 › 面膜" is a prefix test at a level boundary: ``美妆 ›
面膜`` and ``美妆 › 面膜 › 睡眠面膜`` are in it, ``美妆 › 面膜霜`` is not. Typed paths may use
``>`` or ``›`` (any spacing) between levels; they are normalised by :func:`normalize` (Python)
and :func:`normalize_sql` (the importer's DuckDB expression), which agree.
"""

from __future__ import annotations

import re

from userops.core.sql import literal

SEPARATOR = " › "
MAX_LEVELS = 6
MAX_LEVEL_CHARS = 40
RULE = (
    f"levels separated by '›' or '>', at most {MAX_LEVELS} levels of at most "
    f"{MAX_LEVEL_CHARS} characters, none empty"
)
_SPLIT = re.compile(r"\s*[›>]\s*")


class BadPath(ValueError):
    """A category path that breaks :data:`RULE` (the message says how)."""


def levels(text: str) -> list[str]:
    """The levels of a typed path (``"美妆>面膜"`` → ``["美妆", "面膜"]``); raises BadPath."""
    parts = [p.strip() for p in _SPLIT.split(text.strip())]
    if not text.strip() or any(not p for p in parts):
        raise BadPath(f"category {text!r}: an empty level; a path takes {RULE}")
    if len(parts) > MAX_LEVELS:
        raise BadPath(f"category {text!r}: {len(parts)} levels; a path takes {RULE}")
    for part in parts:
        if len(part) > MAX_LEVEL_CHARS or any(ord(ch) < 32 for ch in part):
            raise BadPath(f"category {text!r}: level {part[:50]!r} breaks the rule: {RULE}")
    return parts


def normalize(text: str) -> str:
    """The stored spelling of a typed path (``"美妆>面膜"`` → ``"美妆 › 面膜"``)."""
    return SEPARATOR.join(levels(text))


def ancestors(path: str) -> list[str]:
    """Every node from the root down to ``path`` itself: ``a › b`` → ``[a, a › b]``."""
    parts = path.split(SEPARATOR)
    return [SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))]


def normalize_sql(expr: str) -> str:
    """DuckDB: the levels of the text expression ``expr`` (a VARCHAR[]; empty levels kept, so
    that :func:`reason_sql` can refuse them)."""
    return f"list_transform(regexp_split_to_array(trim({expr}), '[›>]'), lambda x: trim(x))"


def reason_sql(levels_expr: str, column: str) -> str:
    """DuckDB: why the levels ``levels_expr`` break :data:`RULE`, or NULL."""
    lv = levels_expr

    def say(text: str) -> str:
        return literal(f"{column}: {text}")

    return (
        f"CASE WHEN list_contains(list_transform({lv}, lambda x: x = ''), true) "
        f"THEN {say('an empty level; a path takes ' + RULE)} "
        f"WHEN len({lv}) > {MAX_LEVELS} THEN {say(f'more than {MAX_LEVELS} levels')} "
        f"WHEN list_max(list_transform({lv}, lambda x: length(x))) > {MAX_LEVEL_CHARS} "
        f"THEN {say(f'a level longer than {MAX_LEVEL_CHARS} characters')} "
        f"WHEN regexp_matches(array_to_string({lv}, ''), '[\\x00-\\x1f]') "
        f"THEN {say('a control character')} END"
    )
