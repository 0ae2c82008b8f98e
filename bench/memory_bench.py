"""Worker memory under views (issue 13): not a test, a measurement.

    .venv/bin/python -m bench.memory_bench [--requests 10000] [--warm-up 1000] [--clients 16]
                                           [--only sqlite|postgresql]

Seeds a throwaway database as `bench.view_bench` does (SQLite, inline integrator; then
PostgreSQL, background integrator, unless `--only sqlite`), starts the same gunicorn
(2 workers x 4 threads) and makes `--warm-up` consented views, then `--requests` more, with
`--clients` connections (wrk if installed, else the Python client). Reads each worker's VmRSS
(/proc/PID/status) after the warm-up and after every fifth of the run, and prints the growth.
Target: RSS per worker after 10k requests within 10% of RSS after warm-up.

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .measure import load, rss_mib, worker_pids
from .view_bench import database, free_port, gunicorn, paths, seed

TARGET_GROWTH = 0.10
STEPS = 5


@dataclass
class Result:
    backend: str
    requests: int  # made after the warm-up (wrk runs in slices, so at least the asked number)
    rss: dict[int, list[float]]  # worker -> MiB after warm-up, then after each step

    @property
    def worst_growth(self) -> float:
        """The largest growth of any worker, as a fraction of its RSS after warm-up."""
        return max(samples[-1] / samples[0] - 1 for samples in self.rss.values())


def run(backend: str, requests: int, warm_up: int, clients: int) -> Result:
    home = Path(tempfile.mkdtemp(prefix=f"passport-memorybench-{backend}-"))
    try:
        with database(backend, home) as url:
            seeded = seed(backend, home, url)
            port = free_port()
            view = paths(seeded.person_id)["view"]
            with gunicorn(seeded.env, port) as master:
                pids = worker_pids(master.pid)
                load(port, view, seeded.token, warm_up, clients)
                rss = {pid: [rss_mib(pid)] for pid in pids}
                made = 0
                for _ in range(STEPS):
                    made += load(port, view, seeded.token, requests // STEPS, clients)
                    for pid in pids:
                        rss[pid].append(rss_mib(pid))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return Result(backend, made, rss)


def report(result: Result) -> None:
    print(
        f"\n{result.backend}: worker RSS (MiB) after the warm-up and after each fifth of "
        f"{result.requests:,} views, gunicorn 2x4"
    )
    steps = " | ".join(f"{n}/{STEPS}" for n in range(1, STEPS + 1))
    print(f"| worker | warm-up | {steps} | growth |")
    print("|---|---|" + "---|" * STEPS + "---|")
    for pid, samples in result.rss.items():
        growth = samples[-1] - samples[0]
        figures = " | ".join(f"{s:.0f}" for s in samples)
        print(f"| {pid} | {figures} | {growth:+.1f} ({100 * growth / samples[0]:+.1f}%) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--warm-up", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        if options.only in (None, backend):
            report(run(backend, options.requests, options.warm_up, options.clients))


if __name__ == "__main__":
    main()
