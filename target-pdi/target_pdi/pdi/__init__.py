"""The PDI boundary: the HTTP client and the dry-run client."""
