"""The exec API's agent side: run one call from the control plane as a native session."""
