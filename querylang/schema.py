"""The event schema the compiler resolves names against.

The storage engine creates its table from the same description, so a column the compiler knows
is a column the table has. Names are the Profile Store field names and are also the SQL column
names of the relation a compiled query reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# KQL scalar types used across the compiler and the server's row formatting.
STRING = "string"
LONG = "long"
INT = "int"
REAL = "real"
BOOL = "bool"
DATETIME = "datetime"
TIMESPAN = "timespan"
DYNAMIC = "dynamic"

KQL_TYPES = (STRING, LONG, INT, REAL, BOOL, DATETIME, TIMESPAN, DYNAMIC)
# How a query may spell a type (datatable columns, `to typeof(...)`, parse columns).
TYPE_NAMES = {
    "string": STRING, "long": LONG, "int": INT, "real": REAL, "double": REAL, "bool": BOOL,
    "boolean": BOOL, "datetime": DATETIME, "date": DATETIME, "timespan": TIMESPAN,
    "time": TIMESPAN, "dynamic": DYNAMIC,
}

# The event's time, by which "newest first" orders, and its id, which breaks List's ties.
TIME_COLUMN = "EventTime"
ID_COLUMN = "TrackId"


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: str


@dataclass(frozen=True)
class PromotedKey:
    """A Payload/User property also stored as a typed column, so filters skip JSON parsing.

    `path` is the property path inside the dynamic column, e.g. ("price",) for Payload.price;
    `column` the SQL column holding it, `type` its KQL type. Answers must stay identical to
    extracting the property from the JSON.

    `order_column`, for a real key, names a BIGINT column holding a non-decreasing function of
    the value (NULL where it is NULL). A sort on the value sorts on (order column, value), the
    same order: DuckDB 1.4 pushes a top-N's running boundary into the scan, skipping row groups
    by their statistics, for integral sort keys only, not for DOUBLE. Empty when the store has
    not filled one yet.

    `generation` is the storage's business, never the compiler's: 0 when every stored row holds
    the column; otherwise only rows written since generation `generation` do, and the relation
    the compiler reads computes the others from the JSON, so the column it reads is exact.
    """

    dynamic_column: str
    path: tuple[str, ...]
    column: str
    type: str
    order_column: str = ""
    generation: int = 0


@dataclass(frozen=True)
class Schema:
    table: str
    columns: tuple[ColumnDef, ...]
    promoted: tuple[PromotedKey, ...] = field(default=())

    def column(self, name: str) -> ColumnDef | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns)


EVENTS_SCHEMA = Schema(
    table="Events",
    columns=(
        ColumnDef("TrackId", STRING),
        ColumnDef("DeviceId", STRING),
        ColumnDef("EventType", STRING),
        ColumnDef("Value", STRING),
        ColumnDef("Scope", STRING),
        ColumnDef("PageUri", STRING),
        ColumnDef("PageTitle", STRING),
        ColumnDef("RemoteAddress", STRING),
        ColumnDef("SessionId", STRING),
        ColumnDef("User", DYNAMIC),
        ColumnDef("Payload", DYNAMIC),
        ColumnDef("CountryCode", STRING),
        ColumnDef("City", STRING),
        ColumnDef("EventTime", DATETIME),
    ),
)
