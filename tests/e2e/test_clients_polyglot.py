"""The clients beyond Python, against a real server: the Node client's own suite, and the Go,
Ruby, C++ and Java examples built from the stubs `make stubs-all` generates from proto/.

Each example is built and run by its `make example-LANG` (into build/polyglot/, from the
toolchains Debian packages) and must track two events, preview them back and delete one; the
store is then read here to check that exactly the other one is left. A missing toolchain skips
its test with the missing piece named; TRACKSTORE_REQUIRE_POLYGLOT=1 (set by .ci/run, which
installs them all) turns that skip into a failure.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import json_format

from trackstore.v1 import trackevents_pb2 as pb
from trackstore.v1 import trackevents_pb2_grpc as pb_grpc

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODE_CLIENT = ROOT / "clients" / "node"
BUILD_TIMEOUT = 900  # seconds: a C++ build from a clean build dir on a busy 2-core machine
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Toolchain:
    """What one language's build needs: commands on PATH and files its Debian packages install."""
    commands: tuple[str, ...]
    files: tuple[str, ...] = ()
    check: tuple[str, ...] = ()  # a command that must succeed, e.g. loading a library

    def missing(self) -> str | None:
        for command in self.commands:
            if shutil.which(command) is None:
                return f"no `{command}` on PATH"
        for path in self.files:
            if not pathlib.Path(path).exists():
                return f"no {path}"
        if self.check and subprocess.run(self.check, capture_output=True).returncode != 0:
            return f"`{' '.join(self.check)}` fails"
        return None


TOOLCHAINS = {
    "go": Toolchain(
        ("go", "protoc", "protoc-gen-go", "protoc-gen-go-grpc"),
        ("/usr/share/gocode/src/google.golang.org/grpc/server.go",
         # version 1.5 (1.3 cannot marshal what protoc-gen-go generates)
         "/usr/share/gocode/src/github.com/golang/protobuf/proto/registry.go"),
    ),
    "ruby": Toolchain(("ruby", "protoc", "grpc_ruby_plugin"), check=("ruby", "-e", "require 'grpc'")),
    "cpp": Toolchain(("c++", "pkg-config", "protoc", "grpc_cpp_plugin"),
                     check=("pkg-config", "--exists", "grpc++", "protobuf")),
    "java": Toolchain(
        ("java", "javac", "protoc", "grpc_java_plugin"),
        tuple(f"/usr/share/java/{jar}.jar" for jar in (
            "grpc-netty", "protobuf-util", "netty-codec-http2", "perfmark-api",
            "geronimo-annotation-1.3-spec")),
    ),
    "node": Toolchain(("node", "npm")),
}


def require(language: str) -> None:
    reason = TOOLCHAINS[language].missing()
    if reason is None:
        return
    message = f"the {language} toolchain is not installed ({reason}); .ci/run installs it"
    if os.environ.get("TRACKSTORE_REQUIRE_POLYGLOT") == "1":
        pytest.fail(message)
    pytest.skip(message)


def stored_track_ids(target: str, scope: str) -> set[str]:
    with grpc.insecure_channel(target) as channel:
        response = pb_grpc.TrackEventsServiceStub(channel).Preview(
            pb.PreviewRequest(scope=scope, query="Events | project TrackId"), timeout=30)
    return {json_format.MessageToDict(item)["TrackId"] for item in response.items}


@pytest.mark.parametrize("language", ["go", "ruby", "cpp", "java"])
def test_example_tracks_previews_and_deletes(language, shared_server):
    require(language)
    scope = f"example-{language}"
    result = subprocess.run(
        ["make", "-s", "-j2", f"example-{language}", f"ARGS={shared_server.target} {scope}"],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    said = {line.split(" ", 1)[0]: line for line in result.stdout.splitlines()}
    tracked = UUID.findall(said.get("tracked", ""))
    deleted = UUID.findall(said.get("deleted", ""))
    assert len(set(tracked)) == 2, output
    assert len(deleted) == 1 and deleted[0] in tracked, output
    assert result.stdout.count("previewed ") == 2, output
    assert stored_track_ids(shared_server.target, scope) == set(tracked) - set(deleted)


def readme_example(heading: str, fence: str) -> str:
    section = (ROOT / "README.md").read_text().split(f"\n### {heading}\n", 1)[1]
    return section.split(f"```{fence}\n", 1)[1].split("```", 1)[0]


def test_readme_ruby_example_runs_as_printed(shared_server):
    require("ruby")
    build = subprocess.run(["make", "-s", "stubs-ruby"], cwd=ROOT, capture_output=True, text=True,
                           timeout=BUILD_TIMEOUT)
    assert build.returncode == 0, build.stdout + build.stderr
    code = readme_example("Ruby", "ruby").replace("'localhost:50051'", f"'{shared_server.target}'")
    assert shared_server.target in code
    result = subprocess.run(
        ["ruby", "-I", "build/polyglot/ruby", "-e", code + '\nputs "tracked #{ids.to_a.join(\' \')}"'],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    tracked = lines[-1].split()[1:]
    rows = [json.loads(line) for line in lines[:-1]]
    assert len(tracked) == 1 and tracked[0] in {row["TrackId"] for row in rows}, result.stdout


def node_dependencies_installed() -> bool:
    installed = NODE_CLIENT / "node_modules" / ".package-lock.json"
    lock = NODE_CLIENT / "package-lock.json"
    return installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime


def test_node_client_suite(shared_server):
    require("node")
    # npm's cache stays in the build dir, like every other language's build. The suite's
    # tests use this server; one that needs its own (API keys) starts this venv's `trackstore`.
    env = {**os.environ, "npm_config_cache": str(ROOT / "build" / "polyglot" / "npm-cache"),
           "TRACKSTORE_TARGET": shared_server.target,
           "TRACKSTORE_BIN": str(pathlib.Path(sys.executable).parent / "trackstore")}
    if not node_dependencies_installed():
        install = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_CLIENT, env=env,
                                 capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        assert install.returncode == 0, install.stdout + install.stderr
    result = subprocess.run(["node", "--test"], cwd=NODE_CLIENT, env=env,
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 10, output
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), output
