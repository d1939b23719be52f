"""Re-key the committed cpu-large records of chapters 05 and 06 for the engine's fingerprinted run keys.

Run once (2026-12-02) when the experiment engine replaced the old sweep/pruning modules.
Why re-keying is sound: the new engine reproduces the old records bit for bit (same
random-number scheme, same trajectory, same steps); this was checked on a sample of
seven runs of both chapters (lottery subspaces at 0 and t, burn-in, random affine,
tickets at t, random pruning: every best metric identical) before re-keying. The
metrics of every old record are kept as they are; what changes is the identifying part:
fields renamed to the engine's names (``burn_in_lr``/``pretrain_lr`` -> ``full_lr``, the
tickets' ``lr`` -> ``ticket_lr``), the model and data fingerprints and the new key, and
for lottery subspaces the trajectory's singular values (from the old spectra file). The
baselines and centre accuracies of chapter 05 changed definition (the full model now
starts from the seed's own w_0) and are recomputed, not re-keyed.

    python results/rekey_records.py
"""
import json
from pathlib import Path

from dof_helpers.chapters import lottery as ch06, phase_transition as ch05
from dof_helpers.chapters.common import chapter_parameters, utc_now, write_json
from dof_helpers.engine import make_context, plan_runs
from dof_helpers.records import append_record, load_records

KEEP = ("train_loss", "train_acc", "test_loss", "test_acc", "epoch_train_loss_running", "status", "steps",
        "epochs_done", "best_train_loss", "best_train_acc", "best_test_loss", "best_test_acc", "wall_time", "D", "d",
        "error", "collapsed_layers", "n_collapsed", "layer_keep", "compression", "basis")
ROOT = Path(__file__).resolve().parents[1]


def _coords(r):
    size = ("keep_fraction", float(r["keep_fraction"])) if "keep_fraction" in r else ("d", int(r["d"]))
    return (r["method"], size, int(r["t"]), int(r["seed"]))


def rekey(old_records, planned, context, extra=lambda run, old: {}):
    by = {_coords(r): r for r in planned}
    out = []
    for old in old_records:
        run = by.pop(_coords(old))
        rec = dict(run, **context.identity, **{k: old[k] for k in KEEP if k in old}, **extra(run, old))
        out.append(rec)
    return out, len(by)


def chapter06():
    folder = ROOT / "results" / "06_lottery"
    p = chapter_parameters("06_lottery", "cpu-large")
    ds = ch06.data_spec(p).load()
    ctx = make_context(p["model"], ds, pool=p["pool"])
    planned = [r for g in ch06.chapter_grids(p).values() for r in plan_runs(g, ctx)]
    spectra = {r["seed"]: r["singular_values"] for r in load_records(folder / "cpu-large_spectra.jsonl")}
    old = load_records(folder / "cpu-large_subspaces.jsonl") + load_records(folder / "cpu-large_pruning.jsonl")
    sv = lambda run, o: ({"singular_values": spectra[run["seed"]][:run["d"]]}  # noqa: E731
                         if run["method"].startswith("lottery_subspace") else {})
    new, missing = rekey(old, planned, ctx, sv)
    path = ch06.records_path(folder, "cpu-large")
    path.unlink(missing_ok=True)
    for r in new:
        append_record(path, r)
    settings = json.loads((folder / "cpu-large_settings.json").read_text())
    settings.update(grids={k: g.as_dict() for k, g in ch06.chapter_grids(p).items()},
                    planned_runs={k: g.n_runs() for k, g in ch06.chapter_grids(p).items()},
                    rekeyed_utc=utc_now(), note="records re-keyed for the engine's run keys by results/rekey_records.py")
    settings.pop("completed_runs", None)
    settings["completed_runs"] = {"records": len(new)}
    write_json(folder / "cpu-large_settings.json", settings)
    for name in ("subspaces", "pruning", "spectra"):
        (folder / f"cpu-large_{name}.jsonl").unlink()
    print(f"06: {len(new)} records re-keyed, {missing} planned runs without a record")


def chapter05():
    folder = ROOT / "results" / "05_phase_transition"
    phase = ch05.preset_phase("cpu-large")
    ds = phase.data.load()
    ctx = make_context(phase.model, ds, pool=phase.pool)
    planned = plan_runs(phase.config, ctx)
    old_settings = json.loads((folder / "settings.json").read_text())
    new, missing = rekey(load_records(folder / "records.jsonl"), planned, ctx)
    (folder / "records.jsonl").unlink()
    for r in new:
        append_record(folder / "records.jsonl", r)
    for name in ("baseline.jsonl", "burn_in.jsonl"):
        (folder / name).unlink()
    ch05.run_baseline(phase, folder / ch05.BASELINE_FILE, data=ds)
    ch05.centre_points(phase, folder / ch05.CENTRES_FILE, data=ds)
    settings = dict(phase=phase.as_dict(), preset="cpu-large", host=old_settings.get("host"),
                    started_utc=old_settings.get("started_utc"), finished_utc=old_settings.get("finished_utc"),
                    wall_s_total=round(sum(r["wall_time"] for r in new), 1), completion=ch05.completion(phase, new),
                    rekeyed_utc=utc_now(), note="sweep records re-keyed for the engine's run keys by "
                    "results/rekey_records.py; baseline and centres recomputed")
    write_json(folder / ch05.SETTINGS_FILE, settings)
    print(f"05: {len(new)} records re-keyed, {missing} planned runs without a record")


if __name__ == "__main__":
    chapter06()
    chapter05()
