import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits

from derived.data import load_digits, load_digits_split


def test_load_digits_is_the_bundled_set():
    X, y = load_digits()
    ref = sk_load_digits()
    assert X.shape == (1797, 64)
    assert X.dtype == np.float64
    assert y.dtype == np.int64
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)


def test_split_is_a_stratified_partition():
    X, y = load_digits()
    s = load_digits_split(seed=3, standardize=False)
    parts = [s.X_train, s.X_val, s.X_test]
    assert sum(len(p) for p in parts) == len(X)
    # every image lands in exactly one part (rows are unique up to duplicates in the data)
    rows = np.concatenate(parts)
    assert sorted(map(bytes, rows)) == sorted(map(bytes, X))
    for labels, frac in ((s.y_val, 0.15), (s.y_test, 0.15)):
        counts = np.bincount(labels, minlength=10)
        expected = np.round(frac * np.bincount(y, minlength=10))
        np.testing.assert_array_equal(counts, expected)


def test_split_is_reproducible_and_seed_dependent():
    a, b, c = load_digits_split(seed=1), load_digits_split(seed=1), load_digits_split(seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_standardisation_uses_training_statistics_only():
    s = load_digits_split(seed=0)
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0.0, atol=1e-12)
    std = s.X_train.std(axis=0)
    np.testing.assert_allclose(std[s.std != 1.0], 1.0, rtol=1e-12)
    raw = load_digits_split(seed=0, standardize=False)
    np.testing.assert_allclose(s.X_test, (raw.X_test - s.mean) / s.std, rtol=1e-12)
    assert np.all(np.isfinite(s.X_test))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        ({"seed": True}, TypeError, "seed must be an int"),
        ({"val_fraction": 0.0}, ValueError, "val_fraction must be a number in"),
        ({"test_fraction": 1.0}, ValueError, "test_fraction must be a number in"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, ValueError, "must be below 1"),
    ],
)
def test_split_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_digits_split(**kwargs)
