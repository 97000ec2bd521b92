"""Apache Airflow provider for dataver: dataset versions as native Airflow pipeline steps."""

__version__ = "0.1.0"
