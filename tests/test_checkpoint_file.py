"""The checkpoint file under faults: a torn last line is reported and the log still verifies;
the next checkpoint repairs it; a full or read-only volume leaves no torn line; another
database's (or another copy's) file is refused."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from passport import audit, db
from passport.audit import checkpoint_file, checkpoints, verify
from passport.audit.setup import database_id, log_id

from .test_audit_chain import fill

ROOT = Path(__file__).resolve().parents[1]


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def file_of(app: Flask) -> Path:
    return Path(app.config["PASSPORT_SETTINGS"].checkpoints_path)


def signed(app: Flask, events: int = 5) -> Path:
    with app.app_context():
        fill(events)
    result = run(app, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    return file_of(app)


def whole_lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_text()
    assert data.endswith("\n"), "the file ends in a torn line"
    return [json.loads(line) for line in data.splitlines()]


def test_lines_name_the_log_and_the_database(fresh_app: Flask) -> None:
    path = signed(fresh_app)
    with fresh_app.app_context():
        ours = (log_id(), database_id())
    assert ours[1]
    assert all((line["log_id"], line["database_id"]) == ours for line in whole_lines(path))


def test_a_torn_last_line_is_reported_and_the_log_still_verifies(fresh_app: Flask) -> None:
    path = signed(fresh_app)
    whole = path.read_bytes()
    with path.open("ab") as out:
        out.write(whole.splitlines()[-1][:40])  # what a crash mid-write leaves
    result = run(fresh_app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "the checkpoint file has a damaged last line" in result.stderr
    assert "intact" in result.stdout
    with fresh_app.app_context():
        checked = verify.verify_database()
        assert checked.ok and checked.warnings == (checkpoint_file.DAMAGED_TAIL,)
        # The whole lines are still checked: a checkpoint in them that does not match fails.
        assert checked.checkpoints >= 1


def test_a_whole_line_before_the_torn_one_is_still_checked(fresh_app: Flask) -> None:
    path = signed(fresh_app)
    lines = path.read_bytes().splitlines()
    forged = json.loads(lines[-1])
    forged["entry_hash"] = "0" * 64
    path.write_bytes(b"\n".join([*lines, json.dumps(forged).encode()]) + b"\n" + lines[-1][:30])
    result = run(fresh_app, "audit", "verify")
    assert result.exit_code == 1
    assert "FAILED verification" in result.stderr and "bad signature" in result.stderr


def test_the_next_checkpoint_cuts_the_torn_tail_off(
    fresh_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    path = signed(fresh_app)
    before = whole_lines(path)
    with path.open("ab") as out:
        out.write(b'{"log_id":"half a li')
    with caplog.at_level(logging.WARNING, logger="passport.audit"):
        signed(fresh_app)
    after = whole_lines(path)  # ends in a newline, every line JSON
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert any(checkpoint_file.DAMAGED_TAIL in r.getMessage() for r in caplog.records)
    result = run(fresh_app, "audit", "verify")
    assert result.exit_code == 0 and "damaged" not in result.stderr


def test_an_old_torn_line_glued_to_a_whole_one_is_cut_off_too(fresh_app: Flask) -> None:
    """What the old writer left: a torn line, then the next line appended after it."""
    path = signed(fresh_app)
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([*lines[:-1], lines[-1][:25] + lines[-1]]) + b"\n")
    result = run(fresh_app, "audit", "verify")
    assert result.exit_code == 0 and "damaged last line" in result.stderr
    signed(fresh_app)
    assert len(whole_lines(path)) == len(lines)  # the glued line gone, a new one added


FULL_VOLUME = """
import resource, sys
from pathlib import Path
from passport.audit import checkpoint_file
path = Path(sys.argv[1])
size = path.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, resource.RLIM_INFINITY))
try:
    checkpoint_file.append(path, [sys.argv[2]], sys.argv[3], sys.argv[4])
except OSError as error:
    print("refused:", error.errno)
else:
    print("written")
"""


def _next_line(app: Flask) -> tuple[str, str, str]:
    with app.app_context():
        last = checkpoints.from_database()[-1]
        return json.dumps({**last, "database_id": database_id()}), log_id(), str(database_id())


def test_a_full_volume_leaves_no_torn_line(fresh_app: Flask) -> None:
    """The file may grow by only 40 bytes (RLIMIT_FSIZE: as a full disk, a write stops
    short): the append fails and the file is as it was."""
    path = signed(fresh_app)
    before = path.read_bytes()
    line, log, database = _next_line(fresh_app)
    out = subprocess.run(
        [sys.executable, "-c", FULL_VOLUME, str(path), line, log, database],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert out.startswith("refused:"), out
    assert path.read_bytes() == before
    result = run(fresh_app, "audit", "verify")
    assert result.exit_code == 0 and "damaged" not in result.stderr


READ_ONLY = """
import os, sys
from pathlib import Path
from passport.audit import checkpoint_file  # imported first: nobody cannot read root's Python
if os.getuid() == 0:
    os.setgid(65534)
    os.setuid(65534)  # root ignores permissions: write as nobody
