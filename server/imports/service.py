"""An import: the document's records mapped to events and stored the way TrackStream stores
batches, all or (with skip_invalid) the valid ones.

Every record is read and mapped before anything is stored, so without skip_invalid one
malformed record imports nothing. Events keep their sources' ids (or a derived one,
mappings.py) as client TrackIds, which the writer does not store twice (a retried batch, a
second import of the same file: writer.Writer._without_stored).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import orjson
import pyarrow as pa
from google.protobuf import timestamp_pb2

from trackstore.v1 import trackevents_pb2 as track_pb

from ..errors import BadRequest, FieldViolation
from ..event_batch import normalize_scope
from ..event_schema import proto_name
from ..lake import EVENTS_TABLE, scalar
from ..limits import MAX_EVENTS_PER_BATCH, MAX_TRACK_ID_LENGTH
from .documents import Record, split
from .mappings import MAPPINGS, MappingError

# Timestamps the contract can carry: years 1 to 9999.
_MIN_US, _MAX_US = -62_135_596_800_000_000, 253_402_300_799_999_999
# Problems a refusal lists in its message (all of them are field violations).
SHOWN_PROBLEMS = 5


@dataclass
class ImportOutcome:
    records: int = 0
    problems: list[Record] = field(default_factory=list)
    track_ids: list[str] = field(default_factory=list)
    already_stored: int = 0  # valid records whose TrackId the scope held before

    @property
    def imported(self) -> int:
        return len(set(self.track_ids)) - self.already_stored


def _event_message(event: dict) -> track_pb.TrackEvent:
    message = track_pb.TrackEvent()
    for column, value in event.items():
        if value is None:
            continue
        if column in ("User", "Payload"):
            setattr(message, f"{column.lower()}_json", orjson.dumps(value).decode())
        elif column == "EventTime":
            if not _MIN_US <= value <= _MAX_US:
                raise MappingError("EventTime is outside years 1 to 9999")
            seconds, micros = divmod(value, 1_000_000)
            message.event_time.CopyFrom(timestamp_pb2.Timestamp(seconds=seconds,
                                                                nanos=micros * 1000))
        else:
            setattr(message, proto_name(column), value)
    if len(message.track_id) > MAX_TRACK_ID_LENGTH:
        raise MappingError(f"the id is longer than {MAX_TRACK_ID_LENGTH} characters")
    return message


def _mapped(mapping, record: Record, scope: str) -> track_pb.TrackEvent:
    event = mapping.event(record.value)
    source_scope = event.pop("Scope", None)
    if source_scope not in (None, "", scope):
        raise MappingError(f"Scope {source_scope!r} is not the import's scope {scope!r}")
    return _event_message(event)


def read(format_name: str, scope: str, data: bytes) -> tuple[ImportOutcome, list]:
    """The outcome so far (records, problems) and the events of the valid records."""
    mapping = MAPPINGS[format_name]
    outcome = ImportOutcome()
    events = []
    for record in split(data):
        outcome.records += 1
        if record.problem is None:
            try:
                events.append(_mapped(mapping, record, scope))
                continue
            except MappingError as error:
                record = replace(record, problem=f"line {record.line}, column "
                                                 f"{record.column}: {error}")
        outcome.problems.append(record)
    return outcome, events


def refusal(outcome: ImportOutcome) -> BadRequest:
    problems = outcome.problems
    shown = "; ".join(f"record {p.index}: {p.problem}" for p in problems[:SHOWN_PROBLEMS])
    more = f"; and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
    return BadRequest(
        f"{len(problems)} of {outcome.records} records cannot be imported, so none was "
        f"(skip_invalid imports the others): {shown}{more}",
        [FieldViolation(f"records[{p.index}]", p.problem) for p in problems],
        reason="IMPORT_RECORDS_INVALID")


def _stored(cursor, scope: str, ids: pa.Table) -> int:
    """How many of `ids` the scope holds (on the lake thread, after a flush: all of them)."""
    cursor.register("import_ids", ids)
    try:
        return scalar(cursor, f'SELECT count(DISTINCT "TrackId") FROM {EVENTS_TABLE} '
                              f'SEMI JOIN import_ids USING ("TrackId") WHERE "Scope" = ?', [scope])
    finally:
        cursor.unregister("import_ids")


def import_document(engine, scope: str, format_name: str, skip_invalid: bool,
                    data: bytes) -> ImportOutcome:
    scope = normalize_scope(scope)
    outcome, events = read(format_name, scope, data)
    if outcome.problems and not skip_invalid:
        raise refusal(outcome)
    ids = pa.table({"TrackId": list({e.track_id for e in events})})
    outcome.already_stored = engine.on_lake_thread(lambda cursor: _stored(cursor, scope, ids),
                                                  rewrites=False)
    futures = [engine.submit(engine.prepare(scope, events[start:start + MAX_EVENTS_PER_BATCH]))
               for start in range(0, len(events), MAX_EVENTS_PER_BATCH)]
    for future in futures:
        outcome.track_ids.extend(engine.stored(future))
    return outcome
