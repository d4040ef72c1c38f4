import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from trackstore.v1 import trackevents_pb2 as _trackevents_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParameterType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARAMETER_TYPE_UNSPECIFIED: _ClassVar[ParameterType]
    PARAMETER_TYPE_BOOL: _ClassVar[ParameterType]
    PARAMETER_TYPE_DATETIME: _ClassVar[ParameterType]
    PARAMETER_TYPE_GUID: _ClassVar[ParameterType]
    PARAMETER_TYPE_INT: _ClassVar[ParameterType]
    PARAMETER_TYPE_LONG: _ClassVar[ParameterType]
    PARAMETER_TYPE_DOUBLE: _ClassVar[ParameterType]
    PARAMETER_TYPE_STRING: _ClassVar[ParameterType]
    PARAMETER_TYPE_TIMESPAN: _ClassVar[ParameterType]
PARAMETER_TYPE_UNSPECIFIED: ParameterType
PARAMETER_TYPE_BOOL: ParameterType
PARAMETER_TYPE_DATETIME: ParameterType
PARAMETER_TYPE_GUID: ParameterType
PARAMETER_TYPE_INT: ParameterType
PARAMETER_TYPE_LONG: ParameterType
PARAMETER_TYPE_DOUBLE: ParameterType
PARAMETER_TYPE_STRING: ParameterType
PARAMETER_TYPE_TIMESPAN: ParameterType

class FilterParameter(_message.Message):
    __slots__ = ("name", "type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: ParameterType
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[ParameterType, str]] = ...) -> None: ...

