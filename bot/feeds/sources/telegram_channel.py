"""Public Telegram channels through their web preview (``https://t.me/s/<channel>``): parse the
preview HTML with lxml, page back with ``?before=`` for new posts, and key posts by id."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.models import FeedSpec, Item, ParsedFeed
from bot.core.records import FeedState
from bot.core.text import truncate_words
from bot.feeds.fetcher import Fetcher, FetchResult
from bot.feeds.sources.base import Parsed, SourceResult, key_items, source_state
from bot.feeds.sources.html_doc import parse_html

DEFAULT_BASE_URL = "https://t.me"
PUBLIC_BASE = "https://t.me"  # item links always point at the public site
TITLE_CHARS = 160
_MAX_TEXT = 4000
_PARSE_TIMEOUT = 30.0
_SENTENCE = re.compile(r"(?<=[.!?؟。])\s+")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_POST_PATH = re.compile(r"^/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})/(\d+)")
# Media blocks of a post, by the kind shown in a media-only post's title.
_MEDIA = (
    ("photo", ".tgme_widget_message_photo_wrap"),
    ("video", ".tgme_widget_message_video_player"),
    ("round video", ".tgme_widget_message_roundvideo_player"),
    ("file", ".tgme_widget_message_document"),
    ("voice message", ".tgme_widget_message_voice_player"),
    ("sticker", ".tgme_widget_message_sticker_wrap"),
    ("poll", ".tgme_widget_message_poll"),
)


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """One post of a channel's preview page."""

    channel: str  # as Telegram spells it in data-post
    post_id: int
    text: str
    published: datetime | None
    links: tuple[str, ...] = ()
    media: int = 0
    media_label: str = ""
    forwarded_from: str | None = None  # the original's channel or author name
    original: str | None = None  # "channel/123" of the original post, when public
    edited: bool = False

    @property
    def ident(self) -> str:
        """The post id as an item key: ``channel/123`` (channel names are case-insensitive)."""
        return f"{self.channel.lower()}/{self.post_id}"


@dataclass(slots=True)
class ChannelPage:
    """What one preview page shows: the channel's title and posts, oldest first."""

    has_preview: bool
    title: str | None = None
    # Telegram's own page for a name without a preview (t.me/<name>: "Contact @name", or the
    # generic page of an unknown name), as opposed to anything else (an error page, junk).
    telegram_page: bool = False
    posts: list[ChannelPost] = field(default_factory=list)


class _Selectors:
    """CSS selectors compiled once (cssselect turns them into XPath)."""

    def __init__(self) -> None:
        from lxml.cssselect import CSSSelector

        self.messages = CSSSelector(".tgme_widget_message[data-post]")
        self.preview = CSSSelector(".tgme_channel_info, .tgme_channel_history")
        self.telegram_page = CSSSelector(".tgme_page, .tgme_page_wrap, .tgme_head_brand")
        self.title = CSSSelector(".tgme_channel_info_header_title")
        self.text = CSSSelector(".tgme_widget_message_text.js-message_text")
        self.time = CSSSelector(".tgme_widget_message_date time[datetime]")
        self.meta = CSSSelector(".tgme_widget_message_meta")
        self.forwarded = CSSSelector(".tgme_widget_message_forwarded_from")
        self.forwarded_name = CSSSelector(".tgme_widget_message_forwarded_from_name")
        self.media = [(label, CSSSelector(sel)) for label, sel in _MEDIA]


_compiled: _Selectors | None = None


def _selectors() -> _Selectors:
    global _compiled
    if _compiled is None:
        _compiled = _Selectors()
    return _compiled


