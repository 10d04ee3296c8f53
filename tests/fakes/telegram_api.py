"""A faithful fake of the Telegram Bot API on 127.0.0.1, for python-telegram-bot via base_url.

It implements the methods newswatch uses with Telegram's envelopes and error texts: HTML
validation like Telegram's (allowed tags only, bare ``<``/``&`` rejected, 4096 UTF-16 units
after entity parsing), real long-polling ``getUpdates`` with offset confirmation, and fault
injection (429 with retry_after, 403, 400 chat not found / migrate, 5xx, dropped connection).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.loopback import LoopbackHTTPServer

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^>]*)?)\s*/?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_ENTITY_VALUES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "newswatch", "username": "newswatch_bot"}


class TelegramHTMLError(ValueError):
    pass


def parse_telegram_html(text: str) -> str:
    """Return the plain text of a Telegram-HTML message, or raise like Telegram would."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    raw = text.encode("utf-8")
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG.match(text, i)
            offset = len(text[:i].encode("utf-8"))
            if not match:
                raise TelegramHTMLError(
                    f"can't parse entities: Unsupported start tag at byte offset {offset}"
                )
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in ALLOWED_TAGS:
                kind = "end" if closing else "start"
                raise TelegramHTMLError(
                    f"can't parse entities: Unsupported {kind} tag"
                    f' "{name}" at byte offset {offset}'
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise TelegramHTMLError(
                        f"can't parse entities: Unexpected end tag at byte offset {offset}"
                    )
                stack.pop()
            else:
                if name == "a" and not re.search(r"href\s*=", attrs):
                    pass  # Telegram accepts <a> without href (renders text)
                stack.append(name)
            i = match.end()
            continue
        if ch == "&":
            match = _ENTITY.match(text, i)
            if not match:
                offset = len(text[:i].encode("utf-8"))
                raise TelegramHTMLError(
                    f"can't parse entities: Character entity expected at byte offset {offset}"
                    if text[i + 1 : i + 2].isspace() or i + 1 == len(text)
                    else f"can't parse entities: Unsupported HTML entity at byte offset {offset}"
                )
            value = match.group(1)
            if value.startswith("#x"):
                out.append(chr(int(value[2:], 16)))
            elif value.startswith("#"):
                out.append(chr(int(value[1:])))
            else:
                out.append(_ENTITY_VALUES[value])
            i = match.end()
            continue
        if ch == ">":
            pass  # a bare ">" is accepted by Telegram
        out.append(ch)
        i += 1
    if stack:
        raise TelegramHTMLError(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    del raw
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Fault:
    """An injected failure for the next ``count`` calls of ``method`` (optionally one chat)."""

    method: str
    kind: str  # "429" | "403" | "500" | "502" | "drop" | "chat_not_found" | "migrate"
    count: int = 1
    chat_id: Any = None
    retry_after: int = 1
    migrate_to: int | None = None


@dataclass
class SentMessage:
    message_id: int
    chat_id: Any
    text: str
    parse_mode: str | None
    params: dict[str, Any]
    at: float


@dataclass
class FakeState:
    token: str
    messages: list[SentMessage] = field(default_factory=list)
    edits: list[SentMessage] = field(default_factory=list)
    photos: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)  # the default scope's
    # setMyCommands of the other scopes, by scope key ("chat:<id>", "all_private_chats", …)
    scoped_commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    blocked_chats: set[Any] = field(default_factory=set)
    known_chats: set[Any] | None = None  # None: every chat exists
    usernames: dict[str, int] = field(default_factory=dict)  # "@channel" -> chat id (getChat)
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    next_update_id: int = 1
    next_message_id: int = 1000
    message_texts: dict[tuple[Any, int], str] = field(default_factory=dict)
    chat_admins: dict[int, set[int]] = field(default_factory=dict)  # getChatMember answers


class FakeTelegramAPI(LoopbackHTTPServer):
    """Start with ``with FakeTelegramAPI(token) as api:``; point PTB at ``api.base_url``."""

    methods = ("GET", "POST")

    def __init__(self, token: str = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz0123"):
        super().__init__()
        self.state = FakeState(token=token)
        self.cond = threading.Condition()
        self._closing = False
        # method -> callback(params, result), run after a call succeeded and before the bot
        # gets the answer (e.g. to break the bot's storage exactly then)
        self.before_reply: dict[str, Any] = {}

    # ----- lifecycle ---------------------------------------------------------------------
    def _stopping(self) -> None:
        self._closing = True  # ends long polls
        with self.cond:
            self.cond.notify_all()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # ----- test controls -----------------------------------------------------------------
    def inject(self, method: str, kind: str, count: int = 1, **options: Any) -> None:
        with self.cond:
            self.state.faults.append(Fault(method=method, kind=kind, count=count, **options))

    def push_message(
        self, text: str, *, chat_id: int = 111, user_id: int = 111, chat_type: str = "private"
    ) -> int:
        """Queue an incoming message (a command when it starts with /) for getUpdates."""
        message: dict[str, Any] = {
            "message_id": self._next_message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._push_update({"message": message})

    def push_callback(
        self,
        data: str,
        *,
        chat_id: int = 111,
        user_id: int = 111,
        message_id: int = 1,
        chat_type: str = "private",
    ) -> int:
        query = {
            "id": str(time.time_ns()),
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type},
                "text": self.state.message_texts.get((chat_id, message_id), "alert"),
            },
        }
        return self._push_update({"callback_query": query})

    def push_member_update(self, chat_id: int, status: str, *, user_id: int = 111) -> int:
        """The bot's own membership changed in a group (``my_chat_member``): e.g. re-added."""
        bot = dict(BOT_USER)
        old = "left" if status in ("member", "administrator") else "member"
        change = {
            "chat": {"id": chat_id, "type": "supergroup", "title": f"group {chat_id}"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "date": int(time.time()),
            "old_chat_member": {"user": bot, "status": old},
            "new_chat_member": {"user": bot, "status": status},
        }
        return self._push_update({"my_chat_member": change})

    def _push_update(self, payload: dict[str, Any]) -> int:
        with self.cond:
            update_id = self.state.next_update_id
            self.state.next_update_id += 1
            self.state.updates.append({"update_id": update_id, **payload})
            self.cond.notify_all()
            return update_id

    def _next_message_id(self) -> int:
        self.state.next_message_id += 1
        return self.state.next_message_id

    def messages_to(self, chat_id: Any) -> list[SentMessage]:
        with self.cond:
            return [m for m in self.state.messages if str(m.chat_id) == str(chat_id)]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.state):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(min(remaining, 0.1))
            return True

    def calls_of(self, method: str) -> list[tuple[str, float, dict[str, Any]]]:
        with self.cond:
            return [c for c in self.state.calls if c[0] == method]

    # ----- HTTP plumbing -----------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        match = re.match(r"^/bot([^/]+)/(\w+)$", req.path.split("?")[0])
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        if not match:
            return self._reply(
                req, 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            )
        token, method = match.group(1), match.group(2)
        if token != self.state.token:
            return self._reply(
                req, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        params = self._params(req.headers.get("Content-Type", ""), body)
        with self.cond:
            self.state.calls.append((method, time.monotonic(), params))
            fault = self._take_fault(method, params)
        if fault is not None:
            return self._fault(req, fault)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(req, 404, "Not Found: method not found")
        try:
            result = handler(params)
        except _ApiError as exc:
            return self._error(req, exc.code, exc.description, exc.parameters)
        hook = self.before_reply.get(method)
        if hook is not None:
            hook(params, result)
        self._reply(req, 200, {"ok": True, "result": result})

    def _params(self, content_type: str, body: bytes) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if content_type.startswith("application/json") and body:
            return dict(json.loads(body))
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    values[str(name)] = {"filename": part.get_filename(), "bytes": payload}
                else:
                    assert isinstance(payload, bytes)
                    values[str(name)] = _maybe_json(payload.decode("utf-8"))
            return values
        for key, items in parse_qs(body.decode("utf-8"), keep_blank_values=True).items():
            values[key] = _maybe_json(items[-1])
        return values

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.state.faults:
            if fault.method != method or fault.count <= 0:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            fault.count -= 1
            return fault
        return None

    def _fault(self, req: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.kind == "429":
            return self._error(
                req,
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        if fault.kind == "403":
            return self._error(req, 403, "Forbidden: bot was blocked by the user")
        if fault.kind == "chat_not_found":
            return self._error(req, 400, "Bad Request: chat not found")
        if fault.kind == "migrate":
            return self._error(
                req,
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": fault.migrate_to},
            )
        if fault.kind == "drop":
            req.close_connection = True
            with contextlib.suppress(OSError):
                req.connection.shutdown(2)
            return None
        if fault.kind == "409":
            return self._error(
                req,
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot"
                " instance is running",
            )
        code = int(fault.kind)
        return self._error(req, code, "Internal Server Error" if code == 500 else "Bad Gateway")

    def _error(
        self,
        req: BaseHTTPRequestHandler,
        code: int,
        description: str,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        self._reply(req, code, payload)

    def _reply(self, req: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except OSError:
            pass
        with self.cond:
            self.cond.notify_all()

    # ----- methods -----------------------------------------------------------------------
    def _m_getMe(self, params: dict[str, Any]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    def _scope_key(self, params: dict[str, Any]) -> str:
        """The key of a BotCommandScope as Telegram takes it (default when absent); a chat
        scope must name a chat the bot can reach."""
        scope = params.get("scope")
        if isinstance(scope, str):
            scope = json.loads(scope)
        if not scope:
            return "default"
        if not isinstance(scope, dict) or "type" not in scope:
            raise _ApiError(400, "Bad Request: can't parse BotCommandScope")
        kind = str(scope["type"])
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return kind
        if kind in ("chat", "chat_administrators", "chat_member"):
            self._check_chat(scope.get("chat_id"))
            key = f"{kind}:{scope.get('chat_id')}"
            return key if kind != "chat_member" else f"{key}:{scope.get('user_id')}"
        raise _ApiError(400, "Bad Request: wrong BotCommandScope type specified")

    def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands") or []
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: too many commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: command description is empty or too long")
        key = self._scope_key(params)
        with self.cond:
            if key == "default":
                self.state.commands = list(commands)
            else:
                self.state.scoped_commands[key] = list(commands)
        return True

    def _m_getMyCommands(self, params: dict[str, Any]) -> Any:
        key = self._scope_key(params)
        if key == "default":
            return self.state.commands
        return self.state.scoped_commands.get(key, [])

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        key = self._scope_key(params)
        with self.cond:
            if key == "default":
                self.state.commands = []
            else:
                self.state.scoped_commands.pop(key, None)
        return True

    def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(timeout, 30)
        with self.cond:
            while True:
                if offset:
                    while self.state.updates and self.state.updates[0]["update_id"] < offset:
                        self.state.updates.popleft()  # confirmed by the offset
                if self.state.updates or self._closing:
                    return list(self.state.updates)[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self.cond.wait(min(remaining, 0.2))

    def _check_chat(self, chat_id: Any) -> None:
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self.state.blocked_chats or str(chat_id) in {
            str(c) for c in self.state.blocked_chats
        }:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        known = self.state.known_chats
        if known is not None and str(chat_id) not in {str(c) for c in known}:
            raise _ApiError(400, "Bad Request: chat not found")

    def _validated_text(self, text: Any, parse_mode: Any, limit: int = 4096) -> str:
        if text is None or str(text) == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        plain: str = text
        if str(parse_mode or "").upper() == "HTML":
            try:
                plain = parse_telegram_html(text)
            except TelegramHTMLError as exc:
                raise _ApiError(400, f"Bad Request: {exc}") from None
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > limit:
            raise _ApiError(400, "Bad Request: message is too long")
        return plain

    def _message(self, chat_id: Any, text: str | None, **extra: Any) -> dict[str, Any]:
        message_id = self._next_message_id()
        chat_type = (
            "private" if str(chat_id).lstrip("-").isdigit() and int(chat_id) > 0 else ("supergroup")
        )
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {
                "id": chat_id if str(chat_id).lstrip("-").isdigit() else -100999,
                "type": chat_type,
            },
            "from": BOT_USER,
            **extra,
        }
        if text is not None:
            message["text"] = text
        return message

    def _m_getChatMember(self, params: dict[str, Any]) -> Any:
        chat_id, user_id = params.get("chat_id"), int(params.get("user_id") or 0)
        admins = self.state.chat_admins.get(int(chat_id or 0), set())
        status = "administrator" if user_id in admins else "member"
        member: dict[str, Any] = {
            "user": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "status": status,
        }
        if status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        return member

    def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        with self.cond:
            self._check_chat(chat_id)
        plain = self._validated_text(params.get("text"), params.get("parse_mode"))
        with self.cond:
            message = self._message(chat_id, plain)
            self.state.messages.append(
                SentMessage(
                    message["message_id"],
                    chat_id,
                    str(params.get("text")),
                    params.get("parse_mode"),
                    params,
                    time.monotonic(),
                )
            )
            self.state.message_texts[(chat_id, message["message_id"])] = str(params.get("text"))
        return message

    def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        message_id = int(params.get("message_id") or 0)
        with self.cond:
            self._check_chat(chat_id)
            key = next(
                (
                    k
                    for k in self.state.message_texts
                    if str(k[0]) == str(chat_id) and k[1] == message_id
                ),
                None,
            )
            if key is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            previous = self.state.message_texts[key]
        plain = self._validated_text(params.get("text"), params.get("parse_mode"))
        with self.cond:
            if previous == str(params.get("text")):
                raise _ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and"
                    " reply markup are exactly the same as a current content and reply markup"
                    " of the message",
                )
            self.state.message_texts[key] = str(params.get("text"))
            self.state.edits.append(
                SentMessage(
                    message_id,
                    chat_id,
                    str(params.get("text")),
                    params.get("parse_mode"),
                    params,
                    time.monotonic(),
                )
            )
            message = self._message(chat_id, plain)
            message["message_id"] = message_id
            message["edit_date"] = int(time.time())
        return message

    def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        photo = params.get("photo")
        if not isinstance(photo, dict) or not photo.get("bytes"):
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        caption = params.get("caption")
        if caption is not None:
            self._validated_text(caption, params.get("parse_mode"), limit=1024)
        with self.cond:
            self._check_chat(chat_id)
            message = self._message(
                chat_id,
                None,
                photo=[{"file_id": "p1", "file_unique_id": "u1", "width": 800, "height": 400}],
            )
            self.state.photos.append(
                {
                    "chat_id": chat_id,
                    "bytes": photo["bytes"],
                    "caption": caption,
                    "at": time.monotonic(),
                }
            )
        return message

    def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        document = params.get("document")
        if not isinstance(document, dict):
            raise _ApiError(400, "Bad Request: there is no document in the request")
        with self.cond:
            self._check_chat(chat_id)
            message = self._message(
                chat_id,
                None,
                document={
                    "file_id": "d1",
                    "file_unique_id": "du1",
                    "file_name": document["filename"],
                },
            )
            self.state.documents.append(
                {
                    "chat_id": chat_id,
                    "filename": document["filename"],
                    "bytes": document["bytes"],
                    "caption": params.get("caption"),
                }
            )
        return message

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        with self.cond:
            self.state.callback_answers.append(params)
        return True

    def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        return True

    def _m_getChat(self, params: dict[str, Any]) -> Any:
        """A chat by id, or a channel by @username (``state.usernames``)."""
        wanted = str(params.get("chat_id") or "")
        with self.cond:
            if wanted.startswith("@"):
                if wanted.lower() not in {u.lower() for u in self.state.usernames}:
                    raise _ApiError(400, "Bad Request: chat not found")
                chat_id = next(
                    v for k, v in self.state.usernames.items() if k.lower() == wanted.lower()
                )
                return {"id": chat_id, "type": "channel", "title": wanted[1:].title(),
                        "username": wanted[1:], **_FULL_INFO}  # fmt: skip
            self._check_chat(wanted)
        chat_id = int(wanted)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}", **_FULL_INFO}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}", **_FULL_INFO}


# Fields a ChatFullInfo (getChat's answer) always has.
_FULL_INFO = {"accent_color_id": 0, "max_reaction_count": 11}


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _maybe_json(value: str) -> Any:
    if value[:1] in "[{" or re.fullmatch(r"-?\d+", value) or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
