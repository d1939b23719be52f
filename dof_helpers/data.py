"""Datasets as normalised numpy arrays, and batches drawn from explicit ``jax.random`` keys.

Preprocessing follows the original code (see ``REFERENCE.md``, "Data"): pixels are
divided by 255 and the per-pixel mean image of the training set (of the subset, when
``n_train`` is given) is subtracted from train and test images. There is no std scaling,
no augmentation and no validation split.

Where the data come from, in this order (:func:`load_dataset`):

1. a directory of the datasets' standard files: the ``data_dir`` argument, then the
   environment variable ``DOF_DATA_DIR``. The files looked for are

   - mnist, fashion_mnist: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
     ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each plain or ``.gz``),
     in the directory itself or in a subfolder named after the dataset
     (``mnist/``, ``fashion_mnist/``, ``fashion-mnist/``, torchvision's ``MNIST/raw/`` ...);
   - cifar10: ``cifar-10-batches-py/`` (``data_batch_1`` .. ``data_batch_5``, ``test_batch``);
   - cifar100: ``cifar-100-python/`` (``train``, ``test``);
   - svhn: ``train_32x32.mat`` and ``test_32x32.mat`` (in the directory or in ``svhn/``);

2. for fashion_mnist only, the files of the Debian package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist``);
3. TensorFlow Datasets (``tfds.data_source``, which reads prepared datasets without
   tensorflow), from ``data_dir`` if given, else TFDS's default data directory. Whether
   the dataset is prepared is checked first, offline and in well under a second, so a
   machine without internet gets a ``FileNotFoundError`` saying how to get the data
   instead of a TFDS download that hangs for minutes. Under ``tfds.testing.mock_data``
   this check is skipped and the mocked data are used.

Preparing a TFDS dataset needs tensorflow and internet::

    pip install -r requirements-tfds.txt
    python -m dof_helpers.data prepare cifar10 [--data-dir DIR]

Nothing heavy is imported at module import: TFDS, scipy and jax are imported inside the
functions that need them.
"""
from __future__ import annotations

import argparse
import gzip
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from dof_helpers.validation import check_choice, check_int

DATASET_NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn")

#: name -> (image_shape (H, W, C), num_classes)
DATASET_INFO = {
    "mnist": ((28, 28, 1), 10),
    "fashion_mnist": ((28, 28, 1), 10),
    "cifar10": ((32, 32, 3), 10),
    "cifar100": ((32, 32, 3), 100),
    "svhn": ((32, 32, 3), 10),
}

#: our name -> the TFDS dataset name
TFDS_NAMES = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "cifar10": "cifar10",
    "cifar100": "cifar100",
    "svhn": "svhn_cropped",
}

#: where the Debian package ``dataset-fashion-mnist`` installs the IDX files
#: Human-readable class names, for figures (CIFAR-100 and SVHN use the label numbers).
CLASS_NAMES = {
    "mnist": tuple(str(i) for i in range(10)),
    "svhn": tuple(str(i) for i in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "cifar100": tuple(str(i) for i in range(100)),
}

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


def dataset_info(name: str) -> tuple[tuple[int, int, int], int]:
    """Return ``(image_shape (H, W, C), num_classes)`` of dataset ``name``.

    Raises ``ValueError`` listing the valid names if ``name`` is not one of :data:`DATASET_NAMES`.
    """
    check_choice("name", name, DATASET_NAMES)
    return DATASET_INFO[name]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset held in memory: float32 NHWC images and int32 labels, train and test.

    ``source`` says where the arrays were read from (a directory, or ``"tfds:<dir>"``).
    ``eq=False``: two datasets compare (and hash) by identity, not by array contents.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    source: str

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(H, W, C)`` of one image."""
        return tuple(self.x_train.shape[1:])

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return int(self.x_test.shape[0])


# --------------------------------------------------------------------------- loading


def load_dataset(name: str, n_train: int | None = None, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load dataset ``name`` as a :class:`Dataset` of normalised arrays.

    Images become float32 NHWC: pixels / 255 minus the per-pixel mean image of the
    training set actually used, i.e. of the first ``n_train`` training examples when
    ``n_train`` is given (the same mean is subtracted from the test images); no std
    scaling. Labels become int32 in ``0 .. num_classes-1``; any label outside that range
    raises ``ValueError``. SVHN's raw labels are 1..10 with 10 meaning the digit 0; they
    are remapped to 0..9 (10 -> 0). The original code did not remap them, so its SVHN
    runs had a label 10 out of range and no class 0.

    ``n_train`` keeps the first ``n_train`` training examples (an integer in
    ``[1, full training-set size]``); the test set is always complete.

    The data are read from the first of: the standard files in ``data_dir``, then in
    ``$DOF_DATA_DIR``; for fashion_mnist the Debian files in
    ``/usr/share/datasets/fashion-mnist``; a prepared TFDS dataset (in ``data_dir`` if
    given, else TFDS's default directory). If none has the data, raises
    ``FileNotFoundError`` (within a second, without touching the network) saying how to
    get them. A wrong ``name`` raises ``ValueError`` listing the valid names before
    anything is read.
    """
    check_choice("name", name, DATASET_NAMES)
    if n_train is not None:
        check_int("n_train", n_train, min_value=1)
    dirs = _local_dirs(data_dir)

    raw = None
    for directory in dirs:
        raw = _READERS[name](directory)
        if raw is not None:
            break
    if raw is None and name == "fashion_mnist":
        raw = _read_idx_dir(DEBIAN_FASHION_MNIST_DIR)
    if raw is None:
        raw = _read_tfds(name, data_dir, dirs)
    x_train, y_train, x_test, y_test, source = raw
    return _finish(name, x_train, y_train, x_test, y_test, source, n_train)


def _local_dirs(data_dir) -> list[Path]:
    """The directories to search for standard files: ``data_dir``, then ``$DOF_DATA_DIR``."""
    dirs = []
    for label, value in (("data_dir", data_dir), (DATA_DIR_ENV, os.environ.get(DATA_DIR_ENV) or None)):
        if value is None:
            continue
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError(f"{label}={value!r} is not valid; expected a directory path (str or os.PathLike)")
        path = Path(value).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"{label}={str(value)!r} is not an existing directory")
        dirs.append(path)
    return dirs


