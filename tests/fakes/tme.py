"""A fake of Telegram's public channel preview (t.me/s/<channel>) on 127.0.0.1: real-shaped
HTML (channel header, message widgets, forwards, media, edits), ``?before=`` paging, the
no-preview page, and 429 with Retry-After."""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackHTTPServer


@dataclass
class Post:
    """One post as the fake renders it."""

    post_id: int
    text: str = ""  # may hold <br/>, <a href> and <b>: it is HTML
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    forwarded_from: tuple[str, str | None] | None = None  # (name, "channel/123" or None)
    photos: int = 0
    videos: int = 0
    edited: bool = False
    reply_to: str | None = None  # text of a replied-to post (rendered as a quote block)


@dataclass
class Channel:
    name: str
    title: str
    posts: list[Post] = field(default_factory=list)
    mode: str | None = None  # None | "no-preview" | "429" | "404"


def _post_html(channel: str, post: Post) -> str:
    when = post.at.astimezone(UTC).isoformat()
    parts = [
        f'<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message"'
        f' data-post="{channel}/{post.post_id}" data-view="eyJjIjotMTAwMTIzNH0">'
        f'<div class="tgme_widget_message_user"><a href="https://t.me/{channel}">'
        '<i class="tgme_widget_message_user_photo bgcolor0" data-content="S"></i></a></div>'
        '<div class="tgme_widget_message_bubble"><i class="tgme_widget_message_bubble_tail">'
        "</i>"
        f'<div class="tgme_widget_message_author accent_color">'
        f'<a class="tgme_widget_message_owner_name" href="https://t.me/{channel}">'
        f'<span dir="auto">{html.escape(channel)}</span></a></div>'
    ]
    if post.forwarded_from:
        name, ref = post.forwarded_from
        if ref:
            inner = (
                f'<a class="tgme_widget_message_forwarded_from_name"'
                f' href="https://t.me/{ref}"><span dir="auto">{html.escape(name)}</span></a>'
            )
        else:
            inner = (
                f'<span class="tgme_widget_message_forwarded_from_name">{html.escape(name)}</span>'
            )
        parts.append(
            f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from {inner}'
            "</div>"
        )
    if post.reply_to:
        parts.append(
            '<a class="tgme_widget_message_reply" href="https://t.me/x/1">'
            '<div class="tgme_widget_message_author accent_color">'
            '<span class="tgme_widget_message_author_name">Other</span></div>'
            f'<div class="tgme_widget_message_text js-message_reply_text" dir="auto">'
            f"{post.reply_to}</div></a>"
        )
    for number in range(post.photos):
        parts.append(
            f'<a class="tgme_widget_message_photo_wrap 5434 blured" href="https://t.me/{channel}/'
            f'{post.post_id}?single" style="width:800px;background-image:url('
            f"'https://cdn4.cdn-telegram.org/file/p{number}.jpg')\">"
            '<div class="tgme_widget_message_photo" style="padding-top:75%"></div></a>'
        )
    for _ in range(post.videos):
        parts.append(
            f'<a class="tgme_widget_message_video_player blured js-message_video_player"'
            f' href="https://t.me/{channel}/{post.post_id}">'
            '<i class="tgme_widget_message_video_thumb"></i>'
            '<div class="tgme_widget_message_video_wrap"><video class="tgme_widget_message_video'
            ' js-message_video" width="100%" height="100%"></video></div></a>'
        )
    if post.text:
        parts.append(
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{post.text}</div>'
        )
    edited = "edited " if post.edited else ""
    parts.append(
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        '<span class="tgme_widget_message_views">1.2K</span>'
        f'<span class="copyonclick">{edited}</span>'
        f'<span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date"'
        f' href="https://t.me/{channel}/{post.post_id}"><time datetime="{when}"'
        f' class="time">{post.at:%H:%M}</time></a></span></div></div></div></div></div>'
    )
    return "".join(parts)


