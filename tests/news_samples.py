"""Sample news the end-to-end tests share (`poll --once`, the web archive): one wording each,
so a change to matching or grouping shows the same way in every test that reads them."""

from __future__ import annotations

import time

JNIM_BAMAKO = {
    "title": "Mali: JNIM fighters attack army positions near Bamako",
    "link": "https://news.example.org/mali-jnim-bamako-attack",
    "guid": "mali-1",
    "description": "Militants linked to al-Qaeda struck a checkpoint and a military base"
    " on the outskirts.",
}
# "Somalia" must never match the watched "Mali".
SOMALIA_FLOODS = {
    "title": "Somalia: floods displace thousands",
    "link": "https://news.example.org/somalia-floods",
    "guid": "som-1",
    "description": "Heavy rains in Somalia.",
}
GOITA_LAVROV_TITLE = "Assimi Goïta reçoit Sergueï Lavrov à Bamako"
GOITA_LAVROV_LINK = "https://journal.example.fr/goita-lavrov"


def goita_lavrov_atom(updated: float) -> str:
    """An Atom feed ("Journal Test") whose one French entry, updated at ``updated`` (a Unix
    time), names Goïta and Bamako."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(updated))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Journal Test</title><id>urn:test</id><updated>2026-01-01T00:00:00Z</updated>
  <entry>
    <title>{GOITA_LAVROV_TITLE}</title>
    <id>urn:test:goita-lavrov</id>
    <link href="{GOITA_LAVROV_LINK}"/>
    <updated>{stamp}</updated>
    <summary>Le chef de la junte malienne a reçu le ministre russe.</summary>
  </entry>
</feed>"""
