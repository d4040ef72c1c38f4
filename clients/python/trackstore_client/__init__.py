"""Python client for trackstore."""
from .client import Client, TrackstoreError, event_from_json, event_to_json

__all__ = ["Client", "TrackstoreError", "event_from_json", "event_to_json"]
