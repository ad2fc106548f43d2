"""Resources: the upstream targets agents serve (databases for now)."""
