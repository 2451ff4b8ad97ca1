"""Stream schemas, in the faithful Mobilize shape (mobilize-api.md section 4).

Every field is nullable except a stream's primary key: Mobilize nulls fields for
unauthenticated reads, for events the organization does not own, and across the
coordinated/independent "firewall". Dates stay integer epoch seconds, as the API sends
them, so warehouses see exactly what Mobilize returned.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

ORGANIZATION_PROPERTIES: list[th.Property[t.Any]] = [
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("slug", th.StringType),
    th.Property("is_coordinated", th.BooleanType),
    th.Property("is_independent", th.BooleanType),
    th.Property("is_primary_campaign", th.BooleanType),
    th.Property("is_nonelectoral", th.BooleanType),  # observed, undocumented
    th.Property("race_type", th.StringType),
    th.Property("state", th.StringType),
    th.Property("district", th.StringType),
    th.Property("candidate_name", th.StringType),
    th.Property("org_type", th.StringType),  # free string: observed values exceed the docs
    th.Property("event_feed_url", th.StringType),
    th.Property("logo_url", th.StringType),  # observed, undocumented
    th.Property("created_date", th.IntegerType),
    th.Property("modified_date", th.IntegerType),
]

ORGANIZATION_OBJECT = th.ObjectType(*ORGANIZATION_PROPERTIES)

TIMESLOT_PROPERTIES: list[th.Property[t.Any]] = [
    th.Property("id", th.IntegerType),
    th.Property("start_date", th.IntegerType),
    th.Property("end_date", th.IntegerType),
    th.Property("is_full", th.BooleanType),
    th.Property("instructions", th.StringType),
    th.Property("max_attendees", th.IntegerType),
]

TIMESLOT_OBJECT = th.ObjectType(*TIMESLOT_PROPERTIES)

LOCATION_OBJECT = th.ObjectType(
    th.Property("venue", th.StringType),
    th.Property("address_lines", th.ArrayType(th.StringType)),
    th.Property("locality", th.StringType),
    th.Property("region", th.StringType),
    th.Property("country", th.StringType),
    th.Property("postal_code", th.StringType),
    th.Property(
        "location",
        th.ObjectType(
            th.Property("latitude", th.NumberType),
            th.Property("longitude", th.NumberType),
        ),
    ),
    th.Property("congressional_district", th.StringType),
    th.Property("state_leg_district", th.StringType),
    th.Property("state_senate_district", th.StringType),
)

CONTACT_OBJECT = th.ObjectType(
    th.Property("name", th.StringType),
    th.Property("email_address", th.StringType),
    th.Property("phone_number", th.StringType),
    th.Property("owner_user_id", th.IntegerType),
)

TAG_OBJECT = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
)

EVENT_CAMPAIGN_OBJECT = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("slug", th.StringType),
    th.Property("event_create_page_url", th.StringType),
)

EVENT_PROPERTIES: list[th.Property[t.Any]] = [
    th.Property("id", th.IntegerType),
    th.Property("title", th.StringType),
    th.Property("summary", th.StringType),  # undocumented since 2020, still sent
    th.Property("description", th.StringType),
    th.Property("featured_image_url", th.StringType),
    th.Property("high_priority", th.BooleanType),
    th.Property("sponsor", ORGANIZATION_OBJECT),
    th.Property("timeslots", th.ArrayType(TIMESLOT_OBJECT)),
    th.Property("location", LOCATION_OBJECT),
    th.Property("timezone", th.StringType),
    th.Property("event_type", th.StringType),  # free string: "this list may expand"
    th.Property("browser_url", th.StringType),
    th.Property("created_date", th.IntegerType),
    th.Property("modified_date", th.IntegerType),
    th.Property("visibility", th.StringType),
    th.Property("address_visibility", th.StringType),
    th.Property("created_by_volunteer_host", th.BooleanType),
    th.Property("is_virtual", th.BooleanType),
    th.Property("virtual_action_url", th.StringType),
    th.Property("contact", CONTACT_OBJECT),
    th.Property("accessibility_status", th.StringType),
    th.Property("accessibility_notes", th.StringType),
    th.Property("tags", th.ArrayType(TAG_OBJECT)),
    th.Property("approval_status", th.StringType),
    th.Property("event_campaign", EVENT_CAMPAIGN_OBJECT),
    th.Property("instructions", th.StringType),
]

PERSON_PROPERTIES: list[th.Property[t.Any]] = [
    th.Property("id", th.IntegerType),
    th.Property("person_id", th.IntegerType),  # deprecated by Mobilize, null for new people
    th.Property("user_id", th.IntegerType),
    th.Property("created_date", th.IntegerType),
    th.Property("modified_date", th.IntegerType),
    th.Property("given_name", th.StringType),
    th.Property("family_name", th.StringType),
    th.Property(
        "email_addresses",
        th.ArrayType(
            th.ObjectType(
                th.Property("primary", th.BooleanType),
                th.Property("address", th.StringType),
            )
        ),
    ),
    th.Property(
        "phone_numbers",
        th.ArrayType(
            th.ObjectType(
                th.Property("primary", th.BooleanType),
                th.Property("number", th.StringType),
            )
        ),
    ),
    th.Property(
        "postal_addresses",
        th.ArrayType(
            th.ObjectType(
                th.Property("primary", th.BooleanType),
                th.Property("postal_code", th.StringType),
            )
        ),
    ),
    th.Property("sms_opt_in_status", th.StringType),
    th.Property("blocked_date", th.IntegerType),
]

REFERRER_OBJECT = th.ObjectType(
    th.Property("utm_source", th.StringType),
    th.Property("utm_medium", th.StringType),
    th.Property("utm_campaign", th.StringType),
    th.Property("utm_term", th.StringType),
    th.Property("utm_content", th.StringType),
    th.Property("url", th.StringType),
)

CUSTOM_SIGNUP_FIELD_VALUE_OBJECT = th.ObjectType(
    th.Property("custom_field_id", th.IntegerType),
    th.Property("custom_field_name", th.StringType),
    th.Property("text_value", th.StringType),
    th.Property("boolean_value", th.BooleanType),
)


def _with_required_id(properties: list[th.Property[t.Any]]) -> list[th.Property[t.Any]]:
    """Make ``id`` non-null at the top level: masked (null-id) rows are never emitted."""
    return [
        th.Property("id", th.IntegerType, required=True) if prop.name == "id" else prop
        for prop in properties
    ]


ORGANIZATION_SCHEMA = th.PropertiesList(*_with_required_id(ORGANIZATION_PROPERTIES)).to_dict()

EVENTS_SCHEMA = th.PropertiesList(*_with_required_id(EVENT_PROPERTIES)).to_dict()

TIMESLOTS_SCHEMA = th.PropertiesList(
    *_with_required_id(TIMESLOT_PROPERTIES),
    th.Property("event_id", th.IntegerType, required=True),
).to_dict()

DELETED_EVENTS_SCHEMA = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True),
    th.Property("deleted_date", th.IntegerType),
).to_dict()

PEOPLE_SCHEMA = th.PropertiesList(*_with_required_id(PERSON_PROPERTIES)).to_dict()

ATTENDANCES_SCHEMA = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True),
    th.Property("created_date", th.IntegerType),
    th.Property("modified_date", th.IntegerType),
    th.Property("status", th.StringType),
    th.Property("attended", th.BooleanType),
    # Flattened ids beside the nested objects, so joins need no JSON paths.
    th.Property("person_id", th.IntegerType),
    th.Property("event_id", th.IntegerType),
    th.Property("timeslot_id", th.IntegerType),
    th.Property("sponsor_id", th.IntegerType),
    th.Property("person", th.ObjectType(*PERSON_PROPERTIES)),
    th.Property("event", th.ObjectType(*EVENT_PROPERTIES)),
    th.Property("timeslot", TIMESLOT_OBJECT),
    th.Property("sponsor", ORGANIZATION_OBJECT),
    th.Property("referrer", REFERRER_OBJECT),
    th.Property("custom_signup_field_values", th.ArrayType(CUSTOM_SIGNUP_FIELD_VALUE_OBJECT)),
    th.Property("rating", th.StringType),  # observed in real exports, undocumented
    th.Property("feedback", th.StringType),  # observed in real exports, undocumented
).to_dict()
