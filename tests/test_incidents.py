"""Incident tagging: event types (incl. drone strikes, IEDs, protests, riots), tolls, places,
severity and the alert line. Texts here are written for the tests, not taken from the eval set."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import LexiconError
from bot.core.incidents import EventType, Severity, parse_lexicon
from bot.data.incident_data import load_default_lexicon, load_default_tagger

TAGGER = load_default_tagger()


@pytest.mark.parametrize(
    ("title", "summary", "event_type", "sub_event"),
    [
        # an armed group that killed, victims unnamed: an attack on civilians ...
        (
            "Burkina: JNIM killed as many as 600 at Barsalogho",
            "",
            EventType.VIOLENCE_AGAINST_CIVILIANS,
            "attack",
        ),
        (
            "Des jihadistes ont tué des dizaines de personnes",
            "",
            EventType.VIOLENCE_AGAINST_CIVILIANS,
            "attack",
        ),
        # ... traps: soldiers or fighting named make it a battle; a group with no killing is none
        (
            "JNIM killed 10 soldiers in an attack on the Dioura camp",
            "",
            EventType.BATTLES,
            "armed clash",
        ),
        (
            "Jihadists and the army clashed near Gao; 12 killed",
            "",
            EventType.BATTLES,
            "armed clash",
        ),
        ("A documentary on JNIM's recruitment of young herders", "", None, None),
        # explosions / remote violence: none of these is in the dev set
        ("Mali: drone strike kills 8 near Kidal", "", EventType.EXPLOSIONS, "air/drone strike"),
        (
            "Frappe de drone à Tinzaouatène : au moins 20 morts",
            "",
            EventType.EXPLOSIONS,
            "air/drone strike",
        ),
        ("غارة بطائرة مسيرة تقتل 12 في شمال مالي", "", EventType.EXPLOSIONS, "air/drone strike"),
        (
            "Four soldiers killed as IED hits convoy near Gao",
            "",
            EventType.EXPLOSIONS,
            "remote explosive/landmine/IED",
        ),
        (
            "Burkina : un engin explosif improvisé tue cinq civils près de Djibo",
            "",
            EventType.EXPLOSIONS,
            "remote explosive/landmine/IED",
        ),
        (
            "مقتل ثلاثة جنود في انفجار عبوة ناسفة بمالي",
            "",
            EventType.EXPLOSIONS,
            "remote explosive/landmine/IED",
        ),
        ("Suicide bomber kills 6 at Niger market", "", EventType.EXPLOSIONS, "suicide bomb"),
        ("Niger : un attentat suicide fait 6 morts", "", EventType.EXPLOSIONS, "suicide bomb"),
        ("تفجير انتحاري يقتل ستة في سوق بالنيجر", "", EventType.EXPLOSIONS, "suicide bomb"),
        (
            "Mortar fire hits Gao airport, Mali",
            "",
            EventType.EXPLOSIONS,
            "shelling/artillery/missile attack",
        ),
        (
            "Tombouctou : tirs d'obus sur la ville, deux blessés",
            "",
            EventType.EXPLOSIONS,
            "shelling/artillery/missile attack",
        ),
        (
            "قذائف هاون على مطار غاو في مالي",
            "",
            EventType.EXPLOSIONS,
            "shelling/artillery/missile attack",
        ),
        # protests and riots: none in the dev set either
        (
            "Thousands protest in Bamako against rising fuel prices",
            "",
            EventType.PROTESTS,
            "peaceful protest",
        ),
        (
            "Niamey : manifestation contre la présence des troupes françaises",
            "",
            EventType.PROTESTS,
            "peaceful protest",
        ),
        ("مظاهرات في باماكو ضد غلاء المعيشة", "", EventType.PROTESTS, "peaceful protest"),
        (
            "Riots in Kayes after a young man dies in police custody",
            "Rioters set fire to the police station.",
            EventType.RIOTS,
            "violent demonstration",
        ),
        (
            "Émeutes à Ouagadougou : des bâtiments publics saccagés",
            "",
            EventType.RIOTS,
            "violent demonstration",
        ),
        ("أعمال شغب في نيامي بعد الانقلاب", "", EventType.RIOTS, "violent demonstration"),
        # the types the dev set has
        (
            "Jihadists attack army camp in Boulkessi, 12 soldiers killed",
            "",
            EventType.BATTLES,
            "armed clash",
        ),
        (
            "Violents combats entre l'armée et le JNIM près de Léré, au Mali",
            "",
            EventType.BATTLES,
            "armed clash",
        ),
        ("اشتباكات عنيفة بين الجيش المالي ومسلحين قرب كيدال", "", EventType.BATTLES, "armed clash"),
        (
            "Gunmen massacre 30 villagers in central Mali",
            "",
            EventType.VIOLENCE_AGAINST_CIVILIANS,
            "attack",
        ),
        (
            "Mali : 12 civils enlevés par des hommes armés près de Ségou",
            "",
            EventType.VIOLENCE_AGAINST_CIVILIANS,
            "abduction/forced disappearance",
        ),
        (
            "UN mission hands over its camp in Tessalit to the Malian army",
            "",
            EventType.STRATEGIC,
            "non-violent transfer of territory",
        ),
        ("Mali : deux otages libérés par le JNIM", "", EventType.STRATEGIC, "other"),
        ("Former minister arrested in Bamako", "", EventType.STRATEGIC, "arrests"),
        # ending a peace deal; a deployment of fighters, also when a vote is its purpose
        ("Junta ends the 2015 peace deal with the rebels", "", EventType.STRATEGIC, "other"),
        ("Le Mali dénonce l'accord de paix d'Alger", "", EventType.STRATEGIC, "other"),
        (
            "Wagner fighters touch down in Bangui to secure the referendum",
            "",
            EventType.STRATEGIC,
            "change to group/activity",
        ),
        # trap: a vote alone stays politics
        ("Central African Republic holds its referendum", "", None, None),
        # not incidents
        ("Mali's constitutional court confirms referendum result", "", None, None),
        ("ICC sentences Timbuktu jihadist to ten years", "", None, None),
        ("Mali: new prime minister sworn in", "", None, None),
        ("Malian football team wins 2-0", "", None, None),
        ("Four students killed by a driver in a road crash", "", None, None),
        ("Mali : naufrage d'une pirogue sur le fleuve Niger, 20 morts", "", None, None),
    ],
)
def test_event_type(
    title: str, summary: str, event_type: EventType | None, sub_event: str | None
) -> None:
    incident = TAGGER.tag(title, summary)
    assert incident.event_type == event_type, incident.reasons
    assert incident.sub_event == sub_event


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("At least 12 soldiers were killed in the attack", 12),
        ("au moins 12 morts dans une attaque", 12),
        ("une douzaine de soldats tués", 12),
        ("مقتل 12 جنديا في هجوم", 12),
        ("مقتل عشرة جنود ماليين على الأقل", 10),
        ("Twenty-five soldiers died in the ambush", 25),
        ("une cinquantaine de terroristes neutralisés", 50),
        ("the army lost 10 soldiers and killed 46 attackers", 56),
        ("21 people died including two attackers", 21),
        ("49 civilians and 15 soldiers were killed", 64),
        ("the toll rose from 60 to 200 soldiers killed", 200),
        ("six soldiers were killed and 18 wounded", 6),
        ("about sixty soldiers went missing", None),
        ("dozens killed in the attack", None),
        ("heavy losses reported", None),
        ("The attack on 7 September 2023 near Bamba", None),
        ("Keïta, 71, was president from 2013", None),
        ("", None),
        # the toll of earlier, separate attacks is not this incident's ...
        ("The army left the camp after two deadly attacks in a week, which killed over 100", None),
        ("L'armée quitte le camp après deux attaques en une semaine qui ont fait 100 morts", None),
        ("انسحب الجيش بعد الهجمات السابقة التي أودت بحياة 100 جندي", None),
        # ... traps: a double attack on one day is one incident; a toll before the words counts
        ("Two attacks on a boat and a base killed 64 people", 64),
        ("12 soldiers were killed, the third of the attacks this week", 12),
    ],
)
def test_fatalities(text: str, expected: int | None) -> None:
    assert TAGGER.read_fatalities(text) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        # digits that are not decimal digits (list markers of Telegram posts, superscripts):
        # no toll, and never an exception (it failed the whole feed: its alerts were lost)
        ("Attaque à Kidal : ❶ soldats tués", None),
        ("❶ Attack in Gao: 12 soldiers killed ❷ 1 ❸", 12),
        ("Attack in Gao: ² soldiers killed", 2),  # folded to 2 (NFKD) before it is read
    ],
)
def test_digits_int_refuses_are_no_toll(title: str, expected: int | None) -> None:
    assert TAGGER.tag(title, "").fatalities == expected
    assert TAGGER.tag(title, title).fatalities == expected


def test_fatalities_are_not_read_for_strategic_developments_or_politics() -> None:
    handover = TAGGER.tag("UN hands over Tessalit camp to Mali's army; 40 peacekeepers died there")
    assert handover.event_type is EventType.STRATEGIC and handover.fatalities is None
    assert TAGGER.tag("Former president Keita, 76, died at home in Bamako").fatalities is None


# The types the dev set lacks (drone strikes, IEDs, protests, riots), end to end in EN/FR/AR:
# type, sub-event, toll, place and severity as the alert shows them.
DRONE, IED = "air/drone strike", "remote explosive/landmine/IED"
PROTEST, RIOT = "peaceful protest", "violent demonstration"


@pytest.mark.parametrize(
    ("title", "event_type", "sub_event", "fatalities", "places", "severity"),
    [
        ("Mali: army drone strike kills 15 in Tinzaouatène", EventType.EXPLOSIONS, DRONE, 15,
         ["ml-tinzaouatene"], Severity.HIGH),
        ("Frappe de drone de l'armée malienne à Aguelhok : au moins huit morts",
         EventType.EXPLOSIONS, DRONE, 8, ["ml-aguelhok"], Severity.MEDIUM),
        ("غارة بطائرة مسيرة للجيش المالي تقتل 20 شخصا في كيدال", EventType.EXPLOSIONS, DRONE, 20,
         ["ml-kidal"], Severity.HIGH),
        ("Three soldiers killed as roadside bomb hits convoy near Boni, Mali", EventType.EXPLOSIONS,
         IED, 3, ["ml-boni"], Severity.MEDIUM),
        ("Mali : un engin explosif improvisé tue quatre soldats près de Douentza",
         EventType.EXPLOSIONS, IED, 4, ["ml-douentza"], Severity.MEDIUM),
        ("مقتل خمسة جنود في انفجار عبوة ناسفة قرب غاو بمالي", EventType.EXPLOSIONS, IED, 5,
         ["ml-gao"], Severity.MEDIUM),
        ("Thousands protest in Bamako against power cuts", EventType.PROTESTS, PROTEST, None,
         ["ml-bamako"], Severity.LOW),
        ("Niamey : des milliers de manifestants contre la vie chère", EventType.PROTESTS, PROTEST,
         None, ["ne-niamey"], Severity.LOW),
        ("مظاهرة في باماكو احتجاجا على انقطاع الكهرباء", EventType.PROTESTS, PROTEST, None,
         ["ml-bamako"], Severity.LOW),
        ("Riots in Kayes, Mali: protesters torch the police station, two dead", EventType.RIOTS,
         RIOT, 2, ["ml-kayes"], Severity.MEDIUM),
        # a riot in a capital is not an attack on it: medium, not high
        ("Émeutes à Ouagadougou : des bâtiments publics incendiés", EventType.RIOTS, RIOT, None,
         ["bf-ouagadougou"], Severity.MEDIUM),
        ("أعمال شغب في نيامي بعد مقتل شاب على يد الشرطة", EventType.RIOTS, RIOT, None,
         ["ne-niamey"], Severity.MEDIUM),
    ],
)  # fmt: skip
def test_types_absent_from_the_dev_set_end_to_end(
    title: str,
    event_type: EventType,
    sub_event: str,
    fatalities: int | None,
    places: list[str],
    severity: Severity,
) -> None:
    incident = TAGGER.tag(title)
    assert incident.event_type is event_type and incident.sub_event == sub_event
    assert incident.fatalities == fatalities
    assert [p.id for p in incident.places] == places
    assert incident.severity is severity


@pytest.mark.parametrize(
    ("title", "severity"),
    [
        ("Jihadists kill 12 civilians in central Mali", Severity.HIGH),
        ("Jihadists kill 3 civilians in central Mali", Severity.MEDIUM),
        ("Attack on the Kati military camp repelled, Mali army says", Severity.HIGH),
        ("Mali: soldiers mutiny, president detained in apparent coup", Severity.HIGH),
        ("Mali: MINUSMA hands over its Ansongo camp to the army", Severity.LOW),
        ("Protest in Bamako against fuel prices", Severity.LOW),
        ("Mali: 20 villagers kidnapped near Ségou", Severity.HIGH),
        ("Not a security story about Mali's football team", None),
    ],
)
def test_severity(title: str, severity: Severity | None) -> None:
    assert TAGGER.tag(title).severity == severity


@pytest.mark.parametrize(
    ("title", "summary", "places"),
    [
        ("Attack on the Boulkessi camp in Mopti region", "", ["ml-boulkessi", "ml-mopti-region"]),
        # the ferry is named Tombouctou; the attack was near Bamba
        ("Attack on the 'Tombouctou' ferry near Bamba, Mali", "", ["ml-bamba"]),
        # a destination is not the place of a release when the release place is named
        ("Hostages freed in Niamey, flown home to Bamako", "", ["ne-niamey"]),
        # a reference town is kept only when no more specific place is named
        ("Boat capsizes near Koubi in Mali, 30 dead", "", ["ml-koubi"]),
        ("Attack on the Ogossagou camp near Bankass, Mali", "", ["ml-ogossagou"]),
        # background: the place of an earlier event
        ("Journalist abducted in Gao in April 2021 freed in Niamey", "", ["ne-niamey"]),
        # "after X": an earlier event's place
        ("MINUSMA hands over the Ber camp, its second site after Ogossagou, Mali", "", ["ml-ber"]),
    ],
)
def test_places(title: str, summary: str, places: list[str]) -> None:
    assert [p.id for p in TAGGER.tag(title, summary).places] == places


# [[place_rule]] entries of bot/data/incident_lexicon.toml: each rule's true use next to its
# traps (where the rule must not fire, or where the place is still kept because it is alone).
@pytest.mark.parametrize(
    ("title", "summary", "places"),
    [
        # visits: the visited place is never the incident's
        ("Goïta pardons the Ivorian soldiers", "A day after the mediator visited Bamako.", []),
        ("Le président gracie les soldats, au lendemain d'une visite à Bamako", "", []),
        ("Attack on the Boulkessi camp", "The minister later visited Sévaré.", ["ml-boulkessi"]),
        ("زار الوزير باماكو", "", []),
        ("هجوم في باماكو", "", ["ml-bamako"]),  # trap: no visit
        # trap: an attack *in* the place of a visit is kept
        ("Attack in Bamako during a minister's visit", "", ["ml-bamako"]),
        # detention since an earlier date is background; the arrest itself is not
        ("Soldiers pardoned", "The 49 soldiers detained in Bamako since July were pardoned.", []),
        ("Les soldats détenus à Bamako depuis juillet graciés", "", []),
        ("49 Ivorian soldiers detained in Bamako", "", ["ml-bamako"]),  # trap: the arrest
        ("Fighting in Gao since Sunday, Mali", "", ["ml-gao"]),  # trap: no detention word
        # an earlier event compared with: kept only when nothing else is named
        (
            "Army takes over Ber camp",
            "The exit from Ber followed the first handover at Ogossagou.",
            ["ml-ber"],
        ),
        ("MINUSMA handover follows Ogossagou", "", ["ml-ogossagou"]),  # trap: alone, kept
        # venues of talks and summits: kept only when nothing else is named
        ("ECOWAS summit in Accra", "Leaders discussed the attack on Kidal.", ["ml-kidal"]),
        ("Sommet de Niamey : la confédération AES signée", "", ["ne-niamey"]),  # alone, kept
        ("قمة نيامي", "هجوم على معسكر في كيدال", ["ml-kidal"]),
        # travel after the event: origins and destinations rank below the event's place
        ("Hostages freed near Ménaka in Mali, flown to Niamey", "", ["ml-menaka"]),
        ("Otages libérés à Ménaka, rentrés à Niamey", "Mali.", ["ml-menaka"]),
        ("Freed hostages returned to Niamey", "", ["ne-niamey"]),  # trap: alone, kept
        # reference points: dropped when a more specific place is named
        ("Attack on Dioura camp near Ténenkou, Mali", "", ["ml-dioura"]),
        ("Attaque à 30 km de Douentza", "Mali.", ["ml-douentza"]),  # alone, kept
        ("هجوم على معسكر بولكيسي قرب موبتي في مالي", "", ["ml-boulkessi"]),
        # the most specific place first; a region only when named as one
        ("Attack in the Mopti region on the Dioura camp", "", ["ml-dioura", "ml-mopti-region"]),
        ("Attack on the Dioura camp, Mali", "", ["ml-dioura"]),
        # where an attack was launched from is not its target; an organisation named after a
        # place is not a place; "Katiba Macina" is an armed group (round 3)
        (
            "Attack on the Niafunké camp, Mali",
            "JNIM launched it from the Soumpi area.",
            ["ml-niafunke"],
        ),
        ("Mine collapse, Mali", "The Kéniéba miners' association put the toll at 48.", []),
        ("Mali : la Katiba Macina revendique une attaque contre Diabaly", "", ["ml-diabaly"]),
        ("Combats à Macina, au Mali", "", ["ml-macina"]),  # trap: the town itself
        # a future or conditional verb after a place (or a list of places): later, not here
        (
            "France to withdraw from Mali",
            "Its bases at Gossi, Ménaka and Gao would close within six months.",
            [],
        ),
        ("Retrait de Barkhane", "Les bases de Gossi et Gao seront fermées d'ici l'été.", []),
        ("انسحاب القوات الفرنسية من مالي", "قاعدة غاو سوف تغلق", []),
        # traps: the past tense is the event; only the list ending at the future verb goes
        ("The base at Gao closed on Monday, Mali", "", ["ml-gao"]),
        (
            "Army took over the Ber camp, Mali",
            "Bases at Gossi and Gao will close later.",
            ["ml-ber"],
        ),
    ],
)
def test_place_rules(title: str, summary: str, places: list[str]) -> None:
    # the place reader alone: tag() gives places only to incidents (and accidents)
    assert [p.id for p in TAGGER.places(title, summary)] == places


# A [[place_rule]] limited to some sub-events: in a release, where the people were held or
# arrested is background; in the arrest itself it is the place.
@pytest.mark.parametrize(
    ("title", "summary", "sub_event", "places"),
    [
        (
            "Mali frees three of the 49 Ivorian soldiers detained in Bamako",
            "They were arrested at Bamako airport in July.",
            "other",
            [],
        ),
        ("Le Mali libère trois des 49 soldats ivoiriens détenus à Bamako", "", "other", []),
        ("الإفراج عن الجنود المحتجزين في باماكو بمالي", "", "other", []),
        # traps: the arrest keeps its place; a release's own place stays
        ("49 Ivorian soldiers arrested at Bamako airport, Mali", "", "arrests", ["ml-bamako"]),
        ("Les soldats ivoiriens détenus à Bamako", "Mali.", "arrests", ["ml-bamako"]),
        ("Hostages freed in Ménaka, Mali", "", "other", ["ml-menaka"]),
    ],
)
def test_release_place_rule(title: str, summary: str, sub_event: str, places: list[str]) -> None:
    incident = TAGGER.tag(title, summary)
    assert incident.sub_event == sub_event
    assert [p.id for p in incident.places] == places


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"effect": "hide", "reason": "x", "before": ["near"]}, "effect must be one of"),
        ({"effect": "drop", "before": ["near"]}, "needs a reason"),
        ({"effect": "drop", "reason": "x"}, "needs before or after"),
        ({"effect": "drop", "reason": "x", "before": ["a"], "window": 40}, "window"),
        ({"effect": "drop", "reason": "x", "before": ["a"], "sub_events": "other"}, "sub_events"),
    ],
)
def test_place_rule_errors(rule: dict[str, Any], message: str) -> None:
    raw = tomllib.loads(
        (Path(__file__).parent.parent / "bot" / "data" / "incident_lexicon.toml").read_text("utf-8")
    )
    raw["place_rule"] = [rule]
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(raw)


def test_alert_line_and_json() -> None:
    incident = TAGGER.tag("Mali: at least 12 soldiers killed in attack on Boulkessi camp")
    assert incident.line() == "⚔️ Battle · 12 killed · Boulkessi (Mopti)"
    data = incident.to_dict()
    assert data["event_type"] == "battles" and data["severity"] == "high"
    assert data["places"][0] == {
        "id": "ml-boulkessi", "name": "Boulkessi", "country": "ML", "lat": 15.14, "lon": -1.08,
        "admin1": "Mopti", "label": "Boulkessi (Mopti)", "arabic": "بولكيسي", "kind": "camp",
    }  # fmt: skip
    assert TAGGER.tag("Mali's football team wins").line() == ""
    drone = TAGGER.tag("Drone strike kills 8 in Kidal, Mali")
    assert drone.line() == "💥 Drone/air strike · 8 killed · Kidal"


def test_every_trigger_has_a_reason() -> None:
    for trigger in load_default_lexicon().triggers:
        assert trigger.reason.strip()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "trigger"),
        (
            {"trigger": [{"type": "war", "weight": 1, "reason": "x", "phrases": ["a"]}]},
            "not one of",
        ),
        (
            {"trigger": [{"type": "battles", "sub_event": "s", "weight": 1, "phrases": ["a"]}]},
            "reason",
        ),
        (
            {
                "trigger": [
                    {
                        "type": "battles",
                        "sub_event": "s",
                        "weight": 0,
                        "reason": "r",
                        "phrases": ["a"],
                    }
                ]
            },
            "weight",
        ),
        (
            {"trigger": [{"type": "battles", "sub_event": "s", "weight": 1, "reason": "r"}]},
            "phrases",
        ),
        (
            {"trigger": [{"type": "battles", "weight": 1, "reason": "r", "phrases": ["a"]}]},
            "sub_event",
        ),
    ],
)
def test_lexicon_errors(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(doc)


def test_hostile_input_is_read_only_up_to_a_bounded_prefix() -> None:
    from bot.core.incidents import SUMMARY_LIMIT, TITLE_LIMIT

    lead = "Jihadists killed 12 soldiers in an attack on the Boulkessi camp in Mali. "
    filler = "Ménaka 12 killed near Gao, 7 dead; " * 50_000  # 1.7 MB of numbers and places
    summary = lead + filler
    title = "Mali: attack on Boulkessi camp " + "x" * 2_000_000
    incident = TAGGER.tag(title, summary)
    assert incident == TAGGER.tag(title[:TITLE_LIMIT], summary[:SUMMARY_LIMIT])
    assert incident.event_type is EventType.BATTLES and incident.places[0].id == "ml-boulkessi"
    # markup and entities in feed text are not read as words
    html = TAGGER.tag("<b>Drone strike</b> kills 8 in Kidal, Mali &amp; more", "<p>x</p>")
    assert html.sub_event == "air/drone strike" and html.fatalities == 8


def _p(pid: str, kind: str, fallback: bool = False) -> dict[str, object]:
    return {"id": pid, "kind": kind, **({"fallback": True} if fallback else {})}


@pytest.mark.parametrize(
    ("first", "later", "ids"),
    [
        # a reference point of one report goes once another report names the place plainly
        ([_p("ml-timbuktu", "city", True)], [_p("ml-bamba", "town")], ["ml-bamba"]),
        ([_p("ml-bamba", "town")], [_p("ml-timbuktu", "city", True)], ["ml-bamba"]),
        # trap: fallbacks only: they are all the story has, kept
        ([_p("ne-niamey", "capital", True)], [_p("ml-menaka", "town", True)],
         ["ne-niamey", "ml-menaka"]),
        # the most specific first, report order within a kind
        ([_p("ml-mopti-region", "region")], [_p("ml-dioura", "camp")],
         ["ml-dioura", "ml-mopti-region"]),
        ([_p("ml-gao", "city"), _p("ml-kidal", "city")],
         [_p("ml-ber", "camp"), _p("ml-gao", "city")], ["ml-ber", "ml-gao", "ml-kidal"]),
        # trap: places stored before kinds were recorded keep their order
        ([{"id": "a"}, {"id": "b"}], [{"id": "c"}], ["a", "b", "c"]),
        # at most five
        ([_p(f"p{n}", "town") for n in range(4)], [_p(f"q{n}", "town") for n in range(3)],
         ["p0", "p1", "p2", "p3", "q0"]),
    ],
)  # fmt: skip
def test_story_places(
    first: list[dict[str, Any]], later: list[dict[str, Any]], ids: list[str]
) -> None:
    from bot.core.incidents import PlaceRecord, story_places

    def records(stored: list[dict[str, Any]]) -> list[PlaceRecord]:  # as storage reads them
        return [r for r in map(PlaceRecord.from_json, stored) if r is not None]

    assert [p.id for p in story_places(records(first), records(later))] == ids


def test_fallback_places_are_marked_for_the_story() -> None:
    from bot.core.incidents import merge_story_incident

    near = TAGGER.tag("Attack near Timbuktu, Mali: 15 soldiers killed")
    assert [p.id for p in near.places] == ["ml-timbuktu"] and near.places_fallback
    assert near.to_dict()["places"][0]["fallback"] is True
    plain = TAGGER.tag("Attack on the Bamba army position, Mali: 15 soldiers killed")
    assert not plain.places_fallback and "fallback" not in plain.to_dict()["places"][0]
    merged = merge_story_incident(near.fields(), plain.fields())
    assert merged is not None and [p.id for p in merged.places] == ["ml-bamba"]


_GAO = {"id": "ml-gao", "name": "Gao", "country": "ML", "lat": 16.27, "lon": -0.04}


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (_GAO, ("ml-gao", "Gao", (16.27, -0.04), None, None, False)),
        # not an object: no place
        ("Gao", None), (None, None), ([_GAO], None), (3, None),
        # a coordinate that is no finite number in range is none: the place has no point
        ({**_GAO, "lat": "16.27"}, ("ml-gao", "Gao", None, None, None, False)),
        ({**_GAO, "lat": float("nan")}, ("ml-gao", "Gao", None, None, None, False)),
        ({**_GAO, "lon": float("inf")}, ("ml-gao", "Gao", None, None, None, False)),
        ({**_GAO, "lat": 91}, ("ml-gao", "Gao", None, None, None, False)),
        ({**_GAO, "lat": True}, ("ml-gao", "Gao", None, None, None, False)),
        ({**_GAO, "lat": None}, ("ml-gao", "Gao", None, None, None, False)),
        # kinds: known, unknown (kept as text), missing (stored before kinds were recorded)
        ({**_GAO, "kind": "city"}, ("ml-gao", "Gao", (16.27, -0.04), "city", None, False)),
        ({**_GAO, "kind": "metropolis"},
         ("ml-gao", "Gao", (16.27, -0.04), None, "metropolis", False)),
        # only a literal true marks a fallback place
        ({**_GAO, "fallback": True}, ("ml-gao", "Gao", (16.27, -0.04), None, None, True)),
        ({**_GAO, "fallback": "yes"}, ("ml-gao", "Gao", (16.27, -0.04), None, None, False)),
        ({"name": 7}, ("", "7", None, None, None, False)),
    ],
)  # fmt: skip
def test_stored_place_is_read_without_failing(stored: object, expected: object) -> None:
    from bot.core.incidents import PlaceRecord

    place = PlaceRecord.from_json(stored)
    got = place and (place.id, place.name, place.point, place.kind, place.other_kind,
                     place.fallback)  # fmt: skip
    assert got == expected
    if place is not None and place.point is not None:  # what is stored again is what was read
        assert PlaceRecord.from_json(place.to_json()) == place


def test_tagged_places_are_stored_and_read_back_unchanged() -> None:
    from bot.core.incidents import PlaceRecord

    incident = TAGGER.tag("Attack near Timbuktu, Mali: 15 soldiers killed").fields()
    assert incident.places and incident.places[0].fallback
    for place in incident.places:
        assert PlaceRecord.from_json(place.to_json()) == place
