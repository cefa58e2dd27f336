"""Where a Triton kernel can run: a CUDA GPU, or the CPU through the interpreter.

Triton compiles a kernel for the GPU that owns its tensors. Without a GPU, the
interpreter (``TRITON_INTERPRET=1``, set before Triton is imported) runs the same
kernel with NumPy on the CPU, one program after another: slow, but exact enough
to test a kernel's indexing and masking on a laptop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import torch
import triton
import triton.language as tl
from numpy.typing import NDArray

__all__ = ["MemoryAccess", "check_tensor", "interpreter_active", "kernel_device", "trace_memory"]


@triton.jit  # type: ignore[untyped-decorator]
def _probe_kernel() -> None:
    """Do nothing; decorated with the other kernels, so it shows how they were built."""


def interpreter_active() -> bool:
    """Return whether this package's kernels run in Triton's CPU interpreter.

    Triton reads ``TRITON_INTERPRET`` when ``@triton.jit`` decorates a kernel, so
    the answer is fixed when ``derived.kernels`` is first imported: setting the
    variable later changes nothing.

    Returns
    -------
    bool
        True when the kernels were built for the interpreter.

    Examples
    --------
    >>> isinstance(interpreter_active(), bool)
    True
    """
    # Both this package's kernels and Triton's own library functions (tl.zeros, tl.sum, ...,
    # decorated when triton.language is first imported) must have been built for it.
    return all(type(f).__name__ == "InterpretedFunction" for f in (_probe_kernel, tl.zeros))


def kernel_device() -> str:
    """Return the device on which tensors for the kernels should live.

    Returns
    -------
    str
        ``"cuda"`` when a CUDA GPU is present, else ``"cpu"`` when the interpreter
        is active.

    Raises
    ------
    RuntimeError
        If there is neither a CUDA GPU nor the interpreter.

    Examples
    --------
    >>> kernel_device() in ("cuda", "cpu")  # doctest: +SKIP
    True
    """
    if torch.cuda.is_available():
        return "cuda"
    if interpreter_active():
        return "cpu"
    raise RuntimeError(_interpreter_hint("Triton kernels need a CUDA GPU, and none is available."))


def _interpreter_hint(problem: str) -> str:
    """Explain how to switch the interpreter on, and why it may not have worked."""
    hint = (
        f"{problem} To run the kernels on the CPU with Triton's interpreter, set the "
        "environment variable TRITON_INTERPRET=1 before triton or derived.kernels is imported."
    )
    if os.environ.get("TRITON_INTERPRET") == "1":
        hint += (
            " TRITON_INTERPRET=1 is set now, but triton was imported before it was set; "
            "set it at the very start of the program (or in the shell)."
        )
    return hint


def check_tensor(x: object, name: str, *, ndim: int | None) -> torch.Tensor:
    """Check that ``x`` is a float32 torch tensor with ``ndim`` dimensions on a usable device.

    Parameters
    ----------
    x : object
        The value to check.
    name : str
        The argument's name, used in error messages.
    ndim : int or None
        The required number of dimensions (None: any).

    Returns
    -------
    torch.Tensor
        ``x`` itself.

    Raises
    ------
    TypeError
        If ``x`` is not a torch tensor or not float32.
    ValueError
        If ``x`` has the wrong number of dimensions.
    RuntimeError
        If ``x`` is on the CPU and the interpreter is off, or on a device Triton
        cannot use.

    Examples
    --------
    >>> check_tensor(torch.zeros(3), "x", ndim=1).shape  # doctest: +SKIP
    torch.Size([3])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype != torch.float32:
        raise TypeError(f"{name} must have dtype torch.float32, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(x.shape)}")
    if x.device.type == "cuda":
        return x
    if x.device.type == "cpu":
        if interpreter_active():
            return x
        raise RuntimeError(
            _interpreter_hint(
                f"{name} is on the CPU, where Triton kernels run only in the interpreter "
                "(or move it to a CUDA GPU with .cuda())."
            )
        )
    raise RuntimeError(f"{name} is on device {x.device}, which these Triton kernels do not support")


