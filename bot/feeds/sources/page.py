"""Pages without a feed: items picked with CSS selectors (lxml + cssselect), dates in English,
French or Arabic words read with dateparser, relative links resolved."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.core.errors import FeedError, FeedErrorKind, SelectorProblem
from bot.core.models import FeedSpec, Item, PageSelectors, ParsedFeed
from bot.core.records import FeedState
from bot.core.text import truncate_words
from bot.feeds.fetcher import Fetcher, FetchResult
from bot.feeds.sources.base import Parsed, SourceResult, key_items, source_state
from bot.feeds.sources.html_doc import parse_html

DATE_LANGUAGES = ("en", "fr", "ar")
BROKEN = "selector matched 0 items: the site may have changed"
_MAX_ITEMS = 200
_MAX_SUMMARY = 2000
_TITLE_CHARS = 300
_PARSE_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One item found on a page, before it becomes an Item."""

    title: str
    link: str | None
    summary: str
    date_text: str | None
    published: datetime | None


@dataclass(slots=True)
class PageExtract:
    title: str | None
    entries: list[PageEntry]


def compile_selectors(selectors: PageSelectors) -> dict[str, Any]:
    """Compile every selector; raises SelectorProblem naming the first bad one."""
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    compiled: dict[str, Any] = {}
    for key in ("item", "title", "link", "date", "summary"):
        text = getattr(selectors, key)
        if not text:
            continue
        try:
            compiled[key] = CSSSelector(text)
        except SelectorError as exc:
            raise SelectorProblem(f"{key} selector {text!r} is not valid CSS: {exc}") from None
    return compiled


def check_selectors(selectors: PageSelectors) -> str | None:
    """Why the selectors cannot be used (for ``main.py check``), or None."""
    try:
        compile_selectors(selectors)
    except SelectorProblem as exc:
        return str(exc)
    return None


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january jan janvier janv يناير كانون_الثاني",
        "february feb février fevrier févr fevr فبراير شباط",
        "march mar mars مارس آذار",
        "april apr avril avr أبريل ابريل إبريل نيسان",
        "may mai مايو أيار",
        "june jun juin يونيو حزيران",
        "july jul juillet juil يوليو تموز",
        "august aug août aout أغسطس اغسطس آب",
        "september sep sept septembre سبتمبر أيلول",
        "october oct octobre أكتوبر اكتوبر تشرين_الأول",
        "november nov novembre نوفمبر تشرين_الثاني",
        "december dec décembre decembre déc دیسمبر ديسمبر كانون_الأول",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name.replace("_", " ")] = _number
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_MONTH_ALT = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
# "27 novembre 2026", "Le 27 nov. 2026 à 10h30", "٢٧ نوفمبر", "November 27, 2026 10:30"
_DAY_MONTH = re.compile(
    rf"(?<!\w)(\d{{1,2}})(?:er|st|nd|rd|th)?\s+({_MONTH_ALT})\.?(?:,?\s+(\d{{4}}))?"
    r"(?:,?\s+(?:à\s+|at\s+|-\s+)?(\d{1,2})\s*[:h]\s*(\d{2}))?(?!\w)",
    re.I,
)
_MONTH_DAY = re.compile(
    rf"(?<!\w)({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?"
    r"(?:,?\s+(?:at\s+)?(\d{1,2}):(\d{2}))?(?!\w)",
    re.I,
)


