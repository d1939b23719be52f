"""Run keys that cannot go stale: the model and the data are part of every key."""
import pytest

from dof_helpers import data, engine, records

from _tiny import TinyMLP, blobs

CONFIG = engine.SweepConfig(methods=("random_affine",), d_values=(4, 8), seeds=(0, 1), epochs=1, batch_size=32)


@pytest.fixture(scope="module")
def ds():
    return data.from_arrays(*blobs(), name="blobs")


def test_sweeping_another_model_under_the_same_name_is_refused_not_reused(ds, tmp_path):
    """The reported bug: width-100 records came back for a width-20 model."""
    path = tmp_path / "r.jsonl"
    wide = engine.run_sweep(CONFIG, TinyMLP(width=100), ds, path, progress=False)
    assert {r["D"] for r in wide} == {20 * 100 + 100 + 100 * 3 + 3}
    with pytest.raises(ValueError, match="model 'TinyMLP'.*different model under the same name"):
        engine.run_sweep(CONFIG, TinyMLP(width=20), ds, path, progress=False)
    narrow = engine.run_sweep(CONFIG, TinyMLP(width=20), ds, tmp_path / "other.jsonl", progress=False)
    assert {r["D"] for r in narrow} == {20 * 20 + 20 + 20 * 3 + 3}
    assert not {r["key"] for r in wide} & {r["key"] for r in narrow}


def test_other_data_under_the_same_name_is_refused(ds, tmp_path):
    path = tmp_path / "r.jsonl"
    engine.run_sweep(CONFIG, TinyMLP(), ds, path, progress=False)
    x, y, xt, yt = blobs(seed=1)
    with pytest.raises(ValueError, match="dataset 'blobs'"):
        engine.run_sweep(CONFIG, TinyMLP(), data.from_arrays(x, y, xt, yt, name="blobs"), path, progress=False)


def test_keys_change_with_settings_epochs_and_data_subset_and_a_rerun_reuses_every_record(ds, tmp_path):
    ctx = engine.make_context(TinyMLP(), ds)
    keys = lambda cfg, c=ctx: [r["key"] for r in engine.plan_runs(cfg, c)]  # noqa: E731
    base = keys(CONFIG)
    assert len(set(base)) == len(base) == 4
    for changed in (CONFIG.replace(lr=1e-2), CONFIG.replace(adam_variant="original"), CONFIG.replace(epochs=2),
                    CONFIG.replace(basis="fastfood"), CONFIG.replace(batch_size=16)):
        assert not set(keys(changed)) & set(base)
    sub = engine.make_context(TinyMLP(), ds.subset(n_train=100))
    assert not set(keys(CONFIG, sub)) & set(base)
    # execution settings are not part of any key
    assert keys(CONFIG.replace(strategy="vmap", eval_chunk=7, batch_runs=3)) == base
    path = tmp_path / "r.jsonl"
    first = engine.run_sweep(CONFIG, TinyMLP(), ds, path, progress=False)
    n_lines = len(records.load_records(path))
    again = engine.run_sweep(CONFIG, TinyMLP(), ds, path, progress=False)
    assert len(records.load_records(path)) == n_lines == 4
    assert [r["key"] for r in again] == [r["key"] for r in first]