def _text_of(element: Any) -> str:
    """Text with ``<br>`` as line breaks, spaces collapsed within lines; no script or style."""
    for unwanted in element.xpath(".//script | .//style"):
        unwanted.drop_tree()
    for br in element.iter("br"):
        br.tail = "\n" + (br.tail or "")
    lines = (_SPACE.sub(" ", line).strip() for line in element.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _post_ref(href: str | None) -> str | None:
    """``channel/123`` from a post link (``https://t.me/channel/123``), else None."""
    if not href:
        return None
    parts = urlsplit(href)
    if parts.hostname not in ("t.me", "telegram.me", "www.t.me"):
        return None
    match = _POST_PATH.match(parts.path)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def parse_channel_page(body: bytes) -> ChannelPage:
    """Parse a ``t.me/s/<channel>`` page. ``has_preview`` is False for the page Telegram
    shows instead when a channel is unknown, private or has its preview disabled."""
    if not body.strip():
        return ChannelPage(has_preview=False)
    try:
        root = parse_html(body)
    except ValueError:
        return ChannelPage(has_preview=False)
    sel = _selectors()
    messages = sel.messages(root)
    if not messages and not sel.preview(root):
        return ChannelPage(has_preview=False, telegram_page=bool(sel.telegram_page(root)))
    titles = sel.title(root)
    title = _SPACE.sub(" ", titles[0].text_content()).strip() if titles else None
    posts = [post for post in (_post(message, sel) for message in messages) if post]
    posts.sort(key=lambda p: p.post_id)
    return ChannelPage(has_preview=True, title=title or None, posts=posts)


def _post(message: Any, sel: _Selectors) -> ChannelPost | None:
    channel, _, number = (message.get("data-post") or "").partition("/")
    if not channel or not number.isdigit():
        return None
    texts = sel.text(message)
    text = _text_of(texts[0])[:_MAX_TEXT] if texts else ""
    links: list[str] = []
    for element in texts[:1]:
        for anchor in element.iter("a"):
            href = (anchor.get("href") or "").strip()
            if href.startswith(("http://", "https://")) and "?q=%23" not in href:
                links.append(href)
    times = sel.time(message)
    published = _when(times[0].get("datetime")) if times else None
    edited = any("edited" in meta.text_content() for meta in sel.meta(message))
    counts = [(label, len(selector(message))) for label, selector in sel.media]
    media = sum(n for _, n in counts)
    label = ", ".join(
        f"{n} {kind}{'s' if n > 1 and not kind.endswith('s') else ''}" for kind, n in counts if n
    )
    forwarded_from = original = None
    blocks = sel.forwarded(message)
    if blocks:
        names = sel.forwarded_name(blocks[0])
        name_el = names[0] if names else blocks[0]
        forwarded_from = _SPACE.sub(" ", name_el.text_content()).strip() or None
        original = _post_ref(name_el.get("href"))
    return ChannelPost(
        channel=channel,
        post_id=int(number),
        text=text,
        published=published,
        links=tuple(dict.fromkeys(links)),
        media=media,
        media_label=label,
        forwarded_from=forwarded_from,
        original=original,
        edited=edited,
    )


def post_title(text: str, media_label: str = "") -> str:
    """The first line, or its first sentence when the line is long, cut at a word."""
    first = text.split("\n", 1)[0].strip()
    if not first:
        return f"[{media_label}]" if media_label else ""
    if len(first) > TITLE_CHARS:
        sentence = _SENTENCE.split(first, maxsplit=1)[0]
        first = sentence if len(sentence) >= 20 else first
    return truncate_words(first, TITLE_CHARS)


def post_item(post: ChannelPost, source: str, feed_url: str) -> Item:
    """An Item for a post: key ``channel/123``, origin the original post when forwarded."""
    title = post_title(post.text, post.media_label)
    flat = " ".join(post.text.split())
    summary = flat
    first_line = post.text.split("\n", 1)[0].strip()
    if title and title == first_line and "\n" in post.text:
        summary = " ".join(post.text.split("\n", 1)[1].split())
    extras = []
    if post.media and post.text:
        extras.append(post.media_label)
    if post.forwarded_from:
        extras.append(f"forwarded from {post.forwarded_from}")
    if extras:
        summary = f"{summary} [{'; '.join(extras)}]".strip()
    origin = (post.original or post.ident).lower()
    return Item(
        feed_url=feed_url,
        source=source,
        guid=post.ident,
        link=f"{PUBLIC_BASE}/{post.channel}/{post.post_id}",
        title=title,
        summary=summary,
        published=post.published,
        origin=f"telegram:{origin}",
    )


def _as_source_result(result: FetchResult, url: str) -> SourceResult:
    return SourceResult(
        url=url,
        status=result.status,
        error=result.error,
        body_hash=result.body_hash,
        retry_after=result.retry_after,
        gone=False,  # a 410 from t.me is not a reason to disable a channel for good
        elapsed=result.elapsed,
    )


class TelegramReader:
    """Reads public channels: the newest page, then older pages (``?before=``) back to the last
    post seen (or, on the first read, back ``backfill_hours``), at most ``max_pages``."""

    def __init__(
        self,
        fetcher: Fetcher,
        base_url: str = DEFAULT_BASE_URL,
        *,
        backfill_hours: int = 24,
        max_pages: int = 10,
    ):
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.backfill_hours = backfill_hours
        self.max_pages = max_pages

    def page_url(self, channel: str, before: int | None = None) -> str:
        url = f"{self.base_url}/s/{channel}"
        return f"{url}?before={before}" if before is not None else url

    async def read(
        self, spec: FeedSpec, state: FeedState, now: datetime
    ) -> tuple[SourceResult, Parsed | None]:
        channel = spec.target
        known = source_state(state)
        last_id = known.get("last_id") if isinstance(known.get("last_id"), int) else None
        first = await self.fetcher.fetch(self.page_url(channel))
        result = _as_source_result(first, spec.url)
        if first.error and first.status != 404:
            return result, None
        page = await _parse(first.body or b"")
        if not page.has_preview and (page.telegram_page or first.status == 404):
            result.notice = _no_preview(channel, last_id is not None)
            result.error = FeedError(FeedErrorKind.SOURCE, result.notice)
            result.pause = True
            return result, None
        if not page.has_preview:  # not Telegram's answer (a proxy's error page…): retried
            result.error = FeedError(
                FeedErrorKind.NOT_A_FEED,
                f"t.me/s/{channel} answered with a page that is not a channel preview",
            )
            return result, None
        if first.body_hash and first.body_hash == state.body_hash:
            return result, None  # the same page as last time
        posts = {p.post_id: p for p in page.posts}
        cutoff = now - timedelta(hours=self.backfill_hours)
        for _ in range(self.max_pages - 1):
            oldest = min(posts, default=None)
            if oldest is None or oldest <= 1:
                break
            if last_id is not None and oldest <= last_id + 1:
                break
            oldest_at = posts[oldest].published
            if last_id is None and (oldest_at is None or oldest_at < cutoff):
                break
            older = await self.fetcher.fetch(self.page_url(channel, before=oldest))
            if older.error:  # e.g. 429: the whole read fails, so no post in the gap is lost
                failed = _as_source_result(older, spec.url)
                failed.error = older.error.prefixed(f"t.me/s/{channel}?before={oldest}: ")
                return failed, None
            more = (await _parse(older.body or b"")).posts
            if not any(p.post_id < oldest for p in more):
                break
            posts.update({p.post_id: p for p in more})
        fresh = [p for i, p in sorted(posts.items()) if last_id is None or i > last_id]
        source = spec.title or page.title or f"@{channel}"
        items = [post_item(p, source, spec.url) for p in fresh]
        newest = max([last_id or 0, *posts])
        result.source_state = {"last_id": newest} if newest else dict(known)
        return result, key_items(ParsedFeed(title=page.title, items=items))


async def _parse(body: bytes) -> ChannelPage:
    """Parse off the event loop, with a time limit."""
    async with asyncio.timeout(_PARSE_TIMEOUT):
        return await asyncio.to_thread(parse_channel_page, body)


def _no_preview(channel: str, had_preview: bool) -> str:
    if had_preview:
        return (
            f"t.me/s/{channel} has no public preview any more: the channel was deleted,"
            " renamed or made private, or its owner disabled the preview."
        )
    return (
        f"t.me/s/{channel} has no public preview: the channel does not exist, is private,"
        " or its owner disabled the web preview."
    )
