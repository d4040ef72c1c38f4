"""compile() reports which properties of the dynamic columns a query reads."""
from __future__ import annotations

import querylang


def test_kql_reports_each_property_once_in_order():
    compiled = querylang.compile(
        "Events | where Payload.product.price > 5 and User.Email != '' "
        "| summarize count() by tostring(Payload.sku), tostring(Payload.product.price)"
    )
    assert compiled.dynamic_paths == (
        ("Payload", ("product", "price")), ("User", ("Email",)), ("Payload", ("sku",)))


def test_odata_filter_and_orderby_paths():
    compiled = querylang.compile_list("Payload/price gt 5", "User/Name desc", skip=0, top=5)
    assert compiled.dynamic_paths == (("Payload", ("price",)), ("User", ("Name",)))


def test_query_without_properties_reports_none():
    assert querylang.compile("Events | where EventType == 'x' | take 1").dynamic_paths == ()


def test_the_pipelines_a_join_or_union_reads_report_theirs():
    compiled = querylang.compile(
        "Events | where Payload.a == 1 | join (Events | where User.Email == 'x') on DeviceId "
        "| union (Events | where Payload.b > 2)")
    assert set(compiled.dynamic_paths) == {
        ("Payload", ("a",)), ("User", ("Email",)), ("Payload", ("b",))}


def test_a_datatable_column_is_no_table_property():
    compiled = querylang.compile("datatable(Payload:dynamic)[dynamic({'a': 1})] "
                                 "| where Payload.a == 1")
    assert compiled.dynamic_paths == ()
