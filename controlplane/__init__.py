"""Gatehouse control plane: identities, resources, access grants, agents and audit (Django)."""
