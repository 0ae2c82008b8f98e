"""Issue 13's targets in one table: not a test, a measurement.

    .venv/bin/python -m bench.targets [--quick] [--with-log [--log-events 10000000]]

Runs every issue-13 bench in turn, each on throwaway databases and under the same gunicorn
(2 workers x 4 threads) where it serves requests, prints each bench's own table as it goes,
then one table of every target with the figure measured in this run and whether it is met:

- `bench.view_bench` (SQLite, PostgreSQL): the consented view, the brief and the history
  against the logged baseline;
- `bench.query_counts`: the statements of a caseload of 500 and an MDT summary of 25;
- `bench.mdt_bench` (SQLite, PostgreSQL): the MDT summary's JSON and PDF p50/p99, and the
  workers' RSS over many PDFs;
- `bench.memory_bench` (SQLite, and PostgreSQL unless `--quick`): worker RSS over 10k views;
- `bench.scale_bench` (PostgreSQL): view p99 at 1k and at 100k people;
- with `--with-log`, `bench.log_targets` (PostgreSQL; builds a 10M-event log, which takes
  a while): the DPO filters, the person's first access-log page, and verify.

`--quick` makes every run shorter (fewer requests, seconds and rounds): for checking the bench
itself, its figures are rougher. The machine is shared: read ratios, and repeat.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from . import log_targets, mdt_bench, memory_bench, query_counts, scale_bench, view_bench


@dataclass
class Row:
    target: str
    measured: str
    met: bool | None  # None: not measured here


@dataclass
class Plan:
    view_seconds: float
    view_rounds: int
    mdt_json: int
    mdt_pdfs: int
    mdt_memory_pdfs: int
    memory_requests: int
    memory_backends: tuple[str, ...]
    scale_requests: int
    scale_rounds: int


FULL = Plan(5, 2, 60, 20, 200, 10_000, ("sqlite", "postgresql"), 500, 3)
QUICK = Plan(2, 1, 20, 5, 40, 2_000, ("sqlite",), 200, 2)
BACKENDS = ("sqlite", "postgresql")


def _views(plan: Plan) -> list[Row]:
    rows = []
    for backend in BACKENDS:
        result = view_bench.run(backend, plan.view_seconds, 16, plan.view_rounds)
        view_bench.report(result)
        for label, least in (("view", 0.8), ("brief", 0.6), ("history", 0.6)):
            ratio = result.ratio(label)
            rows.append(
                Row(
                    f"{'consented view' if label == 'view' else label} ≥ {least}× logged "
                    f"baseline ({backend})",
                    f"{ratio:.2f}× ({result.best[label]['rps']:.0f} vs "
                    f"{result.best['logged baseline']['rps']:.0f} req/s)",
                    ratio >= least,
                )
            )
    return rows


def _queries() -> list[Row]:
    rows = []
    for backend in BACKENDS:
        counts = query_counts.run(backend, 500)
        query_counts.report(backend, counts)
        for label, count in counts.items():
            rows.append(
                Row(
                    f"{label}: under {query_counts.TARGET_QUERIES} queries ({backend})",
                    f"{count.queries} queries ({count.statements} statements)",
                    count.queries < query_counts.TARGET_QUERIES,
                )
            )
    return rows


def _mdt(plan: Plan) -> list[Row]:
    rows = []
    for backend in BACKENDS:
        result = mdt_bench.run(backend, plan.mdt_json, plan.mdt_pdfs, plan.mdt_memory_pdfs)
        mdt_bench.report(result)
        for kind, target in (("json", mdt_bench.JSON_TARGET_MS), ("pdf", mdt_bench.PDF_TARGET_MS)):
            p50, p99 = result.p(kind, 50), result.p(kind, 99)
            rows.append(
                Row(
                    f"MDT summary of {mdt_bench.PEOPLE} as {kind.upper()} ≤ {target} ms, "
                    f"p50 ({backend})",
                    f"p50 {p50:.0f} ms, p99 {p99:.0f} ms",
                    p50 <= target,
                )
            )
        growth, percent = result.worst_growth
        first = max(w.first_pdfs - w.warm for w in result.workers.values())
        rows.append(
            Row(
                f"no lasting growth of worker RSS over {result.memory_pdfs} PDFs, "
                f"after the first ({backend})",
                f"worst worker {growth:+.1f} MiB ({percent:+.1f}%); the first PDFs "
                f"{first:+.0f} MiB once",
                percent <= mdt_bench.LASTING_GROWTH_PERCENT,
            )
        )
    return rows


def _memory(plan: Plan) -> list[Row]:
    rows = []
    for backend in plan.memory_backends:
        result = memory_bench.run(backend, plan.memory_requests, 1_000, 16)
        memory_bench.report(result)
        rows.append(
            Row(
                f"worker RSS after {plan.memory_requests:,} views within "
                f"{memory_bench.TARGET_GROWTH:.0%} of after warm-up ({backend})",
                f"worst worker {result.worst_growth:+.1%} ({result.requests:,} views)",
                result.worst_growth <= memory_bench.TARGET_GROWTH,
            )
        )
    return rows


def _scale(plan: Plan) -> list[Row]:
    sizes = scale_bench.run([1_000, 100_000], 20, plan.scale_requests, plan.scale_rounds, 1)
    scale_bench.report(sizes, 1)
    small, large = sizes
    ratio = large.p99 / small.p99
    return [
        Row(
            f"view p99 at 100k people within {scale_bench.TARGET_RATIO}× of 1k (postgresql)",
            f"{ratio:.2f}× ({large.p99:.1f} vs {small.p99:.1f} ms, 1 client)",
            ratio <= scale_bench.TARGET_RATIO,
        )
    ]


def _log(events: int) -> list[Row]:
    result = log_targets.run(events, 11)
    log_targets.report(result)
    label, slowest = result.slowest_filter
    return [
        Row(
            f"every DPO filter on {events:,} events, median ≤ {log_targets.QUERY_TARGET_MS} ms",
            f"slowest {slowest:.0f} ms ({label})",
            slowest <= log_targets.QUERY_TARGET_MS,
        ),
        Row(
            f"the person's first access-log page on {events:,} events, median ≤ "
            f"{log_targets.QUERY_TARGET_MS} ms",
            f"{result.first_page:.0f} ms",
            result.first_page <= log_targets.QUERY_TARGET_MS,
        ),
        Row(
            f"verify {events:,} events ≤ {log_targets.VERIFY_TARGET_S} s",
            f"{result.verify_seconds:.1f} s, {log_targets.VERIFY_WORKERS} processes "
            f"(exit {result.verify_exit})",
            result.verify_exit == 0 and result.verify_seconds <= log_targets.VERIFY_TARGET_S,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher figures")
    parser.add_argument("--with-log", action="store_true", help="also the 10M-event log (slow)")
    parser.add_argument("--log-events", type=int, default=10_000_000)
    options = parser.parse_args()
    plan = QUICK if options.quick else FULL
    load = os.getloadavg()
    rows = _views(plan) + _queries() + _mdt(plan) + _memory(plan) + _scale(plan)
    if options.with_log:
        rows += _log(options.log_events)
    else:
        rows.append(Row("DPO filters, first access-log page and verify on 10M events", "", None))
    rows.append(
        Row(
            "chaining never waits for a reader",
            "held by tests/test_audit_log_reads.py, not timed",
            None,
        )
    )
    after = os.getloadavg()
    print(
        f"\nIssue 13's targets{' (--quick)' if options.quick else ''}: load average "
        f"{load[0]:.2f} at the start, {after[0]:.2f} at the end ({os.cpu_count()} CPUs)"
    )
    print("| target | measured | met |")
    print("|---|---|---|")
    for row in rows:
        verdict = "not measured" if row.met is None else ("met" if row.met else "NOT MET")
        measured = row.measured or ("run with --with-log" if row.met is None else "")
        print(f"| {row.target} | {measured} | {verdict} |")


if __name__ == "__main__":
    main()
