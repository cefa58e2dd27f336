r"""CPU benchmark suites of the chapters *Convolution*, *t-SNE* and *FlashAttention*.

* ``conv2d``: :func:`derived.conv.conv2d` forward plus :func:`derived.conv.conv2d_backward`
  against ``torch.nn.functional.conv2d`` forward plus autograd backward on the CPU, for a
  batch of 32 images, 16 to 32 channels, 32 x 32 pixels, a 3 x 3 kernel with padding 1
  (quick: 8 images of 16 x 16). Both in float64 (the package's precision), and torch in
  float32 as a second reference. ``ratio = torch_s / derived_s``: above 1/3 means
  "within 3x of torch".
* ``tsne``: :func:`derived.tsne.tsne` against scikit-learn's
  ``TSNE(method="exact")`` with the same perplexity (30), number of iterations (1000),
  early exaggeration (12), learning rate (``max(N / 48, 50)``, scikit-learn's
  ``"auto"``) and a random start, on the 1797 digits (quick: 300 digits, 300
  iterations). One timed run each (a full run takes a minute or more, so there is no
  point in a median of many); each row also records the KL divergence each method
  reached, both evaluated by :func:`derived.tsne.kl_divergence` with the same
  affinities, and scikit-learn's own ``kl_divergence_``.

* ``cpu_attention``: :func:`derived.attention.flash_attention_reference` (keys and queries
  in blocks of 64, the online softmax) against the dense
  :func:`derived.attention.scaled_dot_product_attention`, both NumPy float64, one head,
  d = 64, L = 256, 1024, 2048, 4096 (quick: 256 and 1024), causal and not. Each row also
  records both peak memories (``tracemalloc``, one untimed call each) and the largest
  difference between the two outputs.

Torch and scikit-learn are imported inside the suites, never at import time. All are
registered in :mod:`derived.bench` (``python -m derived.bench --list``).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from derived.bench.timing import _row, time_cpu

__all__ = ["cpu_attention_suite", "conv2d_suite", "tsne_suite"]


def conv2d_suite(quick: bool) -> list[dict[str, Any]]:
    """NumPy im2col conv2d forward+backward against torch's CPU conv2d with autograd."""
    import torch

    from derived.conv import conv2d, conv2d_backward

    n, c_in, c_out, hw = (8, 16, 32, 16) if quick else (32, 16, 32, 32)
    rng = np.random.default_rng(14)
    x = rng.standard_normal((n, c_in, hw, hw))
    w = rng.standard_normal((c_out, c_in, 3, 3))
    b = rng.standard_normal(c_out)
    g = rng.standard_normal((n, c_out, hw, hw))

    def ours() -> object:
        conv2d(x, w, b, padding=1)
        return conv2d_backward(g, x, w, padding=1)

    def theirs(dtype: Any) -> Any:
        xt = torch.tensor(x, dtype=dtype, requires_grad=True)
        wt = torch.tensor(w, dtype=dtype, requires_grad=True)
        bt = torch.tensor(b, dtype=dtype, requires_grad=True)
        gt = torch.tensor(g, dtype=dtype)

        def step() -> object:
            xt.grad = wt.grad = bt.grad = None
            y = torch.nn.functional.conv2d(xt, wt, bt, padding=1)
            y.backward(gt)
            return xt.grad

        return step

    repeats = 3 if quick else 7
    t = time_cpu(ours, repeats=repeats)
    t64 = time_cpu(theirs(torch.float64), repeats=repeats)
    t32 = time_cpu(theirs(torch.float32), repeats=repeats)
    size = f"{n}x{c_in}x{hw}x{hw}->{c_out}, 3x3"
    flops = 3 * 2 * n * c_out * c_in * 9 * hw * hw  # forward, dx and dw: 2 flops per tap each
    extra = {"threads": torch.get_num_threads(), "gflops": flops / t / 1e9}
    return [
        _row("conv2d", "derived conv2d fwd+bwd (f64)", size, t, "torch conv2d fwd+bwd (f64)", t64,
             **extra),
        _row("conv2d", "derived conv2d fwd+bwd (f64)", size, t, "torch conv2d fwd+bwd (f32)", t32,
             **extra),
    ]  # fmt: skip


def tsne_suite(quick: bool) -> list[dict[str, Any]]:
    """Exact t-SNE of the digits against scikit-learn's TSNE(method="exact")."""
    from sklearn.manifold import TSNE

    from derived.data import load_digits
    from derived.tsne import joint_probabilities, kl_divergence, tsne

    X, _ = load_digits()
    n_iter = 300 if quick else 1000
    if quick:
        X = X[:300]
    perplexity = 30.0

    start = time.perf_counter()
    Y = tsne(X, perplexity=perplexity, n_iter=n_iter, seed=0)
    t = time.perf_counter() - start

    model = TSNE(
        n_components=2,
        perplexity=perplexity,
        max_iter=n_iter,
        method="exact",
        init="random",
        learning_rate="auto",
        early_exaggeration=12.0,
        random_state=0,
    )
    start = time.perf_counter()
    Y_ref = model.fit_transform(X)
    t_ref = time.perf_counter() - start

    P = joint_probabilities(X, perplexity)
    kl = kl_divergence(P, Y)
    kl_ref = kl_divergence(P, Y_ref.astype(np.float64))
    return [
        _row("tsne", "derived tsne (exact)", f"{len(X)} digits, {n_iter} iterations", t,
             'sklearn TSNE(method="exact")', t_ref, kl=kl, reference_kl=kl_ref,
             reference_own_kl=float(model.kl_divergence_),
             kl_excess=kl / kl_ref - 1.0, reference_n_iter=int(model.n_iter_) + 1),
    ]  # fmt: skip


def _peak_bytes(fn: Callable[[], object]) -> int:
    """Peak memory allocated by one call of ``fn`` beyond what was allocated before it."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def cpu_attention_suite(quick: bool) -> list[dict[str, Any]]:
    """NumPy block-by-block attention (online softmax) against dense NumPy attention."""
    from derived.attention import flash_attention_reference, scaled_dot_product_attention

    rng = np.random.default_rng(22)
    d, block_size = 64, 64
    rows = []
    for seq_len in (256, 1024) if quick else (256, 1024, 2048, 4096):
        q, k, v = (rng.standard_normal((seq_len, d)) for _ in range(3))
        for causal in (False, True):
            blocked = partial(flash_attention_reference, q, k, v, causal, None, block_size)
            dense = partial(scaled_dot_product_attention, q, k, v, is_causal=causal)
            repeats = 3 if quick or seq_len >= 2048 else 5
            t, t_ref = time_cpu(blocked, repeats=repeats), time_cpu(dense, repeats=repeats)
            suffix = " causal" if causal else ""
            rows.append(
                _row("cpu_attention", f"flash_attention_reference{suffix}", seq_len, t,
                     f"dense attention{suffix}", t_ref, shape=[seq_len, d],
                     block_size=block_size, causal=causal,
                     max_abs_diff=float(np.abs(blocked() - dense()).max()),
                     peak_mib=_peak_bytes(blocked) / 2**20,
                     reference_peak_mib=_peak_bytes(dense) / 2**20)
            )  # fmt: skip
    return rows
