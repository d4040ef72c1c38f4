import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrackEvent(_message.Message):
    __slots__ = ("track_id", "device_id", "event_type", "value", "scope", "page_uri", "page_title", "remote_address", "session_id", "user_struct", "user_json", "payload_struct", "payload_json", "country_code", "city", "event_time")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_URI_FIELD_NUMBER: _ClassVar[int]
    PAGE_TITLE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_STRUCT_FIELD_NUMBER: _ClassVar[int]
    USER_JSON_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_STRUCT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    device_id: str
    event_type: str
    value: str
    scope: str
    page_uri: str
    page_title: str
    remote_address: str
    session_id: str
    user_struct: _struct_pb2.Struct
    user_json: str
    payload_struct: _struct_pb2.Struct
    payload_json: str
    country_code: str
    city: str
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, track_id: _Optional[str] = ..., device_id: _Optional[str] = ..., event_type: _Optional[str] = ..., value: _Optional[str] = ..., scope: _Optional[str] = ..., page_uri: _Optional[str] = ..., page_title: _Optional[str] = ..., remote_address: _Optional[str] = ..., session_id: _Optional[str] = ..., user_struct: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., user_json: _Optional[str] = ..., payload_struct: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., payload_json: _Optional[str] = ..., country_code: _Optional[str] = ..., city: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TrackRequest(_message.Message):
    __slots__ = ("scope", "events")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    events: _containers.RepeatedCompositeFieldContainer[TrackEvent]
    def __init__(self, scope: _Optional[str] = ..., events: _Optional[_Iterable[_Union[TrackEvent, _Mapping]]] = ...) -> None: ...

class TrackResponse(_message.Message):
    __slots__ = ("track_ids",)
    TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    track_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, track_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class TrackStreamRequest(_message.Message):
    __slots__ = ("scope", "events")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    events: _containers.RepeatedCompositeFieldContainer[TrackEvent]
    def __init__(self, scope: _Optional[str] = ..., events: _Optional[_Iterable[_Union[TrackEvent, _Mapping]]] = ...) -> None: ...

class TrackStreamResponse(_message.Message):
    __slots__ = ("track_ids", "event_count")
    TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    track_ids: _containers.RepeatedScalarFieldContainer[str]
    event_count: int
    def __init__(self, track_ids: _Optional[_Iterable[str]] = ..., event_count: _Optional[int] = ...) -> None: ...

class PreviewRequest(_message.Message):
    __slots__ = ("scope", "query")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    scope: str
    query: str
    def __init__(self, scope: _Optional[str] = ..., query: _Optional[str] = ...) -> None: ...

class Column(_message.Message):
    __slots__ = ("name", "type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class PreviewResponse(_message.Message):
    __slots__ = ("columns", "items", "count", "truncated")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[Column]
    items: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    count: int
    truncated: bool
    def __init__(self, columns: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., items: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., count: _Optional[int] = ..., truncated: _Optional[bool] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("scope", "filter", "orderby", "skip", "top")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDERBY_FIELD_NUMBER: _ClassVar[int]
    SKIP_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    scope: str
    filter: str
    orderby: str
    skip: int
    top: int
    def __init__(self, scope: _Optional[str] = ..., filter: _Optional[str] = ..., orderby: _Optional[str] = ..., skip: _Optional[int] = ..., top: _Optional[int] = ...) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("items", "count")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    count: int
    def __init__(self, items: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., count: _Optional[int] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("scope", "track_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    scope: str
    track_id: str
    def __init__(self, scope: _Optional[str] = ..., track_id: _Optional[str] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("track_id",)
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    def __init__(self, track_id: _Optional[str] = ...) -> None: ...

class BatchDeleteRequest(_message.Message):
    __slots__ = ("scope", "track_ids", "allow_missing")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    scope: str
    track_ids: _containers.RepeatedScalarFieldContainer[str]
    allow_missing: bool
    def __init__(self, scope: _Optional[str] = ..., track_ids: _Optional[_Iterable[str]] = ..., allow_missing: _Optional[bool] = ...) -> None: ...

class BatchDeleteResponse(_message.Message):
    __slots__ = ("track_ids",)
    TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    track_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, track_ids: _Optional[_Iterable[str]] = ...) -> None: ...
