"""Scheduled file exports through the real server: runs write disjoint files that cover every
event once; every format and compression written to moto's S3 server and read back; refused
combinations; the destination test naming what fails; secrets never answered nor logged; a
failed run retried over the same range; the scheduler running a due configuration."""
from __future__ import annotations

import gzip
import io
import json
import os
import stat
import time

import grpc
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

from trackstore.v1 import export_pb2 as pb
from trackstore_client import TrackstoreError
from export_support import Calls
from helpers import error_reason, event

START_2020 = 1577836800000  # 2020-01-01T00:00:00Z
FORMATS = {"csv": pb.EXPORT_FORMAT_CSV, "tsv": pb.EXPORT_FORMAT_TSV,
           "ndjson": pb.EXPORT_FORMAT_NDJSON, "parquet": pb.EXPORT_FORMAT_PARQUET}
CODECS = {"none": pb.EXPORT_COMPRESSION_NONE, "gzip": pb.EXPORT_COMPRESSION_GZIP,
          "zstd": pb.EXPORT_COMPRESSION_ZSTD, "lz4": pb.EXPORT_COMPRESSION_LZ4}
WORKING = [(f, c) for f in FORMATS for c in CODECS if c != "lz4" or f == "parquet"]


def _local(path: str) -> pb.ExportDestination:
    return pb.ExportDestination(local=pb.LocalDirectory(path=path))


def _s3(s3, bucket=None, key_id=None, secret=None, endpoint=None, prefix="out/") -> pb.ExportDestination:
    return pb.ExportDestination(s3=pb.S3Bucket(
        bucket=bucket or s3.bucket, prefix=prefix, access_key_id=key_id or s3.key_id,
        secret_access_key=secret or s3.secret, endpoint=endpoint or s3.endpoint,
        disable_ssl=True))


def _decompressed(data: bytes, codec: str) -> bytes:
    """A text file's bytes, decompressed by pyarrow's codec streams (gzip, zstd)."""
    if codec == "none":
        return data
    return pa.input_stream(pa.BufferReader(data), compression=codec).read()


def _read_back(data: bytes, file_format: str, codec: str):
    """The file as a pyarrow table."""
    if file_format == "parquet":
        return pq.read_table(io.BytesIO(data))
    text = _decompressed(data, codec)
    if file_format == "ndjson":
        return pa_json.read_json(io.BytesIO(text))
    delimiter = "\t" if file_format == "tsv" else ","
    return pa_csv.read_csv(io.BytesIO(text), parse_options=pa_csv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True))


def test_a_daily_export_run_twice_writes_disjoint_files_covering_every_event_once(
        start_server, tmp_path):
    server = start_server("--export-safety-lag-seconds", "0", "--export-poll-seconds", "0",
                          "--export-local-root", str(tmp_path / "exports"))
    calls = Calls(server)
    with server.client() as client:
        first = client.track("default", [event(i, EventTime=None) for i in range(300)])
        calls.create(name="daily", schedule=pb.EXPORT_SCHEDULE_DAILY, start_at=START_2020,
                     format=pb.EXPORT_FORMAT_PARQUET, compression=pb.EXPORT_COMPRESSION_ZSTD,
                     destination=_local("daily"))
        one = calls.run("daily")
        time.sleep(0.01)
        second = client.track("default", [event(i, EventTime=None) for i in range(200)])
        two = calls.run("daily")
    assert (one.state, two.state) == (pb.EXPORT_RUN_STATE_SUCCEEDED,) * 2
    assert (one.rows, two.rows) == (300, 200)
    assert two.range_start == one.range_end and one.files != two.files
    read = [pq.read_table(path).column("TrackId").to_pylist() for path in [*one.files, *two.files]]
    assert sorted(read[0] + read[1]) == sorted(first + second)
    assert set(read[0]) == set(first)
    assert one.bytes == os.path.getsize(one.files[0])
    runs = calls(calls.exports.ListExportRuns, pb.ListExportRunsRequest(name="daily")).runs
    assert [r.run_id for r in runs] == [two.run_id, one.run_id]
    got = calls(calls.exports.GetExportConfiguration,
                pb.GetExportConfigurationRequest(name="daily")).configuration
    assert got.exported_until == two.range_end


