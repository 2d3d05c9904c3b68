"""The user's policies (TOML): load, validate, and judge findings into a verdict."""