def _finish(name, x_train, y_train, x_test, y_test, source, n_train) -> Dataset:
    """Check shapes and labels of the full sets, keep the first n_train, normalise, wrap."""
    image_shape, num_classes = DATASET_INFO[name]
    if n_train is not None:
        check_int("n_train", n_train, min_value=1, max_value=len(x_train))
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):  # full sets
        if tuple(x.shape[1:]) != image_shape:
            raise ValueError(f"{name} {split} images from {source} have shape {tuple(x.shape)}; "
                             f"expected (N, {', '.join(map(str, image_shape))})")
        if len(x) != len(y):
            raise ValueError(f"{name} {split} from {source}: {len(x)} images but {len(y)} labels")
        _check_labels(name, split, y, num_classes, source)
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    x_train = _scale(x_train)
    x_test = _scale(x_test)
    mean = x_train.mean(axis=0, dtype=np.float64).astype(np.float32)
    x_train -= mean
    x_test -= mean
    return Dataset(name=name, x_train=x_train, y_train=np.asarray(y_train, dtype=np.int32),
                   x_test=x_test, y_test=np.asarray(y_test, dtype=np.int32),
                   num_classes=num_classes, source=str(source))


def _scale(x: np.ndarray) -> np.ndarray:
    """``x / 255`` as a new C-contiguous float32 array."""
    out = np.empty(x.shape, dtype=np.float32)
    np.divide(x, np.float32(255.0), out=out, dtype=np.float32)
    return out


def _check_labels(name, split, y, num_classes, source) -> None:
    """Raise ``ValueError`` unless every label is an integer in ``0 .. num_classes-1``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} {split} labels from {source} have shape {y.shape}; expected (N,)")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} {split} labels from {source} have dtype {y.dtype}; expected integers")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        bad = np.unique(y[(y < 0) | (y >= num_classes)])[:10]
        raise ValueError(f"{name} {split} labels from {source} must be in 0..{num_classes - 1}; "
                         f"found {bad.tolist()}")


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


# --------------------------------------------------------------------------- batches


def epoch_batches(key, n: int, batch_size: int = 128, drop_remainder: bool = True):
    """Shuffle ``range(n)`` with ``jax.random.permutation(key, n)`` and cut it into batches.

    Returns a numpy int32 array of shape ``(n // batch_size, batch_size)``: each row is
    one batch of example indices and no index appears twice. The last ``n % batch_size``
    indices of the permutation are dropped (they differ from epoch to epoch). With
    ``drop_remainder=False`` a list of 1-D int32 arrays is returned instead, the last one
    holding the remaining indices when ``n`` is not a multiple of ``batch_size``. The
    same key always gives the same batches.
    """
    import jax

    n = check_int("n", n, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1, max_value=n)
    perm = np.asarray(jax.random.permutation(key, n), dtype=np.int32)
    num_full = n // batch_size
    full = perm[: num_full * batch_size].reshape(num_full, batch_size)
    if drop_remainder:
        return full
    batches = list(full)
    if n % batch_size:
        batches.append(perm[num_full * batch_size:])
    return batches


def iterate_batches(key, x, y, batch_size: int = 128, drop_remainder: bool = True) -> Iterator[tuple]:
    """Yield ``(x[idx], y[idx])`` for each batch ``idx`` of :func:`epoch_batches` (one epoch)."""
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    for idx in epoch_batches(key, len(x), batch_size, drop_remainder):
        yield x[idx], y[idx]


def eval_chunks(n: int, chunk: int = 2000) -> list[slice]:
    """Consecutive slices of at most ``chunk`` items covering ``range(n)``, for chunked evaluation."""
    n = check_int("n", n, min_value=0)
    chunk = check_int("chunk", chunk, min_value=1)
    return [slice(start, min(start + chunk, n)) for start in range(0, n, chunk)]


# --------------------------------------------------------------------------- CLI


def prepare(name: str, data_dir: str | os.PathLike | None = None) -> str:
    """Download and prepare dataset ``name`` with TFDS (needs tensorflow and internet).

    Returns the directory the prepared dataset was written to. Raises ``ValueError`` for a
    wrong name and ``RuntimeError`` if tensorflow is not installed.
    """
    check_choice("name", name, DATASET_NAMES)
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        raise RuntimeError("preparing a TFDS dataset needs tensorflow: pip install -r requirements-tfds.txt "
                           "(and internet)")
    import tensorflow_datasets as tfds

    builder = tfds.builder(TFDS_NAMES[name], data_dir=None if data_dir is None else str(data_dir))
    builder.download_and_prepare()
    return str(builder.data_dir)


def main(argv=None) -> int:
    """``python -m dof_helpers.data prepare NAME [--data-dir DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.data",
                                     description="Prepare the book's datasets with TFDS (needs internet).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="download and prepare a dataset with TFDS")
    p.add_argument("name", choices=DATASET_NAMES)
    p.add_argument("--data-dir", default=None, help="TFDS data directory (default: TFDS's own)")
    args = parser.parse_args(argv)
    try:
        where = prepare(args.name, args.data_dir)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"prepared {args.name} in {where}")
    if args.data_dir is not None:
        print(f"load it with load_dataset({args.name!r}, data_dir={args.data_dir!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
