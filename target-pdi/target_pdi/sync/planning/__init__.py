"""The plan of a batch: one pure value, computed before its first write and without a request
(batch.py), from the records' rules and the events' plans (events.py), the signups' (signups.py)
and the people's (people.py), once planning/poison.py has screened each record."""
