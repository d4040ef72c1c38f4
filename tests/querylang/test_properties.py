"""Property tests: random and mutated queries never make the compiler raise anything but
QueryError, and whatever compiles runs in DuckDB."""
from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from querylang import QueryError, compile, compile_list
from querylang.functions import SQL_TYPES

from ql_data import NOW, make_connection

SEEDS = [
    "Events\n| where EventTime between (todatetime('2019-01-01') .. endofday(now()))\n"
    "    and EventType == 'pageview'\n    and User.Email != ''\n| take 2",
    "Events | where City =~ 'berlin' or Payload.price > 100 | sort by EventTime asc | take 3",
    "let since = ago(7d); Events | where EventTime > since | summarize count() by EventType",
    "Events | summarize n = count(), dcount(SessionId) by bin(EventTime, 1d) | top 3 by n",
    "Events | extend p = todouble(Payload.price) * 2 | project TrackId, p, City | where p > 10",
    "Events | where PageUri has 'shop' and PageTitle !contains 'x' | distinct City",
    "Events | where Value in ('5', '12') | project-away User | project-rename C = City",
    "Events | summarize arg_max(EventTime, *) by SessionId | count",
    "Events | where Payload['content-id'] == 'c1' and Payload.a.b[0] == 10 | take 1",
    "Events | extend d = dynamic({\"a\": [1, 2]}), s = strcat(City, '-', 1) | order by s",
    "Events | where iff(isempty(City), 'x', City) == 'x' and datetime_diff('day', now(), "
    "EventTime) > 3",
    "Events | join kind=leftanti (Events | where EventType == 'purchase') on DeviceId | take 3",
    "datatable(a:long, b:string)[1, 'x', 2, 'y'] | union (print a = 3) | summarize count() by b",
    "Events | mv-expand t = Payload.tags to typeof(string) | parse PageUri with * 'id=' id:long",
    "range x from 1 to 5 step 2 | extend y = x % 2, z = strcmp(tostring(x), '3')",
    "Events | summarize percentiles(Payload.price, 50, 95), make_bag(Payload) by SessionId",
]
TOKENS = ["Events", "|", "where", "take", "sort by", "summarize", "by", "project", "extend",
          "join", "kind=leftanti", "on", "union", "mv-expand", "parse", "with", "datatable",
          "print", "range", "from", "to", "step", "$left.", "$right.",
          "count()", "(", ")", "[", "]", ".", "..", ",", ";", "==", "!=", "=~", "has", "!in",
          "in~", "between", "and", "or", "not(", "'x'", '"y"', "@'z'", "1", "2.5", "1d", "10ms",
          "datetime(2020-01-01)", "time(1:00:00)", "dynamic([1])", "City", "User.Email",
          "Payload.price", "EventTime", "now()", "ago(1h)", "bin(EventTime, 1h)", "let x =",
          "x", "//c\n", "\n", " ", "*", "-", "+", "/", "%", "asc", "desc", "nulls first",
          "top", "distinct", "project-away", "arg_max(EventTime, *)", "tostring(", "iff(",
          "'", '"', "\\", "@", "=", "{", "}", ":", "h'q'"]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "token", "swap"]))
        if kind == "delete":
            end = min(len(text), pos + draw(st.integers(1, 8)))
            text = text[:pos] + text[end:]
        elif kind == "insert":
            text = text[:pos] + draw(st.text(max_size=4)) + text[pos:]
        elif kind == "token":
            text = text[:pos] + " " + draw(st.sampled_from(TOKENS)) + " " + text[pos:]
        else:
            other = draw(st.sampled_from(SEEDS))
            cut = draw(st.integers(0, len(other)))
            text = text[:pos] + other[cut:]
    return text


token_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)

_CON: list = []


def _run(compiled) -> None:
    if not _CON:
        _CON.append(make_connection())
    try:
        cur = _CON[0].execute(compiled.sql, compiled.params)
        cur.fetchall()
    except (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException) \
            as e:
        # data-dependent failures (a cast or an arithmetic overflow, a bad regex) are allowed
        assert not isinstance(e, duckdb.InvalidInputException) or "regex" in str(e).lower() or \
            "Parameter" not in str(e), str(e)
        return
    declared = [SQL_TYPES[c.type] for c in compiled.columns]
    assert [str(d[1]) for d in cur.description] == declared, compiled.sql


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(mutated(), token_soup, st.text(max_size=60)))
def test_compile_raises_only_query_error_and_compiled_sql_runs(text):
    try:
        compiled = compile(text, now=NOW, source_sql="events")
    except QueryError as e:
        assert e.line >= 1 and e.column >= 1 and e.message
        assert str(e).startswith(f"line {e.line}, column {e.column}: ")
        e.render()
        return
    _run(compiled)


