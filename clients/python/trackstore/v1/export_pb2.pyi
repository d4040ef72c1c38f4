from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExportSchedule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_SCHEDULE_UNSPECIFIED: _ClassVar[ExportSchedule]
    EXPORT_SCHEDULE_ONCE: _ClassVar[ExportSchedule]
    EXPORT_SCHEDULE_HOURLY: _ClassVar[ExportSchedule]
    EXPORT_SCHEDULE_DAILY: _ClassVar[ExportSchedule]
    EXPORT_SCHEDULE_WEEKLY: _ClassVar[ExportSchedule]
    EXPORT_SCHEDULE_MONTHLY: _ClassVar[ExportSchedule]

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_FORMAT_UNSPECIFIED: _ClassVar[ExportFormat]
    EXPORT_FORMAT_CSV: _ClassVar[ExportFormat]
    EXPORT_FORMAT_TSV: _ClassVar[ExportFormat]
    EXPORT_FORMAT_NDJSON: _ClassVar[ExportFormat]
    EXPORT_FORMAT_PARQUET: _ClassVar[ExportFormat]

class ExportCompression(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_COMPRESSION_UNSPECIFIED: _ClassVar[ExportCompression]
    EXPORT_COMPRESSION_NONE: _ClassVar[ExportCompression]
    EXPORT_COMPRESSION_GZIP: _ClassVar[ExportCompression]
    EXPORT_COMPRESSION_ZSTD: _ClassVar[ExportCompression]
    EXPORT_COMPRESSION_LZ4: _ClassVar[ExportCompression]

class ExportRunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_RUN_STATE_UNSPECIFIED: _ClassVar[ExportRunState]
    EXPORT_RUN_STATE_RUNNING: _ClassVar[ExportRunState]
    EXPORT_RUN_STATE_SUCCEEDED: _ClassVar[ExportRunState]
    EXPORT_RUN_STATE_FAILED: _ClassVar[ExportRunState]

class ImportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_FORMAT_UNSPECIFIED: _ClassVar[ImportFormat]
    IMPORT_FORMAT_PROFILESTORE: _ClassVar[ImportFormat]
    IMPORT_FORMAT_STATSIG: _ClassVar[ImportFormat]
    IMPORT_FORMAT_ABSMARTLY: _ClassVar[ImportFormat]
    IMPORT_FORMAT_CROCT: _ClassVar[ImportFormat]
EXPORT_SCHEDULE_UNSPECIFIED: ExportSchedule
EXPORT_SCHEDULE_ONCE: ExportSchedule
EXPORT_SCHEDULE_HOURLY: ExportSchedule
EXPORT_SCHEDULE_DAILY: ExportSchedule
EXPORT_SCHEDULE_WEEKLY: ExportSchedule
EXPORT_SCHEDULE_MONTHLY: ExportSchedule
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
EXPORT_FORMAT_CSV: ExportFormat
EXPORT_FORMAT_TSV: ExportFormat
EXPORT_FORMAT_NDJSON: ExportFormat
EXPORT_FORMAT_PARQUET: ExportFormat
EXPORT_COMPRESSION_UNSPECIFIED: ExportCompression
EXPORT_COMPRESSION_NONE: ExportCompression
EXPORT_COMPRESSION_GZIP: ExportCompression
EXPORT_COMPRESSION_ZSTD: ExportCompression
EXPORT_COMPRESSION_LZ4: ExportCompression
EXPORT_RUN_STATE_UNSPECIFIED: ExportRunState
EXPORT_RUN_STATE_RUNNING: ExportRunState
EXPORT_RUN_STATE_SUCCEEDED: ExportRunState
EXPORT_RUN_STATE_FAILED: ExportRunState
IMPORT_FORMAT_UNSPECIFIED: ImportFormat
IMPORT_FORMAT_PROFILESTORE: ImportFormat
IMPORT_FORMAT_STATSIG: ImportFormat
IMPORT_FORMAT_ABSMARTLY: ImportFormat
IMPORT_FORMAT_CROCT: ImportFormat

class ExportRequest(_message.Message):
    __slots__ = ("scope", "start", "end", "page_size", "cursor", "event_types")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    scope: str
    start: int
    end: int
    page_size: int
    cursor: str
    event_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, scope: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., page_size: _Optional[int] = ..., cursor: _Optional[str] = ..., event_types: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class LocalDirectory(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class S3Bucket(_message.Message):
    __slots__ = ("bucket", "prefix", "access_key_id", "secret_access_key", "secret_access_key_set", "endpoint", "region", "disable_ssl", "virtual_host_style")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    ACCESS_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_ACCESS_KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_ACCESS_KEY_SET_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    DISABLE_SSL_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_HOST_STYLE_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    prefix: str
    access_key_id: str
    secret_access_key: str
    secret_access_key_set: bool
    endpoint: str
    region: str
    disable_ssl: bool
    virtual_host_style: bool
    def __init__(self, bucket: _Optional[str] = ..., prefix: _Optional[str] = ..., access_key_id: _Optional[str] = ..., secret_access_key: _Optional[str] = ..., secret_access_key_set: _Optional[bool] = ..., endpoint: _Optional[str] = ..., region: _Optional[str] = ..., disable_ssl: _Optional[bool] = ..., virtual_host_style: _Optional[bool] = ...) -> None: ...

class ExportDestination(_message.Message):
    __slots__ = ("local", "s3")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    S3_FIELD_NUMBER: _ClassVar[int]
    local: LocalDirectory
    s3: S3Bucket
    def __init__(self, local: _Optional[_Union[LocalDirectory, _Mapping]] = ..., s3: _Optional[_Union[S3Bucket, _Mapping]] = ...) -> None: ...

class ExportConfiguration(_message.Message):
    __slots__ = ("scope", "name", "schedule", "start_at", "event_types", "event_names", "where", "format", "compression", "destination", "create_time", "update_time", "exported_until")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    EVENT_NAMES_FIELD_NUMBER: _ClassVar[int]
    WHERE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    schedule: ExportSchedule
    start_at: int
    event_types: _containers.RepeatedScalarFieldContainer[str]
    event_names: _containers.RepeatedScalarFieldContainer[str]
    where: str
    format: ExportFormat
    compression: ExportCompression
    destination: ExportDestination
    create_time: int
    update_time: int
    exported_until: int
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ..., schedule: _Optional[_Union[ExportSchedule, str]] = ..., start_at: _Optional[int] = ..., event_types: _Optional[_Iterable[str]] = ..., event_names: _Optional[_Iterable[str]] = ..., where: _Optional[str] = ..., format: _Optional[_Union[ExportFormat, str]] = ..., compression: _Optional[_Union[ExportCompression, str]] = ..., destination: _Optional[_Union[ExportDestination, _Mapping]] = ..., create_time: _Optional[int] = ..., update_time: _Optional[int] = ..., exported_until: _Optional[int] = ...) -> None: ...

class ExportRun(_message.Message):
    __slots__ = ("run_id", "name", "state", "range_start", "range_end", "rows", "bytes", "files", "error", "start_time", "end_time", "server_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RANGE_START_FIELD_NUMBER: _ClassVar[int]
    RANGE_END_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    name: str
    state: ExportRunState
    range_start: int
    range_end: int
    rows: int
    bytes: int
    files: _containers.RepeatedScalarFieldContainer[str]
    error: str
    start_time: int
    end_time: int
    server_id: str
    def __init__(self, run_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[ExportRunState, str]] = ..., range_start: _Optional[int] = ..., range_end: _Optional[int] = ..., rows: _Optional[int] = ..., bytes: _Optional[int] = ..., files: _Optional[_Iterable[str]] = ..., error: _Optional[str] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., server_id: _Optional[str] = ...) -> None: ...

class CreateExportConfigurationRequest(_message.Message):
    __slots__ = ("configuration",)
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    configuration: ExportConfiguration
    def __init__(self, configuration: _Optional[_Union[ExportConfiguration, _Mapping]] = ...) -> None: ...

class ListExportConfigurationsRequest(_message.Message):
    __slots__ = ("scope",)
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: str
    def __init__(self, scope: _Optional[str] = ...) -> None: ...

class ListExportConfigurationsResponse(_message.Message):
    __slots__ = ("configurations",)
    CONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    configurations: _containers.RepeatedCompositeFieldContainer[ExportConfiguration]
    def __init__(self, configurations: _Optional[_Iterable[_Union[ExportConfiguration, _Mapping]]] = ...) -> None: ...

class GetExportConfigurationRequest(_message.Message):
    __slots__ = ("scope", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class UpdateExportConfigurationRequest(_message.Message):
    __slots__ = ("configuration", "update_mask")
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    configuration: ExportConfiguration
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, configuration: _Optional[_Union[ExportConfiguration, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteExportConfigurationRequest(_message.Message):
    __slots__ = ("scope", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteExportConfigurationResponse(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RunExportConfigurationRequest(_message.Message):
    __slots__ = ("scope", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateExportConfigurationResponse(_message.Message):
    __slots__ = ("configuration",)
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    configuration: ExportConfiguration
    def __init__(self, configuration: _Optional[_Union[ExportConfiguration, _Mapping]] = ...) -> None: ...

class GetExportConfigurationResponse(_message.Message):
    __slots__ = ("configuration",)
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    configuration: ExportConfiguration
    def __init__(self, configuration: _Optional[_Union[ExportConfiguration, _Mapping]] = ...) -> None: ...

class UpdateExportConfigurationResponse(_message.Message):
    __slots__ = ("configuration",)
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    configuration: ExportConfiguration
    def __init__(self, configuration: _Optional[_Union[ExportConfiguration, _Mapping]] = ...) -> None: ...

class RunExportConfigurationResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: ExportRun
    def __init__(self, run: _Optional[_Union[ExportRun, _Mapping]] = ...) -> None: ...

class ListExportRunsRequest(_message.Message):
    __slots__ = ("scope", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ListExportRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[ExportRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[ExportRun, _Mapping]]] = ...) -> None: ...

class TestExportDestinationRequest(_message.Message):
    __slots__ = ("scope", "destination", "name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    destination: ExportDestination
    name: str
    def __init__(self, scope: _Optional[str] = ..., destination: _Optional[_Union[ExportDestination, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class TestExportDestinationResponse(_message.Message):
    __slots__ = ("probe",)
    PROBE_FIELD_NUMBER: _ClassVar[int]
    probe: str
    def __init__(self, probe: _Optional[str] = ...) -> None: ...

class ImportRequest(_message.Message):
    __slots__ = ("scope", "format", "skip_invalid", "data")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SKIP_INVALID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    scope: str
    format: ImportFormat
    skip_invalid: bool
    data: bytes
    def __init__(self, scope: _Optional[str] = ..., format: _Optional[_Union[ImportFormat, str]] = ..., skip_invalid: _Optional[bool] = ..., data: _Optional[bytes] = ...) -> None: ...

class ImportProblem(_message.Message):
    __slots__ = ("index", "line", "column", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    line: int
    column: int
    message: str
    def __init__(self, index: _Optional[int] = ..., line: _Optional[int] = ..., column: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ImportResponse(_message.Message):
    __slots__ = ("records", "imported", "skipped", "problems", "track_ids", "already_stored")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    ALREADY_STORED_FIELD_NUMBER: _ClassVar[int]
    records: int
    imported: int
    skipped: int
    problems: _containers.RepeatedCompositeFieldContainer[ImportProblem]
    track_ids: _containers.RepeatedScalarFieldContainer[str]
    already_stored: int
    def __init__(self, records: _Optional[int] = ..., imported: _Optional[int] = ..., skipped: _Optional[int] = ..., problems: _Optional[_Iterable[_Union[ImportProblem, _Mapping]]] = ..., track_ids: _Optional[_Iterable[str]] = ..., already_stored: _Optional[int] = ...) -> None: ...