def _fast_date(value: str, now: datetime) -> datetime | None:
    """The common written forms, without dateparser's cost (about 1 ms a date); None when
    the text is anything else (dateparser then reads it)."""
    text = value.translate(_ARABIC_DIGITS)
    found = _DAY_MONTH.search(text)
    if found:
        day, month, year, hour, minute = found.groups()
    else:
        found = _MONTH_DAY.search(text)
        if not found:
            return None
        month, day, year, hour, minute = found.groups()
    number = _MONTHS.get(month.lower())
    if number is None:
        return None
    try:
        moment = datetime(
            int(year) if year else now.year,
            number,
            int(day),
            int(hour or 0),
            int(minute or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if not year and moment > now + timedelta(days=1):  # "27 décembre" read in January
        moment = moment.replace(year=moment.year - 1)
    return moment


def parse_date(text: str | None, now: datetime) -> datetime | None:
    """A date written in words or numbers, in English, French or Arabic ("27 novembre 2026",
    "٢٧ نوفمبر", "il y a 3 heures", ISO 8601), as UTC; None when none can be read."""
    if not text or not text.strip():
        return None
    value = " ".join(text.split())[:100]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fast = _fast_date(value, now)
        if fast is not None:
            return fast
        import dateparser

        settings: Any = {
            "RETURN_AS_TIMEZONE_AWARE": True,
            "TO_TIMEZONE": "UTC",
            "PREFER_DATES_FROM": "past",
            "RELATIVE_BASE": now.astimezone(UTC).replace(tzinfo=None),
        }
        try:
            parsed = dateparser.parse(value, languages=list(DATE_LANGUAGES), settings=settings)
        except (ValueError, OverflowError, TypeError, AttributeError):
            return None
        if parsed is None:
            return None
        moment = parsed
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _text(element: Any) -> str:
    return " ".join(element.text_content().split())


def extract_page(
    body: bytes,
    url: str,
    selectors: PageSelectors,
    now: datetime,
    content_type: str | None = None,
) -> PageExtract:
    """Every element matching ``item``, with its title, link (resolved against ``url`` and the
    page's ``<base>``), optional summary and date. Raises SelectorProblem on a bad selector."""
    compiled = compile_selectors(selectors)
    if not body.strip():
        return PageExtract(title=None, entries=[])
    try:
        root = parse_html(body, content_type)
    except ValueError:
        return PageExtract(title=None, entries=[])
    for unwanted in root.xpath("//script | //style | //noscript"):
        unwanted.drop_tree()  # never text: a selector on a container must not pick up code
    base = url
    for element in root.iter("base"):
        if element.get("href"):
            base = urljoin(url, element.get("href"))
            break
    titles = root.findall(".//title")
    page_title = _text(titles[0]) if titles else None
    entries: list[PageEntry] = []
    for node in compiled["item"](root)[:_MAX_ITEMS]:
        title_el = _first(compiled["title"], node)
        title = truncate_words(_text(title_el), _TITLE_CHARS) if title_el is not None else ""
        link_el = _first(compiled["link"], node)
        link = _link(link_el, base)
        summary = ""
        if "summary" in compiled:
            summary_el = _first(compiled["summary"], node)
            summary = _text(summary_el)[:_MAX_SUMMARY] if summary_el is not None else ""
        date_text = None
        if "date" in compiled:
            date_el = _first(compiled["date"], node)
            if date_el is not None:
                date_text = (
                    date_el.get("datetime") or date_el.get("content") or _text(date_el) or None
                )
        if not (title or link):
            continue
        entries.append(
            PageEntry(
                title=title,
                link=link,
                summary=summary,
                date_text=date_text,
                published=parse_date(date_text, now),
            )
        )
    return PageExtract(title=page_title or None, entries=entries)


def _first(selector: Any, node: Any) -> Any:
    found = selector(node)
    return found[0] if found else None


def _link(element: Any, base: str) -> str | None:
    if element is None:
        return None
    href = element.get("href")
    if href is None:  # the selector chose a container: its first link
        anchors = element.xpath(".//a[@href]")
        href = anchors[0].get("href") if anchors else None
    if not href or not href.strip():
        return None
    link = urljoin(base, href.strip())
    return link if urlsplit(link).scheme in ("http", "https") else None


def page_items(extract: PageExtract, spec: FeedSpec, now: datetime, first_read: bool) -> list[Item]:
    """Items of a page. An undated item takes its first-seen time, except on the first read,
    where it stays undated (so it is recorded, not alerted, like a feed's old items)."""
    source = spec.title or extract.title or (urlsplit(spec.target).hostname or spec.target)
    return [
        Item(
            feed_url=spec.url,
            source=source,
            guid=None,
            link=entry.link,
            title=entry.title,
            summary=entry.summary,
            published=entry.published or (None if first_read else now),
        )
        for entry in extract.entries
    ]


def _as_source_result(result: FetchResult, url: str) -> SourceResult:
    return SourceResult(
        url=url,
        status=result.status,
        body_hash=result.body_hash,
        not_modified=result.not_modified,
        error=result.error,
        etag=result.etag,
        last_modified=result.last_modified,
        content_type=result.content_type,
        final_url=result.final_url,
        retry_after=result.retry_after,
        max_age=result.max_age,
        gone=result.gone,
        elapsed=result.elapsed,
    )


class PageReader:
    """Fetches a page (conditional GET; an unchanged body is skipped by its hash) and extracts
    its items. A selector that stops matching gives one admin notice until it matches again."""

    def __init__(self, fetcher: Fetcher):
        self.fetcher = fetcher

    async def read(
        self, spec: FeedSpec, state: FeedState, now: datetime
    ) -> tuple[SourceResult, Parsed | None]:
        assert spec.selectors is not None
        target = state.redirected_to or spec.target
        fetched = await self.fetcher.fetch(target, state.etag, state.last_modified)
        result = _as_source_result(fetched, spec.url)
        if fetched.error or fetched.not_modified:
            return result, None
        if fetched.body_hash and fetched.body_hash == state.body_hash:
            return result, None
        known = source_state(state)
        try:
            async with asyncio.timeout(_PARSE_TIMEOUT):
                extract = await asyncio.to_thread(
                    extract_page,
                    fetched.body or b"",
                    target,
                    spec.selectors,
                    now,
                    fetched.content_type,
                )
        except SelectorProblem as exc:
            result.error = FeedError(FeedErrorKind.SOURCE, str(exc))
            return result, None
        except TimeoutError:
            result.error = FeedError(
                FeedErrorKind.PARSE_TIMEOUT, f"page took longer than {_PARSE_TIMEOUT:g}s to read"
            )
            return result, None
        if not extract.entries:
            matched_before = int(known.get("matched") or 0)
            result.source_state = {**known, "broken": True}
            if matched_before:
                result.error = FeedError(
                    FeedErrorKind.SOURCE,
                    f"{BROKEN} ({spec.selectors.item!r} found {matched_before} before)",
                )
                if not known.get("broken"):
                    result.notice = f"{spec.target}: {BROKEN}. Check the selectors with" + (
                        f" `main.py match {spec.url}`."
                    )
            else:
                result.error = FeedError(
                    FeedErrorKind.SOURCE,
                    f"selector {spec.selectors.item!r} matched 0 items on the page",
                )
            return result, None
        result.source_state = {"matched": len(extract.entries)}
        if known.get("broken") and known.get("matched"):
            result.notice = (
                f"{spec.target}: the selectors match again ({len(extract.entries)} items)."
            )
        first_read = not state.first_success_at
        items = page_items(extract, spec, now, first_read)
        return result, key_items(ParsedFeed(title=extract.title, items=items))