odata_tokens = ["City", "User/Email", "Payload.price", "eq", "NE", "gt", "and", "OR", "not",
                "in", "(", ")", ",", "'x'", "''", "5", "-1.5", "null", "true", "2020-01-01T00:00Z",
                "contains(", "startswith(", "endswith(", "asc", "desc", "/", "'"]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(odata_tokens), max_size=12).map(" ".join),
       st.lists(st.sampled_from(odata_tokens), max_size=5).map(" ".join))
def test_compile_list_raises_only_query_error(filter, orderby):
    try:
        compiled = compile_list(filter, orderby, skip=0, top=5, source_sql="events")
    except QueryError as e:
        assert e.line >= 1 and e.column >= 1 and e.message
        return
    _run(compiled)


def test_seeds_compile_and_run():
    for seed in SEEDS:
        _run(compile(seed, now=NOW, source_sql="events"))


def test_querylang_imports_no_driver_or_server_code():
    import subprocess
    import sys

    code = ("import sys, querylang\n"
            "querylang.compile('Events | take 1'); querylang.compile_list('', '', skip=0, top=1)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('duckdb', 'grpc', 'server', 'trackstore_server', 'trackstore', 'pyarrow', "
            "'google', 'sqlite3', 'psycopg'))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---------------------------------------------------------------- random well-formed queries
from querylang.functions import REGISTRY  # noqa: E402

ATOMS = ["City", "Value", "EventTime", "Payload.price", "User.Email", "Payload.tags",
         "Payload['content-id']", "Payload.a.b[0]", "User", "1", "0", "-3", "2.5", "'x'", "''",
         "true", "1h", "7d", "datetime(2020-01-01)", "now()", "dynamic([1,'a'])",
         "dynamic(null)", "long(null)", "'day'", "'yyyy-MM-dd'", "@'(\\d+)'", "50"]
BINOPS = ["==", "!=", "<", "<=", ">", ">=", "=~", "!~", "has", "!has", "contains", "!contains",
          "startswith", "endswith_cs", "hasprefix", "+", "-", "*", "/", "%", "and", "or",
          "in", "!in", "in~", "between", "matches regex"]
SCALAR_FUNCS = sorted(n for n, f in REGISTRY.items() if not f.aggregate)
AGG_FUNCS = sorted(n for n, f in REGISTRY.items() if f.aggregate)


def _expr():
    def extend(children):
        call = st.builds(lambda n, args: f"{n}({', '.join(args)})", st.sampled_from(SCALAR_FUNCS),
                         st.lists(children, max_size=4))
        binary = st.builds(
            lambda a, op, b: (f"{a} {op} ({b})" if op in ("in", "!in", "in~") else
                              f"{a} between ({a} .. {b})" if op == "between" else
                              f"({a} {op} {b})"),
            children, st.sampled_from(BINOPS), children)
        return st.one_of(call, binary, children.map(lambda c: f"not({c})"))
    return st.recursive(st.sampled_from(ATOMS), extend, max_leaves=6)


@st.composite
def pipelines(draw):
    parts = ["Events"]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["where", "extend", "project", "summarize", "sort", "top",
                                     "take", "count", "distinct"]))
        e = draw(_expr())
        if kind in ("where", "sort", "take"):
            parts.append(f"{'sort by' if kind == 'sort' else kind} {e}")
        elif kind in ("extend", "project"):
            parts.append(f"{kind} a1 = {e}, City")
        elif kind == "summarize":
            agg = draw(st.sampled_from(AGG_FUNCS))
            parts.append(f"summarize {agg}({e}) by k = {draw(_expr())}")
        elif kind == "top":
            parts.append(f"top 3 by {e}")
        else:
            parts.append(kind + (" City" if kind == "distinct" else ""))
    return " | ".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(pipelines())
def test_random_pipelines_compile_to_sql_that_runs(text):
    try:
        compiled = compile(text, now=NOW, source_sql="events")
    except QueryError:
        return
    _run(compiled)


# ---------------------------------------------------------------- random well-typed expressions
TYPED_ATOMS = {
    "string": ["City", "Value", "'x'", "''", "tostring(Payload.name)", "PageTitle"],
    "long": ["1", "-3", "strlen(City)", "tolong(Value)", "0"],
    "int": ["toint(Value)", "getmonth(EventTime)", "int(2)"],
    "real": ["2.5", "todouble(Value)", "todouble(Payload.price)", "-0.5"],
    "bool": ["true", "false", "isempty(City)", "Payload.flag == true"],
    "datetime": ["EventTime", "now()", "datetime(2020-01-01)", "ago(1d)", "datetime(null)"],
    "timespan": ["1h", "7d", "now() - EventTime", "time(null)", "10ms"],
    "dynamic": ["Payload", "User.Email", "Payload.tags", "dynamic([1, 2])", "Payload.price",
                "dynamic(null)"],
}
SIMPLE_FUNCS = [f for f in REGISTRY.values()
                if not f.aggregate and isinstance(f.returns, str)
                and all(not a.startswith("const") for a in f.args)]


