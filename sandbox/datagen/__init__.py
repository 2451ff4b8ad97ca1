"""Deterministic generator of a realistic Mobilize organization.

``build.generate(DatasetSpec(...))`` builds, from a seed and size knobs, everything the
Mobilize simulator serves for one organization: the organization and a few others
(promoting sponsors and unrelated orgs), events with nested timeslots, deleted events,
people and attendances. The objects have the shapes of ``docs/../mobilize-api.md``
section 4, including the quirks a tap must survive (section 5):

* fixed fractions of PRIVATE, non-APPROVED, virtual, private-address and promoted events;
* timeslot counts per event that vary around the knob while the total stays exactly
  ``events * timeslots_per_event``;
* people without email, masked attendances (ids null, counted apart from the knob),
  REGISTERED/CONFIRMED/CANCELLED statuses, ``attended`` true/false/null;
* deleted events whose ids are not in ``events``.

Every date is an integer epoch before ``GENERATED_AT`` (2026-11-01T00:00:00Z).
The same seed and knobs give the same dataset, byte for byte.

Modules: ``dataset`` (the shape: spec, dataset, JSON form), ``vocabulary`` (the words and
places drawn from), ``draws`` (the one random stream), ``organizations``, ``events``,
``people``, ``attendances`` (one generator each), ``build`` (the order they run in), ``cli``.

CLI: ``python -m sandbox.datagen --seed 1 --events 2000 --timeslots-per-event 3
--people 20000 --attendances 60000 --out data.json`` (prints the expected counts).
"""
