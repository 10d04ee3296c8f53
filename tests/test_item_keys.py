"""Table-driven tests for bot.core.urls.item_key: stable per-item keys with a kind prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.urls import item_key

RFI = "https://www.rfi.fr/fr/afrique/20240101-mali-attaque-kidal"


@pytest.mark.parametrize(
    ("guid", "link", "title", "summary", "expected"),
    [
        # permalink GUID: keyed by its canonical URL
        (
            RFI + "?utm_source=rss",
            None,
            "t",
            "s",
            "u:rfi.fr/fr/afrique/20240101-mali-attaque-kidal",
        ),
        # opaque GUID: namespaced by the link's host
        ("12345", RFI, "t", "s", "g:rfi.fr 12345"),
        ("12345", None, "t", "s", "g:12345"),
        ("  tag:rfi.fr,2024:42 ", None, "t", "s", "g:tag:rfi.fr,2024:42"),
        # no GUID: canonical link
        (None, RFI + "#top", "t", "s", "u:rfi.fr/fr/afrique/20240101-mali-attaque-kidal"),
        ("", RFI, "t", "s", "u:rfi.fr/fr/afrique/20240101-mali-attaque-kidal"),
        ("   ", RFI, "t", "s", "u:rfi.fr/fr/afrique/20240101-mali-attaque-kidal"),
    ],
)
def test_item_key_table(
    guid: str | None, link: str | None, title: str, summary: str, expected: str
) -> None:
    assert item_key(guid, link, title, summary) == expected


def test_hash_key_when_no_guid_and_no_link() -> None:
    key = item_key(None, None, "Attaque à Kidal", "Dix morts.")
    assert key.startswith("h:") and len(key) == 2 + 32
    # normalised: case, diacritics and whitespace do not matter
    assert key == item_key(None, "", "  ATTAQUE a   kidal ", "dix morts.")
    # but the words do
    assert key != item_key(None, None, "Attaque à Gao", "Dix morts.")
    assert key != item_key(None, None, "Attaque à Kidal", "Onze morts.")
    # title and summary are separated, not concatenated
    assert item_key(None, None, "ab", "c") != item_key(None, None, "a", "bc")


def test_hash_key_is_stable_across_runs() -> None:
    # a stored key must never change: pin its value
    assert item_key(None, None, "Mali", "") == item_key(None, None, "mali", "")
    assert (
        item_key(None, None, "Mali", "")
        == "h:" + __import__("hashlib").sha256(b"mali\n").hexdigest()[:32]
    )


def test_edited_title_or_summary_keeps_the_key() -> None:
    for guid, link in [("abc-1", RFI), (None, RFI), (RFI, None), ("12345", None)]:
        before = item_key(guid, link, "Attaque à Kidal", "Premier bilan.")
        after = item_key(guid, link, "Attaque à Kidal: le bilan s'alourdit", "Vingt morts.")
        assert before == after


def test_same_url_through_two_feeds_is_one_item() -> None:
    # feed A gives a permalink GUID, feed B gives only the link, with tracking parameters
    a = item_key(RFI, RFI, "Mali: attaque à Kidal", "")
    b = item_key(None, "http://rfi.fr/fr/afrique/20240101-mali-attaque-kidal/?xtor=RSS-1", "x", "")
    c = item_key(None, RFI.replace("/fr/afrique/", "/fr/afrique/amp/"), "y", "")
    assert a == b == c


def test_opaque_guids_on_different_sites_do_not_collide() -> None:
    assert item_key("123", "https://a.example/x", "t", "s") != item_key(
        "123", "https://b.example/y", "t", "s"
    )


def test_opaque_guid_key_ignores_link_path_and_scheme() -> None:
    assert item_key("123", "https://www.a.example/x", "t", "s") == item_key(
        "123", "http://a.example/y?utm_source=z", "u", "v"
    )


@pytest.mark.parametrize("prefix", ["u:", "g:", "h:"])
def test_every_kind_is_prefixed(prefix: str) -> None:
    cases = {"u:": (None, RFI), "g:": ("x1", None), "h:": (None, None)}
    guid, link = cases[prefix]
    assert item_key(guid, link, "t", "s").startswith(prefix)


@given(
    st.sampled_from(["utm_source", "utm_medium", "fbclid", "gclid", "mc_cid", "ref"]),
    st.text(alphabet="abcxyz019", min_size=1, max_size=8),
    st.booleans(),
)
def test_tracking_params_never_change_the_key(param: str, value: str, as_guid: bool) -> None:
    tracked = f"{RFI}?{param}={value}"
    if as_guid:
        assert item_key(tracked, None, "t", "s") == item_key(RFI, None, "t", "s")
    else:
        assert item_key(None, tracked, "t", "s") == item_key(None, RFI, "t", "s")


@given(st.text(max_size=40), st.text(max_size=40))
def test_hash_key_is_deterministic(title: str, summary: str) -> None:
    assert item_key(None, None, title, summary) == item_key(None, None, title, summary)


_LINKS = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from([RFI, RFI + "?utm_source=x#a", "http://www.example.org/a/amp/", " //x.org/b "]),
    st.text(max_size=30),
    st.builds(lambda path: "https://news.example.com/" + path, st.text(max_size=20)),
)
_GUIDS = st.one_of(st.none(), st.just(""), st.sampled_from(["42", RFI, " tag:x,1 "]), st.text())


@given(_GUIDS, _LINKS, st.text(max_size=20), st.text(max_size=20))
def test_key_is_the_same_with_a_precomputed_canonical_link(
    guid: str | None, link: str | None, title: str, summary: str
) -> None:
    """The parse workers pass canonical_url(link), computed once per item, into item_key."""
    from bot.core.urls import canonical_url

    precomputed = canonical_url(link) if link else None
    assert item_key(guid, link, title, summary, canonical_link=precomputed) == item_key(
        guid, link, title, summary
    )