def _compare(a, op, b):
    if op in ("in", "!in"):
        return f"({a} {op} ({b}, {a}))"
    if op.endswith("between"):
        return f"({a} {op} ({b} .. {b}))"
    return f"({a} {op} {b})"


def typed(t, depth):
    atoms = st.sampled_from(TYPED_ATOMS[t])
    if depth <= 0:
        return atoms
    options = [atoms]
    funcs = [f for f in SIMPLE_FUNCS if f.returns == t]
    if funcs:
        @st.composite
        def call(draw):
            f = draw(st.sampled_from(funcs))
            args = []
            for spec in f.args:
                if spec.endswith("?") and draw(st.booleans()):
                    break
                kinds = [k for k in spec.rstrip("?*").split("|")]
                kinds = ["long" if k == "number" else "string" if k == "any" else k
                         for k in kinds]
                args.append(draw(typed(draw(st.sampled_from(kinds)), depth - 1)))
            return f"{f.name}({', '.join(args)})"
        options.append(call())
    if t in ("long", "real"):
        options.append(st.builds(lambda a, op, b: f"({a} {op} {b})", typed(t, depth - 1),
                                 st.sampled_from(["+", "-", "*", "/", "%"]),
                                 typed(t, depth - 1)))
    if t == "bool":
        other = st.sampled_from(["string", "long", "real", "datetime", "timespan", "dynamic"])
        options.append(other.flatmap(lambda o: st.builds(
            _compare, typed(o, depth - 1),
            st.sampled_from(["==", "!=", "<", ">=", "=~", "has", "!contains", "in", "!in",
                             "between", "!between"]),
            typed(o, depth - 1))))
    if t == "datetime":
        options.append(st.builds(lambda a, b: f"({a} + {b})", typed("datetime", depth - 1),
                                 typed("timespan", depth - 1)))
    return st.one_of(options)


@st.composite
def typed_pipelines(draw):
    types = list(TYPED_ATOMS)
    t = draw(st.sampled_from(types))
    e = draw(typed(t, 2))
    p = draw(typed("bool", 2))
    agg = draw(st.sampled_from(["count()", f"dcount({e})", f"take_any({e})", f"make_list({e})",
                                "sum(toint(Value))", "avg(todouble(Payload.price))"]))
    shape = draw(st.sampled_from([
        f"Events | where {p} | extend x = {e} | sort by x | take 3",
        f"Events | extend x = {e} | summarize {agg} by k = x | top 2 by k",
        f"Events | project y = {e}, z = {p} | distinct y, z",
        f"Events | where {p} | summarize n = {agg}",
    ]))
    return shape


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(typed_pipelines())
def test_random_typed_queries_compile_to_sql_that_runs_with_the_declared_types(text):
    try:
        compiled = compile(text, now=NOW, source_sql="events")
    except QueryError:
        return
    _run(compiled)


# ---------------------------------------------------------------- a resolved query always generates
from querylang import parse_kql  # noqa: E402
from querylang.resolve import resolve  # noqa: E402
from querylang.schema import EVENTS_SCHEMA  # noqa: E402
from querylang.sqlgen import generate  # noqa: E402

from ql_data import promoted_schema  # noqa: E402

SCHEMAS = st.sampled_from([EVENTS_SCHEMA, promoted_schema(order_column=True)])


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(pipelines(), typed_pipelines(), mutated(), token_soup), SCHEMAS)
def test_sql_generation_never_fails_for_what_the_resolver_accepts(text, schema):
    try:
        resolved = resolve(parse_kql.parse(text), schema)
    except QueryError:
        return
    generate(resolved, source_sql="events", now=NOW)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(odata_tokens), max_size=12).map(" ".join),
       st.lists(st.sampled_from(odata_tokens), max_size=5).map(" ".join), SCHEMAS)
def test_list_errors_name_their_input_and_draw_it(filter, orderby, schema):
    try:
        compile_list(filter, orderby, skip=0, top=5, schema=schema, source_sql="events")
    except QueryError as e:
        assert e.input in ("filter", "orderby")
        assert e.render().split("\n")[1] == (filter if e.input == "filter" else orderby)