def test_model_fingerprint_sees_the_computation_not_only_the_shapes():
    import flax.linen as nn

    class A(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(3)(nn.relu(nn.Dense(8)(x)))

    class B(nn.Module):  # same parameters, another activation
        @nn.compact
        def __call__(self, x):
            return nn.Dense(3)(nn.tanh(nn.Dense(8)(x)))

    fa, fb = engine.model_fingerprint(A(), (5,)), engine.model_fingerprint(B(), (5,))
    assert fa != fb and fa == engine.model_fingerprint(A(), (5,))


def test_lottery_keys_depend_on_the_trajectory_length_random_affine_keys_do_not(ds):
    ctx = engine.make_context(TinyMLP(), ds)

    def keys(d_values):
        cfg = engine.SweepConfig(methods=("random_affine", "lottery_subspace"), d_values=d_values)
        return {(r["method"], r["d"]): r["key"] for r in engine.plan_runs(cfg, ctx)}

    small, large = keys((1, 2, 4)), keys((1, 2, 4, 8))
    assert small[("random_affine", 2)] == large[("random_affine", 2)]
    assert small[("lottery_subspace", 2)] != large[("lottery_subspace", 2)]


def test_a_record_file_from_the_old_engine_without_fingerprints_is_refused(ds, tmp_path):
    path = tmp_path / "old.jsonl"
    records.append_record(path, {"key": "abc", "model": "TinyMLP", "dataset": "blobs", "best_train_acc": 0.9})
    with pytest.raises(ValueError, match="fingerprint None"):
        engine.run_sweep(CONFIG, TinyMLP(), ds, path, progress=False)


class _NoTraining:
    """An executor that fails if asked to train anything (what a fully reused sweep must not do)."""

    def run(self, context, config, runs):
        raise AssertionError(f"asked to train {len(runs)} runs")


def test_records_of_another_folder_are_reused_by_key_only(ds, tmp_path):
    """Chapter 06's random affine runs are chapter 05's, key for key: a sweep can adopt them."""
    source = tmp_path / "a" / "records.jsonl"
    first = engine.run_sweep(CONFIG, TinyMLP(), ds, source, progress=False)
    dest = tmp_path / "b" / "records.jsonl"
    # a wider grid: the four runs of CONFIG come from the source, d = 16 is trained
    wider = CONFIG.replace(d_values=(4, 8, 16))
    with pytest.raises(AssertionError, match="asked to train 2 runs"):
        engine.run_sweep(wider, TinyMLP(), ds, dest, progress=False, reuse_from=[source], executor=_NoTraining())
    adopted = records.load_records(dest)
    assert sorted(r["key"] for r in adopted) == sorted(r["key"] for r in first)
    assert all(r["reused_from"] == str(source) for r in adopted)
    assert [{k: v for k, v in r.items() if k != "reused_from"} for r in adopted] == first
    # the same grid again: nothing left to train, nothing written twice
    again = engine.run_sweep(CONFIG, TinyMLP(), ds, dest, progress=False, reuse_from=[source], executor=_NoTraining())
    assert len(again) == 4 and len(records.load_records(dest)) == 4
    # another learning rate: other keys, nothing reused
    other = tmp_path / "c" / "records.jsonl"
    with pytest.raises(AssertionError, match="asked to train 4 runs"):
        engine.run_sweep(CONFIG.replace(lr=1e-2), TinyMLP(), ds, other, progress=False, reuse_from=[source],
                         executor=_NoTraining())
    assert records.load_records(other) == []
    # a source from another model under the same name is refused, as a records file is
    with pytest.raises(ValueError, match="different model under the same name"):
        engine.run_sweep(CONFIG, TinyMLP(width=20), ds, tmp_path / "d" / "r.jsonl", progress=False,
                         reuse_from=[source])
    with pytest.raises(ValueError, match="reuse_from"):
        engine.run_sweep(CONFIG, TinyMLP(), ds, dest, progress=False, reuse_from=[dest])


def test_a_reused_record_whose_fields_disagree_with_its_key_is_refused(ds, tmp_path):
    source = tmp_path / "a" / "records.jsonl"
    recs = engine.run_sweep(CONFIG, TinyMLP(), ds, source, progress=False)
    bad = dict(recs[0], d=999)  # tampered: the key says d = 4 or 8
    source.write_text("")
    records.append_record(source, bad)
    with pytest.raises(ValueError, match="reuse_from.*'d'"):
        engine.run_sweep(CONFIG, TinyMLP(), ds, tmp_path / "b" / "r.jsonl", progress=False, reuse_from=[source])


def test_every_record_says_where_it_was_computed_and_that_is_not_part_of_its_key(ds, tmp_path, monkeypatch):
    """Same seed, same numbers holds on one instruction set; a record says which it came from."""
    import jax

    from dof_helpers.engine import platform
    recs = engine.run_sweep(CONFIG, TinyMLP(), ds, tmp_path / "r.jsonl", progress=False)
    info = platform.platform_info()
    assert all(r["platform"] == info for r in recs)
    assert {"jax", "jaxlib", "backend", "device_kind", "cpu", "cpu_isa", "xla_flags"} <= set(info)
    assert info["backend"] == jax.default_backend() and info["jax"] == jax.__version__
    # another machine: the same keys, so committed records stay reusable there
    ctx = engine.make_context(TinyMLP(), ds)
    monkeypatch.setattr(platform, "platform_info", lambda: dict(info, cpu_isa="avx512f"))
    assert [r["key"] for r in engine.plan_runs(CONFIG, ctx)] == [r["key"] for r in recs]


@pytest.mark.parametrize("flags, isa", [("fpu sse sse2 sse4_2 avx avx2 fma", "avx2"),
                                        ("sse4_2 avx avx512f avx512bw avx2", "avx512f"),
                                        ("sse sse2 sse4_1 sse4_2", "sse4_2"), ("neon asimd", "unknown"),
                                        ("", "unknown")])
def test_cpu_isa_is_the_widest_vector_extension_listed(flags, isa):
    from dof_helpers.engine import platform
    assert platform.cpu_isa(flags) == isa


def test_model_fingerprint_is_the_same_in_a_notebook_a_terminal_and_a_log(ds, monkeypatch):
    """jax colours a printed jaxpr in Jupyter and on a terminal (ANSI escapes) but not when stdout
    goes to a file: the fingerprint, and so every run key, must not see the difference, or a
    sweep started under nohup could not be resumed from a terminal or a notebook."""
    import jax
    from jax._src import pretty_printer

    plain = engine.make_context(TinyMLP(), ds).model_fingerprint
    monkeypatch.setattr(pretty_printer, "CAN_USE_COLOR", True)  # what Jupyter or a terminal sets
    closed = jax.make_jaxpr(lambda x: x * 2.0)(1.0)
    assert "\x1b[" in str(closed), "colour did not switch on: the test would prove nothing"
    assert engine.make_context(TinyMLP(), ds).model_fingerprint == plain
