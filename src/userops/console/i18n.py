"""Label catalogs (``i18n/<lang>.json``) and choosing a request's language."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
_CATALOG_DIR = Path(__file__).parent / "i18n"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The labels of one language, ``key → text`` (``{name}`` placeholders for values)."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    data: dict[str, str] = json.loads((_CATALOG_DIR / f"{lang}.json").read_text("utf-8"))
    return data


def translate(lang: str, key: str, default: str | None = None, **values: object) -> str:
    """The label for ``key``; a missing key shows ``default`` or the key itself."""
    text = catalog(lang).get(key)
    if text is None:
        return default if default is not None else key
    return text.format(**values) if values else text


def from_accept_language(header: str | None) -> str | None:
    """The first supported language of an ``Accept-Language`` header, by quality."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for negative_q, _, tag in sorted(ranked):
        if negative_q >= 0:
            continue
        if tag == "zh" or tag.startswith("zh-"):
            return "zh-CN"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return None


def choose(session_lang: object, accept_language: str | None) -> str:
    """The session's language, else the browser's, else zh-CN."""
    if isinstance(session_lang, str) and session_lang in LANGUAGES:
        return session_lang
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE
