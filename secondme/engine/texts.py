"""Which language the server writes to a visitor in (``language``: the page's cookie, else the browser's).
What the server writes into the page (notices, reply stats, the Thinking block) is made on the server, so
each text is asked for in that language: ``say`` and the words are the one catalog's (words.py, catalog.py),
as the page's own labels are.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from ..errors import wait_amount
from .words import DEFAULT, LANGUAGES, has, say

__all__ = ["LANGUAGES", "DEFAULT", "language", "header_language", "say", "has", "wait_words", "COOKIE"]

# Set by the page (launch.HEAD) to the language it shows, so that what the server writes follows a
# visitor who switched the page's language; without it, the browser's Accept-Language decides.
COOKIE = "secondme-lang"


def language(cookie: str | None, accept_language: str | None) -> str:
    """The visitor's language: the page's own choice (the cookie) when it names one we have, else the
    first of the browser's languages (Accept-Language, by weight) we have, else English. Any Chinese
    but Traditional Chinese is read as Simplified."""
    if cookie in LANGUAGES:
        return cookie
    weighted: list[tuple[float, int, str]] = []
    for order, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, order, tag.strip().lower()))
    for _, _, tag in sorted(weighted):
        if tag.startswith("zh") and not any(t in tag for t in ("-tw", "-hk", "-mo", "-hant")):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def header_language(cookie_header: str | None, accept_language: str | None) -> str:
    """``language`` from a request's ``Cookie`` and ``Accept-Language`` headers, as they came."""
    cookie = None
    try:
        jar = SimpleCookie(cookie_header or "")
        cookie = jar[COOKIE].value if COOKIE in jar else None
    except CookieError:
        pass
    return language(cookie, accept_language)


def wait_words(lang: str, seconds: float) -> str:
    """A wait as a person says it, in ``lang`` (errors.wait_amount decides the amount and its unit; in English
    the words are errors.wait_in_words')."""
    n, unit = wait_amount(seconds)
    return say(lang, f"wait.{unit}", n=n)
