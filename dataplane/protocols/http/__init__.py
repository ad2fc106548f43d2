"""The HTTP plug-in: every resource whose protocol is "http" or "llm", on one listener."""
