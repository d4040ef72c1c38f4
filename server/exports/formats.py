"""The file formats and compressions of scheduled exports, as DuckDB's COPY writes them.

CSV and TSV carry a header row, NDJSON one event object a line (User and Payload as objects),
Parquet typed columns (EventTime a TIMESTAMP in UTC, User and Payload JSON text in strings).
In the text formats EventTime is RFC 3339 text in UTC, as the API answers it. DuckDB 1.4 compresses text
files with gzip or zstd but has no lz4 for them (only as a Parquet codec), so lz4 text files are
refused when a configuration is made, with the combinations that work.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import BadRequest, FieldViolation

FORMATS = ("csv", "tsv", "ndjson", "parquet")
COMPRESSIONS = ("none", "gzip", "zstd", "lz4")
# format -> the compressions it can be written with
SUPPORTED = {
    "csv": ("none", "gzip", "zstd"),
    "tsv": ("none", "gzip", "zstd"),
    "ndjson": ("none", "gzip", "zstd"),
    "parquet": ("none", "gzip", "zstd", "lz4"),
}
_EXTENSIONS = {"csv": "csv", "tsv": "tsv", "ndjson": "ndjson", "parquet": "parquet"}
_SUFFIXES = {"none": "", "gzip": ".gz", "zstd": ".zst"}
# LZ4_RAW is the Parquet format's lz4 codec; the older LZ4 framing is deprecated by it.
_PARQUET_CODECS = {"none": "uncompressed", "gzip": "gzip", "zstd": "zstd", "lz4": "lz4_raw"}
_RFC3339 = "strftime(\"EventTime\", '%Y-%m-%dT%H:%M:%S.%fZ') AS \"EventTime\""


@dataclass(frozen=True)
class FileFormat:
    format: str
    compression: str

    @classmethod
    def checked(cls, format: str, compression: str) -> "FileFormat":
        """BadRequest for a format, compression or combination that cannot be written."""
        if format not in FORMATS:
            raise _refusal("format", f"must be one of {', '.join(FORMATS)}")
        if compression not in COMPRESSIONS:
            raise _refusal("compression", f"must be one of {', '.join(COMPRESSIONS)}")
        if compression not in SUPPORTED[format]:
            working = "; ".join(f"{name}: {', '.join(codecs)}"
                                for name, codecs in SUPPORTED.items())
            raise _refusal("compression", f"{format} files cannot be compressed with "
                                          f"{compression}; the combinations that work are "
                                          f"{working}")
        return cls(format, compression)

    @property
    def extension(self) -> str:
        """The file name's ending, e.g. "csv.gz" (Parquet's codec is inside the file)."""
        base = _EXTENSIONS[self.format]
        return base if self.format == "parquet" else base + _SUFFIXES[self.compression]

    def copy_options(self) -> str:
        """The COPY options (fixed text: every value comes from the tables above)."""
        if self.format == "parquet":
            codec = _PARQUET_CODECS[self.compression]
            # zstd at level 1: a tenth less CPU than the default level 3 for a few percent
            # more bytes (bench/NOTES.md#export).
            level = ", COMPRESSION_LEVEL 1" if self.compression == "zstd" else ""
            return f"FORMAT parquet, COMPRESSION {codec}{level}, ROW_GROUP_SIZE 122880"
        codec = f", COMPRESSION {self.compression}"
        if self.format == "ndjson":
            return f"FORMAT json{codec}"
        delimiter = "\\t" if self.format == "tsv" else ","
        return f"FORMAT csv, HEADER true, DELIMITER E'{delimiter}'{codec}"

    def select_list(self, columns: tuple[str, ...]) -> str:
        """The columns as written: User and Payload as JSON objects in NDJSON (as text
        elsewhere: a JSON cast would parse every one), EventTime as text in text formats."""
        out = []
        for name in columns:
            if name in ("User", "Payload") and self.format == "ndjson":
                out.append(f'"{name}"::JSON AS "{name}"')
            elif name == "EventTime" and self.format != "parquet":
                out.append(_RFC3339)
            else:
                out.append(f'"{name}"')
        return ", ".join(out)


def _refusal(field: str, description: str) -> BadRequest:
    return BadRequest(f"{field} {description}", [FieldViolation(field, description)])
