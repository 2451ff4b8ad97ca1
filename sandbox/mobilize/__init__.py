"""Mobilize API simulator (an ``App`` for ``sandbox.server``: ``app.MobilizeApp``).

Serves a generated (``sandbox.datagen``) or loaded dataset for one organization under
``/v1``, reproducing ``mobilize-api.md`` section 7:

* Envelope ``{"data", "count", "next", "previous", "metadata": {...}, "is_custom_domain"}``
  on lists, ``{"data", "metadata"}`` on single objects, ``{"data": null, "error": {...}}``
  (Django REST Framework style) on errors.
* Auth: ``Authorization: Bearer <key>``. Routes that need a key (people, attendances,
  promoted_organizations) answer 403 without one. **Choice:** a header that is present but
  malformed or carries a wrong key is 403 on *every* route, including the optional-auth
  ones (the docs' "malformed, missing or wrong key gives 403"); only an absent header falls
  back to anonymous access. The key grants dashboard permission for ``--org-id`` only:
  other known orgs are served as to an anonymous caller (and 403 on key-only routes).
* Anonymous callers: PRIVATE events excluded (``visibility=PRIVATE`` → 403), statuses other
  than APPROVED → 403, and ``contact``, ``event_campaign``, ``instructions``, timeslot
  ``instructions``, ``virtual_action_url`` and the districts of private addresses are null.
* Lists are in ascending id order (masked attendances, which have no id, keep their place
  between their neighbours). ``per_page`` defaults to 25 and is clamped to
  ``--max-per-page``; ``page`` is accepted.
* **Cursor:** ``next``/``previous`` are absolute URLs built from the request's Host that
  repeat every query parameter of the request (repeated keys and stray parameters too,
  ``page``/``cursor`` excepted) plus ``cursor``: URL-safe base64 of ``a=<key>`` (rows
  after that sort key) or ``b=<key>`` (rows before it). The key is the id (attendances:
  ``id * 1024``, masked rows the following integers). Being keyed rather than positional,
  a followed ``next`` neither repeats nor skips rows when rows are added or removed
  meanwhile. Search-backend results (``zipcode``) are ordered by distance, and their sort
  key is the position.
* A request that repeats a single-valued parameter (``per_page=100&per_page=100``, two
  cursors) or sends the same ``key=value`` pair twice is rejected with 400: that is what a
  client that re-adds its parameters to a ``next`` URL does, and the real API failed it.
* ``updated_since`` compares ``modified_date`` (``deleted_date`` on deleted events), inclusive
  or exclusive per the ``updated_since`` answer below. ``timeslot_start``/``timeslot_end``
  comparison filters trim nested timeslots and drop events left with none.
  ``zipcode``/``max_dist``/``exclude_full``/``tag_id`` use the "search backend": at most
  1000 rows can be paged through, ``results_limited_to: 1000`` is added, and ``count``
  still reports the full total.
* ``/events/deleted``: without ``visibility`` it returns every deleted event the caller
  may see (PUBLIC, plus PRIVATE with the key); PRIVATE without the key is quietly empty.
* ``event_types`` values are matched exactly (comma-joined lists match nothing).

Admin routes (besides the common ones of ``sandbox.server``, ``GET|POST /__admin/answers``
included): ``GET /__admin/dataset`` (``?compact=1`` for stub-embedded attendances),
``GET /__admin/counts`` (the dataset's ``expected_counts()``, less the attendances the
answers hide), ``POST /__admin/mutate`` (``{"op": ..., ...}``, see ``admin.OPS``),
``POST /__admin/load`` (``{"spec": {...}}`` regenerates, ``{"dataset": {...}}`` loads).
Mutations set the touched object's ``modified_date`` to ``max(now, previous + 1)``, where
now is never before the dataset's generation epoch (unless an answer below says they don't);
``garble_person`` alone sets fields as given, for answers the documentation rules out.

Answers to the open questions of ``mobilize-api.md`` section 8 (``answers.MobilizeAnswers``; the
harsh value, hardest for a client, is the default; ``--answers lenient`` gives the other
one; ``--answer NAME=VALUE`` or ``POST /__admin/answers`` sets one; ``HARSH_ANSWERS`` and
``LENIENT_ANSWERS`` are the presets as dicts):

* ``updated_since`` (Q1) ``"inclusive"`` (``>=``) | ``"exclusive"`` (``>``), on every
  ``updated_since`` filter. Harsh: ``"exclusive"``: a client that bookmarks the last
  ``modified_date`` it saw misses rows changed later in that same second.
* ``timeslot_edits_bump_event`` (Q4) ``true`` | ``false``: whether ``add_timeslot``,
  ``update_timeslot`` and ``remove_timeslot`` bump the event's ``modified_date``
  (``update_event`` always does). Harsh: ``false``: an incremental read never sees them.
* ``attended_bumps_attendance`` (Q4) ``true`` | ``false``: whether an ``update_attendance``
  whose only change is ``attended`` bumps the attendance (a status change always does).
  Harsh: ``false``: attendance marking never reaches an incremental read.
* ``deleted_event_attendances`` (Q7) ``"listed"`` | ``"hidden"``: attendances of a deleted
  event are still listed, their embedded event unchanged (still live and APPROVED), or
  vanish from every attendance list (and ``/attendances/{id}`` is 404). Harsh:
  ``"listed"``: the client must notice the deletion elsewhere and cancel them itself.
* ``removed_timeslot_attendances`` (Q7) ``"listed"`` | ``"hidden"``: the same for
  attendances of a timeslot removed by ``remove_timeslot``. Harsh: ``"listed"``.

``GET /__admin/counts`` leaves hidden attendances out of its attendance counts.

Modules, one per resource family: ``organizations``, ``events`` (with nested timeslots;
``event_filters`` for their filters), ``deleted_events``, ``people``, ``attendances``,
``event_edits`` (event and timeslot mutations); the plumbing apart: ``app`` (routes),
``state`` (the indexed dataset), ``auth`` (keys), ``params`` and ``paging`` (query
parameters, envelopes, cursors), ``errors``, ``answers`` (the switches), ``admin`` (the
test-control routes), ``cli``.

Run: ``python -m sandbox.mobilize --port 8001 [--data FILE | --seed N --events N ...]``.
"""
