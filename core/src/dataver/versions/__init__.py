"""Version life cycle: states, records and their compare-and-swap persistence."""
