"""The worker processes of a running zaqar-server, from /proc."""

from __future__ import annotations

import re
from pathlib import Path

# What a log says when a worker died, was killed, or a request failed.
CRASH_SIGNS = re.compile(
    r'Worker exiting|WORKER TIMEOUT|Traceback|Worker \(pid:\d+\) was sent'
)


def worker_pids(master: int) -> set[int]:
    """The pids of the master's children (gunicorn's workers)."""
    children = set()
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces.
        fields = text.rsplit(')', 1)[1].split()
        if int(fields[1]) == master:
            children.add(int(stat.parent.name))
    return children


def rss_bytes(pid: int) -> int:
    """The resident set size of a process (VmRSS)."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
    raise AssertionError(f'no VmRSS for {pid}')


def crash_lines(log: str) -> list[str]:
    """The lines of a server log that tell of a crash or a failed request."""
    return [line for line in log.splitlines() if CRASH_SIGNS.search(line)]


def peak_rss_bytes(pid: int) -> int:
    """The peak resident set size of a process so far (VmHWM)."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024
    raise AssertionError(f'no VmHWM for {pid}')
