"""The events console in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium, against a real server holding an hour of shop traffic.

Skipped when the browser is not installed, unless TRACKSTORE_REQUIRE_BROWSER=1 (set by .ci/run),
which turns that into a failure. docs/console.png is made by the last test:

    TRACKSTORE_CONSOLE_SCREENSHOT=docs/console.png .venv/bin/python -m pytest \
        tests/http/test_http_console_browser.py -k screenshot
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import pathlib
import tempfile

import pytest

from http_support import KEYS, start_http_server
from sample_events import sample_events

CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMEDRIVER = pathlib.Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
WAIT_SECONDS = 30
# The console's chart shows the last hour: the sample events stay inside it for ten minutes.
SAMPLE_MINUTES = 50


def _browser_missing(reason: str):
    if os.environ.get("TRACKSTORE_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        _browser_missing("headless Chromium is not installed (apt-get install chromium "
                         "chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _browser_missing("selenium is not installed (pip install -e '.[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="trackstore-chromium-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1500"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    running = start_http_server(tmp_path_factory.mktemp("console") / "data")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    events = sample_events(now, minutes=SAMPLE_MINUTES)
    assert running.api.track(events).status == 200
    yield running, events
    running.server.stop()


def _wait(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_SECONDS).until(lambda d: condition(d), message)


def _by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def _legend(driver) -> dict[str, int]:
    return driver.execute_script("""
        return Object.fromEntries([...document.querySelectorAll('#legend li')].map((li) => [
            li.dataset.type, Number(li.querySelector('.count').textContent.replace(/,/g, ''))]));""")


def _rows(driver) -> list[dict]:
    return driver.execute_script("""
        return [...document.querySelectorAll('#events tbody tr')].map((tr) => ({id: tr.dataset.trackId,
            type: tr.cells[1].textContent, time: tr.cells[0].textContent}));""")


def _open(driver, url: str, live: bool = False) -> None:
    driver.get(url)
    _wait(driver, lambda d: _rows(d), "the recent events never appeared")
    if not live:  # a refresh between finding a row and clicking it would replace the row
        driver.execute_script("document.getElementById('live').checked = false")


def _severe_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_console_shows_the_chart_and_the_recent_events(browser, shop):
    running, events = shop
    _open(browser, running.base_url)
    by_type = collections.Counter(e["EventType"] for e in events)
    _wait(browser, lambda d: _legend(d) == dict(by_type), f"legend {_legend(browser)}")
    chart = browser.execute_script("""
        const chart = Chart.getChart(document.getElementById('chart'));
        const sum = (values) => values.reduce((a, b) => a + b, 0);
        return {labels: chart.data.labels.length, series: chart.data.datasets.map((d) => d.label),
                total: sum(chart.data.datasets.map((d) => sum(d.data)))};""")
    assert sorted(chart["series"]) == sorted(by_type) and chart["total"] == len(events)
    assert chart["labels"] >= 60  # one bar a minute over the last hour
    assert _by_id(browser, "chart-total").text == f"{len(events):,} events"
    rows = _rows(browser)
    newest = sorted(events, key=lambda e: e["EventTime"], reverse=True)[:50]
    assert [row["id"] for row in rows] == [e["TrackId"] for e in newest]
    assert rows[0]["time"] == newest[0]["EventTime"][:19].replace("T", " ")
    assert _severe_errors(browser) == []


def test_filtering_by_event_type_narrows_the_chart_and_the_list(browser, shop):
    from selenium.webdriver.support.ui import Select

    running, events = shop
    _open(browser, running.base_url)
    _wait(browser, lambda d: len(Select(_by_id(d, "filter-event-type")).options) > 1,
          "the EventType filter was never filled")
    Select(_by_id(browser, "filter-event-type")).select_by_value("purchase")
    purchases = sum(e["EventType"] == "purchase" for e in events)
    _wait(browser, lambda d: _legend(d) == {"purchase": purchases}, "the chart was not narrowed")
    _wait(browser, lambda d: {row["type"] for row in _rows(d)} == {"purchase"},
          "the list was not narrowed")
    assert len(_rows(browser)) == min(50, purchases)


def test_a_longer_range_is_drawn_per_day(browser, shop):
    from selenium.webdriver.support.ui import Select

    running, events = shop
    _open(browser, running.base_url)
    Select(_by_id(browser, "filter-range")).select_by_value("7d")
    step = Select(_by_id(browser, "filter-step"))
    assert step.first_selected_option.get_attribute("value") == "1d"
    assert [o.get_attribute("value") for o in step.options if not o.is_enabled()] == ["1m"]
    days = "return Chart.getChart(document.getElementById('chart')).data.labels.length"
    _wait(browser, lambda d: d.execute_script(days) == 8, "not one bar a day")  # 7 days + today
    assert _legend(browser) == dict(collections.Counter(e["EventType"] for e in events))


def test_a_click_on_an_event_opens_its_raw_json(browser, shop):
    running, events = shop
    _open(browser, running.base_url)
    row = browser.find_elements("css selector", "#events tbody tr")[3]
    track_id = row.get_attribute("data-track-id")
    row.click()
    dialog = _by_id(browser, "event-dialog")
    _wait(browser, lambda d: dialog.get_attribute("open") is not None, "no dialog opened")
    shown = json.loads(_by_id(browser, "event-json").text)
    sent = next(e for e in events if e["TrackId"] == track_id)
    assert {k: v for k, v in shown.items() if v is not None} == sent | {"Scope": "default"}
    _by_id(browser, "event-close").click()
    assert dialog.get_attribute("open") is None


def _run_kql(driver, query: str) -> None:
    box = _by_id(driver, "kql-input")
    box.clear()
    box.send_keys(query)
    _by_id(driver, "kql-run").click()


def test_a_kql_query_shows_a_table_and_a_time_chart(browser, shop):
    running, events = shop
    _open(browser, running.base_url)
    _run_kql(browser, "Events\n| where EventTime > ago(1h)\n"
                      "| summarize count() by bin(EventTime, 5m), EventType")
    _wait(browser, lambda d: "rows" in _by_id(d, "kql-status").text, "the query never answered")
    headers = [th.text for th in browser.find_elements("css selector", "#kql-table th")]
    assert headers == ["EventTime", "EventType", "count_"]
    counts = browser.execute_script("""
        return [...document.querySelectorAll('#kql-table tbody tr')].map(
            (tr) => Number(tr.cells[2].textContent));""")
    assert sum(counts) == len(events)
    assert _by_id(browser, "kql-chart-box").is_displayed()


def test_a_bad_kql_query_shows_its_error_at_its_line_and_column(browser, shop):
    running, _ = shop
    _open(browser, running.base_url)
    _run_kql(browser, "Events\n| where NoSuchColumn == 1")
    error = _by_id(browser, "kql-error")
    _wait(browser, lambda d: error.is_displayed(), "no error was shown")
    assert error.text.startswith("line 2, column 9: ")
    assert "| where NoSuchColumn == 1\n" + " " * 14 + "^" in error.text
    assert browser.find_elements("css selector", "#kql-table tr") == []


def test_a_bad_where_filter_shows_its_error_at_its_column(browser, shop):
    running, _ = shop
    _open(browser, running.base_url)
    _by_id(browser, "filter-where").send_keys("EventType == 'x' and Nope > 1")
    _by_id(browser, "filter-apply").click()
    error = _by_id(browser, "filter-error")
    _wait(browser, lambda d: error.is_displayed(), "no error was shown")
    assert error.text.startswith("KQL where, column 22: ")


def _listed(driver, table: str) -> list[list[str]]:
    return driver.execute_script("""
        return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)].map(
            (tr) => [...tr.cells].map((td) => td.textContent));""", table)


BUYERS = {"Name": "buyers", "Category": "sales",
          "Query": "Events | where EventType == {{eventType}}",
          "Parameters": [{"Name": "eventType", "Type": "string"}]}


def _add_buyers(api) -> None:
    """A filter definition, and a segment of it: the devices that bought something."""
    assert api.call("POST", "/api/v2.0/FilterDefinitions", BUYERS).status == 201
    assert api.call("POST", "/api/v2.0/Segments", {
        "Name": "purchasers", "FilterDefinition": "buyers", "RefreshInterval": "01:00:00",
        "Parameters": {"eventType": "purchase"}}).status == 201


def test_the_console_lists_the_scope_s_segments_and_filter_definitions(browser, shop):
    running, events = shop
    _add_buyers(running.api)
    buyers = len({e["DeviceId"] for e in events if e["EventType"] == "purchase"})
    _severe_errors(browser)  # reads (and so drops) what the tests before logged
    _open(browser, running.base_url, live=True)  # the count appears once the refresh is done
    shown = ["purchasers", "buyers", 'eventType = "purchase"', f"{buyers:,}"]
    _wait(browser, lambda d: [row[:4] for row in _listed(d, "segments")] == [shown],
          "the segment never showed its devices")
    assert _listed(browser, "definitions") == [
        ["buyers", "sales", "eventType: string", BUYERS["Query"], ""]]
    assert _by_id(browser, "segments-count").text == "1"
    assert _severe_errors(browser) == []


def test_the_list_refreshes_live(browser, shop):
    running, _ = shop
    _open(browser, running.base_url, live=True)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    running.api.track({"TrackId": "live-1", "EventType": "signup", "EventTime": now})
    _wait(browser, lambda d: _rows(d)[0]["id"] == "live-1", "the new event never appeared")


def test_the_console_asks_for_the_key_and_keeps_it_in_the_session(browser, tmp_path):
    (tmp_path / "keys.toml").write_text(KEYS)
    running = start_http_server(tmp_path / "data", "--api-keys-file", str(tmp_path / "keys.toml"))
    try:
        running.api.track({"EventType": "keyed"}, key="web-secret")
        browser.get(running.base_url)
        dialog = _by_id(browser, "key-dialog")
        _wait(browser, lambda d: dialog.get_attribute("open") is not None, "no key was asked")
        _by_id(browser, "key-input").send_keys("web-secret")
        _by_id(browser, "key-save").click()
        _wait(browser, lambda d: [r["type"] for r in _rows(d)] == ["keyed"], "no events shown")
        assert browser.execute_script(
            "return sessionStorage.getItem('trackstore.apiKey')") == "web-secret"
        assert browser.execute_script("return localStorage.length") == 0
    finally:
        browser.execute_script("sessionStorage.clear()")
        running.server.stop()


def test_the_screenshot_of_the_readme(browser, tmp_path):
    path = os.environ.get("TRACKSTORE_CONSOLE_SCREENSHOT")
    if not path:
        pytest.skip("set TRACKSTORE_CONSOLE_SCREENSHOT=<file.png> to make the screenshot")
    running = start_http_server(tmp_path / "data")
    try:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        running.api.track(sample_events(now, minutes=60))
        _add_buyers(running.api)
        browser.set_window_size(1400, 1980)
        _open(browser, running.base_url, live=True)
        _run_kql(browser, "Events\n| where EventTime > ago(1h) and EventType != 'pageview'\n"
                          "| summarize count() by bin(EventTime, 5m), EventType")
        _wait(browser, lambda d: "rows" in _by_id(d, "kql-status").text, "no answer")
        browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
        browser.save_screenshot(path)
    finally:
        browser.set_window_size(1400, 1500)
        running.server.stop()
