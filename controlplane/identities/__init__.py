"""Identities: users, service accounts, API keys and gateway tokens."""
