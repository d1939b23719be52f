"""Reading the datasets' standard files, and TFDS, into raw uint8 arrays (for :mod:`data`).

:func:`dof_helpers.data.load_dataset` looks in the places listed in :mod:`data`'s
docstring; the readers here return ``[x_train, y_train, x_test, y_test, source]`` (raw
pixels, integer labels) or ``None`` when a place does not have the files.
"""
from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np

#: our name -> the TFDS dataset name
TFDS_NAMES = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "cifar10": "cifar10",
    "cifar100": "cifar100",
    "svhn": "svhn_cropped",
}

#: where the Debian package ``dataset-fashion-mnist`` installs the IDX files
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

DATA_DIR_ENV = "DOF_DATA_DIR"

_IDX_FILES = {  # split -> (images stem, labels stem), as on the MNIST / Fashion-MNIST sites
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_SUBFOLDERS = {
    "mnist": ("mnist", "MNIST", "MNIST/raw"),
    "fashion_mnist": ("fashion_mnist", "fashion-mnist", "FashionMNIST", "FashionMNIST/raw"),
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ---- standard files


def _first_existing(directory: Path, stems) -> Path | None:
    """The first of ``stem`` / ``stem.gz`` (for each stem) that is a file in ``directory``."""
    for stem in stems:
        for candidate in (directory / stem, directory / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
    return None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into a numpy array of its stored shape.

    The header is two zero bytes, a dtype code (0x08 = uint8, ...), the number of
    dimensions, then each dimension as a big-endian uint32. Raises ``ValueError`` if the
    header or the size does not match.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: IDX header says shape {dims} ({expected} bytes) but the file has {len(data)} bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def _read_idx_dir(directory: Path):
    """MNIST-format IDX files in ``directory``: raw arrays and source, or ``None`` if absent."""
    paths = {}
    for split, stems in _IDX_FILES.items():
        for kind, stem in zip(("x", "y"), stems):
            # the original MNIST site also used "train-images.idx3-ubyte"
            path = _first_existing(directory, (stem, stem.replace("-idx", ".idx")))
            if path is None:
                return None
            paths[kind, split] = path
    arrays = {key: read_idx(path) for key, path in paths.items()}
    out = []
    for split in ("train", "test"):
        x, y = arrays["x", split], arrays["y", split]
        if x.ndim != 3 or y.ndim != 1:
            raise ValueError(f"IDX files in {directory}: {split} images have shape {x.shape} and labels "
                             f"{y.shape}; expected (N, H, W) and (N,)")
        out += [x[..., None], y.astype(np.int64)]
    return (*out, str(directory))


def _read_mnist_like(name):
    def reader(directory: Path):
        for sub in ("", *_IDX_SUBFOLDERS[name]):
            found = _read_idx_dir(directory / sub if sub else directory)
            if found is not None:
                return found
        return None
    return reader


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        obj = pickle.load(f, encoding="bytes")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _cifar_arrays(batches: list[dict], label_key: str, path: Path):
    data = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: CIFAR data have shape {data.shape}; expected (N, 3072)")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # stored channel-major: CHW -> HWC
    y = np.concatenate([np.asarray(b[label_key], dtype=np.int64) for b in batches])
    return x, y


def _read_cifar10(directory: Path):
    """``cifar-10-batches-py`` in (or as) ``directory``: raw arrays and source, or ``None``."""
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for folder in (directory / "cifar-10-batches-py", directory):
        if all((folder / n).is_file() for n in names):
            train = [_unpickle(folder / n) for n in names[:5]]
            test = [_unpickle(folder / "test_batch")]
            return (*_cifar_arrays(train, "labels", folder), *_cifar_arrays(test, "labels", folder), str(folder))
    return None


def _read_cifar100(directory: Path):
    """``cifar-100-python`` in (or as) ``directory``: raw arrays (fine labels) and source, or ``None``."""
    for folder in (directory / "cifar-100-python", directory):
        if (folder / "train").is_file() and (folder / "test").is_file():
            train, test = _unpickle(folder / "train"), _unpickle(folder / "test")
            return (*_cifar_arrays([train], "fine_labels", folder),
                    *_cifar_arrays([test], "fine_labels", folder), str(folder))
    return None


def _svhn_labels(y: np.ndarray, path) -> np.ndarray:
    """SVHN's raw labels 1..10 (10 = digit 0) -> 0..9; ``ValueError`` on anything else."""
    y = np.asarray(y).reshape(-1).astype(np.int64)
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise ValueError(f"{path}: raw SVHN labels must be in 1..10 (10 = digit 0); "
                         f"found {np.unique(y[(y < 1) | (y > 10)])[:10].tolist()}")
    return np.where(y == 10, 0, y)


def _read_svhn(directory: Path):
    """``train_32x32.mat`` / ``test_32x32.mat`` in ``directory`` or ``directory/svhn``, or ``None``."""
    for folder in (directory, directory / "svhn", directory / "SVHN"):
        train, test = folder / "train_32x32.mat", folder / "test_32x32.mat"
        if train.is_file() and test.is_file():
            import scipy.io

            out = []
            for path in (train, test):
                mat = scipy.io.loadmat(path)
                x = np.asarray(mat["X"])
                if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
                    raise ValueError(f"{path}: X has shape {x.shape}; expected (32, 32, 3, N)")
                out += [np.ascontiguousarray(x.transpose(3, 0, 1, 2)), _svhn_labels(mat["y"], path)]
            return (*out, str(folder))
    return None


_READERS = {
    "mnist": _read_mnist_like("mnist"),
    "fashion_mnist": _read_mnist_like("fashion_mnist"),
    "cifar10": _read_cifar10,
    "cifar100": _read_cifar100,
    "svhn": _read_svhn,
}


# ---- TFDS


def _how_to_get(name: str, searched: list[Path], tfds_note: str) -> str:
    where = ", ".join(str(d) for d in searched) if searched else f"none (no data_dir given and ${DATA_DIR_ENV} unset)"
    lines = [
        f"no data found for dataset {name!r}.",
        f"  Directories searched for the standard files: {where}.",
    ]
    if name == "fashion_mnist":
        lines.append(f"  Debian files not found in {DEBIAN_FASHION_MNIST_DIR}.")
    lines += [
        f"  TFDS: {tfds_note}",
        "To get the data, either",
        f"  - set {DATA_DIR_ENV} (or pass data_dir=) to a folder of the standard files "
        f"({_STANDARD_FILES[name]}), or",
        "  - on a machine with internet: pip install -r requirements-tfds.txt; "
        f"python -m dof_helpers.data prepare {name} [--data-dir DIR]",
    ]
    if name == "fashion_mnist":
        lines.append("  - or: apt-get install dataset-fashion-mnist")
    return "\n".join(lines)


_STANDARD_FILES = {
    "mnist": "the four IDX files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
             "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, possibly in mnist/",
    "fashion_mnist": "the four IDX files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                     "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, possibly in fashion_mnist/",
    "cifar10": "cifar-10-batches-py/ from cifar-10-python.tar.gz",
    "cifar100": "cifar-100-python/ from cifar-100-python.tar.gz",
    "svhn": "train_32x32.mat and test_32x32.mat",
}


def _tfds_is_mocked() -> bool:
    """Whether ``tfds.testing.mock_data`` is active (it replaces ``DatasetBuilder.as_data_source``)."""
    from unittest import mock

    from tensorflow_datasets.core import dataset_builder

    fn = dataset_builder.DatasetBuilder.__dict__.get("as_data_source")
    if isinstance(fn, mock.NonCallableMock):
        return True
    return getattr(fn, "__module__", dataset_builder.__name__) != dataset_builder.__name__


def _read_tfds(name: str, data_dir, searched: list[Path]):
    """Raw arrays from a prepared (or mocked) TFDS dataset; ``FileNotFoundError`` if not prepared."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise FileNotFoundError(_how_to_get(name, searched, f"tensorflow_datasets is not importable ({err}).")) from None
    tfds_name = TFDS_NAMES[name]
    tfds_dir = None if data_dir is None else str(Path(data_dir).expanduser())
    if _tfds_is_mocked():
        source = "tfds (mocked)"
    else:
        # Offline and fast (~0.1 s): builds the builder from the installed code and
        # looks for dataset_info.json in its versioned data directory.
        builder = tfds.builder(tfds_name, data_dir=tfds_dir)
        if not builder.is_prepared():
            raise FileNotFoundError(_how_to_get(
                name, searched, f"{tfds_name!r} is not prepared in {builder.data_dir}."))
        source = f"tfds:{builder.data_dir}"
    out = []
    for split in ("train", "test"):
        ds = tfds.data_source(tfds_name, split=split, data_dir=tfds_dir, download=False)
        out += _records_to_arrays(ds)
    return (*out, source)


def _records_to_arrays(ds, chunk: int = 4096):
    """Stack a TFDS data source's ``image`` and ``label`` fields into numpy arrays."""
    n = len(ds)
    images, labels = [], []
    for start in range(0, n, chunk):
        keys = list(range(start, min(start + chunk, n)))
        try:
            records = ds.__getitems__(keys)
        except (AttributeError, TypeError):  # the mocked source supports only ds[i]
            records = [ds[i] for i in keys]
        images += [np.asarray(r["image"]) for r in records]
        labels += [int(r["label"]) for r in records]
    if not images:
        raise ValueError("TFDS data source is empty")
    return [np.stack(images).astype(np.uint8, copy=False), np.asarray(labels, dtype=np.int64)]
