"""Reading the control plane's configuration from the environment."""
