"""Each stage usable alone; values stay out of SQL text; promoted Payload keys; thread safety."""
from __future__ import annotations

import ast as pyast
import inspect
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ql_data import NOW, promoted_connection, promoted_schema

from querylang import QueryError, compile, compile_list
from querylang import ast, functions, parse_kql, parse_odata, sqlgen
from querylang.resolve import Resolver, resolve
from querylang.schema import EVENTS_SCHEMA
from querylang.sqlgen import generate, json_path, quote_ident


def test_parse_alone_gives_the_ast():
    q = parse_kql.parse("Events | where City == 'Oslo' | take 3")
    assert q.source == ast.TableRef("Events")
    where, take = q.operators
    assert isinstance(where, ast.Where) and isinstance(take, ast.Take)
    assert where.predicate == ast.Binary("==", ast.Name("City"), ast.Literal("Oslo",
                                                                            type="string"))
    assert where.predicate.span.line == 1 and where.predicate.span.column == 16


def test_odata_and_kql_build_the_same_tree_where_they_agree():
    kql = parse_kql.parse("Events | where User.Email == 'a' and Payload.price > 5")
    odata = parse_odata.parse_filter("User/Email eq 'a' and Payload/price gt 5")
    k_pred = kql.operators[0].predicate
    assert type(odata) is type(k_pred) and odata.op == k_pred.op == "and"
    assert odata.left.left == k_pred.left.left  # Member(Name('User'), 'Email')
    assert odata.right.left == k_pred.right.left
    assert (odata.left.op, odata.right.op) == ("eq", "gt")  # OData keeps its own semantics


def test_resolve_alone_types_everything():
    rq = Resolver(EVENTS_SCHEMA).query(parse_kql.parse(
        "Events | extend p = Payload.price * 2 | project p, d = now() - EventTime"))
    assert [(c.name, c.type) for c in rq.columns] == [("p", "real"), ("d", "timespan")]
    p_expr = rq.stages[0].op.items[0].expr
    assert isinstance(p_expr.left, ast.Convert) and p_expr.left.type == "real"


def test_generate_alone_binds_values():
    rq = Resolver(EVENTS_SCHEMA).query(parse_kql.parse("Events | where City == 'Oslo'"))
    sql, params = generate(rq, source_sql="t", now=NOW)
    assert "Oslo" not in sql and "Oslo" in params.values()


def test_quote_ident_and_json_path():
    assert quote_ident('a"b') == '"a""b"'
    with pytest.raises(ValueError):
        quote_ident("")
    assert json_path(("a", 'q"x', 0, -1)) == '$."a"."q\\"x"[0][#-1]'


@pytest.mark.parametrize("evil", [
    "x' OR 1=1 --", 'x" OR 1=1 --', "'); DROP TABLE events; --", "$srv_scope", "\\' OR TRUE",
])
def test_user_values_never_reach_sql_text(db, evil):
    literal = "'" + evil.replace("\\", "\\\\").replace("'", "\\'") + "'"
    for query in (f"Events | where City == {literal}",
                  f"Events | where Payload[{literal}] == {literal}",
                  f"Events | where PageTitle has {literal} or PageUri contains {literal}",
                  f"Events | extend x = strcat(City, '!', {literal}) | where x == {literal}"):
        compiled = compile(query)
        assert evil not in compiled.sql
        assert db.rows(query) == []
    assert len(db.rows("Events")) == 8


def test_output_names_are_quoted_identifiers(db):
    rows = db.rows("Events | where TrackId == 't01' | project select = 1, from_ = City")
    assert rows == [{"select": 1, "from_": "Berlin"}]


PROMOTED = promoted_schema()


@pytest.fixture(scope="module")
def promoted_db():
    return promoted_connection()


@pytest.mark.parametrize("query", [
    "Events | where Payload.price > 100",
    "Events | where Payload.price between (99 .. 150) and City != 'x'",
    "Events | where Payload.price == 100 or Payload.price < 10",
])
def test_promoted_column_is_used_and_gives_the_same_rows(promoted_db, query):
    fast = compile(query, schema=PROMOTED, source_sql="events", now=NOW)
    slow = compile(query, source_sql="events", now=NOW)
    assert '"p_price"' in fast.sql and '"p_price"' not in slow.sql
    assert '"p_price"' not in fast.sql.split("WHERE")[0]  # not an output column
    run = lambda c: sorted(promoted_db.execute(c.sql, c.params).fetchall())  # noqa: E731
    assert run(fast) == run(slow) and run(fast)


def test_promoted_column_is_not_used_when_payload_was_replaced():
    q = compile("Events | extend Payload = User | where Payload.price > 1", schema=PROMOTED)
    assert "p_price" not in q.sql
    q = compile("Events | where Payload.price > 1 | project TrackId | take 1", schema=PROMOTED)
    assert "p_price" in q.sql
    q = compile("Events | where tostring(Payload.price) == '1'", schema=PROMOTED)
    assert "p_price" not in q.sql  # a string comparison is not provably the same


ORDERED = promoted_schema(order_column=True)


@pytest.fixture(scope="module")
def ordered_db():
    return promoted_connection(order_column=True)


