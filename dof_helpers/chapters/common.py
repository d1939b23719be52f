"""What every experiment chapter shares: its parameters, its data, its settings files."""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import resource
import time
from pathlib import Path

from ..validation import check_choice, check_int


def chapter_parameters(chapter: str, preset: str | None = None) -> dict:
    """A chapter's ``parameters`` cell (its defaults), then the preset's overrides.

    ``chapter`` is a stem, a number prefix or a path (:func:`runner.resolve_chapter`);
    an unknown preset raises ``ValueError`` listing the chapter's presets; a preset that
    names a parameter the cell does not have raises ``ValueError`` naming it.
    """
    from ..paths import repo_root
    from ..runner import load_preset, notebook_from_source, parameters_cell, preset_path, resolve_chapter
    source = resolve_chapter(chapter)
    params = parameters_cell(notebook_from_source(source))
    if preset:
        overrides = load_preset(preset_path(source, preset, repo_root()))
        unknown = sorted(set(overrides) - set(params))
        if unknown:
            raise ValueError(f"preset {preset!r} of {source.stem} sets {unknown}, which the chapter's parameters "
                             f"cell does not have; accepted: {', '.join(sorted(params))}")
        params.update(overrides)
    return params


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Which data a chapter trains on: a built-in dataset, its first ``n_train`` training
    and first ``n_test`` test examples (None: all), normalised by :func:`data.load_dataset`."""
    dataset: str = "fashion_mnist"
    n_train: int | None = None
    n_test: int | None = None

    def __post_init__(self):
        from ..data import DATASET_NAMES
        check_choice("dataset", self.dataset, DATASET_NAMES)
        for name in ("n_train", "n_test"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), min_value=1)

    def load(self):
        from ..data import load_dataset
        ds = load_dataset(self.dataset, n_train=self.n_train)
        return ds.subset(n_test=min(self.n_test, ds.n_test) if self.n_test else None)

    def stem(self, model: str, pool: str) -> str:
        """A file-name stem naming the data and the model (one records file per pair)."""
        return f"{self.dataset}_{model}_{pool}_n{self.n_train or 'all'}_t{self.n_test or 'all'}"


def host_description() -> str:
    import jax
    return (f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, jax {jax.__version__} on "
            f"{jax.default_backend()}, {len(jax.devices())} device(s)")


def read_settings(folder, module: str) -> dict:
    """The ``settings.json`` of a results folder; a missing one is a ``FileNotFoundError`` that
    says how ``python -m dof_helpers.chapters.<module>`` produces it."""
    path = Path(folder) / "settings.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; produce it with `python -m dof_helpers.chapters.{module} run "
                                f"--preset cpu-large --out {folder}`")
    return json.loads(path.read_text())


def write_json(path, payload: dict) -> None:
    """Write ``payload`` as indented JSON (sorted keys) atomically."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


#: what a results folder's ``state`` says (chapters 05 and 06): a driver is writing it
#: ("running"; if no driver holds the folder's lock, it was stopped without a word), every
#: run is recorded ("complete"), or a driver stopped before the end ("partial")
STATES = ("running", "complete", "partial")


def is_complete(done: dict) -> bool:
    """Whether a completion count (``{"done": k, "expected": n, ...}``, as the chapters'
    ``completion`` functions return it) has every run of its grid."""
    missing = [k for k in ("done", "expected") if k not in done]
    if missing:
        raise ValueError(f"done={done!r} is not valid: a completion count needs the fields 'done' and 'expected'")
    return done["done"] >= done["expected"]


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class StepClock:
    """Wall time and peak resident memory (GiB, since process start) of a step, recorded in
    ``log[name]`` as ``{"seconds", "peak_rss_gib"}`` when the ``with`` block ends."""

    def __init__(self, log: dict, name: str):
        self.log, self.name = log, name

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
        self.log[self.name] = {"seconds": round(time.perf_counter() - self.t0, 2), "peak_rss_gib": round(peak, 2)}
