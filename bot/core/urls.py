"""URL canonicalisation, stable item keys and Google News title/outlet splitting."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "is_google_news_url",
    "is_web_url",
    "item_key",
    "split_outlet_suffix",
]

# Query parameters that only track the visitor and never select content.
# courlan's own tracker regex (courlan.clean.TRACKERS_RE) is deliberately broad for crawling:
# it also drops ``cid``, ``uid``, ``session``, ``source``, ``gallery``, ``game``, ``global``,
# ``refresh`` ... which some news CMSs use to select the article. Merging two different
# articles under one key hides news, while a missed tracker is caught by story-level dedup,
# so this module uses an explicit list instead (matched case-insensitively).
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "referer",
        "_ga",
        "_gl",
        "xtor",
        "ocid",
        "cmpid",
        "smid",
        "smtyp",
        "sr_share",
        "ito",
        "rss",
        "via",
        "amp",
        "outputtype",  # only dropped when its value is "amp", see _is_tracking
        "__twitter_impression",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = (
    "utm_",
    "mc_",
    "pk_",
    "mtm_",
    "at_",
    "hsa_",
    "_hs",
    "itm_",
    "oly_",
    "vero_",
    "ga_",
    "fb_",
)

_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_PCT_RE = re.compile(r"%[0-9a-fA-F]{2}")
# Google AMP cache: https://www-example-com.cdn.ampproject.org/c/s/www.example.com/path
_AMP_CACHE_RE = re.compile(r"^/[a-z]/(?:s/)?([^/]+)(/.*)?$")
_GOOGLE_NEWS_HOST_RE = re.compile(r"^news\.google\.[a-z]{2,3}(?:\.[a-z]{2})?$")


def is_web_url(text: str) -> bool:
    """True when ``text`` is an absolute http(s) URL (or scheme-relative ``//host/...``)."""
    s = text.strip().lower()
    return (s.startswith(("http://", "https://")) and len(s) > 8) or (
        s.startswith("//") and len(s) > 2 and s[2] != "/"
    )


def _is_tracking(key: str, value: str) -> bool:
    k = key.lower()
    if k == "outputtype":
        return value.lower() == "amp"
    return k in TRACKING_PARAMS or k.startswith(TRACKING_PREFIXES)


def _unwrap_amp_cache(host: str, path: str) -> tuple[str, str] | None:
    """Map Google AMP cache / google.com/amp URLs to the publisher's host and path."""
    if host.endswith(".cdn.ampproject.org"):
        m = _AMP_CACHE_RE.match(path)
        if m and "." in m.group(1):
            return m.group(1).lower(), m.group(2) or "/"
    if host in ("google.com", "www.google.com") and path.startswith("/amp/"):
        rest = path[len("/amp/") :]
        if rest.startswith("s/"):
            rest = rest[2:]
        h, _, p = rest.partition("/")
        if "." in h:
            return h.lower(), "/" + p
    return None


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on whole segments."""
    out: list[str] = []
    for seg in path.split("/"):
        if seg == "..":
            if len(out) > 1:
                out.pop()
        elif seg != ".":
            out.append(seg)
    return "/".join(out)


def _fold_amp_path(path: str) -> str:
    segments = [seg for seg in _remove_dot_segments(path).split("/") if seg.lower() != "amp"]
    last = segments[-1] if segments else ""
    low = last.lower()
    if low.endswith(".amp"):
        last = last[: -len(".amp")]
    elif low.endswith(".amp.html") or low.endswith(".amp.htm"):
        last = last[: low.rindex(".amp.")] + last[low.rindex(".amp.") + 4 :]
    if segments:
        segments[-1] = last
    return "/".join(segments)


# A plain absolute link, the common case: lower-case ASCII host of dotted labels (no port, no
# user, no punycode), a path of characters that courlan's normalisation leaves alone, an
# optional query without a slash or a semicolon, no fragment. ``canonical_url`` computes its
# form directly; anything else takes the general path (tests/test_link_fast_paths.py holds
# the two equal).
_PLAIN_URL = re.compile(
    r"https?://((?:[a-z0-9-]+\.)+[a-z0-9-]+)"  # host
    r"(/[A-Za-z0-9_.~!=:,/-]*)?"  # path: what quote(path, safe="/%!=:,-") keeps as it is
    r"(?:\?([!$-.0-:=?-z|~]*))?"  # query: printable ASCII but # " < > { } / ; and space
)
# Hosts whose paths the general path rewrites (the Google AMP cache, google.com/amp/).
_AMP_CACHE_HOSTS = ("google.com", "www.google.com")


def canonical_url(url: str) -> str:
    """Return the comparison form of ``url``: two URLs for the same page give the same string.

    The result is not meant to be fetched: it has no scheme (http and https are one), no
    ``www.``, no fragment, no default port, no tracking parameters, the remaining query
    parameters sorted, no trailing slash, and AMP variants (``/amp/``, ``.amp``, ``?amp``,
    ``amp.`` hosts, the Google AMP cache) folded into the article URL. Path case is kept
    (servers are case-sensitive). Text that is not an http(s) URL is returned stripped.
    """
    s = url.strip() if url else ""
    plain = _PLAIN_URL.fullmatch(s)
    if plain is not None:
        host, path, query = plain.groups()
        path = path or ""
        if not (
            "//" in path  # courlan merges repeated slashes; a second "://" has them too
            or "/." in path  # dot segments
            or "amp" in path.lower()  # AMP variants
            or "xn--" in host  # punycode, decoded by courlan
            or host.endswith(".cdn.ampproject.org")
            or host in _AMP_CACHE_HOSTS
        ):
            if host.startswith("www."):
                host = host[4:]
            if host.startswith("amp."):
                host = host[4:]
            return host + path.rstrip("/") + _canonical_query(query or "")
    return _canonical_url_general(url)


def _canonical_query(query: str) -> str:
    """``?`` and the query's parameters without trackers, sorted; "" when none is left."""
    if not query:
        return ""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k, v)]
    encoded = urlencode(sorted(pairs), quote_via=quote)
    return f"?{encoded}" if encoded else ""