class MemoryAccess(NamedTuple):
    """One ``tl.load`` or ``tl.store`` of one program, as the interpreter executed it."""

    #: ``"load"`` or ``"store"``.
    kind: str
    #: The program that issued it, ``(program_id(0), program_id(1), program_id(2))``.
    program: tuple[int, int, int]
    #: The byte addresses of the lanes the mask left on, in lane order (uint64).
    addresses: NDArray[np.uint64]
    #: False for a load whose mask switches lanes off without an ``other=`` value: the
    #: interpreter fills them with zeros, but on a GPU their values are undefined.
    defined: bool = True


@contextmanager
def trace_memory() -> Iterator[list[MemoryAccess]]:
    """Record every masked load and store that kernels run by the interpreter issue.

    Inside the ``with`` block, each ``tl.load`` and ``tl.store`` of a pointer tensor
    (masked or not) appends one :class:`MemoryAccess` to the yielded list: the
    program that issued it, the addresses of its unmasked lanes and, for a load,
    whether the lanes its mask switches off get a value (``other=``). The number of
    numbers a kernel loads from a tensor ``t`` is then the count of load addresses
    in ``[t.data_ptr(), t.data_ptr() + t.numel() * t.element_size())``. The
    interpreter's builder (``triton.runtime.interpreter.interpreter_builder``, whose
    ``create_masked_load`` and ``create_masked_store`` every load and store goes
    through) is wrapped for the duration of the block and restored after it.

    Returns
    -------
    Iterator[list[MemoryAccess]]
        A context manager whose value is the list of accesses, filled as kernels run.

    Raises
    ------
    RuntimeError
        If the kernels do not run in the interpreter (on a GPU nothing can be traced).

    Examples
    --------
    >>> from derived.kernels import doublify
    >>> x = torch.zeros(1000, device=kernel_device())  # doctest: +SKIP
    >>> with trace_memory() as accesses:  # doctest: +SKIP
    ...     _ = doublify(x)
    >>> sum(a.addresses.size for a in accesses if a.kind == "load")  # doctest: +SKIP
    1000
    """
    if not interpreter_active():
        raise RuntimeError(
            _interpreter_hint("trace_memory needs Triton's interpreter, which is not active.")
        )
    from triton.runtime import interpreter

    builder = interpreter.interpreter_builder
    accesses: list[MemoryAccess] = []
    names = ("create_masked_load", "create_masked_store")
    shadowed = {name: vars(builder)[name] for name in names if name in vars(builder)}
    load, store = builder.create_masked_load, builder.create_masked_store

    def lanes(kind: str, ptrs: Any, mask: Any, other: bool = True) -> None:
        on = np.broadcast_to(np.asarray(mask.data, dtype=bool), ptrs.data.shape)
        x, y, z = (int(i) for i in builder.grid_idx)
        addresses = np.asarray(ptrs.data, dtype=np.uint64)[on].copy()
        accesses.append(MemoryAccess(kind, (x, y, z), addresses, other or bool(on.all())))

    def traced_load(ptrs: Any, mask: Any, *args: Any, **kwargs: Any) -> Any:
        other = args[0] if args else kwargs.get("other")
        lanes("load", ptrs, mask, other is not None)
        return load(ptrs, mask, *args, **kwargs)

    def traced_store(ptrs: Any, value: Any, mask: Any, *args: Any, **kwargs: Any) -> Any:
        lanes("store", ptrs, mask)
        return store(ptrs, value, mask, *args, **kwargs)

    builder.create_masked_load, builder.create_masked_store = traced_load, traced_store
    try:
        yield accesses
    finally:
        for name in names:  # back to what was there before
            if name in shadowed:
                setattr(builder, name, shadowed[name])
            else:
                delattr(builder, name)
