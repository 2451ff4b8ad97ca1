"""One writer per PDI object: each makes PDI's object equal a payload, in one upsert."""
