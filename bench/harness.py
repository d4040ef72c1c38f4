"""The benchmark's harness: the processes it measures (a trackstore server, the gRPC no-op
server), the client calls, the memory sampler, timing helpers and the raw-DuckDB reference.

Phases get a `Run` (the run's settings and work directory) and, while a server runs, a `Live`
(server, client, sampler); they measure and return figures, the harness owns no figure.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import duckdb
import grpc
import pyarrow as pa

import generate
from contract import ADMIN_SERVICE, EVENTS_SERVICE, client_call
from trackstore.results import Fields
from trackstore.v1 import admin_pb2 as admin_pb
from trackstore_client.local import LocalServer

BENCH_DIR = pathlib.Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Run:
    """What every phase is given: the command line, the generated events' config, the work
    directory (the server's data and the Parquet reference) and the progress log."""
    args: argparse.Namespace
    cfg: generate.Config
    work: pathlib.Path
    log: Callable[[str], None]

    @property
    def data_dir(self) -> pathlib.Path:
        return self.work / "data"

    @property
    def parquet_path(self) -> pathlib.Path:
        return self.work / "events.parquet"

    @property
    def profile_dir(self) -> pathlib.Path | None:
        return pathlib.Path(self.args.profile).resolve() if self.args.profile else None


# -- processes ------------------------------------------------------------------------------------

class Server(LocalServer):
    """`trackstore serve` as a child process on a free port (trackstore_client.local), with
    the pid the memory sampler and profiler need."""

    @property
    def pid(self) -> int:
        return self.process.pid


class Rpc:
    """The contract's calls on one channel. Track and TrackStream take pre-serialized requests,
    so client-side message building is not part of what is measured."""

    def __init__(self, target: str):
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        self.channel = grpc.insecure_channel(target, options=options)
        self.track = client_call(self.channel, EVENTS_SERVICE, "Track", serialized=True)
        self.track_stream = client_call(self.channel, EVENTS_SERVICE, "TrackStream",
                                        serialized=True)
        self.preview = client_call(self.channel, EVENTS_SERVICE, "Preview")
        self.list = client_call(self.channel, EVENTS_SERVICE, "List")
        self.delete = client_call(self.channel, EVENTS_SERVICE, "Delete")
        self.batch_delete = client_call(self.channel, EVENTS_SERVICE, "BatchDelete")
        self.compact = client_call(self.channel, ADMIN_SERVICE, "Compact")
        self.stats_call = client_call(self.channel, ADMIN_SERVICE, "GetStoreStats")

    def stats(self) -> dict:
        """Every field of GetStoreStats, the memory split as a dict of its own (the client's
        reading of a response, so no field is left out)."""
        return dict(Fields.from_response(
            self.stats_call(admin_pb.GetStoreStatsRequest(), timeout=60)))

    def close(self) -> None:
        self.channel.close()


class NoopServer:
    """bench/noop_server.py in a child process: trackstore's gRPC server settings, a Track that
    does nothing. The most unary calls/s Python gRPC serves here, for the batch-1 figures."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, str(BENCH_DIR / "noop_server.py")],
                                        stdout=subprocess.PIPE, cwd=ROOT)
        line = self.process.stdout.readline().decode()
        match = re.search(r"listening on (\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"the no-op server did not start: {line!r}")
        self.target = match.group(1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class MemorySampler:
    """Samples the server's RSS every `interval` seconds; peak overall and per phase. Also the
    bytes used on the file system of `disk_path` (the run's work dir), per phase."""

    def __init__(self, pid: int, interval: float = 0.1, disk_path: pathlib.Path | None = None):
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.disk_path = disk_path
        self.peak = 0
        self.phase = "start"
        self.phase_peaks: dict[str, int] = collections.defaultdict(int)
        self.phase_disk_peaks: dict[str, int] = collections.defaultdict(int)
        self.window_peak = 0  # since the last `open_window`: one query's peak, say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "MemorySampler":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def enter(self, phase: str) -> None:
        """Starts `phase` with a sample of its own, so a phase shorter than the interval is
        recorded too; the phase ending gets a last sample first."""
        self.sample()
        self.phase = phase
        self.sample()

    def open_window(self) -> None:
        self.window_peak = 0
        self.sample()

    def sample(self) -> None:
        try:
            rss = self.process.memory_info().rss
        except Exception:  # the process ended
            return
        self.peak = max(self.peak, rss)
        self.window_peak = max(self.window_peak, rss)
        self.phase_peaks[self.phase] = max(self.phase_peaks[self.phase], rss)
        if self.disk_path is not None:
            used = shutil.disk_usage(self.disk_path).used
            self.phase_disk_peaks[self.phase] = max(self.phase_disk_peaks[self.phase], used)

    def high_water_mark(self) -> int | None:
        """The kernel's own peak (VmHWM), which sampling cannot miss."""
        try:
            for line in pathlib.Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def finish(self) -> dict:
        """Stops sampling; the peaks of this process (call while it still runs)."""
        self.sample()
        hwm = self.high_water_mark()
        self.stop()
        return {"peak": self.peak, "hwm": hwm, "phases": dict(self.phase_peaks),
                "disk_phases": dict(self.phase_disk_peaks)}


def memory_figures(samplings: list[dict]) -> dict:
    """The peaks of the servers sampled in turn (each restart starts a phase "start")."""
    phases: dict[str, int] = {}
    disk_phases: dict[str, int] = {}
    for sampling in samplings:
        for name, peak in sampling["phases"].items():
            phases[name] = max(phases.get(name, 0), peak)
        for name, peak in sampling.get("disk_phases", {}).items():
            disk_phases[name] = max(disk_phases.get(name, 0), peak)
    return {
        "peak_rss_bytes": max(s["peak"] for s in samplings),
        "vm_hwm_bytes": max((s["hwm"] or 0) for s in samplings) or None,
        "phase_peak_rss_bytes": phases,
        "phase_peak_disk_used_bytes": disk_phases,
    }


@dataclass
class Live:
    """A running trackstore server, a client of it and its memory sampler."""
    server: Server
    rpc: Rpc
    sampler: MemorySampler
    memory: dict | None = None  # the sampler's peaks, set once the server stopped


@contextlib.contextmanager
def serving(run: Run, flags: list[str]) -> Iterator[Live]:
    """A fresh server on the run's data dir; its memory peaks are taken while it still runs."""
    server = Server(run.data_dir, *flags)
    sampler = rpc = None
    try:
        server.start()
        run.log(f"server pid {server.pid} on {server.target}, data in {run.data_dir}")
        sampler = MemorySampler(server.pid, disk_path=run.work).start()
        rpc = Rpc(server.target)
        live = Live(server, rpc, sampler)
        yield live
        live.memory = sampler.finish()
    finally:
        if sampler is not None:
            sampler.stop()
        if rpc is not None:
            rpc.close()
        server.stop()


def disk_bytes(path: pathlib.Path) -> int:
    """Bytes of the files under `path` as the file system allocates them (what `du` counts)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def settle(run: Run) -> None:
    """Waits until the server's writer has been idle long enough to flush inlined rows to
    Parquet (engine.py: idle upkeep after 5 s). Filters on many inlined rows return wrong
    answers in DuckLake 1.4.4 (see bench/README.md), so the read phases start after a flush."""
    seconds = run.args.settle_seconds
    if seconds > 0:
        run.log(f"settle: {seconds:g} s for the idle flush of inlined rows")
        time.sleep(seconds)


# -- timing ---------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = (len(ordered) - 1) * q
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def ms(seconds: list[float], q: float) -> float:
    """The `q` percentile of `seconds`, in milliseconds."""
    return 1000 * percentile(seconds, q)


def timed_runs(call: Callable[[], object], runs: int) -> tuple[list[float], object]:
    """Seconds of `runs` calls after one untimed warm-up call, and the last call's answer."""
    answer = call()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - began)
    return times, answer


def time_alternately(sides: dict[str, Callable[[], object]], runs: int) -> dict[str, list]:
    """Seconds of `runs` calls of each side, called in turn (each side once before, untimed):
    this machine's speed drifts within minutes, and a drift then weighs on both sides of a
    ratio alike instead of on whichever was measured second."""
    times: dict[str, list] = {name: [] for name in sides}
    for _ in range(runs):
        for name, call in sides.items():
            began = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - began)
    return times