def _canonical_url_general(url: str) -> str:
    """``canonical_url`` for any text: courlan's scrubbing and normalisation, then ours."""
    # courlan is imported on first use: a cycle of 304s canonicalises nothing.
    from courlan import normalize_url, scrub_url

    raw = scrub_url(url.strip()) if url else ""
    if raw.startswith("//"):
        raw = "http:" + raw
    if not is_web_url(raw) or not _SCHEME_RE.match(raw):
        return url.strip()
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return url.strip()
    if not host:
        return url.strip()
    path = parts.path
    unwrapped = _unwrap_amp_cache(host, path)
    if unwrapped is not None:
        host, path = unwrapped
        port = None
    if host.startswith("www."):
        host = host[4:]
    if host.startswith("amp."):
        host = host[4:]
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    # courlan: lowercase host, punycode decoding, duplicate slashes, leading /../,
    # percent-encoding of non-ASCII path characters. Query and fragment are handled here.
    normalized = normalize_url(
        SplitResult("https", netloc, _fold_amp_path(path), "", ""),
        strict=False,
        trailing_slash=False,
    )
    n = urlsplit(normalized)
    out_path = _PCT_RE.sub(lambda m: m.group(0).upper(), n.path).rstrip("/")
    return f"{n.netloc}{out_path}" + _canonical_query(parts.query)


_WS_RE = re.compile(r"\s+")


def _norm_text(text: str) -> str:
    """NFKC, casefold, strip diacritics, collapse whitespace (for hashing only)."""
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return _WS_RE.sub(" ", s).strip()


