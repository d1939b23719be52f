"""Chapter 06's records and settings on disk: where a grid's records live, how they split into
the chapter's curves, what its settings file says, and the committed grids the chapter shows.

- :func:`records_path`, :func:`split_records` (subspace, pruning and compute-matched lottery
  records, one trajectory spectrum per seed), :func:`is_capped`;
- :func:`write_settings`: what a grid ran with, next to its records (how much of it is
  recorded is :func:`lottery.refresh_settings`'s ``completion``);
- :func:`load_committed`, :func:`committed_sentence`: a committed grid (:data:`COMMITTED_TAGS`)
  restricted to its complete seeds, and one line saying what it holds.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..engine.methods import LOTTERY_SUBSPACES, PRUNING_METHODS, SUBSPACE_METHODS
from .common import host_description, write_json

def records_path(directory, tag: str) -> Path:
    """Where a grid's records live: ``<directory>/<tag>_records.jsonl``."""
    return Path(directory) / f"{tag}_records.jsonl"


def is_capped(record) -> bool:
    """Whether a lottery-subspace record used a trajectory whose length was set by
    ``lottery_steps`` (a compute-matched run) instead of the original code's
    ``lottery_every * lottery_d_max`` steps."""
    return (record["method"] in LOTTERY_SUBSPACES and record.get("lottery_steps") is not None
            and record["lottery_steps"] != record["lottery_every"] * record["lottery_d_max"])


def _spectra(records) -> list:
    spectra = {}
    for r in records:
        if r["method"] in LOTTERY_SUBSPACES and r.get("singular_values"):
            if len(r["singular_values"]) > len(spectra.get(r["seed"], {}).get("singular_values", [])):
                spectra[r["seed"]] = {"seed": r["seed"], "d_max": r["lottery_d_max"],
                                      "lottery_steps": r.get("lottery_steps"),
                                      "singular_values": r["singular_values"]}
    return [spectra[s] for s in sorted(spectra)]


def split_records(records) -> dict:
    """``{"subspaces", "pruning", "spectra", "matched", "matched_spectra"}``: subspace-method
    records of the original trajectory length, pruning records, one lottery spectrum per seed
    (the singular values of its trajectory, from the lottery record with the largest d), and
    the same two for the compute-matched (capped) lottery records (:func:`is_capped`).

    Capped records of more than one cap length raise ``ValueError`` (they would mix two
    experiments in one curve)."""
    records = list(records)
    matched = [r for r in records if is_capped(r)]
    lengths = sorted({r["lottery_steps"] for r in matched})
    if len(lengths) > 1:
        raise ValueError(f"records hold compute-matched lottery runs of {lengths} steps; keep one cap per records file")
    plain = [r for r in records if not is_capped(r)]
    return {"subspaces": [r for r in plain if r["method"] in SUBSPACE_METHODS],
            "pruning": [r for r in plain if r["method"] in PRUNING_METHODS],
            "spectra": _spectra(plain), "matched": matched, "matched_spectra": _spectra(matched)}


#: the committed grids the chapter shows beside its own run (presets of the same names)
COMMITTED_TAGS = ("cpu-large", "paper")


def load_committed(directory, tag: str):
    """A committed grid (``<tag>_records.jsonl`` and ``<tag>_settings.json`` in ``directory``)
    restricted to its complete seeds: ``(split_records(...), info)``, or ``(None, info)``
    when it has no records or no complete seed yet.

    ``info``: ``state`` ("complete", "partial", or "not run"), ``done``/``expected`` runs,
    ``seeds`` (the complete ones, shown) out of ``seeds_planned``, ``n_train``, ``epochs``,
    ``wall_s_trained`` and ``reused`` (from the settings' ``completion``, which the command
    line keeps current). A partial grid is shown seed-complete only: every method then has
    the same seeds, so no comparison mixes seed sets."""
    from ..records import load_records
    directory = Path(directory)
    path, settings = records_path(directory, tag), directory / f"{tag}_settings.json"
    if not settings.exists():
        return None, {"state": "not run", "tag": tag}
    info = json.loads(settings.read_text())
    done = info.get("completion")
    if done is None:
        raise ValueError(f"{settings} has no 'completion'; bring it up to date with "
                         f"python -m dof_helpers.chapters.lottery --preset {tag} --status")
    par = info["parameters"]
    out = {"tag": tag, "state": info.get("state", "partial"), "done": done["done"], "expected": done["expected"],
           "seeds": done["seeds_complete"], "seeds_planned": list(par["seeds"]), "n_train": par["n_train"],
           "epochs": par["epochs"], "wall_s_trained": done["wall_s_trained"], "reused": done["reused"],
           "per_grid": done["per_grid"]}
    keep = set(done["seeds_complete"])
    if not keep or not path.exists():
        return None, out
    return split_records(r for r in load_records(path) if r["seed"] in keep), out


def committed_sentence(info: dict) -> str:
    """What a committed grid holds, in words (from :func:`load_committed`'s ``info``)."""
    if info["state"] == "not run":
        return f"{info['tag']}: not run yet (no settings file)"
    head = (f"{info['tag']}: {info['state']}, {info['done']:,} of {info['expected']:,} runs "
            f"({', '.join(f'{k} {v}' for k, v in info['per_grid'].items())}); "
            f"n_train = {info['n_train']:,}, {info['epochs']} epoch(s); "
            f"{info['wall_s_trained'] / 3600:.1f} h of training recorded here")
    if info["reused"]:
        head += f", {info['reused']} runs copied by key from another chapter's records"
    seeds = info["seeds"]
    shown = (f"all {len(seeds)} seeds shown" if len(seeds) == len(info["seeds_planned"])
             else f"seeds shown: {seeds or 'none'} ({len(seeds)} of {len(info['seeds_planned'])} complete)")
    return head + "; " + shown


def write_settings(path, params: dict, grids: dict, *, session: dict | None = None, **extra) -> None:
    """What a grid ran with (JSON next to its records; how much of it completed is
    :func:`lottery.refresh_settings`'s ``completion``).

    An existing file is updated, not replaced: its other fields (when the grid was first
    run, notes) stay, and ``session`` (e.g. start, wall time, new runs of this call) is
    appended to its list ``sessions``."""
    path = Path(path)
    info = json.loads(path.read_text()) if path.exists() else {}
    info.pop("completed_runs", None)  # older files: replaced by ``completion``
    info.update(parameters=params, grids={k: g.as_dict() for k, g in grids.items()},
                planned_runs={k: g.n_runs() for k, g in grids.items()}, host=host_description(), **extra)
    if session:
        info["sessions"] = info.get("sessions", []) + [session]
    write_json(path, info)