@pytest.mark.parametrize("query", [
    "Events | top 4 by todouble(Payload.price) desc | project TrackId",
    "Events | top 4 by todouble(Payload.price) asc | project TrackId",
    "Events | top 3 by todouble(Payload.price) asc nulls first | project TrackId",
    "Events | sort by todouble(Payload.price) desc, TrackId asc | project TrackId",
    "Events | sort by Payload.price desc, TrackId asc | project TrackId",  # numbers, then text
])
def test_a_sort_on_a_promoted_real_key_reads_its_order_column_first(ordered_db, query):
    fast = compile(query, schema=ORDERED, source_sql="events", now=NOW)
    slow = compile(query, schema=PROMOTED, source_sql="events", now=NOW)
    direction = "DESC" if " desc" in query else "ASC"
    assert f'ORDER BY "p_price_order" {direction}' in fast.sql
    assert "p_price_order" not in slow.sql
    # ...and the value breaks their ties: the same rows in the same order.
    run = lambda c: ordered_db.execute(c.sql, c.params).fetchall()  # noqa: E731
    assert run(fast) == run(slow) and len(run(fast)) >= 3


def test_the_order_column_is_not_read_where_the_sort_is_not_on_the_value():
    for query in ("Events | top 3 by tostring(Payload.price) desc",
                  "Events | extend Payload = User | top 3 by todouble(Payload.price)",
                  "Events | top 3 by todouble(Payload.price) * 2"):
        assert "p_price_order" not in compile(query, schema=ORDERED).sql, query


def test_compile_is_thread_safe():
    errors: list[BaseException] = []

    def work(i):
        try:
            for _ in range(30):
                q = compile(f"Events | where City == 'c{i}' | take {i + 1}")
                assert f"c{i}" in q.params.values() and i + 1 in q.params.values()
                with pytest.raises(QueryError):
                    compile("Events | where")
                compile_list(f"City eq 'c{i}'", "City", skip=i, top=1)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_now_defaults_to_current_utc_naive():
    q = compile("Events | where EventTime < now()")
    [value] = [v for v in q.params.values() if isinstance(v, datetime)]
    assert value.tzinfo is None
    utc_now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert abs((utc_now - value).total_seconds()) < 60


# ---------------------------------------------------------------- every check is the resolver's
def _raises(source: str) -> list[int]:
    tree = pyast.parse(source)
    return [node.lineno for node in pyast.walk(tree) if isinstance(node, pyast.Raise)]


@pytest.mark.parametrize("module", ["sqlgen", "sqlgen_strings", "sqlgen_tabular", "sqlselect",
                                    "nullrules"])
def test_sql_generation_raises_nothing(module):
    source = (Path(sqlgen.__file__).parent / f"{module}.py").read_text()
    assert _raises(source) == []
    assert "QueryError" not in source and ".errors" not in source
    # a lambda holds no statement, so no raise: the templates written as functions
    templates = {f.sql for f in [*functions.REGISTRY.values(), *functions.INTERNAL.values()]
                 if callable(f.sql) and f.sql.__name__ != "<lambda>"}
    assert len(templates) > 20
    for template in templates:
        assert _raises(inspect.getsource(template).strip()) == [], template


# Checks the argument types alone do not make: query -> (line, column, the whole message).
ARGUMENT_ERRORS = {
    "Events | extend x = bin(EventTime, 0s)": (1, 36, "the bin size must be positive"),
    "Events | extend x = floor(now() - EventTime, -1h)": (1, 46, "the bin size must be positive"),
    "Events | extend x = bin(EventTime, 2 * 1h)":
        (1, 36, "the bin size must be a constant timespan, e.g. 1h"),
    "Events | extend x = bin(now() - EventTime, 5)":
        (1, 44, "the bin size must be a constant timespan, e.g. 1h"),
    "Events | extend x = bin(5, 1h)": (1, 28, "bin() of a number needs a number size"),
    "Events | extend x = bin(null, 5)":
        (1, 25, "bin() works on numbers, datetimes and timespans, not null"),
    "Events | extend x = case(true, 1, false, 2)":
        (1, 26, "case() needs pairs of condition and value, then an else value"),
    "Events | extend x = extract('a(b)', 10, Value)":
        (1, 37, "extract() needs a capture group number from 0 to 9"),
    "Events | summarize percentile(Payload.p, 101)":
        (1, 42, "percentile() needs a constant percentage from 0 to 100"),
    "Events | extend x = toint(EventTime)": (1, 27, "cannot convert a datetime to int"),
    "Events | extend x = todouble(now() - EventTime)": (1, 30, "cannot convert a timespan to real"),
    "Events | extend d = datetime_diff('fortnights', now(), EventTime)":
        (1, 35, "unknown period 'fortnights'; expected one of year, quarter, month, week, day, "
                "hour, minute, second, millisecond, microsecond"),
    "Events | extend d = format_datetime(EventTime, 'yyyy QQ')":
        (1, 48, "format specifier 'Q' is not supported in format_datetime (use yyyy, yy, MM, M, "
                "dd, d, HH, H, hh, h, mm, m, ss, s, fff, ffffff, tt)"),
    "Events | where PageTitle !hasprefix City":
        (1, 37, "'!hasprefix' with a term that is not a constant is not supported: it needs a constant string on its right"),
}


@pytest.mark.parametrize("query", ARGUMENT_ERRORS)
def test_argument_checks_are_made_by_the_resolver(query):
    for run in (lambda: compile(query), lambda: resolve(parse_kql.parse(query))):
        with pytest.raises(QueryError) as e:
            run()
        assert (e.value.line, e.value.column, e.value.message) == ARGUMENT_ERRORS[query]
