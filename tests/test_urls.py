"""Table-driven and property tests for bot.core.urls: canonical URLs, Google News titles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.urls import canonical_url, is_google_news_url, split_outlet_suffix

SAME = [
    # scheme and host case, www, fragment
    ("HTTPS://WWW.RFI.FR/fr/afrique/mali", "http://rfi.fr/fr/afrique/mali"),
    ("https://rfi.fr/fr/afrique/mali#comments", "https://rfi.fr/fr/afrique/mali"),
    ("https://www.rfi.fr/fr/afrique/mali", "https://rfi.fr/fr/afrique/mali"),
    # tracking parameters
    ("https://x.com/a?utm_source=rss&utm_medium=feed&utm_campaign=c", "https://x.com/a"),
    ("https://x.com/a?fbclid=abc&gclid=def&mc_cid=1&mc_eid=2", "https://x.com/a"),
    ("https://x.com/a?ref=twitter&id=7", "https://x.com/a?id=7"),
    ("https://x.com/a?xtor=RSS-1&ocid=msn&_ga=1.2", "https://x.com/a"),
    ("https://x.com/a?UTM_Source=x", "https://x.com/a"),
    # remaining parameters sorted
    ("https://x.com/a?b=2&a=1", "https://x.com/a?a=1&b=2"),
    ("https://x.com/a?b=2&utm_source=x&a=1", "https://x.com/a?a=1&b=2"),
    # trailing slash, default port
    ("https://x.com/a/", "https://x.com/a"),
    ("https://x.com/", "https://x.com"),
    ("https://x.com:443/a", "https://x.com/a"),
    ("http://x.com:80/a", "https://x.com/a"),
    # AMP variants
    ("https://x.com/amp/mali-attaque/", "https://x.com/mali-attaque"),
    ("https://x.com/mali-attaque/amp/", "https://x.com/mali-attaque"),
    ("https://x.com/mali-attaque?amp", "https://x.com/mali-attaque"),
    ("https://x.com/mali-attaque?amp=1", "https://x.com/mali-attaque"),
    ("https://x.com/mali-attaque?outputType=amp", "https://x.com/mali-attaque"),
    (
        "https://www.bbc.com/news/world-africa-68123456.amp",
        "https://bbc.com/news/world-africa-68123456",
    ),
    ("https://x.com/story.amp.html", "https://x.com/story.html"),
    ("https://amp.theguardian.com/world/mali", "https://www.theguardian.com/world/mali"),
    (
        "https://www-rfi-fr.cdn.ampproject.org/c/s/www.rfi.fr/fr/afrique/a",
        "https://rfi.fr/fr/afrique/a",
    ),
    ("https://www.google.com/amp/s/www.rfi.fr/fr/afrique/a", "https://rfi.fr/fr/afrique/a"),
    # percent-encoding and non-ASCII paths, punycode hosts
    ("https://x.com/caf%c3%a9", "https://x.com/café"),
    ("https://xn--caf-dma.com/a", "https://café.com/a"),
    # path cleanup, whitespace, scheme-relative
    ("https://x.com/a//b/../c", "https://x.com/a/c"),
    ("  https://x.com/a\n", "https://x.com/a"),
    ("//x.com/a", "https://x.com/a"),
    ("https://x.com/a?q=a+b", "https://x.com/a?q=a%20b"),
]

DIFFERENT = [
    # path case is significant on servers
    ("https://x.com/Mali", "https://x.com/mali"),
    # content-selecting parameters survive (courlan's broad tracker regex would drop these)
    ("https://x.com/index.php?cid=5", "https://x.com/index.php?cid=6"),
    ("https://x.com/read?session=2024-1", "https://x.com/read?session=2024-2"),
    ("https://x.com/?p=123", "https://x.com/?p=124"),
    ("https://x.com/a?id=1", "https://x.com/a"),
    # other subdomains and ports are different sites
    ("https://fr.x.com/a", "https://en.x.com/a"),
    ("https://x.com:8080/a", "https://x.com/a"),
    # an "amp" inside a word is not an AMP marker
    ("https://x.com/news-amp", "https://x.com/news"),
    ("https://x.com/story.ampoule", "https://x.com/story"),
    ("https://x.com/a?outputType=print", "https://x.com/a"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_page_same_canonical_url(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_pages_stay_apart(a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/Path/?utm_source=x&b=2&a=1#frag", "example.com/Path?a=1&b=2"),
        ("https://www.rfi.fr/fr/afrique/20240101-mali", "rfi.fr/fr/afrique/20240101-mali"),
        ("https://x.com:8080/a/", "x.com:8080/a"),
        ("http://[::1]:80/x", "[::1]/x"),
        ("tag:rfi.fr,2024:42", "tag:rfi.fr,2024:42"),
        ("  urn:uuid:1234 ", "urn:uuid:1234"),
        ("", ""),
        ("http://", "http://"),
    ],
)
def test_canonical_url_exact_form(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


_seg = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_é", min_size=1, max_size=8)
_key = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6).filter(
    lambda k: (
        k not in {"amp", "ref", "via", "rss", "ito", "ocid", "smid"}
        and not k.startswith(("mc", "pk", "at", "ga", "fb", "itm", "oly", "utm", "mtm", "hsa"))
    )
)
_urls = st.builds(
    lambda scheme, www, host, segs, params, frag: (
        f"{scheme}://{www}{host}.com/"
        + "/".join(segs)
        + ("?" + "&".join(f"{k}={v}" for k, v in params) if params else "")
        + (f"#{frag}" if frag else "")
    ),
    st.sampled_from(["http", "https", "HTTPS"]),
    st.sampled_from(["", "www.", "WWW."]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
    st.lists(_seg, max_size=4),
    st.lists(st.tuples(_key, _seg), max_size=4),
    st.text(alphabet="abcdef", max_size=5),
)
_trackers = st.lists(
    st.sampled_from(
        ["utm_source", "utm_medium", "utm_campaign", "fbclid", "gclid", "mc_cid", "ref", "xtor"]
    ),
    min_size=1,
    max_size=3,
)


@given(_urls)
def test_canonical_url_is_idempotent_on_its_output_as_a_url(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url("https://" + once) == once


@given(_urls, _trackers, st.text(alphabet="abc123", min_size=1, max_size=6))
def test_tracking_params_never_change_the_canonical_url(
    url: str, trackers: list[str], value: str
) -> None:
    base, _, _frag = url.partition("#")
    sep = "&" if "?" in base else "?"
    tracked = base + sep + "&".join(f"{t}={value}" for t in trackers)
    assert canonical_url(tracked) == canonical_url(url)


@given(_urls)
def test_param_order_never_changes_the_canonical_url(url: str) -> None:
    base, _, _ = url.partition("#")
    head, _, query = base.partition("?")
    reordered = head + ("?" + "&".join(reversed(query.split("&"))) if query else "")
    assert canonical_url(reordered) == canonical_url(url)


@pytest.mark.parametrize(
    ("title", "headline", "outlet"),
    [
        (
            "Mali: attack kills 12 soldiers near Gao - Reuters",
            "Mali: attack kills 12 soldiers near Gao",
            "Reuters",
        ),
        (
            "Mali junta leader extends term - Al Jazeera English",
            "Mali junta leader extends term",
            "Al Jazeera English",
        ),
        ("Goïta prolonge son mandat - Jeune Afrique", "Goïta prolonge son mandat", "Jeune Afrique"),
        (
            "Les FAMa reprennent Kidal - Le Journal de Montréal",
            "Les FAMa reprennent Kidal",
            "Le Journal de Montréal",
        ),
        ("Mali - attaque à Kidal - RFI", "Mali - attaque à Kidal", "RFI"),
        (
            "Attaque jihadiste à Tombouctou - France 24",
            "Attaque jihadiste à Tombouctou",
            "France 24",
        ),
        ("Bamako sous tension - Maliweb.net", "Bamako sous tension", "Maliweb.net"),
        ("Bamako sous tension - maliweb.net", "Bamako sous tension", "maliweb.net"),
        ("Le JNIM revendique l'attaque - L'Express", "Le JNIM revendique l'attaque", "L'Express"),
        ("Sahel: AES summit opens - APA news", "Sahel: AES summit opens", "APA news"),
    ],
)
def test_split_outlet_suffix_strips_outlets(title: str, headline: str, outlet: str) -> None:
    assert split_outlet_suffix(title) == (headline, outlet)


@pytest.mark.parametrize(
    "title",
    [
        "Attaque à Kidal - Le bilan s'alourdit",  # lowercase content words: a clause
        "Bamako: 12 morts - 12 blessés",
        "Mali - RFI",  # a one-word headline is not enough
        "Mali: le JNIM frappe Boulkessi",  # no separator at all
        "Kidal-Gao: la route coupée",  # hyphen without spaces
        "Attaque à Léré - Pourquoi l'armée a-t-elle reculé ?",
        "Mali: que sait-on de l'attaque - Questions et réponses sur le JNIM au Sahel central",
        "",
    ],
)
def test_split_outlet_suffix_keeps_titles_without_an_outlet(title: str) -> None:
    assert split_outlet_suffix(title) == (title, None)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.google.com/rss/search?q=mali&hl=fr&gl=FR&ceid=FR:fr", True),
        ("https://news.google.com/rss/articles/CBMiXWh0dHBz?oc=5", True),
        ("http://NEWS.GOOGLE.COM/rss", True),
        ("https://news.google.co.uk/rss", True),
        ("https://www.google.com/search?q=mali", False),
        ("https://news.google.com.evil.example/rss", False),
        ("https://evilnews.google.com.example/", False),
        ("https://www.rfi.fr/fr/afrique/rss", False),
        ("news.google.com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_google_news_url(url: str | None, expected: bool) -> None:
    assert is_google_news_url(url) is expected