def channel_page(channel: Channel, posts: list[Post]) -> str:
    """A t.me/s/<channel> page holding ``posts`` (oldest first, as Telegram shows them)."""
    body = "\n".join(_post_html(channel.name, p) for p in posts)
    return f"""<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>{html.escape(channel.title)} – Telegram</title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <meta property="og:title" content="{html.escape(channel.title)}">
    <link href="//telegram.org/css/widget-frame.css?71" rel="stylesheet">
  </head>
  <body class="widget_frame_base tgme_widget body_widget_post emoji_image nodesktop">
    <header class="tgme_header search_collapsed">
      <div class="tgme_header_search"><form class="tgme_header_search_form"
        action="/s/{channel.name}" method="get"><input class="tgme_header_search_form_input"
        name="q" placeholder="Search"></form></div>
    </header>
    <main class="tgme_main">
      <section class="tgme_right_column">
        <div class="tgme_channel_info">
          <div class="tgme_channel_info_header">
            <i class="tgme_page_photo_image bgcolor0" data-content="S"></i>
            <div class="tgme_channel_info_header_title"><span dir="auto">{html.escape(channel.title)}</span></div>
            <div class="tgme_channel_info_header_username"><a href="https://t.me/{channel.name}">@{channel.name}</a></div>
          </div>
          <div class="tgme_channel_info_counters">
            <div class="tgme_channel_info_counter"><span class="counter_value">12.4K</span> <span class="counter_type">subscribers</span></div>
          </div>
        </div>
      </section>
      <section class="tgme_channel_history js-message_history">
        <div class="tgme_widget_message_centered js-messages_more_wrap">
          <a href="/s/{channel.name}?before={posts[0].post_id if posts else 1}" class="tme_messages_more js-messages_more" data-before="{posts[0].post_id if posts else 1}"></a>
        </div>
        {body}
      </section>
    </main>
  </body>
</html>
"""  # noqa: E501


NO_PREVIEW_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Telegram: Contact @{name}</title>
    <meta property="og:title" content="Telegram: Contact @{name}">
    <meta property="og:description" content="If you have Telegram, you can contact @{name} right away.">
  </head>
  <body class="no_transition">
    <div class="tgme_page_wrap">
      <div class="tgme_head_wrap"><div class="tgme_head"><a href="//telegram.org/" class="tgme_head_brand">Telegram</a></div></div>
      <div class="tgme_body_wrap">
        <div class="tgme_page">
          <div class="tgme_page_icon"><i class="tgme_icon_user"></i></div>
          <div class="tgme_page_title"><span dir="auto">{name}</span></div>
          <div class="tgme_page_description">If you have <strong>Telegram</strong>, you can contact <a class="tgme_username_link" href="tg://resolve?domain={name}">@{name}</a> right away.</div>
          <div class="tgme_page_action"><a class="tgme_action_button_new shine" href="tg://resolve?domain={name}">Send Message</a></div>
        </div>
      </div>
    </div>
  </body>
</html>
"""  # noqa: E501


class FakeTelegramPreview(LoopbackHTTPServer):
    """``server.add(Channel(...))``; ``base_url`` goes to ``telegram_preview_url``."""

    def __init__(self, page_size: int = 20) -> None:
        super().__init__()
        self.page_size = page_size
        self.channels: dict[str, Channel] = {}
        self.hits: list[str] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, channel: Channel) -> Channel:
        with self.lock:
            self.channels[channel.name.lower()] = channel
        return channel

    def hits_for(self, name: str) -> list[str]:
        with self.lock:
            return [h for h in self.hits if h.split("?")[0].rstrip("/").endswith("/" + name)]

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        with self.lock:
            self.hits.append(req.path)
        match = re.fullmatch(r"/s/([A-Za-z0-9_]+)/?", parts.path)
        if match is None:  # the page t.me/<name> shows when there is no preview
            name = parts.path.strip("/").split("/")[0] or "unknown"
            return self._send(req, 200, NO_PREVIEW_PAGE.format(name=html.escape(name)))
        name = match.group(1)
        with self.lock:
            channel = self.channels.get(name.lower())
        if channel is None or channel.mode == "no-preview":
            return self._send(req, 302, "", {"Location": f"/{name}"})
        if channel.mode == "429":
            return self._send(req, 429, "Too Many Requests", {"Retry-After": "120"})
        if channel.mode == "404":
            return self._send(req, 404, "not found")
        before = parse_qs(parts.query).get("before", [None])[0]
        posts = sorted(channel.posts, key=lambda p: p.post_id)
        if before is not None and before.isdigit():
            posts = [p for p in posts if p.post_id < int(before)]
        return self._send(req, 200, channel_page(channel, posts[-self.page_size :]))

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler, status: int, text: str, headers: dict[str, str] | None = None
    ) -> None:
        data = text.encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(data)
