"""The console's languages: message catalogs (``messages/<lang>.json``) and the choice of one.

A catalog is a flat JSON object, key to text, with ``{name}`` placeholders; both catalogs hold
the same keys (a test checks). The language is the ``anxin_lang`` cookie set by the switch in
the page header, else the best of ``Accept-Language``, else Chinese.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

from fastapi import Request

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "anxin_lang"
MESSAGES_DIR = Path(__file__).parent / "messages"

Translate = Callable[..., str]


@cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of one language (read once per process)."""
    with (MESSAGES_DIR / f"{lang}.json").open(encoding="utf-8") as f:
        messages: dict[str, str] = json.load(f)
    return messages


def translator(lang: str) -> Translate:
    """``t(key, **values)``: the text of ``key`` in ``lang``, with ``{placeholders}`` filled.

    A key missing from the catalog shows as itself, so a slip is visible on the page rather
    than an error for the person on duty."""
    messages = catalog(lang)

    def t(key: str, **values: object) -> str:
        text = messages.get(key, key)
        return text.format(**values) if values else text

    return t


def negotiate(accept_language: str | None) -> str:
    """The supported language the browser prefers most (``zh-CN``, ``zh-TW`` count as zh)."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        q -= index * 1e-6  # equal weights: the earlier tag wins
        if q > best_q:
            best, best_q = primary, q
    return best


def language_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("accept-language"))
