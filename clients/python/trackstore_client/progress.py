"""Progress of a long `trackstore track`: events sent and events/s on standard error when it is
a terminal; nothing at all when it is not (a pipe, a file, CI), so scripts see no noise."""
from __future__ import annotations

import contextlib
import sys
from typing import Iterable, Iterator


@contextlib.contextmanager
def counting(events: list, label: str = "tracking") -> Iterator[Iterable]:
    """Yields `events` as an iterable that advances a progress display as it is consumed."""
    if not sys.stderr.isatty():
        yield events
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("events, {task.fields[rate]} events/s"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=len(events), rate="-")

        def advancing() -> Iterator:
            for sent, event in enumerate(events, start=1):
                yield event
                if sent % 1000 == 0 or sent == len(events):
                    progress.update(task, completed=sent, rate=_rate(progress, task))

        yield advancing()


def _rate(progress, task) -> str:
    speed = progress.tasks[task].speed
    return f"{speed:,.0f}" if speed else "-"
