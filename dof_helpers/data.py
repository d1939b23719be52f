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
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from dof_helpers.data_files import (DATA_DIR_ENV, DEBIAN_FASHION_MNIST_DIR, TFDS_NAMES, _READERS,  # noqa: F401
                                    _read_idx_dir, _read_tfds, read_idx)
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

#: Human-readable class names, for figures (CIFAR-100 and SVHN use the label numbers).
CLASS_NAMES = {
    "mnist": tuple(str(i) for i in range(10)),
    "svhn": tuple(str(i) for i in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "cifar100": tuple(str(i) for i in range(100)),
}

def dataset_info(name: str) -> tuple[tuple[int, int, int], int]:
    """Return ``(image_shape (H, W, C), num_classes)`` of dataset ``name``.

    Raises ``ValueError`` listing the valid names if ``name`` is not one of :data:`DATASET_NAMES`.
    """
    check_choice("name", name, DATASET_NAMES)
    return DATASET_INFO[name]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset held in memory: float32 inputs of any shape and int32 labels, train and test.

    The book's datasets are NHWC images; :func:`from_arrays` makes one from any arrays
    (vectors, sequences, images). ``source`` says where the arrays came from (a
    directory, ``"tfds:<dir>"``, ``"arrays"``). ``eq=False``: two datasets compare (and
    hash) by identity; :meth:`fingerprint` identifies their contents.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    source: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one example, e.g. ``(H, W, C)`` for images, ``(n,)`` for vectors."""
        return tuple(self.x_train.shape[1:])

    image_shape = input_shape  # the name used for the book's image datasets

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return int(self.x_test.shape[0])

    def fingerprint(self) -> str:
        """A hash of the name, the sizes and the contents of all four arrays (cached).

        Run keys include it (:mod:`dof_helpers.engine.keys`), so a record made on other
        data -- another subset, another normalisation, other labels -- is never reused.
        """
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            h = hashlib.sha1(f"{self.name}|{self.num_classes}".encode())
            for arr in (self.x_train, self.y_train, self.x_test, self.y_test):
                arr = np.ascontiguousarray(arr)
                h.update(f"|{arr.dtype.str}{arr.shape}|".encode())
                h.update(memoryview(arr).cast("B"))
            cached = h.hexdigest()[:16]
            object.__setattr__(self, "_fingerprint", cached)
        return cached

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "Dataset":
        """The first ``n_train`` training and ``n_test`` test examples (None keeps all).

        No renormalisation: the arrays are sliced as they are.
        """
        n_train = self.n_train if n_train is None else check_int("n_train", n_train, min_value=1,
                                                                  max_value=self.n_train)
        n_test = self.n_test if n_test is None else check_int("n_test", n_test, min_value=1, max_value=self.n_test)
        if n_train == self.n_train and n_test == self.n_test:
            return self
        return Dataset(self.name, self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test],
                       self.y_test[:n_test], self.num_classes, self.source)


def from_arrays(x_train, y_train, x_test, y_test, *, name: str, num_classes: int | None = None) -> Dataset:
    """A :class:`Dataset` from arrays already in memory (any input shape: images, vectors, sequences).

    ``x_*`` are numeric arrays with one example per row (``(N, ...)``, the same example
    shape in train and test), ``y_*`` integer class labels of shape ``(N,)`` in
    ``0 .. num_classes-1`` (default ``num_classes``: 1 + the largest label). The inputs are
    checked as the built-in datasets are (shapes, dtypes, label range, finite values) and
    stored as float32 / int32 as they are: no normalisation (do your own first). A bad
    argument raises ``ValueError`` naming it.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name={name!r} is not valid; expected a non-empty string naming the dataset")
    xs, ys = {}, {}
    for arg, x in (("x_train", x_train), ("x_test", x_test)):
        xs[arg] = _as_inputs(arg, x)
    if xs["x_train"].shape[1:] != xs["x_test"].shape[1:]:
        raise ValueError(f"x_test has examples of shape {xs['x_test'].shape[1:]} but x_train "
                         f"{xs['x_train'].shape[1:]}; both splits need the same example shape")
    for arg, y, xarg in (("y_train", y_train, "x_train"), ("y_test", y_test, "x_test")):
        ys[arg] = _as_labels(arg, y, len(xs[xarg]), xarg)
    top = int(max(ys["y_train"].max(), ys["y_test"].max())) + 1
    if num_classes is None:
        num_classes = max(top, 2)
    num_classes = check_int("num_classes", num_classes, min_value=2)
    for arg, y in ys.items():
        if y.min() < 0 or y.max() >= num_classes:
            bad = np.unique(y[(y < 0) | (y >= num_classes)])[:10].tolist()
            raise ValueError(f"{arg} has labels {bad} outside 0..{num_classes - 1} (num_classes={num_classes})")
    return Dataset(name, xs["x_train"], ys["y_train"], xs["x_test"], ys["y_test"], num_classes, "arrays")


def _as_inputs(arg: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(f"{arg} has shape {x.shape}; expected (N, ...) with N >= 1 examples of at least one value")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.dtype == bool:
        raise ValueError(f"{arg} has dtype {x.dtype}; expected a numeric (integer or floating) array")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{arg} holds {int(np.size(x) - np.isfinite(x).sum())} NaN or infinite values")
    return x


def _as_labels(arg: str, y, n: int, xarg: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{arg} has shape {y.shape}; expected (N,) integer class labels")
    if not np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
        raise ValueError(f"{arg} has dtype {y.dtype}; expected integer class labels")
    if len(y) != n:
        raise ValueError(f"{arg} has {len(y)} labels but {xarg} has {n} examples")
    return np.ascontiguousarray(y, dtype=np.int32)


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
