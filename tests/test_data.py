"""Tests of dof_helpers.data: readers, normalisation, label checks, TFDS path, batching.

Everything runs offline on tiny files written to tmp_path; TFDS is only reached mocked
(``tfds.testing.mock_data``) or pointed at an empty directory.
"""
from __future__ import annotations

import gzip
import pickle
import struct
import time

import numpy as np
import pytest

from dof_helpers import data
from dof_helpers.data import (DATASET_INFO, DATASET_NAMES, Dataset, dataset_info, epoch_batches,
                              eval_chunks, iterate_batches, load_dataset)


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    """No test sees the caller's DOF_DATA_DIR."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)


def _write_idx(path, array, compress):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    payload += struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    if compress:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def _write_idx_set(folder, n_train=12, n_test=5, compress=True, seed=0, labels=None):
    """Four MNIST-format IDX files in ``folder``; returns the raw uint8 arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    xtr = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    xte = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    ytr = rng.integers(0, 10, n_train, dtype=np.uint8) if labels is None else np.asarray(labels, np.uint8)
    yte = rng.integers(0, 10, n_test, dtype=np.uint8)
    for stem, arr in (("train-images-idx3-ubyte", xtr), ("train-labels-idx1-ubyte", ytr),
                      ("t10k-images-idx3-ubyte", xte), ("t10k-labels-idx1-ubyte", yte)):
        _write_idx(folder / stem, arr, compress)
    return xtr, ytr, xte, yte


# --------------------------------------------------------------------------- names, info


def test_dataset_info_and_names():
    assert DATASET_NAMES == ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn")
    assert set(DATASET_INFO) == set(DATASET_NAMES)
    assert dataset_info("cifar100") == ((32, 32, 3), 100)
    assert dataset_info("mnist") == ((28, 28, 1), 10)
    with pytest.raises(ValueError, match="svhn"):
        dataset_info("SVHN")


def test_bad_name_is_fast_and_lists_every_name():
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as err:
        load_dataset("mnst")
    assert time.perf_counter() - t0 < 0.5
    message = str(err.value)
    assert "mnst" in message
    for name in DATASET_NAMES:
        assert repr(name) in message


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_bad_n_train_type_or_range_fails_before_reading(bad, tmp_path):
    with pytest.raises(ValueError, match="n_train"):
        load_dataset("mnist", n_train=bad, data_dir=tmp_path)


def test_missing_data_dir_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir"):
        load_dataset("mnist", data_dir=tmp_path / "nope")


# --------------------------------------------------------------------------- IDX files


@pytest.mark.parametrize("compress", [True, False])
def test_idx_via_data_dir_normalisation(tmp_path, compress):
    xtr, ytr, xte, yte = _write_idx_set(tmp_path, compress=compress)
    ds = load_dataset("mnist", data_dir=tmp_path)
    assert isinstance(ds, Dataset)
    assert ds.name == "mnist" and ds.num_classes == 10 and ds.source == str(tmp_path)
    assert ds.x_train.shape == (12, 28, 28, 1) and ds.x_test.shape == (5, 28, 28, 1)
    assert ds.image_shape == (28, 28, 1) and ds.n_train == 12 and ds.n_test == 5
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == np.int32 and ds.y_test.dtype == np.int32
    np.testing.assert_array_equal(ds.y_train, ytr)
    np.testing.assert_array_equal(ds.y_test, yte)
    # train mean image ~ 0 per pixel; test normalised with the TRAIN mean; no std scaling
    assert np.abs(ds.x_train.mean(axis=0, dtype=np.float64)).max() < 1e-6
    mean = (xtr[..., None] / 255.0).mean(axis=0)
    np.testing.assert_allclose(ds.x_train, xtr[..., None] / 255.0 - mean, atol=1e-6)
    np.testing.assert_allclose(ds.x_test, xte[..., None] / 255.0 - mean, atol=1e-6)


def test_idx_via_env_in_dataset_subfolder(tmp_path, monkeypatch):
    _write_idx_set(tmp_path / "fashion_mnist", seed=3)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    ds = load_dataset("fashion_mnist")
    assert ds.source == str(tmp_path / "fashion_mnist")
    assert ds.n_train == 12


def test_data_dir_comes_before_env(tmp_path, monkeypatch):
    _write_idx_set(tmp_path / "a", n_train=7)
    _write_idx_set(tmp_path / "b", n_train=9)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "b"))
    assert load_dataset("mnist", data_dir=tmp_path / "a").n_train == 7
    assert load_dataset("mnist").n_train == 9


