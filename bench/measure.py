"""What the issue-13 benches measure a running gunicorn with (`bench.view_bench.gunicorn`):
its workers' memory and CPU time, read from /proc, and request latencies from a small client.

Not a bench of its own: `bench.mdt_bench`, `bench.memory_bench` and `bench.scale_bench` use it.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def worker_pids(master: int, count: int = 2, timeout: float = 60) -> list[int]:
    """The pids of the master's `count` worker processes, once it has forked them all."""
    deadline = time.monotonic() + timeout
    while True:
        children = []
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[1]) == master:
                children.append(int(status.parent.name))
        if len(children) >= count:
            return sorted(children)
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn forked {len(children)} of {count} workers")
        time.sleep(0.2)


def rss_mib(pid: int) -> float:
    """The process's resident set (VmRSS), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def timed_requests(
    port: int,
    path: str,
    token: str,
    count: int,
    clients: int = 1,
    fresh: bool = False,
    failed: list[str] | None = None,
) -> list[float]:
    """Latencies (ms) of `count` GETs of `path` answered 200, made by `clients` threads one
    request at a time each. With `fresh`, every request opens its own connection, so
    gunicorn's workers take turns accepting them (a kept-alive connection stays with one
    worker). Any other answer raises, unless `failed` is given to collect them."""
    headers = {"Authorization": f"Bearer {token}"}
    if fresh:
        headers["Connection"] = "close"
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    remaining = [count]

    def take() -> bool:
        with lock:
            remaining[0] -= 1
            return remaining[0] >= 0

    def loop() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while take():
                started = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                took = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status == 200:
                        latencies.append(took)
                    else:
                        failures.append(f"{response.status} for {path}")
                if fresh:
                    connection.close()
        finally:
            connection.close()

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed is not None:
        failed.extend(failures)
    elif failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return latencies


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank, as wrk and view_bench read theirs."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[rank - 1]


def load(port: int, path: str, token: str, count: int, clients: int = 16) -> int:
    """Make at least `count` requests of `path` as fast as `clients` connections can (wrk
    in runs of a few seconds, else the Python client); returns how many were made."""
    if shutil.which("wrk") is None:
        timed_requests(port, path, token, count, clients)
        return count
    made = 0
    while made < count:
        out = subprocess.run(
            [
                "wrk",
                f"-c{clients}",
                "-t2",
                "-d5s",
                "--timeout=30s",
                "-H",
                f"Authorization: Bearer {token}",
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        done = re.search(r"(\d+) requests in", out)
        assert done, out
        if "Non-2xx" in out:
            raise RuntimeError(f"wrk saw responses that were not 2xx for {path}:\n{out}")
        made += int(done.group(1))
    return made
