"""The analyst-edited mapping files: what an analyst sees when they get one wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from target_pdi.configuration.calendars_file import (
    EVENT_TYPE_LABELS,
    load_calendars,
    parse_calendars,
    unknown_calendars,
)
from target_pdi.configuration.fields_file import (
    PDI_FIELDS,
    STREAM_FEEDS,
    STREAM_FIELDS,
    load_fields,
    parse_fields,
)
from target_pdi.configuration.mapping_problems import MappingError

REPO = Path(__file__).resolve().parents[2]


def problems_of(text: str, parse=parse_calendars) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse(text)
    return [str(p) for p in caught.value.problems]


def test_shipped_files_are_valid() -> None:
    calendars = load_calendars(REPO / "mappings" / "calendars.yml")
    assert calendars.event_types["CANVASS"] == "Canvassing"
    assert calendars.event_types["PHONE_BANK"] == "Phone Banks"  # given as the label
    assert calendars.default_calendar == "Other Events"
    example = load_calendars(REPO / "mappings" / "calendars.example.yml")
    assert set(example.event_types) == set(EVENT_TYPE_LABELS.values())
    fields = load_fields(REPO / "mappings" / "fields.yml")
    assert fields.stream_maps()["events"]["pdi_event_name"] == "title"


def test_labels_and_enums_route_to_the_same_type() -> None:
    mapping = parse_calendars("event_types:\n  phone bank: A\n  WORKSHOP: B\n  Meet-and-Greet: C\n")
    assert mapping.event_types == {"PHONE_BANK": "A", "WORKSHOP": "B", "MEET_GREET": "C"}
    assert mapping.default_calendar is None


def test_new_api_enum_is_accepted_with_a_warning() -> None:
    mapping = parse_calendars("event_types:\n  BRAND_NEW_TYPE: Other\n")
    assert mapping.event_types == {"BRAND_NEW_TYPE": "Other"}
    assert "not a documented Mobilize event type" in str(mapping.warnings[0])


def test_unknown_key_names_file_line_and_hint() -> None:
    found = problems_of("default_calendar: X\nevent_types:\n  Canvas: Canvassing\n")
    assert found == ["calendars.yml:3: unknown event type 'Canvas' (hint: did you mean 'Canvass'?)"]


def test_near_miss_enum_is_an_error_not_a_new_type() -> None:
    found = problems_of("event_types:\n  PHONEBANK: A\n")
    assert "did you mean 'PHONE_BANK'?" in found[0]


def test_duplicates_literal_and_by_meaning() -> None:
    found = problems_of("event_types:\n  CANVASS: A\n  Canvass: B\n  RALLY: C\n  RALLY: D\n")
    assert any("calendars.yml:5: duplicate key 'RALLY'" in p for p in found)
    assert any("calendars.yml:3: event type 'Canvass' is mapped twice" in p for p in found)


def test_wrong_shapes_and_yaml_errors() -> None:
    assert "not valid YAML" in problems_of("event_types:\n  A: [\n")[0]
    assert "the file is empty" in problems_of("")[0]
    found = problems_of("calendars:\n  CANVASS: A\n")
    assert found == [
        "calendars.yml:1: unknown key 'calendars' "
        "(hint: the keys are default_calendar and event_types)"
    ]


def test_unknown_calendars_are_reported_with_suggestions() -> None:
    mapping = parse_calendars(
        "default_calendar: Nope\nevent_types:\n  CANVASS: canvassing\n  RALLY: Rallys\n"
    )
    pdi = [{"id": "a", "name": "Canvassing"}, {"id": "b", "name": "Rallies"}]
    found = [str(p) for p in unknown_calendars(mapping, pdi)]
    assert found == [
        "calendars.yml:4: event type RALLY: PDI has no calendar 'Rallys' "
        "(hint: did you mean 'Rallies'?)",
        "calendars.yml:1: default_calendar: PDI has no calendar 'Nope' "
        "(hint: PDI has: Canvassing, Rallies; create it in PDI first)",
    ]
    by_id = parse_calendars("event_types:\n  CANVASS: b\n")
    assert unknown_calendars(by_id, pdi) == []


def test_field_expressions_are_checked() -> None:
    found = problems_of(
        "events:\n  Event.name: titel\n  Event.nme: title\n  Event.website: 'browser_url if'\n"
        "people:\n  Contact.firstName: given_name\n  Contact.firstName: family_name\n"
        "speakers:\n  Contact.firstName: x\n",
        parse_fields,
    )
    joined = "\n".join(found)
    assert (
        "fields.yml:2: events records have no field 'titel' (hint: did you mean 'title'?)" in joined
    )
    assert "fields.yml:3: PDI Event has no field 'nme'" in joined
    assert "fields.yml:4: malformed expression 'browser_url if'" in joined
    assert "fields.yml:7: duplicate key 'Contact.firstName'" in joined
    assert (
        "fields.yml:8: unknown section 'speakers' (hint: the sections are events, people, "
        in joined
    )


def test_comprehension_variables_are_not_fields() -> None:
    mapping = parse_fields(
        "events:\n  Event.description: \"' '.join(t['name'] for t in tags or [])\"\n"
    )
    assert mapping.stream_maps() == {
        "events": {"pdi_event_description": "' '.join(t['name'] for t in tags or [])"}
    }


def test_every_duplicate_key_is_reported_with_its_first_line() -> None:
    found = problems_of(
        "event_types:\n  RALLY: C\n  CANVASS: A\n  RALLY: D\n  CANVASS: B\n"
        "default_calendar: X\ndefault_calendar: Y\n"
    )
    assert found == [
        "calendars.yml:4: duplicate key 'RALLY' (hint: it is already set on line 2; keep one)",
        "calendars.yml:5: duplicate key 'CANVASS' (hint: it is already set on line 3; keep one)",
        "calendars.yml:7: duplicate key 'default_calendar' "
        "(hint: it is already set on line 6; keep one)",
    ]


def test_a_stream_feeds_only_its_pdi_objects() -> None:
    found = problems_of(
        "events:\n  Location.locationName: title\n  Contact.phone: title\n", parse_fields
    )
    assert len(found) == 1
    assert found == [
        "fields.yml:3: events records cannot feed PDI Contact "
        "(hint: move Contact.phone under people or attendances)"
    ]
    mapping = parse_fields("people:\n  Contact.lastName: family_name\n")
    assert mapping.stream_maps() == {"people": {"pdi_contact_lastName": "family_name"}}
    assert all(set(objects) <= set(PDI_FIELDS) for objects in STREAM_FEEDS.values())


def test_stream_fields_match_the_tap_schemas() -> None:
    """The target keeps its own copy (separate plugin venvs); it must say what the tap sends."""
    from tap_mobilize.streams import STREAM_TYPES

    tap_schemas = {stream.name: stream.schema for stream in STREAM_TYPES}
    assert set(STREAM_FIELDS) == set(STREAM_FEEDS)
    for stream, names in STREAM_FIELDS.items():
        assert names == set(tap_schemas[stream]["properties"]), stream
