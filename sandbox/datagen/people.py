"""The organization's people: a few without email, most with a phone and a postal code."""

from __future__ import annotations

from sandbox.datagen.dataset import DAY, GENERATED_AT, Record
from sandbox.datagen.draws import Draws, fraction
from sandbox.datagen.vocabulary import CITIES, FAMILY_NAMES, GIVEN_NAMES


def people(draws: Draws, n: int) -> list[Record]:
    rng = draws.rng
    no_email = set(rng.sample(range(n), fraction(n, 0.02)))
    out = []
    for index, person_id in enumerate(draws.ids(300000, n)):
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        created, modified = draws.dates(GENERATED_AT - 4 * 365 * DAY, GENERATED_AT - 60)
        city = rng.choice(CITIES)
        out.append(
            {
                "id": person_id,
                "person_id": person_id,
                "user_id": person_id + 7606,
                "created_date": created,
                "modified_date": modified,
                "given_name": given,
                "family_name": family,
                "email_addresses": []
                if index in no_email
                else [{"primary": True, "address": draws.email(given, family, person_id)}],
                "phone_numbers": [{"primary": True, "number": draws.phone(person_id)}]
                if rng.random() < 0.85
                else [],
                "postal_addresses": [{"primary": True, "postal_code": draws.postal_code(city)}]
                if rng.random() < 0.9
                else [],
                "sms_opt_in_status": rng.choice(("UNSPECIFIED", "OPT_IN", "OPT_IN", "OPT_OUT")),
                "blocked_date": rng.randrange(created, GENERATED_AT)
                if rng.random() < 0.005
                else None,
            }
        )
    return out
