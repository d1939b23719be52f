"""Tidy, crash-safe result records.

A *record* is one flat-ish JSON object per run (method, dataset, model, D, d, t, seed,
metrics, ...). Records are appended to a JSON-lines file one at a time, flushed and
fsynced, so an interrupted experiment loses at most the run that was in flight. A torn
last line (the process died mid-write) is ignored on reading and overwritten by the next
append.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np


def _to_jsonable(value):
    """Convert numpy / jax scalars and arrays to plain Python; NaN and inf become None."""
    if isinstance(value, Mapping):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _to_jsonable(np.asarray(value).tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_record(path: str | os.PathLike, record: Mapping) -> None:
    """Append one record to the JSON-lines file ``path`` and fsync it.

    A torn final line left by a crash is truncated away first, so the file always
    holds complete lines only.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _drop_torn_tail(path)
    line = json.dumps(_to_jsonable(dict(record)), sort_keys=True, allow_nan=False)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _drop_torn_tail(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        fh.truncate(keep)


def load_records(path: str | os.PathLike) -> list[dict]:
    """All complete records in ``path`` (an empty list if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # torn tail from an interrupted write
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def records_frame(records: Iterable[Mapping] | str | os.PathLike):
    """The records as a pandas ``DataFrame`` (one row per run).

    Accepts a path to a JSON-lines file or an iterable of records.
    """
    import pandas as pd

    if isinstance(records, (str, os.PathLike)):
        records = load_records(records)
    return pd.DataFrame(list(records))


def pending_runs(runs: Iterable[Mapping], path: str | os.PathLike) -> list:
    """The runs whose ``key`` has no record in ``path`` yet: what a resumed sweep still has to do."""
    done = {r.get("key") for r in load_records(path)}
    return [r for r in runs if r["key"] not in done]


def records_of(runs: Iterable[Mapping], path: str | os.PathLike) -> list[dict]:
    """The records in ``path`` that belong to ``runs`` (matched by ``key``), in file order."""
    keys = {r["key"] for r in runs}
    return [r for r in load_records(path) if r.get("key") in keys]


class RunWriter:
    """Appends a sweep's records one by one, with a progress bar and an optional cap.

    The bookkeeping every resumable sweep shares (:func:`sweep.run_sweep`,
    :func:`pruning.run_pruning_sweep`): ``total`` runs of which ``done`` are already in
    ``path``; :meth:`write` appends a record at once (crash-safe), advances the bar (its
    postfix from ``describe(record)``) and calls ``callback(record)``; :attr:`room` is how
    many more runs ``max_runs`` allows (None: no cap). Use as a context manager so the
    bar is closed when the sweep stops, however it stops.
    """

    def __init__(self, path, *, total: int, done: int, desc: str, progress: bool = True,
                 max_runs: int | None = None, callback=None, describe=None):
        self.path, self.max_runs, self.callback, self.describe = path, max_runs, callback, describe
        self.n_new = 0
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=done, desc=desc, unit="run")

    @property
    def room(self) -> int | None:
        return None if self.max_runs is None else max(0, self.max_runs - self.n_new)

    def write(self, record: Mapping) -> None:
        append_record(self.path, record)
        self.n_new += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.describe is not None:
                self.bar.set_postfix_str(self.describe(record))
        if self.callback is not None:
            self.callback(record)

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
