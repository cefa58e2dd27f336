"""Report each chapter's execution time from the book's execution cache.

Usage: .venv/bin/python tools/exec_times.py [CACHE_DIR]   (default: _build/.jupyter_cache)

Prints one line per cached notebook (slowest first) and the total, so that a chapter
that breaks the 30-second budget is visible at a glance.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_cache import get_cache

BUDGET_S = 30.0


def main(argv: list[str]) -> int:
    """Print the table; return 1 if any chapter exceeds the budget."""
    root = Path(__file__).resolve().parents[1]
    cache_dir = Path(argv[1]) if len(argv) > 1 else root / "_build" / ".jupyter_cache"
    if not cache_dir.is_dir():
        print(f"no execution cache at {cache_dir}: run `make book` first", file=sys.stderr)
        return 2
    cache = get_cache(str(cache_dir))
    latest = {}  # the cache keeps old versions of an edited chapter: take the newest
    for record in cache.list_cache_records():
        if record.uri not in latest or record.created > latest[record.uri].created:
            latest[record.uri] = record
    rows = []
    for uri, record in latest.items():
        seconds = float(record.data.get("execution_seconds", float("nan")))
        rows.append((seconds, Path(uri).relative_to(root).as_posix()))
    rows.sort(reverse=True)
    width = max((len(name) for _, name in rows), default=10)
    for seconds, name in rows:
        flag = "  <-- over budget" if seconds > BUDGET_S else ""
        print(f"{name:<{width}}  {seconds:6.1f} s{flag}")
    print(f"{'total':<{width}}  {sum(s for s, _ in rows):6.1f} s  ({len(rows)} chapters)")
    return 1 if any(s > BUDGET_S for s, _ in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