def item_key(
    guid: str | None,
    link: str | None,
    title: str,
    summary: str,
    *,
    canonical_link: str | None = None,
) -> str:
    """Return a stable key for one feed item, prefixed with its kind.

    - ``u:<canonical url>`` when the GUID is itself a URL (permalink GUIDs), so the same
      article reached through a feed with permalink GUIDs and a feed without GUIDs is one item;
    - ``g:<host> <guid>`` for an opaque GUID, namespaced by the link's canonical host (``g:<guid>``
      without a link), because opaque GUIDs such as ``12345`` are only unique within one site;
    - ``u:<canonical url>`` of the link when there is no GUID;
    - ``h:<sha256 prefix>`` of the normalised title and summary otherwise.

    Title and summary never enter the key when a GUID or link exists, so an edited title
    under the same GUID/link keeps its key. ``canonical_link``, when the caller already has
    ``canonical_url(link)``, saves computing it again (it is the costly part).
    """
    g = (guid or "").strip()
    if g and is_web_url(g):
        return "u:" + canonical_url(g)
    ln = (link or "").strip()
    if ln and canonical_link is None:
        canonical_link = canonical_url(ln)
    if g:
        host = ""
        if canonical_link and link and is_web_url(link):
            host = canonical_link.split("/", 1)[0].split("?", 1)[0]
        return f"g:{host} {g}" if host else f"g:{g}"
    if ln:
        return "u:" + str(canonical_link)
    digest = hashlib.sha256(f"{_norm_text(title)}\n{_norm_text(summary)}".encode()).hexdigest()
    return "h:" + digest[:32]


@functools.lru_cache(maxsize=4096)
def is_google_news_url(url: str | None) -> bool:
    """True for news.google.com feed and article URLs (any scheme, with or without ``www.``).

    Cached: a cycle asks it of every new item's feed URL (``sources.article_key``).
    """
    if not url or not is_web_url(url):
        return False
    s = url.strip()
    if s.startswith("//"):
        s = "http:" + s
    try:
        host = (urlsplit(s).hostname or "").rstrip(".")
    except ValueError:
        return False
    return bool(_GOOGLE_NEWS_HOST_RE.match(host))


# Lowercase words allowed inside an outlet name ("Le Journal de Montréal", "APA news").
_OUTLET_LOWER_WORDS = frozenset(
    {
        "de",
        "du",
        "des",
        "la",
        "le",
        "les",
        "et",
        "en",
        "à",
        "the",
        "of",
        "and",
        "for",
        "on",
        "al",
        "el",
        "news",
        "info",
        "infos",
        "online",
        "tv",
        "radio",
        "mag",
    }
)
_DOMAIN_RE = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
_OUTLET_BAD_CHARS = frozenset('?!:;«»"“”…,')
_OUTLET_SEP = " - "


def _looks_like_outlet(text: str) -> bool:
    if not text or len(text) > 60 or any(ch in _OUTLET_BAD_CHARS for ch in text):
        return False
    if _DOMAIN_RE.match(text):
        return True
    words = text.split()
    if not 1 <= len(words) <= 6 or not (words[0][0].isupper() or words[0][0].isdigit()):
        return False
    for word in words:
        w = word.strip("'’().&")
        if not w:
            continue
        head = re.sub(r"^[ldLD]['’]", "", w)  # L'Express, d'Abidjan
        if head[:1].isupper() or head[:1].isdigit() or _DOMAIN_RE.match(w):
            continue
        if w.lower() in _OUTLET_LOWER_WORDS:
            continue
        return False
    return True


def split_outlet_suffix(title: str) -> tuple[str, str | None]:
    """Split a Google News title ``"Headline - Outlet"`` into ``("Headline", "Outlet")``.

    Conservative: only the last `` - `` is considered, the headline must keep at least two
    words, and the suffix must look like an outlet name (at most six words, title-cased or a
    domain name, no sentence punctuation). Otherwise returns ``(title, None)`` unchanged.
    """
    t = title.strip()
    head, sep, tail = t.rpartition(_OUTLET_SEP)
    if not sep:
        return title, None
    head, tail = head.strip(), tail.strip()
    if len(head.split()) < 2 or not _looks_like_outlet(tail):
        return title, None
    return head, tail


ALLOWED_SCHEMES = ("http", "https")


def check_feed_url(url: str) -> str | None:
    """Return why ``url`` cannot be fetched (only http(s) with a host), or None when it can."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"only http(s) feeds are allowed, not {parts.scheme or 'a bare path'!r}"
    if not parts.hostname:
        return "feed URL has no host"
    return None
