# mypy: disable-error-code="untyped-decorator,no-untyped-def"
# (Triton kernels take pointers and compile-time constants that have no Python types;
# mypy sees @triton.jit as untyped. The launchers are fully typed.)
r"""Doubling a vector in place: the simplest GPU kernel, and a memory-bound one.

``doublify`` computes :math:`x_i \leftarrow 2 x_i` for every element of a float32
vector of any length :math:`N`. The work is split into *programs* (Triton's unit
of parallel work, one per block of ``BLOCK_SIZE`` consecutive elements); program
:math:`p` owns the indices

.. math::  i = p \cdot B + j, \qquad j = 0, \dots, B - 1,

and a mask :math:`i < N` switches off the lanes past the end of the vector in the
last block, so :math:`N` need not be a multiple of :math:`B`.

Per element the kernel reads 4 bytes, writes 4 bytes and does 1 multiplication:
an arithmetic intensity of 1 flop per 8 bytes. Every GPU can multiply far faster
than it can move bytes, so the kernel's speed is the memory bandwidth: the best
it can do is run as fast as a plain copy of the vector.

The reference :func:`doublify_reference` is ``x.mul_(2)``: PyTorch's own
elementwise kernel.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from derived.kernels._device import check_tensor

__all__ = ["DOUBLIFY_BLOCK_SIZE", "doublify", "doublify_reference"]

#: Elements per program. A power of two (``tl.arange`` needs one); 1024 float32
#: values are 4 KiB, enough work per program to hide the cost of starting it.
DOUBLIFY_BLOCK_SIZE = 1024


@triton.jit
def _doublify_kernel(
    x_ptr,  # pointer to the first element of x (float32), read and overwritten
    n_elements,  # N, the number of elements of x
    BLOCK_SIZE: tl.constexpr,  # elements per program; a compile-time power of two
):
    pid = tl.program_id(axis=0)  # which block this program owns: 0, 1, ..., cdiv(N, B) - 1
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)  # (BLOCK_SIZE,) indices into x
    mask = offsets < n_elements  # lanes past the end of x do nothing
    x = tl.load(x_ptr + offsets, mask=mask)  # read 4 bytes per element
    tl.store(x_ptr + offsets, 2.0 * x, mask=mask)  # write 4 bytes per element


def doublify(x: torch.Tensor, *, block_size: int = DOUBLIFY_BLOCK_SIZE) -> torch.Tensor:
    r"""Double a float32 vector in place with a Triton kernel: :math:`x_i \leftarrow 2 x_i`.

    Parameters
    ----------
    x : torch.Tensor, float32, any shape
        A contiguous tensor on a CUDA GPU (or on the CPU when Triton's interpreter
        is active), treated as a vector of its N elements. Any N, including 0.
    block_size : int, default 1024
        Elements per program, a power of two.

    Returns
    -------
    torch.Tensor, float32
        ``x`` itself, doubled.

    Raises
    ------
    TypeError
        If ``x`` is not a float32 tensor.
    ValueError
        If ``x`` is not contiguous or ``block_size`` is not a power of two.
    RuntimeError
        If ``x`` is on the CPU and the interpreter is off.

    Examples
    --------
    >>> x = torch.arange(5, dtype=torch.float32, device=kernel_device())  # doctest: +SKIP
    >>> doublify(x).tolist()  # doctest: +SKIP
    [0.0, 2.0, 4.0, 6.0, 8.0]
    """
    check_tensor(x, "x", ndim=None)
    if not x.is_contiguous():
        raise ValueError("x must be contiguous (an in-place kernel cannot work on a copy)")
    if block_size < 1 or block_size & (block_size - 1):
        raise ValueError(f"block_size must be a positive power of two, got {block_size}")
    n = x.numel()
    if n == 0:
        return x
    grid = (triton.cdiv(n, block_size),)  # one program per block, the last one partly masked
    _doublify_kernel[grid](x, n, BLOCK_SIZE=block_size)  # a contiguous tensor is a flat vector
    return x


def doublify_reference(x: torch.Tensor) -> torch.Tensor:
    """Double ``x`` in place with PyTorch's own kernel, ``x.mul_(2)``.

    Parameters
    ----------
    x : torch.Tensor
        Any float tensor on any device.

    Returns
    -------
    torch.Tensor
        ``x`` itself, doubled.

    Examples
    --------
    >>> doublify_reference(torch.ones(3)).tolist()
    [2.0, 2.0, 2.0]
    """
    return x.mul_(2)
