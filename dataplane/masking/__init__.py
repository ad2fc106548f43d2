"""In-process PII detection and masking (issue 5): no Django, no I/O except the CLI."""
