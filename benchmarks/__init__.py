"""Side-by-side benchmarks of dataver against peer tools; run with ``python -m benchmarks``."""
