"""A report that is printed as it grows and can be saved (shared by the benchmark scripts)."""
from __future__ import annotations

import io
import os
import sys


class Report:
    """``report(line)`` prints ``line`` at once and keeps it; ``report.save(path)`` writes all lines."""

    def __init__(self):
        self._buf = io.StringIO()

    def __call__(self, line: str = "") -> None:
        print(line)
        self._buf.write(line + "\n")
        sys.stdout.flush()

    def save(self, path: str | None) -> None:
        if not path:
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(self._buf.getvalue())
