"""The limits clients see, each stated once; the README's API table cites this module.

The last group are defaults of settings (config.py): a deployment may change them.
"""
from __future__ import annotations

# Track and TrackStream
MAX_EVENTS_PER_BATCH = 10_000  # events in one request (one TrackStream message)
MAX_EVENT_BYTES = 1 << 20  # one serialized TrackEvent: 1 MiB
MAX_TRACK_ID_LENGTH = 200  # characters (server/wire/requests.c checks the same, see its test)
MAX_SCOPE_LENGTH = 200  # characters, printable
# Levels a User/Payload may nest (an object or array is one): what protobuf clients, which stop
# at 100 nested messages, still read back in a Preview, List or Export answer (nesting.py).
MAX_JSON_DEPTH = 32

# Preview and List queries: the compiler's limits (querylang/limits.py says why)
from querylang.limits import MAX_AGGREGATIONS, MAX_OPERATORS  # noqa: E402,F401

# List
DEFAULT_LIST_TOP = 100  # events a page holds when `top` is absent
MAX_LIST_WINDOW = 10_000  # skip + top must be under it

# BatchDelete: two IN lists of at most 500 constants each (deletes.py)
MAX_BATCH_DELETE = 1000

# Export (cursor paging) and Import
DEFAULT_EXPORT_PAGE_SIZE = 100  # events an Export page holds when page_size is 0
MAX_EXPORT_PAGE_SIZE = 1000  # the most events an Export page may ask for
MAX_IMPORT_BYTES = 256 * 1024 * 1024  # one Import document: 256 MiB

# Filter definitions and segments (server/segments/)
MAX_RESOURCE_NAME_LENGTH = 200  # characters of a definition's or a segment's name
MAX_DESCRIPTION_LENGTH = 1000  # characters of a description
MAX_CATEGORY_LENGTH = 50  # characters of a definition's category
DEFAULT_REFRESH_INTERVAL_SECONDS = 86_400  # a segment's refresh interval when absent: 24 h
MIN_REFRESH_INTERVAL_SECONDS = 60  # the shortest refresh interval
DEFAULT_PAGE_SIZE = 50  # definitions or segments a List page holds when page_size is 0
MAX_PAGE_SIZE = 1000  # a larger page_size is taken as this
DEFAULT_EVALUATE_PAGE_SIZE = 1000  # DeviceIds an EvaluateSegment page holds when page_size is 0
MAX_EVALUATE_PAGE_SIZE = 10_000  # a larger page_size is taken as this
MAX_SEGMENTS_PER_CALL = 100  # segments one IsInSegment asks about

# Any request or response, in either direction
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# TrackStream's answer lists every TrackId of the stream, so a stream ends where that list would
# pass this: about 1.7 million events with 36-character TrackIds (each id costs its UTF-8
# bytes and 3 bytes of framing); the answer's other fields fit the MiB left.
MAX_STREAM_ACK_BYTES = MAX_MESSAGE_BYTES - (1 << 20)

# Defaults of settings
PREVIEW_MAX_ROWS = 1000  # --preview-max-rows: rows a Preview returns (`truncated` says more)
QUERY_TIME_LIMIT_SECONDS = 120.0  # --preview-timeout-seconds: a query is stopped after it
MAX_PENDING_DELETES = 1_000_000  # --max-pending-deletes: then Delete is RESOURCE_EXHAUSTED
EXPORT_CURSOR_SECONDS = 86_400.0  # --export-cursor-seconds: an export cursor's lifetime
