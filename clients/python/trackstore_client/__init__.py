"""The first name of the Python client, kept as an alias: `trackstore` is the library.

`trackstore_client.TrackstoreError` is `trackstore.TrackstoreError`; `trackstore_client.Client`
keeps the first client's call shapes (see its module). The `trackstore` command is
`trackstore_client.cli`.
"""
from trackstore.errors import TrackstoreError
from trackstore.events import event_from_json, event_to_json

from .client import Client

__all__ = ["Client", "TrackstoreError", "event_from_json", "event_to_json"]
