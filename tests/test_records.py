"""Crash-safe records: append, torn tails, numpy values, pandas frames."""
import json

import numpy as np
import pytest

from dof_helpers.records import RunWriter, append_record, load_records, records_frame


def test_append_and_load_roundtrip(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, {"method": "random_affine", "d": np.int64(8), "acc": np.float32(0.5)})
    append_record(path, {"method": "burn_in", "d": 16, "curve": np.array([0.1, 0.2])})
    recs = load_records(path)
    assert [r["method"] for r in recs] == ["random_affine", "burn_in"]
    assert recs[0]["d"] == 8 and isinstance(recs[0]["d"], int)
    assert recs[1]["curve"] == pytest.approx([0.1, 0.2])


def test_non_finite_values_become_null(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, {"loss": float("nan"), "inf": np.inf})
    assert load_records(path) == [{"inf": None, "loss": None}]


def test_torn_tail_is_ignored_and_repaired(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, {"i": 0})
    with open(path, "a") as fh:
        fh.write('{"i": 1, "trunc')  # a crash mid-write
    assert load_records(path) == [{"i": 0}]
    append_record(path, {"i": 2})
    assert load_records(path) == [{"i": 0}, {"i": 2}]
    for line in path.read_text().splitlines():
        json.loads(line)


def test_missing_file_is_empty_and_frame(tmp_path):
    assert load_records(tmp_path / "none.jsonl") == []
    path = tmp_path / "r.jsonl"
    for d in (1, 2, 4):
        append_record(path, {"d": d, "seed": 0})
    frame = records_frame(path)
    assert list(frame["d"]) == [1, 2, 4] and frame.shape == (3, 2)


def test_pending_runs_and_records_of(tmp_path):
    from dof_helpers.records import pending_runs, records_of

    path = tmp_path / "r.jsonl"
    runs = [{"key": k} for k in ("a", "b", "c")]
    append_record(path, {"key": "b", "acc": 0.5})
    append_record(path, {"key": "z", "acc": 0.1})  # another grid's record in the same file
    assert [r["key"] for r in pending_runs(runs, path)] == ["a", "c"]
    assert records_of(runs, path) == [{"acc": 0.5, "key": "b"}]


def test_run_writer_appends_counts_and_caps(tmp_path):
    path = tmp_path / "r.jsonl"
    seen = []
    with RunWriter(path, total=5, done=2, desc="t", progress=False, max_runs=2, callback=seen.append) as out:
        assert out.room == 2
        out.write({"key": "a", "x": 1})
        assert out.room == 1
        out.write({"key": "b", "x": float("nan")})
        assert out.room == 0
    assert [r["key"] for r in load_records(path)] == ["a", "b"]
    assert load_records(path)[1]["x"] is None and [r["key"] for r in seen] == ["a", "b"]
    with RunWriter(path, total=1, done=0, desc="t", progress=False) as out:
        assert out.room is None
