"""Policies: per resource, who may request access, who approves, for how long, at which
access level, and which requests are approved without a human."""