try:
    checkpoint_file.append(Path(sys.argv[1]), [sys.argv[2]], sys.argv[3], sys.argv[4])
except OSError as error:
    print("refused:", type(error).__name__)
else:
    print("written")
"""


def test_a_read_only_volume_leaves_no_torn_line(fresh_app: Flask) -> None:
    path = signed(fresh_app)
    line, log, database = _next_line(fresh_app)
    with tempfile.TemporaryDirectory() as place:
        witness = Path(place) / "witness"
        witness.mkdir()
        copy = witness / "checkpoints.jsonl"
        copy.write_bytes(path.read_bytes())
        for p in (Path(place), witness):
            p.chmod(0o555)
        copy.chmod(0o444)
        try:
            out = subprocess.run(
                [sys.executable, "-c", READ_ONLY, str(copy), line, log, database],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            ).stdout
        finally:
            for p in (Path(place), witness):
                p.chmod(0o755)
        assert out.startswith("refused: PermissionError"), out
        assert copy.read_bytes() == path.read_bytes()


def test_another_databases_file_is_refused(
    fresh_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    path = signed(fresh_app)
    lines = whole_lines(path)
    theirs = {**lines[-1], "database_id": "another-database"}
    path.write_text("".join(json.dumps(line) + "\n" for line in [*lines, theirs]))
    before = path.read_bytes()
    with caplog.at_level(logging.ERROR, logger="passport.audit"), fresh_app.app_context():
        fill(3)
        made = checkpoints.sign_head()
        db.session.commit()
        assert made is not None
        held = [c["seq"] for c in checkpoints.from_database()]
        assert made.seq in held  # still signed into the database
    assert path.read_bytes() == before  # nothing appended
    assert any("belongs to another database" in r.getMessage() for r in caplog.records)
    ready = fresh_app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["failing"] == ["checkpoint_file"]
    assert "another database" in ready.json["checks"]["checkpoint_file"]


def test_a_restored_copy_does_not_fork_the_originals_file(fresh_app: Flask) -> None:
    """The file ends with a checkpoint this database does not hold (the original signed it
    after the copy was taken): the copy appends nothing."""
    path = signed(fresh_app)
    lines = whole_lines(path)
    later = {**lines[-1], "seq": lines[-1]["seq"] + 50, "entry_hash": "f" * 64}
    path.write_text("".join(json.dumps(line) + "\n" for line in [*lines, later]))
    before = path.read_bytes()
    result = run(fresh_app, "audit", "checkpoint")
    assert result.exit_code == 0
    assert path.read_bytes() == before
    ready = fresh_app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert "does not hold" in ready.json["checks"]["checkpoint_file"]


def test_old_lines_without_a_database_id_stay_readable_and_appendable(fresh_app: Flask) -> None:
    path = signed(fresh_app)
    old = [{k: v for k, v in line.items() if k != "database_id"} for line in whole_lines(path)]
    path.write_text("".join(json.dumps(line) + "\n" for line in old))
    assert run(fresh_app, "audit", "verify").exit_code == 0
    signed(fresh_app)
    lines = whole_lines(path)
    assert len(lines) == len(old) + 1 and "database_id" in lines[-1]
    with fresh_app.app_context():
        audit.integrate_all()
        assert verify.verify_database().ok


def test_two_writers_never_interleave(tmp_path: Path) -> None:
    """Appends from several processes at once: every line whole (flock + one write)."""
    path = tmp_path / "checkpoints.jsonl"
    script = (
        "import sys; from pathlib import Path; from passport.audit import checkpoint_file\n"
        "for i in range(200):\n"
        '    checkpoint_file.append(Path(sys.argv[1]), [\'{"log_id":"l","seq":%d,"pad":"%s"}\''
        " % (i, 'x' * 3000)], 'l', None)\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT) for _ in range(3)
    ]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    lines = whole_lines(path)
    assert len(lines) == 600
    assert os.path.getsize(path) == len(path.read_bytes())
