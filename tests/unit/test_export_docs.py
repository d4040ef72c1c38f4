"""docs/formats.md and docs/export.md say what the code does: each mapping's table lists every
source field that lands in a column, with that column; every export setting is documented."""
from __future__ import annotations

import pathlib
import re

import pytest

from trackstore_server.config import SETTINGS
from trackstore_server.imports.mappings import MAPPINGS

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
FORMATS = (DOCS / "formats.md").read_text()
EXPORT = (DOCS / "export.md").read_text()


def _rows(format_name: str) -> list[tuple[str, str]]:
    """(the source cell, the column cell) of each row of a format's table."""
    section = FORMATS.split(f"\n## {format_name}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 2 and not cells[0].startswith(("---",
                                                                                  "source")):
            rows.append((cells[0], cells[1]))
    return rows


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_each_mapping_is_its_table(name):
    rows = _rows(name)
    documented = {source: column for sources, column in rows
                  for source in re.findall(r"`([^`]+)`", sources)}
    for source, column in MAPPINGS[name].columns.items():
        assert documented.get(source, "").startswith(column), (name, source, column)
    for source in MAPPINGS[name].special_fields:
        assert any(field.split(".")[0] == source for field in documented), (name, source)
    # Nothing is dropped: whatever has no column lands in Payload.
    assert rows[-1][0].endswith("any other field") and rows[-1][1].startswith("Payload"), name


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS
                                     if s.name.startswith(("export_", "secrets_"))])
def test_every_export_setting_is_documented(setting):
    assert f"--{setting.replace('_', '-')}" in EXPORT