def test_every_format_and_compression_to_s3_reads_back(start_server, s3_with_keys, tmp_path):
    server = start_server("--export-safety-lag-seconds", "0", "--export-poll-seconds", "0")
    calls = Calls(server)
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(50)])
    s3 = s3_with_keys.client()
    for file_format, codec in WORKING:
        name = f"{file_format}-{codec}"
        calls.create(name=name, schedule=pb.EXPORT_SCHEDULE_ONCE, start_at=START_2020,
                     format=FORMATS[file_format], compression=CODECS[codec],
                     destination=_s3(s3_with_keys, prefix=f"all/{name}/"))
        run = calls.run(name)
        assert run.state == pb.EXPORT_RUN_STATE_SUCCEEDED, (name, run.error)
        key = run.files[0].removeprefix(f"s3://{s3_with_keys.bucket}/")
        data = s3.get_object(Bucket=s3_with_keys.bucket, Key=key)["Body"].read()
        assert run.bytes == len(data), name
        table = _read_back(data, file_format, codec)
        assert sorted(table.column("TrackId").to_pylist()) == sorted(ids), name
        row = table.slice(table.column("TrackId").to_pylist().index(ids[3]), 1).to_pylist()[0]
        payload = row["Payload"] if isinstance(row["Payload"], dict) else json.loads(row["Payload"])
        assert payload == {"price": 4.5, "sku": "sku-3", "nested": {"n": 3}}, name
        assert str(row["EventTime"]).startswith("2020-01-04"), name
        if file_format == "parquet":
            codecs = {pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0).compression}
            assert codecs == {{"none": "UNCOMPRESSED", "gzip": "GZIP", "zstd": "ZSTD",
                               "lz4": "LZ4"}[codec]}, name


@pytest.mark.parametrize("file_format", ["csv", "tsv", "ndjson"])
def test_lz4_text_files_are_refused_naming_what_works(start_server, file_format):
    calls = Calls(start_server())
    with pytest.raises(TrackstoreError) as refused:
        calls.create(name="x", schedule=pb.EXPORT_SCHEDULE_ONCE, start_at=START_2020,
                     format=FORMATS[file_format], compression=pb.EXPORT_COMPRESSION_LZ4,
                     destination=_local("x"))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (f"{file_format} files cannot be compressed with lz4; the combinations that work "
            f"are csv: none, gzip, zstd; tsv: none, gzip, zstd; ndjson: none, gzip, zstd; "
            f"parquet: none, gzip, zstd, lz4") in refused.value.message


def _probe_failure(calls, destination) -> TrackstoreError:
    with pytest.raises(TrackstoreError) as refused:
        calls(calls.exports.TestExportDestination,
              pb.TestExportDestinationRequest(destination=destination))
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    return refused.value


