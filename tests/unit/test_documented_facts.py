"""Facts stated once stay stated right: the README gives every limit of server/limits.py with
its value, and every figure a comment in server/ links is under a heading of bench/NOTES.md."""
from __future__ import annotations

import pathlib
import re

import pytest

from trackstore_server import limits

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
NOTES = (ROOT / "bench" / "NOTES.md").read_text()
LIMITS = {name: value for name, value in vars(limits).items() if name.isupper()}


def renderings(value) -> set[str]:
    """The ways the README writes a figure: 10,000 or 1000; 1 MiB; 2 minutes."""
    shown = {f"{value:,}", f"{value}"} if isinstance(value, int) else {f"{value:g}"}
    if value >= 1 << 20 and value % (1 << 20) == 0:
        shown.add(f"{value >> 20} MiB")
    if isinstance(value, float) and value % 60 == 0:
        shown.add(f"{value / 60:g} minutes")
    return shown


def _statements(text: str) -> list[str]:
    """The README's table rows, and its other paragraphs each as one line."""
    found = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        found.extend(lines if lines and lines[0].startswith("|") else [" ".join(lines)])
    return found


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_the_readme_gives_each_limit_beside_its_name(name):
    rows = [row for row in _statements(README) if f"`{name}`" in row]
    assert rows, f"README.md does not name {name}"
    # The figure comes before the name, after the limit named before it, in the same table row
    # or paragraph.
    before = [re.split("|".join(f"`{other}`" for other in LIMITS),
                       row[:row.index(f"`{name}`")])[-1] for row in rows]
    assert any(re.search(rf"\b{re.escape(text)}\b", part)
               for part in before for text in renderings(LIMITS[name])), (name, rows)


def _anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_notes_link_in_the_server_names_a_heading():
    anchors = {_anchor(line.lstrip("#")) for line in NOTES.splitlines() if line.startswith("#")}
    links = {(path.relative_to(ROOT), anchor)
             for path in sorted((ROOT / "server").rglob("*")) if path.suffix in (".py", ".c", ".h")
             for anchor in re.findall(r"bench/NOTES\.md#([\w-]+)", path.read_text())}
    assert links
    assert sorted(link for link in links if link[1] not in anchors) == []
