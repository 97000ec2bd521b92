"""Content-addressed storage of file bytes: single objects and packs."""
