"""Import torch and Triton for the kernel tests, with Triton's interpreter where no GPU is.

Where no CUDA GPU is present, TRITON_INTERPRET is set here (conftest.py sets it too),
before Triton is imported: Triton reads it when a kernel is decorated. A test module that
does ``from kernel_env import GPU_EXTRA, torch`` is skipped, with the reason, when torch or
Triton is missing or when Triton was imported before the interpreter could be chosen.
"""

import os

import pytest

GPU_EXTRA = "derived.kernels needs torch and triton: pip install 'derived[gpu]'"
torch = pytest.importorskip("torch", reason=GPU_EXTRA)
if not torch.cuda.is_available():
    os.environ["TRITON_INTERPRET"] = "1"
pytest.importorskip("triton", reason=GPU_EXTRA)

import derived.kernels  # noqa: E402

if not torch.cuda.is_available() and not derived.kernels.interpreter_active():
    pytest.skip(
        "no CUDA GPU, and triton was imported (by an earlier test) before this module could "
        "set TRITON_INTERPRET=1; set it in the environment to run these tests",
        allow_module_level=True,
    )

__all__ = ["GPU_EXTRA", "torch"]
