"""PDI API simulator: ``python -m sandbox.pdi --port 8002``.

The app (``app.PdiApp``) wires one module per resource family (``sessions``, ``calendars``,
``events``, ``locations``, ``contacts`` with their emails and phones, ``invitations``) and the
test-control routes (``admin``, ``seeds``) over the objects of ``state``; ``binding`` reads
bodies the ASP.NET way, ``paging`` pages lists, ``routing`` matches paths, ``cli`` starts it.

Reproduces the behaviour described in ``pdi-api.md`` (sections 2, 3, 4 and 7) that a
Mobilize -> PDI target depends on:

* ``POST /sessions`` -> ``{AccessToken, ExpirationDate}``; every other route wants
  ``Authorization: Bearer <token>`` and answers 401 once the token expired.
* ASP.NET Web API flavoured binding: JSON property names are case-insensitive, booleans
  accept ``"true"``/``"false"`` strings, answers are camelCase, validation failures are 400
  with ``{"message", "modelState"}``.
* Opaque ids (base64 of 16 bytes, deterministic per seed); a malformed id is 400, an unknown
  well-formed id 404 (DELETE of an unknown contact succeeds, as PDI's deletes do).
* Lists are ``{"data": [...], "totalCount": N}`` paged by ``limit`` (<= 2000) and a 1-based
  ``cursor`` page number, in creation order.
* ``PUT /contacts/{id}`` and ``PUT /locations/{id}`` answer HTTP 200 with
  ``{"code": 201, "message": "Contact updated."}`` (``Location updated.``) and no ``data``
  key: Parsons' ``_request`` returns a body as-is only when it has no ``data`` key, and its
  ``update_contact``/``update_location`` then test ``res["code"] == 201``.
* A phone POST without an ``extension`` key fails.
* ``GET /contacts/{id}`` always embeds the contact's ``emails`` and ``phones``.

Answers to the open questions of ``pdi-api.md`` section 8 (``PdiAnswers``; the harsh
value, hardest for a client, is the default; ``--answers lenient`` gives the other one;
``--answer NAME=VALUE`` or ``POST /__admin/answers`` sets one; ``answers.HARSH_ANSWERS``
and ``answers.LENIENT_ANSWERS`` are the presets as dicts):

* ``contact_search`` (Q6) ``"exact"`` | ``"fuzzy"`` | ``"ignore_email"``, for
  ``GET /contacts?email=..&searchByEmail=true``: contacts holding that email (any of their
  emails, case-insensitive, trimmed); those plus contacts with an email whose local part
  contains the query's (``ann@x.org`` finds ``ann@y.com`` and ``joann@x.org``); or every
  contact (the email is not used). ``firstName``/``lastName``/``phone`` filter in every
  mode. Harsh: ``"ignore_email"``: a client that trusts the first row merges strangers.
* ``contact_rows_have_emails`` (Q6) ``true`` | ``false``: whether ``GET /contacts`` rows
  carry ``emails`` and ``phones``. Harsh: ``false``: a client must ``GET /contacts/{id}``
  to confirm a match.
* ``duplicate_invitations`` (Q5) ``"refused"`` | ``"accepted"``: a second invitation of a
  contact to an event (POST, or a PUT moving ``contactId`` onto an invited contact) is a
  400, or is stored (both then listed). Harsh: ``"accepted"``: a client's retry or lost
  id map silently doubles invitations.
* ``put_replaces`` (Q3/Q9) ``true`` | ``false``: PUT of a contact, location, event or
  invitation replaces the object (a field not sent is stored as a create would store it:
  null, ``""`` or ``false``; required fields stay required) or merges (only the fields
  sent change, none is required, a sent field is validated). A contact's ``emails``,
  ``phones`` and ``pdiId`` are never touched by PUT. Harsh: ``true``: fields the client
  does not manage (set by a PDI user) are wiped.

Admin routes (besides the base's health/stats/switches/answers): ``GET /__admin/state``
(every object), ``POST /__admin/reset`` (empty all but calendars, credentials and live
tokens; ids are never reused), ``POST /__admin/calendars`` ``{"names": [...]}`` (replace
the calendars; a calendar id derives from its name), ``POST /__admin/tokens/expire``
(invalidate every token, to test re-login), ``GET /__admin/tokens`` (every token ever
issued, for secret searches), ``POST /__admin/seed``
``{"kind": "contacts"|"events"|"locations"|"invitations", "object": {...}}`` (store an
object as a PDI user would make it in the UI: any fields, a new id, no validation but an
invitation's event and contact must exist; a contact's ``emails``/``phones`` may be lists
of strings or of objects) and ``POST /__admin/delete`` ``{"kind": ..., "id": ...}`` (delete
as a PDI user would; an event's or a contact's invitations go with it; 404 if unknown)
and ``POST /__admin/update`` ``{"kind": ..., "id": ..., "fields": {...}}`` (change fields
as a PDI user would, unvalidated: move an event to another calendar (``calendarId``, which
must exist) or time, rename it, flip an invitation's ``attended`` or ``rsvpStatus``, replace
a contact's ``emails`` or ``phones`` (lists, as a seed's); ids and an invitation's event and
contact cannot change: 400; 404 if unknown) and ``POST /__admin/copy`` ``{"kind": ..., "id":
..., "fields": {...}}`` (a copy of an object under a new id, ``fields`` changed: an event a
PDI user copied, a contact or an invitation made twice; 404 if unknown). These are how tests
tamper with PDI behind the sync's back. All four answer the object. ``/__admin/stats``
adds ``writes`` and ``writes_by_route``: the POST/PUT/DELETE of the API that changed state
(not the admin seeds, copies, updates and deletes). The ``drop_after_write_next`` switch
drops the connection after such a write is done.

Decisions where the reference is silent are marked "Guess:" below.
"""
