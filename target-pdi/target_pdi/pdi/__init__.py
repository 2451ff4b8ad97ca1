"""The PDI boundary: the HTTP client (auth, paging, retries, pace) and the dry-run client."""
