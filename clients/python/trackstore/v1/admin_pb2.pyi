from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompactRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompactResponse(_message.Message):
    __slots__ = ("applied_deletions", "seconds")
    APPLIED_DELETIONS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    applied_deletions: int
    seconds: float
    def __init__(self, applied_deletions: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class GetStoreStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStoreStatsResponse(_message.Message):
    __slots__ = ("pending_deletions", "max_pending_deletions", "data_files", "events", "promoted_keys", "segment_devices", "segment_memory_bytes", "memory")
    PENDING_DELETIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_PENDING_DELETIONS_FIELD_NUMBER: _ClassVar[int]
    DATA_FILES_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_KEYS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DEVICES_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    pending_deletions: int
    max_pending_deletions: int
    data_files: int
    events: int
    promoted_keys: _containers.RepeatedScalarFieldContainer[str]
    segment_devices: int
    segment_memory_bytes: int
    memory: MemoryUse
    def __init__(self, pending_deletions: _Optional[int] = ..., max_pending_deletions: _Optional[int] = ..., data_files: _Optional[int] = ..., events: _Optional[int] = ..., promoted_keys: _Optional[_Iterable[str]] = ..., segment_devices: _Optional[int] = ..., segment_memory_bytes: _Optional[int] = ..., memory: _Optional[_Union[MemoryUse, _Mapping]] = ...) -> None: ...

class MemoryUse(_message.Message):
    __slots__ = ("resident_bytes", "duckdb_bytes", "duckdb_spilled_bytes", "track_id_index_bytes", "device_id_index_bytes", "malloc_in_use_bytes", "malloc_free_bytes", "arrow_bytes")
    RESIDENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    DUCKDB_BYTES_FIELD_NUMBER: _ClassVar[int]
    DUCKDB_SPILLED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_INDEX_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_INDEX_BYTES_FIELD_NUMBER: _ClassVar[int]
    MALLOC_IN_USE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MALLOC_FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ARROW_BYTES_FIELD_NUMBER: _ClassVar[int]
    resident_bytes: int
    duckdb_bytes: int
    duckdb_spilled_bytes: int
    track_id_index_bytes: int
    device_id_index_bytes: int
    malloc_in_use_bytes: int
    malloc_free_bytes: int
    arrow_bytes: int
    def __init__(self, resident_bytes: _Optional[int] = ..., duckdb_bytes: _Optional[int] = ..., duckdb_spilled_bytes: _Optional[int] = ..., track_id_index_bytes: _Optional[int] = ..., device_id_index_bytes: _Optional[int] = ..., malloc_in_use_bytes: _Optional[int] = ..., malloc_free_bytes: _Optional[int] = ..., arrow_bytes: _Optional[int] = ...) -> None: ...
