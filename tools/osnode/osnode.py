"""Real OpenSearch nodes on 127.0.0.1 for searchkit's tests, CI and humans (issue #17).

    python tools/osnode/osnode.py start [--nodes 3] [--workdir DIR]   # prints the URL(s)
    python tools/osnode/osnode.py stop [--workdir DIR]
    python tools/osnode/osnode.py status [--workdir DIR]
    python tools/osnode/osnode.py run [--nodes 3] -- COMMAND ...      # with the node(s) up
    python tools/osnode/osnode.py build                               # only the launcher

Each node is one JVM running tools/osnode/launcher (OpenSearch 2.19 in-process, plain
HTTP, no security plugin) on free loopback ports. The first use builds the launcher with
Maven, which downloads the jars into ~/.m2 once. Standard library only, so it runs before
any virtualenv exists; tests import it (`from tools.osnode.osnode import start_cluster`).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "launcher"
TARGET = LAUNCHER / "target"
CLASSPATH_FILE = TARGET / "classpath.txt"
MAIN_CLASS = "searchkit.opensearch.Launcher"
DEFAULT_WORKDIR = HERE / "work"
STATE_FILE = "state.json"
HEAP = ("-Xms256m", "-Xmx512m")
# Tests and CI: start fast and stay small (C1 only halves the start on 2 busy cores; the
# serial collector saves ~100 MB a node). Benchmarks pass FULL_JIT for steady-state speed.
QUICK_START = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
FULL_JIT: tuple[str, ...] = ()
BUILD_SOURCES = ("pom.xml", "src")
HOW_TO_RUN = (
    "install Java 17+ and Maven, then run the tests again (they start a node themselves), "
    "or start one with `python tools/osnode/osnode.py start` and export its URL as "
    "SEARCHKIT_TEST_OPENSEARCH_URL"
)


class OsnodeError(Exception):
    """A node could not be built, started or stopped; str() says why and what to do."""


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def java_command() -> str | None:
    """The java to run nodes with: $JAVA_HOME/bin/java, else java on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def missing_tools() -> str | None:
    """Why nodes cannot be built here (no java, no mvn), or None when they can."""
    missing = [name for name, found in (("java", java_command()), ("mvn", shutil.which("mvn")))
               if not found]
    if not missing:
        return None
    return f"no {' and no '.join(missing)} on this machine: {HOW_TO_RUN}"


def _built() -> bool:
    if not CLASSPATH_FILE.is_file() or not (TARGET / "classes").is_dir():
        return False
    built_at = CLASSPATH_FILE.stat().st_mtime
    for name in BUILD_SOURCES:
        paths = [LAUNCHER / name, *(LAUNCHER / name).rglob("*")]
        if any(p.is_file() and p.stat().st_mtime > built_at for p in paths):
            return False
    jars = CLASSPATH_FILE.read_text(encoding="utf-8").strip().split(os.pathsep)
    return all(Path(jar).is_file() for jar in jars)  # ~/.m2 may have been emptied