def test_n_train_subset_uses_subset_mean(tmp_path):
    xtr, *_ = _write_idx_set(tmp_path, n_train=12)
    ds = load_dataset("mnist", n_train=4, data_dir=tmp_path)
    assert ds.n_train == 4 and ds.n_test == 5
    assert np.abs(ds.x_train.mean(axis=0, dtype=np.float64)).max() < 1e-6
    np.testing.assert_allclose(ds.x_train, xtr[:4, ..., None] / 255.0 - (xtr[:4, ..., None] / 255.0).mean(0),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"n_train=13 .*\[1, 12\]"):
        load_dataset("mnist", n_train=13, data_dir=tmp_path)


def test_labels_out_of_range_raise(tmp_path):
    _write_idx_set(tmp_path, n_train=4, labels=[0, 3, 10, 9])
    with pytest.raises(ValueError, match=r"0\.\.9.*10"):
        load_dataset("mnist", data_dir=tmp_path)


def test_bad_idx_header_raises(tmp_path):
    _write_idx_set(tmp_path, compress=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")
    with pytest.raises(ValueError, match="IDX"):
        load_dataset("mnist", data_dir=tmp_path)


# --------------------------------------------------------------------------- SVHN, CIFAR


def test_svhn_mat_remaps_labels_and_transposes(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(1)
    raw = {}
    for split, n in (("train", 10), ("test", 4)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)  # HWCN as in the .mat files
        y = np.array(list(range(1, 11))[:n], dtype=np.uint8).reshape(n, 1)  # 1..10, 10 = digit 0
        scipy_io.savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": y})
        raw[split] = (x, y)
    ds = load_dataset("svhn", data_dir=tmp_path)
    assert ds.x_train.shape == (10, 32, 32, 3) and ds.x_test.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(ds.y_train, [1, 2, 3, 4, 5, 6, 7, 8, 9, 0])
    np.testing.assert_array_equal(ds.y_test, [1, 2, 3, 4])
    x = raw["train"][0].transpose(3, 0, 1, 2) / 255.0
    np.testing.assert_allclose(ds.x_train, x - x.mean(0), atol=1e-6)
    # a raw label 0 (or 11) is not SVHN: refuse it
    scipy_io.savemat(tmp_path / "test_32x32.mat", {"X": raw["test"][0], "y": np.array([[0], [1], [2], [3]])})
    with pytest.raises(ValueError, match="1..10"):
        load_dataset("svhn", data_dir=tmp_path)


def _write_cifar(folder, names, label_key, n=6, num_classes=10, seed=2):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    raw = {}
    for fname in names:
        x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        y = rng.integers(0, num_classes, n).tolist()
        with open(folder / fname, "wb") as f:
            pickle.dump({b"batch_label": b"fake", label_key: y, b"data": x}, f)
        raw[fname] = (x, y)
    return raw


def test_cifar10_pickles(tmp_path):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    raw = _write_cifar(tmp_path / "cifar-10-batches-py", names, b"labels")
    ds = load_dataset("cifar10", data_dir=tmp_path)
    assert ds.x_train.shape == (30, 32, 32, 3) and ds.x_test.shape == (6, 32, 32, 3)
    assert ds.num_classes == 10
    x0, y0 = raw["data_batch_1"]
    np.testing.assert_array_equal(ds.y_train[:6], y0)
    np.testing.assert_array_equal(ds.y_test, raw["test_batch"][1])
    # row layout is channel-major (1024 R, 1024 G, 1024 B): pixel (0, 0) of image 0
    xtr = np.concatenate([raw[n][0] for n in names[:5]]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / 255.0
    np.testing.assert_allclose(ds.x_train, xtr - xtr.mean(0), atol=1e-6)
    expected_px = np.array([x0[0, 0], x0[0, 1024], x0[0, 2048]]) / 255.0 - xtr.mean(0)[0, 0]
    np.testing.assert_allclose(ds.x_train[0, 0, 0], expected_px, atol=1e-6)


def test_cifar100_pickles_fine_labels(tmp_path):
    _write_cifar(tmp_path / "cifar-100-python", ["train", "test"], b"fine_labels", num_classes=100)
    ds = load_dataset("cifar100", data_dir=tmp_path)
    assert ds.num_classes == 100 and ds.x_train.shape == (6, 32, 32, 3)
    assert ds.y_train.max() < 100


# --------------------------------------------------------------------------- TFDS


@pytest.mark.parametrize("name,shape,n_train", [("cifar10", (32, 32, 3), None), ("mnist", (28, 28, 1), 3)])
def test_tfds_mocked(name, shape, n_train, tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=5):
        ds = load_dataset(name, n_train=n_train, data_dir=tmp_path)
    assert ds.source.startswith("tfds")
    assert ds.x_train.shape == ((n_train or 5), *shape) and ds.x_test.shape == (5, *shape)
    assert ds.y_train.dtype == np.int32 and 0 <= ds.y_train.min() and ds.y_train.max() < 10
    assert np.abs(ds.x_train.mean(axis=0, dtype=np.float64)).max() < 1e-6


def test_tfds_not_prepared_fails_fast_and_says_how(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    empty = tmp_path / "tfds_empty"
    empty.mkdir()
    t0 = time.perf_counter()
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("cifar10", data_dir=empty)
    assert time.perf_counter() - t0 < 5
    message = str(err.value)
    assert "DOF_DATA_DIR" in message and "prepare cifar10" in message and "not prepared" in message


def test_prepare_cli_validates_name(capsys):
    with pytest.raises(SystemExit) as err:
        data.main(["prepare", "imagenet"])
    assert err.value.code == 2
    assert "fashion_mnist" in capsys.readouterr().err


def test_prepare_without_tensorflow_says_so(capsys):
    import importlib.util

    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("tensorflow installed: prepare would go to the network")
    assert data.main(["prepare", "mnist"]) == 1
    assert "requirements-tfds.txt" in capsys.readouterr().err


# --------------------------------------------------------------------------- batches


def test_epoch_batches_permutation_and_keys():
    import jax

    key = jax.random.PRNGKey(0)
    b = epoch_batches(key, 1000, 128)
    assert b.shape == (7, 128) and np.issubdtype(b.dtype, np.integer)
    assert len(np.unique(b)) == b.size and b.min() >= 0 and b.max() < 1000
    np.testing.assert_array_equal(b, epoch_batches(key, 1000, 128))
    assert not np.array_equal(b, epoch_batches(jax.random.PRNGKey(1), 1000, 128))
    full = epoch_batches(key, 1000, 100)
    np.testing.assert_array_equal(np.sort(full.ravel()), np.arange(1000))
    ragged = epoch_batches(key, 1000, 128, drop_remainder=False)
    assert [len(r) for r in ragged] == [128] * 7 + [104]
    np.testing.assert_array_equal(np.sort(np.concatenate(ragged)), np.arange(1000))
    for bad in (0, 1001, 2.0):
        with pytest.raises(ValueError, match="batch_size"):
            epoch_batches(key, 1000, bad)


def test_iterate_batches_pairs_x_and_y():
    import jax

    x = np.arange(50, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(50, dtype=np.int32)
    batches = list(iterate_batches(jax.random.PRNGKey(3), x, y, batch_size=16))
    assert len(batches) == 3
    for xb, yb in batches:
        assert xb.shape == (16, 3) and yb.shape == (16,)
        np.testing.assert_array_equal(xb[:, 0], yb)
    with pytest.raises(ValueError, match="same length"):
        next(iterate_batches(jax.random.PRNGKey(3), x, y[:-1]))


def test_eval_chunks():
    assert eval_chunks(4500, 2000) == [slice(0, 2000), slice(2000, 4000), slice(4000, 4500)]
    assert eval_chunks(2000) == [slice(0, 2000)]
    assert eval_chunks(0) == []
    with pytest.raises(ValueError, match="chunk"):
        eval_chunks(10, 0)


# --------------------------------------------------------------------------- real Fashion-MNIST


@pytest.mark.skipif(not (data.DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_real_fashion_mnist_from_debian():
    t0 = time.perf_counter()
    ds = load_dataset("fashion_mnist")
    elapsed = time.perf_counter() - t0
    assert ds.source == str(data.DEBIAN_FASHION_MNIST_DIR)
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.num_classes == 10
    np.testing.assert_array_equal(np.bincount(ds.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [1000] * 10)
    assert np.abs(ds.x_train.mean(axis=0, dtype=np.float64)).max() < 1e-6
    assert elapsed < 10
