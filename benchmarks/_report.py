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

    def header(self, title: str, extra: str = "") -> None:
        """The report's title with the UTC time, and one line on the machine (jax, backend,
        devices, CPU cores, architecture, ``extra``) and its load when the report starts."""
        import platform
        import time

        import jax
        self(f"# {title} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
        self(f"jax {jax.__version__}, backend {jax.default_backend()}, devices {len(jax.devices())}, "
             f"{os.cpu_count()} CPU cores, {platform.machine()}" + (f", {extra}" if extra else ""))
        self.load("at start")

    def load(self, when: str) -> None:
        """One line with the 1, 5 and 15 minute load averages (other processes slow every timing)."""
        if hasattr(os, "getloadavg"):
            self(f"load average {when} (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))

    def ratio_table(self, med: dict, raw: dict, base: str, base_label: str | None = None) -> None:
        """A table of ms/step (median, min, max of the timed blocks) and the ratio to ``base``."""
        width = max(len(k) for k in med)
        self(f"{'variant':<{width}}  ms/step    min    max   / {base_label or base}")
        for name, m in med.items():
            self(f"{name:<{width}}  {m:7.2f} {min(raw[name]):6.2f} {max(raw[name]):6.2f}   {m / med[base]:6.2f}")


def time_interleaved(steppers: dict, steps: int, repeats: int, warmup: int = 3):
    """Median and all ms/step of each variant, timed in interleaved blocks (variant A, B, ...,
    A, B, ...), so that a change of machine load hits every variant alike.

    ``steppers`` maps name -> (state, step) with ``step(state, i) -> state`` (i: the step's
    index inside a block); ``warmup`` steps (compilation included) are not timed; a block
    ends when ``jax.block_until_ready(state)`` returns.
    """
    import time

    import jax
    import numpy as np
    state = {}
    for name, (s, step) in steppers.items():
        for i in range(warmup):
            s = step(s, i)
        state[name] = jax.block_until_ready(s)
    times = {name: [] for name in steppers}
    for _ in range(repeats):
        for name, (_, step) in steppers.items():
            s = state[name]
            start = time.perf_counter()
            for i in range(steps):
                s = step(s, i)
            state[name] = jax.block_until_ready(s)
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    return {name: float(np.median(t)) for name, t in times.items()}, times
