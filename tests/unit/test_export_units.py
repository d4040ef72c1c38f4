"""The parts of exports and imports that need no server: the document split and its
positions, the time readers, the format matrix, the scheduler's due rule, the range of the next
run, and the sealed secrets."""
from __future__ import annotations

import datetime as dt
import stat

import pytest

from trackstore_server.errors import BadRequest, PreconditionFailed
from trackstore_server.exports import runs, scheduler
from trackstore_server.exports.formats import SUPPORTED, FileFormat
from trackstore_server.exports.secrets import SecretBox
from trackstore_server.imports.documents import split
from trackstore_server.imports.mappings import MAPPINGS, MappingError, as_time


def _shape(data: bytes):
    return [(r.index, r.line, r.column, r.value, r.problem is not None) for r in split(data)]


def test_the_accepted_shapes():
    assert _shape(b'{"a": 1}') == [(0, 1, 1, {"a": 1}, False)]
    assert _shape(b'[{"a": 1},\n {"b": "]"}]') == [(0, 1, 2, {"a": 1}, False),
                                                   (1, 2, 2, {"b": "]"}, False)]
    assert _shape(b'{"a": 1}\n\n{"b": 2}\n') == [(0, 1, 1, {"a": 1}, False),
                                                 (1, 3, 1, {"b": 2}, False)]
    assert _shape(b'{"count": 1, "items": [{"a": "\\"items\\": ["}], "next": ""}') == [
        (0, 1, 24, {"a": '"items": ['}, False)]


def test_a_malformed_record_spoils_itself_alone():
    records = split(b'[{"a": 1}, {"b": { ... }}, {"c": 3} {"d": 4}]')
    assert [r.value for r in records] == [{"a": 1}, None, None, {"d": 4}]
    assert records[1].problem.startswith("line 1, column 20: not valid JSON")
    assert records[2].problem == "line 1, column 37: expected ',' or ']' after this record"


@pytest.mark.parametrize("data, message", [
    (b"", "it is empty"), (b"  42", "line 1, column 3: expected a JSON object"),
    (b'[{"a": 1}', "the array never ends"), (b"\xff{}", "byte 0 is not UTF-8"),
])
def test_documents_without_a_shape_are_refused(data, message):
    with pytest.raises(BadRequest, match=message):
        split(data)


@pytest.mark.parametrize("value, micros", [
    (1655231253265, 1655231253265000), ("1655231253265", 1655231253265000),
    ("2017-09-15T07:16:34.7957819Z", 1505459794795781),
    ("2017-09-15T09:16:34+02:00", 1505459794000000), ("2017-09-15T07:16:34", 1505459794000000),
])
def test_times_as_the_sources_write_them(value, micros):
    assert as_time(value, "t") == micros


@pytest.mark.parametrize("value", [True, "yesterday", None, "2017-13-01T00:00:00Z"])
def test_what_is_not_a_time(value):
    with pytest.raises(MappingError, match="is not a time"):
        as_time(value, "timestamp")


def test_records_without_an_id_get_the_same_derived_one_every_time():
    goal = {"event_type": "goal", "goal_name": "buy", "event_at": 1}
    first, again = MAPPINGS["absmartly"].event(goal), MAPPINGS["absmartly"].event(dict(goal))
    assert first["TrackId"] == again["TrackId"]
    assert first["TrackId"] != MAPPINGS["absmartly"].event({**goal, "event_at": 2})["TrackId"]


def test_a_field_landing_in_payload_twice_is_refused():
    with pytest.raises(MappingError, match="'context' would land in Payload twice"):
        MAPPINGS["croct"].event({"context": {"type": "web"}, "payload": {"context": 1}})


def test_the_format_matrix():
    assert FileFormat.checked("parquet", "lz4").copy_options().startswith(
        "FORMAT parquet, COMPRESSION lz4_raw")
    assert FileFormat.checked("tsv", "gzip").extension == "tsv.gz"
    assert FileFormat.checked("ndjson", "zstd").extension == "ndjson.zst"
    refused = [(f, c) for f in SUPPORTED for c in ("none", "gzip", "zstd", "lz4")
               if c not in SUPPORTED[f]]
    assert refused == [("csv", "lz4"), ("tsv", "lz4"), ("ndjson", "lz4")]
    with pytest.raises(BadRequest, match="format must be one of"):
        FileFormat.checked("xml", "none")


def _run(state, start, end, began, ended=None):
    return runs.Run("s", "n", f"run-{began}", state, start, end, 0, 0, (), "", began, ended, "me")


T = dt.datetime(2024, 5, 15, 10, 30)  # a Wednesday


def test_periods_start_at_the_hour_the_day_monday_and_the_first():
    assert [scheduler.period_start(s, T) for s in ("hourly", "daily", "weekly", "monthly")] == [
        dt.datetime(2024, 5, 15, 10), dt.datetime(2024, 5, 15), dt.datetime(2024, 5, 13),
        dt.datetime(2024, 5, 1)]


def test_due_once_per_period_retried_after_a_failure():
    class Config:
        schedule, start_at = "daily", dt.datetime(2024, 1, 1)

    def due(history, now=T):
        return scheduler.is_due(Config, history, now, lag_seconds=300, retry_seconds=60)

    assert due([])
    today = _run("succeeded", T, T, dt.datetime(2024, 5, 15, 0, 5))
    assert not due([today])
    assert due([today], now=T + dt.timedelta(days=1))
    failed = _run("failed", T, T, T, ended=T)
    assert not due([failed, today]) and due([failed, today], now=T + dt.timedelta(seconds=61))
    Config.schedule = "once"
    assert not due([today]) and due([failed], now=T + dt.timedelta(seconds=61))
    Config.start_at = T  # nothing to export until start_at is older than the lag
    assert not due([])


def test_the_next_range_follows_the_mark_or_retries_a_failure():
    class Config:
        start_at = dt.datetime(2024, 1, 1)

    assert runs.next_range(Config, [], T, 300) == (Config.start_at, T - dt.timedelta(minutes=5))
    done = _run("succeeded", Config.start_at, dt.datetime(2024, 5, 1), T)
    assert runs.next_range(Config, [done], T, 0) == (dt.datetime(2024, 5, 1), T)
    failed = _run("failed", dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 2), T)
    assert runs.next_range(Config, [failed, done], T, 0) == (failed.range_start,
                                                              failed.range_end)
    assert runs.next_range(Config, [done], dt.datetime(2024, 4, 1), 0)[1] == done.range_end


def test_secrets_are_sealed_under_a_private_key_file(tmp_path):
    box = SecretBox(str(tmp_path / "keys" / "secrets.key"))
    sealed = box.seal("s3cr3t")
    assert b"s3cr3t" not in sealed and box.open(sealed) == "s3cr3t"
    assert stat.S_IMODE((tmp_path / "keys" / "secrets.key").stat().st_mode) == 0o600
    assert SecretBox(str(tmp_path / "keys" / "secrets.key")).open(sealed) == "s3cr3t"
    with pytest.raises(PreconditionFailed, match="cannot be decrypted with the key file"):
        SecretBox(str(tmp_path / "other.key")).open(sealed)
