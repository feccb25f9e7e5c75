"""Run one command and write its wall time and resource usage to a JSON file.

Usage: ``python benchmarks/launch.py REPORT.json COMMAND [ARGS...]``. The command
inherits stdin, stdout and stderr, and the launcher exits with its exit status.

The benchmark starts every measured program through this launcher because Linux
keeps, in a process's ``ru_maxrss``, the peak memory it had before ``exec``. Python's
``subprocess`` starts children with ``vfork`` where it can, so that memory is the
parent's. A tap started straight from the benchmark, which keeps the generated
account in memory, would report the benchmark's size. Started from this small
launcher, it reports its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    """Run the command, wait for it with ``os.wait4`` and write the report."""
    report_path, *command = argv
    started = time.monotonic()
    process = subprocess.Popen(command)  # noqa: S603
    _, status, usage = os.wait4(process.pid, 0)
    ended = time.monotonic()
    process.returncode = os.waitstatus_to_exitcode(status)
    report = {
        "exit_code": process.returncode,
        "started_monotonic": started,
        "wall_seconds": ended - started,
        "user_seconds": usage.ru_utime,
        "system_seconds": usage.ru_stime,
        "max_rss_kib": usage.ru_maxrss,
    }
    Path(report_path).write_text(json.dumps(report), encoding="utf-8")
    return process.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
