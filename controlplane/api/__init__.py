"""The REST API's shared pieces: URL root, pagination, error mapping."""
