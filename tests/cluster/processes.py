"""Real Spark clusters from the installed pyspark, on 127.0.0.1, started and stopped by PID.

A standalone cluster (one master, N workers of 1 core each, executors in their own JVMs) and a
Spark Connect server. Used by the `cluster` tests and by bench/cluster.py. Every JVM runs in its
own process group so that stopping a worker also stops the executor JVMs it launched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyspark


def spark_home() -> Path:
    return Path(pyspark.__file__).resolve().parent


def java_available() -> bool:
    return subprocess.run(["java", "-version"], capture_output=True).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(work / "logs"),
            "SPARK_WORKER_DIR": str(work / "work"),
            "PYSPARK_PYTHON": sys.executable,
        }
    )
    return env


@dataclass
class Proc:
    """One JVM we started; ``stop`` signals its process group (the JVM and its children)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL, as a crashed machine would (no shutdown hooks)."""
        self._signal(signal.SIGKILL)
        self.popen.wait(30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(10)
        # Executors a worker launched sit in its group; none may outlive the test.
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)


def _start(name: str, args: list[str], work: Path, daemon_memory: str = "256m") -> Proc:
    (work / "logs").mkdir(parents=True, exist_ok=True)
    log = work / "logs" / f"{name}.log"
    env = {**_env(work), "SPARK_DAEMON_MEMORY": daemon_memory}
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=work
        )
    return Proc(name, popen, log)


def _wait(what: str, ready: object, procs: list[Proc], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for p in procs:
            if p.popen.poll() is not None:
                lines = p.log.read_text(errors="replace").splitlines()
                causes = [ln for ln in lines if ("Exception" in ln or "Error" in ln) and "\tat " not in ln]
                raise RuntimeError(f"{p.name} exited ({p.log}): " + "\n".join(causes[:10] or lines[-20:]))
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Standalone:
    """A standalone master and its workers (``spark://127.0.0.1:PORT``)."""

    work: Path
    port: int
    ui_port: int
    master: Proc
    workers: list[Proc] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def state(self) -> dict[str, object]:
        """The master's JSON view: workers, active and completed applications."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as resp:
            return dict(json.load(resp))

    def alive_workers(self) -> int:
        try:
            return int(self.state().get("aliveworkers", 0))  # type: ignore[call-overload]
        except (OSError, ValueError):  # not listening yet, or an empty page while it starts
            return 0

    def add_worker(self, cores: int = 1, memory: str = "1g") -> Proc:
        n = len(self.workers)
        proc = _start(
            f"worker{n}",
            [
                str(spark_home() / "bin" / "spark-class"),
                "org.apache.spark.deploy.worker.Worker",
                self.url,
                "--host",
                "127.0.0.1",
                "--cores",
                str(cores),
                "--memory",
                memory,
                "--webui-port",
                str(free_port()),
                "--work-dir",
                str(self.work / f"worker{n}"),
            ],
            self.work,
        )
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in [*self.workers, self.master]:
            proc.stop()


def start_standalone(work: Path, workers: int = 2, timeout_s: float = 240.0) -> Standalone:
    """Master + ``workers`` workers (1 core, 1 GB each); returns once all registered."""
    work.mkdir(parents=True, exist_ok=True)
    port, ui = free_port(), free_port()
    master = _start(
        "master",
        [
            str(spark_home() / "bin" / "spark-class"),
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui),
        ],
        work,
    )
    cluster = Standalone(work, port, ui, master)
    try:
        _wait("master", lambda: _listening(ui), [master], timeout_s)
        for _ in range(workers):
            cluster.add_worker()
        _wait("workers", lambda: cluster.alive_workers() == workers, [master, *cluster.workers], timeout_s)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@dataclass
class ConnectServer:
    """A Spark Connect server (``sc://127.0.0.1:PORT``) running Spark in ``local[N]`` mode."""

    work: Path
    port: int
    proc: Proc

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.stop()


def start_connect(work: Path, master: str = "local[1]", timeout_s: float = 240.0) -> ConnectServer:
    """The Connect server class of the installed pyspark (what sbin/start-connect-server.sh runs)."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = _start(
        "connect",
        [
            str(spark_home() / "bin" / "spark-submit"),
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--name",
            "datacody-test-connect",
            "--master",
            master,
            "--conf",
            "spark.connect.grpc.binding.address=127.0.0.1",
            "--conf",
            f"spark.connect.grpc.binding.port={port}",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            "--conf",
            "spark.sql.shuffle.partitions=2",
            "--conf",
            "spark.sql.session.timeZone=UTC",
            "--conf",
            f"spark.pyspark.python={sys.executable}",
        ],
        work,
        # The launcher sizes the Connect server (like the Thrift server) as a daemon.
        daemon_memory="1g",
    )
    server = ConnectServer(work, port, proc)
    try:
        _wait("Spark Connect server", lambda: _listening(port), [proc], timeout_s)
    except BaseException:
        server.stop()
        raise
    return server
