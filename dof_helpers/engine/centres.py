"""The centres themselves: the loss and accuracy of w_0 and of every trajectory point w_t.

These are the "d = 0" values of the paper's Figure 12: where a subspace run starts. The
points are the seed state's own (:class:`state.SeedState`), so they are exactly the
centres of the sweep's runs. One record per (seed, t), keyed like a run
(:func:`keys.run_key`), appended as it is computed and reused on a rerun.
"""
from __future__ import annotations

from pathlib import Path

from ..records import append_record, load_records
from ..train import evaluate
from . import platform
from .keys import make_context, run_key
from .lock import records_lock
from .state import SeedState
from .sweep import check_records_file


def run_centres(config, model, data, records_path, **model_options) -> list[dict]:
    """Evaluate w_0 and w_t for every seed and every t of ``config.t_values`` (t = 0 always)."""
    context = make_context(model, data, **model_options)
    check_records_file(records_path, context)
    with records_lock(Path(records_path).parent):
        return _run_centres(config, context, records_path)


def _run_centres(config, context, records_path) -> list[dict]:
    data = context.data
    done = {r.get("key") for r in load_records(records_path)}
    ts = (0,) + tuple(config.t_values)
    keys = []
    for seed in config.seeds:
        todo = []
        for t in ts:
            run = {"method": "centre", "t": t, "seed": seed, "batch_size": config.batch_size, "loss": config.loss,
                   "full_lr": config.full_lr, "momentum": config.momentum}
            run["key"] = run_key(run, context)
            keys.append(run["key"])
            if run["key"] not in done:
                todo.append(run)
        if not todo:
            continue
        state = SeedState(context, config, seed, todo)
        for run in todo:
            w = state.point(run["t"])
            trl, tra = evaluate(context.model, w, data.x_train, data.y_train, config.eval_chunk, config.loss)
            tel, tea = evaluate(context.model, w, data.x_test, data.y_test, config.eval_chunk, config.loss)
            append_record(records_path, dict(run, **context.identity, D=state.layout.D, train_loss=trl,
                                             train_acc=tra, test_loss=tel, test_acc=tea,
                                             platform=platform.platform_info()))
    keys = set(keys)
    return [r for r in load_records(records_path) if r.get("key") in keys]
