"""Access: who may reach which resource, until when (grants)."""
