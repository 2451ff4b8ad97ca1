"""The rules: PDI payloads, Mobilize and PDI vocabulary, calendar routing. Pure: no I/O."""