def stream_events(rpc: Rpc, requests: list[bytes], timeout: float = 600) -> tuple[float, list[str]]:
    """One TrackStream of the pre-serialized `requests`: seconds to its answer, the TrackIds."""
    started = time.perf_counter()
    response = rpc.track_stream(iter(requests), timeout=timeout)
    return time.perf_counter() - started, list(response.track_ids)


def raw_events(parquet_path: pathlib.Path) -> duckdb.DuckDBPyConnection:
    """The reference: raw DuckDB in this process with the view `events` over the plain Parquet
    file of the loaded rows, which the suite's hand-written SQL reads."""
    conn = duckdb.connect()
    conn.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{parquet_path}')")
    return conn


# -- what the results record beside the figures ---------------------------------------------------

def error_text(error: BaseException) -> str:
    if isinstance(error, grpc.RpcError):
        return f"{error.code().name}: {error.details()}"
    return f"{type(error).__name__}: {error}"


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def machine() -> dict:
    import psutil

    model = ""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": model or platform.processor(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pa.__version__,
        "grpcio": grpc.__version__,
    }


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        rev = out.stdout.strip() or "no commit"
        return rev + (" + uncommitted changes" if dirty else "")
    except Exception:  # noqa: BLE001
        return "unknown"


def log_errors(path: pathlib.Path) -> list[tuple[str, int]]:
    """Distinct exception lines in the server log (the last line of each traceback)."""
    counts: collections.Counter = collections.Counter()
    pattern = re.compile(r"^[\w.]*(Error|Exception)\b.*:")
    try:
        for line in path.read_text(errors="replace").splitlines():
            if pattern.match(line):
                counts[line[:300]] += 1
    except OSError:
        pass
    return counts.most_common(20)


def log_tail(path: pathlib.Path) -> list[str]:
    try:
        lines = [l for l in path.read_text(errors="replace").splitlines()
                 if "trackstore.access" not in l]
        return lines[-15:]
    except OSError:
        return []
