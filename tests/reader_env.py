"""A reader's environment: made only from the install line that a downloaded notebook prints.

A reader who downloads a chapter has no checkout, no ``PYTHONPATH`` and none of the book's
build tools. They run the command the notebook's first cell prints,
``pip install "derived[notebooks] @ git+<repository>@<ref>"``, in a fresh environment with
their own Jupyter, and run the notebook. This module builds that environment for the
tests, with one substitution: the repository at ``<ref>`` is replaced by a wheel built
from this checkout (the same code, not yet published). Versions are held to
``constraints.txt`` so that figures come out byte for byte as in the book.

The environment lives outside the repository, in ``$XDG_CACHE_HOME/deep-learning-derived``
(``~/.cache`` by default, or ``$DERIVED_READER_ENV``), and is reused: it is rebuilt when
``pyproject.toml`` or ``constraints.txt`` change, and the package in it is reinstalled when
``code/`` changes, so that after the first run it costs seconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What the reader's Jupyter brings besides the install line: a kernel to run the notebook.
READER_JUPYTER = ("ipykernel",)

_INSTALL = re.compile(
    r'^pip install "derived\[(?P<extra>[\w,-]+)\] @ git\+(?P<url>\S+)@(?P<ref>\S+)"$'
)


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            h.update(file.relative_to(ROOT).as_posix().encode())
            h.update(file.read_bytes())
    return h.hexdigest()[:16]


def parse_install_line(line: str) -> tuple[str, str, str]:
    """Split a notebook's install line into (extras, repository URL, git ref).

    Raises ``ValueError`` if the line is not the one form the book prints.
    """
    match = _INSTALL.match(line.strip())
    if match is None:
        raise ValueError(f"not the book's install line: {line!r}")
    return match.group("extra"), match.group("url"), match.group("ref")


def cache_dir() -> Path:
    """Where reader environments are kept: outside the repository."""
    if os.environ.get("DERIVED_READER_ENV"):
        return Path(os.environ["DERIVED_READER_ENV"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "deep-learning-derived"


def clean_env(home: Path) -> dict[str, str]:
    """The environment a reader's kernel gets: no PYTHONPATH, nothing of the build."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PIP_CONFIG_FILE", "SSL_CERT_FILE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["HOME"] = str(home)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def _run(cmd: list[str], **kwargs: object) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


def reader_python(install_line: str) -> Path:
    """The Python of an environment made from ``install_line`` (built or reused).

    Parameters
    ----------
    install_line : str
        The command a downloaded notebook prints (its ``metadata.derived.install``).

    Returns
    -------
    pathlib.Path
        The environment's ``bin/python``; ``derived`` is installed there as a wheel.
    """
    extra, _url, _ref = parse_install_line(install_line)
    if ROOT in Path(cache_dir()).resolve().parents:
        raise ValueError("the reader's environment must live outside the repository")
    env_key = _digest(ROOT / "pyproject.toml", ROOT / "constraints.txt")
    code_key = _digest(ROOT / "code", ROOT / "pyproject.toml")
    venv = cache_dir() / f"reader-env-{env_key}"
    python = venv / "bin" / "python"
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".lock", "w") as lock:  # one builder at a time (pytest-xdist)
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = venv / ".derived-code"
        if stamp.is_file() and stamp.read_text() == f"{extra}:{code_key}":
            return python
        if not python.is_file():
            for old in cache_dir().glob("reader-env-*"):
                shutil.rmtree(old, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(venv)])
        with tempfile.TemporaryDirectory() as tmp:
            # Build from a copy of what the wheel is made of: a build leaves build/ and
            # *.egg-info behind, which do not belong in the checkout.
            source, wheels = Path(tmp) / "source", Path(tmp) / "wheels"
            shutil.copytree(
                ROOT / "code",
                source / "code",
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
            for name in ("pyproject.toml", "README.md", "LICENSE"):
                shutil.copy(ROOT / name, source / name)
            _run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
                + ["--quiet", "-w", str(wheels), str(source)],
                env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            )
            (wheel,) = wheels.glob("derived-*.whl")
            requirement = f"derived[{extra}] @ {wheel.as_uri()}"
            _run(
                [str(python), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps"]
                + [requirement]
            )
            _run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "-c",
                    str(ROOT / "constraints.txt"),
                ]
                + [requirement, *READER_JUPYTER]
            )
        stamp.write_text(f"{extra}:{code_key}")
    return python
