"""The handwritten digits data set, split and standardised reproducibly.

The book trains and embeds real data without downloading anything: scikit-learn
ships the UCI handwritten digits (1797 images of 8 x 8 pixels, grey levels 0-16,
ten classes) inside the package. :func:`load_digits_split` splits them into
training, validation and test sets, stratified by class, with an explicit seed,
and standardises every pixel with the mean and standard deviation of the
*training* set alone, so that no information leaks from the validation or test
images into the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["DigitsSplit", "load_digits", "load_digits_split"]


@dataclass(frozen=True)
class DigitsSplit:
    """A train/validation/test split of the digits.

    Attributes
    ----------
    X_train, X_val, X_test : numpy.ndarray of float64, shape (n, 64)
        Flattened 8 x 8 images (standardised if requested).
    y_train, y_val, y_test : numpy.ndarray of int64, shape (n,)
        Labels 0-9.
    mean, std : numpy.ndarray of float64, shape (64,)
        The training-set statistics used to standardise (zeros and ones if not).
    """

    X_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    X_val: NDArray[np.float64]
    y_val: NDArray[np.int64]
    X_test: NDArray[np.float64]
    y_test: NDArray[np.int64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64]


def load_digits() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return all 1797 digits as ``(X, y)``, read from scikit-learn's bundled copy.

    Returns
    -------
    X : numpy.ndarray of float64, shape (1797, 64)
        Grey levels 0-16, row-major 8 x 8 images.
    y : numpy.ndarray of int64, shape (1797,)
        Labels 0-9.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, int(y.max())
    ((1797, 64), 9)
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)


def load_digits_split(
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    standardize: bool = True,
) -> DigitsSplit:
    """Split the digits into stratified train/validation/test sets.

    Parameters
    ----------
    seed : int, default 0
        Seed of the shuffle; the same seed always gives the same split.
    val_fraction, test_fraction : float, default 0.15
        Fractions of each class put into the validation and test sets; each in
        (0, 1) with a sum below 1.
    standardize : bool, default True
        Subtract the training mean and divide by the training standard deviation,
        pixel by pixel (pixels that are constant in training are divided by 1).

    Returns
    -------
    DigitsSplit
        The six arrays and the statistics used.

    Examples
    --------
    >>> split = load_digits_split(seed=0)
    >>> len(split.y_train) + len(split.y_val) + len(split.y_test)
    1797
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not isinstance(frac, int | float) or not 0 < frac < 1:
            raise ValueError(f"{name} must be a number in (0, 1), got {frac!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            "val_fraction + test_fraction must be below 1, "
            f"got {val_fraction} + {test_fraction} = {val_fraction + test_fraction}"
        )
    X, y = load_digits()
    rng = np.random.default_rng(seed)
    parts: dict[str, list[NDArray[np.int64]]] = {"train": [], "val": [], "test": []}
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_val = int(round(val_fraction * idx.size))
        n_test = int(round(test_fraction * idx.size))
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val : n_val + n_test])
        parts["train"].append(idx[n_val + n_test :])
    index = {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}
    if standardize:
        mean = X[index["train"]].mean(axis=0)
        std = X[index["train"]].std(axis=0)
        std = np.where(std > 0, std, 1.0)
    else:
        mean, std = np.zeros(X.shape[1]), np.ones(X.shape[1])
    Z = (X - mean) / std
    return DigitsSplit(
        X_train=Z[index["train"]],
        y_train=y[index["train"]],
        X_val=Z[index["val"]],
        y_val=y[index["val"]],
        X_test=Z[index["test"]],
        y_test=y[index["test"]],
        mean=mean,
        std=std,
    )