def test_the_destination_test_names_what_fails(start_server, s3_with_keys, tmp_path):
    calls = Calls(start_server())
    answer = calls(calls.exports.TestExportDestination,
                   pb.TestExportDestinationRequest(destination=_s3(s3_with_keys)))
    assert answer.probe.startswith(f"s3://{s3_with_keys.bucket}/out/.trackstore-probe-")
    listed = s3_with_keys.client().list_objects_v2(Bucket=s3_with_keys.bucket)
    assert listed.get("KeyCount", 0) == 0, "the probe is removed"
    wrong_key = _probe_failure(calls, _s3(s3_with_keys, key_id="AKIAWRONGKEY00000000"))
    assert error_reason(wrong_key) == "ACCESS_KEY_UNKNOWN"
    assert "access key id 'AKIAWRONGKEY00000000' is not known to" in wrong_key.message
    wrong_secret = _probe_failure(calls, _s3(s3_with_keys, secret="not-the-secret"))
    assert error_reason(wrong_secret) == "SECRET_KEY_WRONG"
    missing = _probe_failure(calls, _s3(s3_with_keys, bucket="no-such-bucket"))
    assert error_reason(missing) == "BUCKET_NOT_FOUND"
    assert "bucket 'no-such-bucket' does not exist" in missing.message
    unreachable = _probe_failure(calls, _s3(s3_with_keys, endpoint="127.0.0.1:9"))
    assert error_reason(unreachable) == "DESTINATION_UNREACHABLE"
    assert "cannot reach the S3 endpoint 127.0.0.1:9" in unreachable.message
    with pytest.raises(TrackstoreError) as outside:
        calls(calls.exports.TestExportDestination,
              pb.TestExportDestinationRequest(destination=_local("../elsewhere")))
    assert outside.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_secrets_are_sealed_never_answered_nor_logged(start_server, s3_with_keys, tmp_path):
    server = start_server("--export-safety-lag-seconds", "0", "--export-poll-seconds", "0")
    calls = Calls(server)
    created = calls.create(name="s3", schedule=pb.EXPORT_SCHEDULE_HOURLY, start_at=START_2020,
                           format=pb.EXPORT_FORMAT_NDJSON, destination=_s3(s3_with_keys))
    listed = calls(calls.exports.ListExportConfigurations,
                   pb.ListExportConfigurationsRequest()).configurations
    for answer in (created, listed[0]):
        assert answer.destination.s3.secret_access_key == ""
        assert answer.destination.s3.secret_access_key_set
    # A change of another field keeps the secret: the run can still write.
    updated = calls(calls.exports.UpdateExportConfiguration, pb.UpdateExportConfigurationRequest(
        configuration=pb.ExportConfiguration(name="s3", compression=pb.EXPORT_COMPRESSION_GZIP),
        update_mask={"paths": ["compression"]})).configuration
    assert updated.compression == pb.EXPORT_COMPRESSION_GZIP
    with server.client() as client:
        client.track("default", [event(1)])
    assert calls.run("s3").state == pb.EXPORT_RUN_STATE_SUCCEEDED
    server.stop()
    key_file = tmp_path / "data" / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = s3_with_keys.secret.encode()
    assert secret not in (tmp_path / "data" / "catalog.ducklake").read_bytes()
    assert secret.decode() not in server.log()


def test_a_failed_run_is_retried_over_the_same_range(start_server, s3_with_keys):
    server = start_server("--export-safety-lag-seconds", "0", "--export-poll-seconds", "0")
    calls = Calls(server)
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(20)])
        calls.create(name="late-bucket", schedule=pb.EXPORT_SCHEDULE_HOURLY, start_at=START_2020,
                     format=pb.EXPORT_FORMAT_CSV, destination=_s3(s3_with_keys, bucket="later"))
        failed = calls.run("late-bucket")
        assert failed.state == pb.EXPORT_RUN_STATE_FAILED and failed.error
        client.track("default", [event(i, EventTime=None) for i in range(5)])  # after the range
        s3_with_keys.client().create_bucket(Bucket="later")
        retried = calls.run("late-bucket")
    assert retried.state == pb.EXPORT_RUN_STATE_SUCCEEDED
    assert (retried.range_start, retried.range_end) == (failed.range_start, failed.range_end)
    assert retried.rows == len(ids)
    assert s3_with_keys.secret not in failed.error
    assert s3_with_keys.secret not in server.log()


def test_the_scheduler_runs_a_due_configuration_by_itself(start_server, tmp_path):
    server = start_server("--export-safety-lag-seconds", "0", "--export-poll-seconds", "0.3",
                          "--export-local-root", str(tmp_path / "exports"))
    calls = Calls(server)
    with server.client() as client:
        client.track("default", [event(i) for i in range(7)])
    calls.create(name="once", schedule=pb.EXPORT_SCHEDULE_ONCE, start_at=START_2020,
                 format=pb.EXPORT_FORMAT_CSV, compression=pb.EXPORT_COMPRESSION_GZIP,
                 destination=_local("sched"))
    deadline = time.monotonic() + 30
    runs = []
    while time.monotonic() < deadline and not runs:
        runs = calls(calls.exports.ListExportRuns, pb.ListExportRunsRequest(name="once")).runs
        runs = [r for r in runs if r.state == pb.EXPORT_RUN_STATE_SUCCEEDED]
        time.sleep(0.2)
    assert [r.rows for r in runs] == [7]
    time.sleep(1)  # a `once` configuration runs once
    assert len(calls(calls.exports.ListExportRuns, pb.ListExportRunsRequest(name="once")).runs) == 1
    assert runs[0].files[0].endswith(".csv.gz")
    assert gzip.decompress(open(runs[0].files[0], "rb").read()).startswith(b"TrackId,DeviceId,")