class FilterDefinition(_message.Message):
    __slots__ = ("name", "description", "category", "query", "parameters", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    category: str
    query: str
    parameters: _containers.RepeatedCompositeFieldContainer[FilterParameter]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[str] = ..., query: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[FilterParameter, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class ParameterValue(_message.Message):
    __slots__ = ("bool_value", "datetime_value", "guid_value", "int_value", "long_value", "double_value", "string_value", "timespan_value")
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    DATETIME_VALUE_FIELD_NUMBER: _ClassVar[int]
    GUID_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    LONG_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    TIMESPAN_VALUE_FIELD_NUMBER: _ClassVar[int]
    bool_value: bool
    datetime_value: _timestamp_pb2.Timestamp
    guid_value: str
    int_value: int
    long_value: int
    double_value: float
    string_value: str
    timespan_value: _duration_pb2.Duration
    def __init__(self, bool_value: _Optional[bool] = ..., datetime_value: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., guid_value: _Optional[str] = ..., int_value: _Optional[int] = ..., long_value: _Optional[int] = ..., double_value: _Optional[float] = ..., string_value: _Optional[str] = ..., timespan_value: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("name", "description", "filter_definition", "parameters", "refresh_interval", "create_time", "update_time", "etag", "computed_at", "device_count", "last_error", "last_error_time", "generation")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ParameterValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ParameterValue, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FILTER_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REFRESH_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_TIME_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    filter_definition: str
    parameters: _containers.MessageMap[str, ParameterValue]
    refresh_interval: _duration_pb2.Duration
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    computed_at: _timestamp_pb2.Timestamp
    device_count: int
    last_error: str
    last_error_time: _timestamp_pb2.Timestamp
    generation: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., filter_definition: _Optional[str] = ..., parameters: _Optional[_Mapping[str, ParameterValue]] = ..., refresh_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., device_count: _Optional[int] = ..., last_error: _Optional[str] = ..., last_error_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., generation: _Optional[int] = ...) -> None: ...

class CreateFilterDefinitionRequest(_message.Message):
    __slots__ = ("scope", "filter_definition")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    FILTER_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    scope: str
    filter_definition: FilterDefinition
    def __init__(self, scope: _Optional[str] = ..., filter_definition: _Optional[_Union[FilterDefinition, _Mapping]] = ...) -> None: ...

class CreateFilterDefinitionResponse(_message.Message):
    __slots__ = ("filter_definition",)
    FILTER_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    filter_definition: FilterDefinition
    def __init__(self, filter_definition: _Optional[_Union[FilterDefinition, _Mapping]] = ...) -> None: ...

class GetFilterDefinitionRequest(_message.Message):
    __slots__ = ("scope", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetFilterDefinitionResponse(_message.Message):
    __slots__ = ("filter_definition",)
    FILTER_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    filter_definition: FilterDefinition
    def __init__(self, filter_definition: _Optional[_Union[FilterDefinition, _Mapping]] = ...) -> None: ...

class ListFilterDefinitionsRequest(_message.Message):
    __slots__ = ("scope", "page_size", "page_token", "name_prefix")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    scope: str
    page_size: int
    page_token: str
    name_prefix: str
    def __init__(self, scope: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., name_prefix: _Optional[str] = ...) -> None: ...

class ListFilterDefinitionsResponse(_message.Message):
    __slots__ = ("filter_definitions", "next_page_token")
    FILTER_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter_definitions: _containers.RepeatedCompositeFieldContainer[FilterDefinition]
    next_page_token: str
    def __init__(self, filter_definitions: _Optional[_Iterable[_Union[FilterDefinition, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReplaceFilterDefinitionRequest(_message.Message):
    __slots__ = ("scope", "filter_definition")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    FILTER_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    scope: str
    filter_definition: FilterDefinition
    def __init__(self, scope: _Optional[str] = ..., filter_definition: _Optional[_Union[FilterDefinition, _Mapping]] = ...) -> None: ...

class ReplaceFilterDefinitionResponse(_message.Message):
    __slots__ = ("filter_definition",)
    FILTER_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    filter_definition: FilterDefinition
    def __init__(self, filter_definition: _Optional[_Union[FilterDefinition, _Mapping]] = ...) -> None: ...

class DeleteFilterDefinitionRequest(_message.Message):
    __slots__ = ("scope", "name", "etag")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    etag: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteFilterDefinitionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PreviewFilterDefinitionRequest(_message.Message):
    __slots__ = ("scope", "name", "inline_definition", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ParameterValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ParameterValue, _Mapping]] = ...) -> None: ...
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INLINE_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    inline_definition: FilterDefinition
    parameters: _containers.MessageMap[str, ParameterValue]
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ..., inline_definition: _Optional[_Union[FilterDefinition, _Mapping]] = ..., parameters: _Optional[_Mapping[str, ParameterValue]] = ...) -> None: ...

class PreviewFilterDefinitionResponse(_message.Message):
    __slots__ = ("columns", "items", "count", "truncated")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[_trackevents_pb2.Column]
    items: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    count: int
    truncated: bool
    def __init__(self, columns: _Optional[_Iterable[_Union[_trackevents_pb2.Column, _Mapping]]] = ..., items: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., count: _Optional[int] = ..., truncated: _Optional[bool] = ...) -> None: ...

class CreateSegmentRequest(_message.Message):
    __slots__ = ("scope", "segment")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    scope: str
    segment: Segment
    def __init__(self, scope: _Optional[str] = ..., segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class CreateSegmentResponse(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: Segment
    def __init__(self, segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class GetSegmentRequest(_message.Message):
    __slots__ = ("scope", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetSegmentResponse(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: Segment
    def __init__(self, segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ("scope", "page_size", "page_token", "name_prefix")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    scope: str
    page_size: int
    page_token: str
    name_prefix: str
    def __init__(self, scope: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., name_prefix: _Optional[str] = ...) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("segments", "next_page_token")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    next_page_token: str
    def __init__(self, segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReplaceSegmentRequest(_message.Message):
    __slots__ = ("scope", "segment")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    scope: str
    segment: Segment
    def __init__(self, scope: _Optional[str] = ..., segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class ReplaceSegmentResponse(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: Segment
    def __init__(self, segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class DeleteSegmentRequest(_message.Message):
    __slots__ = ("scope", "name", "etag")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    etag: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteSegmentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RefreshSegmentRequest(_message.Message):
    __slots__ = ("scope", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RefreshSegmentResponse(_message.Message):
    __slots__ = ("request_time",)
    REQUEST_TIME_FIELD_NUMBER: _ClassVar[int]
    request_time: _timestamp_pb2.Timestamp
    def __init__(self, request_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EvaluateSegmentRequest(_message.Message):
    __slots__ = ("scope", "name", "page_size", "page_token", "fresh")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FRESH_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    page_size: int
    page_token: str
    fresh: bool
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., fresh: _Optional[bool] = ...) -> None: ...

class EvaluateSegmentResponse(_message.Message):
    __slots__ = ("device_ids", "next_page_token", "device_count", "computed_at")
    DEVICE_IDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    device_ids: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    device_count: int
    computed_at: _timestamp_pb2.Timestamp
    def __init__(self, device_ids: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ..., device_count: _Optional[int] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IsInSegmentRequest(_message.Message):
    __slots__ = ("scope", "device_id", "segments")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    device_id: str
    segments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, scope: _Optional[str] = ..., device_id: _Optional[str] = ..., segments: _Optional[_Iterable[str]] = ...) -> None: ...

class IsInSegmentResponse(_message.Message):
    __slots__ = ("in_segment",)
    IN_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    in_segment: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, in_segment: _Optional[_Iterable[bool]] = ...) -> None: ...

class SegmentsOfRequest(_message.Message):
    __slots__ = ("scope", "device_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    scope: str
    device_id: str
    def __init__(self, scope: _Optional[str] = ..., device_id: _Optional[str] = ...) -> None: ...

class SegmentsOfResponse(_message.Message):
    __slots__ = ("segments",)
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, segments: _Optional[_Iterable[str]] = ...) -> None: ...