def build_launcher(progress: Progress = _quiet) -> str:
    """Build the launcher if its sources changed or it was never built; its classpath."""
    TARGET.mkdir(exist_ok=True)
    with open(TARGET / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs building at once: one builds
        if not _built():
            if shutil.which("mvn") is None:
                raise OsnodeError(f"no mvn on this machine: {HOW_TO_RUN}")
            progress("osnode: building the launcher with Maven (the first build downloads "
                     "about 90 MB of jars and plugins into ~/.m2; 30 s here) ...")
            started = time.monotonic()
            log = TARGET / "build.log"
            with open(log, "w") as out:
                done = subprocess.run(["mvn", "-B", "-q", "package"], cwd=LAUNCHER,
                                      stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise OsnodeError(f"building the OpenSearch launcher failed (mvn exit "
                                  f"{done.returncode}); see {log}:\n{_tail(log)}")
            CLASSPATH_FILE.touch()
            progress(f"osnode: built in {time.monotonic() - started:.0f} s")
    classes = TARGET / "classes"
    return f"{classes}{os.pathsep}{CLASSPATH_FILE.read_text(encoding='utf-8').strip()}"


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports free right now (the OS's ephemeral picks)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _get_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class NodeSpec:
    name: str
    home: Path
    http_port: int
    transport_port: int
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> Path:
        return self.home / "node.log"


def _is_our_node(pid: int) -> bool:
    """pid is alive and is one of our launchers (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return MAIN_CLASS.encode() in cmdline


@dataclass
class Cluster:
    """N nodes in one OpenSearch cluster on loopback; a context manager that stops them."""

    workdir: Path
    cluster_name: str
    nodes: list[NodeSpec]
    classpath: str = ""
    watch_pid: int | None = None
    jvm_options: Sequence[str] = QUICK_START
    _procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def pids(self) -> list[int | None]:
        return [n.pid for n in self.nodes]

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _launch(self, i: int) -> None:
        node = self.nodes[i]
        java = java_command()
        if java is None:
            raise OsnodeError(f"no java on this machine: {HOW_TO_RUN}")
        args = [java, *HEAP, *self.jvm_options, "-XX:+ExitOnOutOfMemoryError",
                "-Djava.awt.headless=true", f"-Djava.io.tmpdir={node.home / 'tmp'}",
                "-cp", self.classpath, MAIN_CLASS,
                "--home", str(node.home), "--cluster", self.cluster_name, "--node", node.name,
                "--http-port", str(node.http_port), "--transport-port", str(node.transport_port)]
        if len(self.nodes) > 1:
            args += ["--seed-hosts", ",".join(f"127.0.0.1:{n.transport_port}" for n in self.nodes),
                     "--initial-managers", ",".join(n.name for n in self.nodes)]
        if self.watch_pid is not None:
            args += ["--watch-pid", str(self.watch_pid)]
        (node.home / "tmp").mkdir(parents=True, exist_ok=True)
        with open(node.log, "ab") as log:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self._procs[i] = proc
        node.pid = proc.pid
        self.save()

    def _alive(self, i: int) -> bool:
        proc = self._procs.get(i)
        if proc is not None:
            return proc.poll() is None
        pid = self.nodes[i].pid
        return pid is not None and _is_our_node(pid)

    def wait_healthy(self, status: str = "yellow", timeout: float = 240.0,
                     nodes: Sequence[int] | None = None) -> dict[str, Any]:
        """Poll each running node until the cluster reports `status` with all of them in.

        Bounded by `timeout`; a node that exits meanwhile fails at once with its log.
        """
        running = list(range(len(self.nodes))) if nodes is None else list(nodes)
        query = f"wait_for_status={status}&wait_for_nodes={len(running)}&timeout=2s"
        deadline = time.monotonic() + timeout
        health: dict[str, Any] = {}
        for i in running:
            node = self.nodes[i]
            while True:
                if not self._alive(i):
                    raise OsnodeError(f"OpenSearch node {node.name} exited while starting; "
                                      f"see {node.log}:\n{_tail(node.log)}")
                try:
                    health = _get_json(f"{node.url}/_cluster/health?{query}", timeout=10)
                    if not health.get("timed_out", True):
                        break
                except (urllib.error.URLError, OSError, ValueError):
                    pass  # not listening yet, or 408 while it waits for the status
                if time.monotonic() > deadline:
                    raise OsnodeError(
                        f"OpenSearch at {node.url} was not {status} with {len(running)} "
                        f"node(s) after {timeout:.0f} s; see {node.log}:\n{_tail(node.log)}")
                time.sleep(0.5)
        return health

    def start_node(self, i: int, timeout: float = 240.0) -> None:
        """Start node i again (same ports, same data) and wait until it has rejoined."""
        if self._alive(i):
            raise OsnodeError(f"node {self.nodes[i].name} is already running")
        self._launch(i)
        self.wait_healthy("yellow", timeout,
                          nodes=[j for j in range(len(self.nodes)) if self._alive(j)])

    def stop_node(self, i: int, timeout: float = 60.0) -> None:
        """SIGTERM node i (it closes cleanly), SIGKILL after `timeout` seconds."""
        node = self.nodes[i]
        if node.pid is None or not self._alive(i):
            node.pid = None
            self._procs.pop(i, None)
            self.save()
            return
        pid = node.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._alive(i) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._alive(i):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while self._alive(i) and time.monotonic() < deadline + 10:
                time.sleep(0.1)
        proc = self._procs.pop(i, None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        node.pid = None
        self.save()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every node, all at once (SIGTERM each, then wait)."""
        for i, node in enumerate(self.nodes):
            if node.pid is not None and self._alive(i):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(node.pid, signal.SIGTERM)
        for i in range(len(self.nodes)):
            self.stop_node(i, timeout)

    def save(self) -> None:
        state = {"cluster": self.cluster_name,
                 "nodes": [{"name": n.name, "home": str(n.home), "http_port": n.http_port,
                            "transport_port": n.transport_port, "pid": n.pid, "url": n.url}
                           for n in self.nodes]}
        (self.workdir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n",
                                               encoding="utf-8")

    @classmethod
    def load(cls, workdir: Path) -> Cluster | None:
        try:
            state = json.loads((workdir / STATE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        nodes = [NodeSpec(n["name"], Path(n["home"]), n["http_port"], n["transport_port"],
                          n["pid"]) for n in state["nodes"]]
        return cls(workdir, state["cluster"], nodes)


def start_cluster(n: int = 1, workdir: Path | str = DEFAULT_WORKDIR, *,
                  timeout: float = 240.0, watch_parent: bool = True,
                  jvm_options: Sequence[str] = QUICK_START,
                  progress: Progress = _quiet) -> Cluster:
    """Start n fresh nodes (their old data in workdir is wiped) and wait for green.

    With watch_parent, each JVM exits by itself when this process dies, so a killed test
    run leaves no node behind.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    old = Cluster.load(workdir)
    if old is not None and any(old._alive(i) for i in range(len(old.nodes))):
        raise OsnodeError(f"OpenSearch nodes from {workdir} are still running at "
                          f"{', '.join(old.urls)}: stop them first (osnode.py stop "
                          f"--workdir {workdir})")
    classpath = build_launcher(progress)
    for attempt in range(3):  # a port picked free may be taken before the JVM binds it
        ports = free_ports(2 * n)
        nodes = []
        for i in range(n):
            home = workdir / f"node-{i}"
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            nodes.append(NodeSpec(f"node-{i}", home, ports[2 * i], ports[2 * i + 1]))
        cluster = Cluster(workdir, f"searchkit-test-{os.getpid()}", nodes, classpath,
                          os.getpid() if watch_parent else None, jvm_options)
        progress(f"osnode: starting {n} node(s) in {workdir} ...")
        started = time.monotonic()
        try:
            for i in range(n):
                cluster._launch(i)
            cluster.wait_healthy("green", timeout)
        except OsnodeError:
            cluster.stop()
            if attempt < 2 and any("BindException" in _tail(node.log, 200)
                                   or "BindTransportException" in _tail(node.log, 200)
                                   for node in nodes):
                continue
            raise
        progress(f"osnode: green in {time.monotonic() - started:.0f} s at "
                 f"{', '.join(cluster.urls)}")
        return cluster
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_cluster(n: int = 1, workdir: Path | str = DEFAULT_WORKDIR,
                    **kwargs: Any) -> Iterator[Cluster]:
    cluster = start_cluster(n, workdir, **kwargs)
    try:
        yield cluster
    finally:
        cluster.stop()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _jvm(args: argparse.Namespace) -> Sequence[str]:
    return FULL_JIT if args.full_jit else QUICK_START


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osnode.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "status", "run", "build"):
        p = sub.add_parser(name)
        if name != "build":
            p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                           help=f"nodes' data, logs and state (default {DEFAULT_WORKDIR})")
        if name in ("start", "run"):
            p.add_argument("--nodes", type=int, default=1, help="cluster size (default 1)")
            p.add_argument("--timeout", type=float, default=240.0,
                           help="seconds to wait for green (default 240)")
            p.add_argument("--full-jit", action="store_true",
                           help="full JIT and G1 (for benchmarks; starts slower)")
        if name == "run":
            p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(build_launcher(_stderr))
        elif args.command == "start":
            cluster = start_cluster(args.nodes, args.workdir, timeout=args.timeout,
                                    watch_parent=False, jvm_options=_jvm(args),
                                    progress=_stderr)
            print(",".join(cluster.urls))
        elif args.command == "stop":
            found = Cluster.load(args.workdir.resolve())
            if found is None:
                _stderr(f"osnode: nothing started from {args.workdir}")
            else:
                found.stop()
                _stderr(f"osnode: stopped {', '.join(found.urls)}")
        elif args.command == "status":
            found = Cluster.load(args.workdir.resolve())
            if found is None:
                _stderr(f"osnode: nothing started from {args.workdir}")
                return 1
            up = 0
            for i, node in enumerate(found.nodes):
                alive = found._alive(i)
                up += alive
                print(f"{node.name} {node.url} pid={node.pid} {'up' if alive else 'down'}")
            return 0 if up else 1
        else:
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            if not cmd:
                parser.error("run needs a command after --")
            with running_cluster(args.nodes, args.workdir, timeout=args.timeout,
                                 jvm_options=_jvm(args), progress=_stderr) as cluster:
                env = {**os.environ, "SEARCHKIT_TEST_OPENSEARCH_URL": cluster.url}
                return subprocess.run(cmd, env=env, check=False).returncode
    except OsnodeError as e:
        _stderr(f"osnode: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
