"""The configuration: settings, credentials, the mapping files analysts edit and their schemas."""
