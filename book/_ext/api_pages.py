"""The API reference: one page per public module of ``derived``, written at build time.

When Sphinx has read its configuration (and before the table of contents is parsed),
this extension lists the package's modules with :func:`pkgutil.iter_modules`, skips the
private ones (a leading ``_``), and writes into ``book/api/``

* ``index.md``, the reference's front page: the package docstring and a table of the
  modules with the first line of each module's docstring;
* ``derived-<module>.md`` for each module, an ``automodule`` of the module with its
  members (those listed in ``__all__``, constants included), rendered from the NumPy
  docstrings by autodoc and napoleon, with the label ``api-derived-<module>``.

``_toc.yml`` includes the pages with a glob, so a new module gets its page without a
hand-written file, and a removed module's page is deleted. Files are rewritten only
when their text changes, so an unchanged reference does not make Sphinx re-read them.
The pages are generated, so ``book/api/`` is not under version control.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
API_DIR = ROOT / "book" / "api"
PACKAGE = "derived"


def public_modules() -> list[str]:
    """Return the names of the public modules of ``derived`` (``derived.<name>``), sorted."""
    if str(ROOT / "code") not in sys.path:
        sys.path.insert(0, str(ROOT / "code"))
    package = importlib.import_module(PACKAGE)
    return sorted(
        f"{PACKAGE}.{m.name}"
        for m in pkgutil.iter_modules(package.__path__)
        if not m.name.startswith("_")
    )


def page_name(module: str) -> str:
    """Return the file stem of a module's page: ``derived.softmax`` -> ``derived-softmax``."""
    return module.replace(".", "-")


def summary(module: str) -> str:
    """Return the first line of a module's docstring (imports the module)."""
    doc = importlib.import_module(module).__doc__ or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def module_page(module: str) -> str:
    """Return the MyST text of one module's page."""
    return "\n".join(
        [
            f"(api-{page_name(module)})=",
            f"# `{module}`",
            "",
            "```{eval-rst}",
            f".. automodule:: {module}",
            "   :members:",
            "   :undoc-members:",
            "```",
            "",
        ]
    )


def index_page(modules: list[str]) -> str:
    """Return the MyST text of the reference's front page."""
    rows = [f"| {{doc}}`{m} <{page_name(m)}>` | {summary(m)} |" for m in modules]
    return "\n".join(
        [
            "(api-reference)=",
            "# API reference",
            "",
            "Every function the chapters use lives in the package `derived`, one concept per",
            "module. These pages are generated from the package's docstrings each time the",
            "book is built, so they always describe the code the chapters ran. Names in the",
            "chapters' code cells link here. Each module's tests are in",
            "`tests/test_<module>.py`; the symbols follow the {ref}`notation <notation>`.",
            "",
            "| module | what it holds |",
            "| --- | --- |",
            *rows,
            "",
            "```{eval-rst}",
            f".. automodule:: {PACKAGE}",
            "```",
            "",
        ]
    )


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_pages(app: Any = None, config: Any = None) -> list[Path]:
    """Write the index and one page per module into ``book/api``; delete stale pages."""
    modules = public_modules()
    API_DIR.mkdir(parents=True, exist_ok=True)
    written = [API_DIR / "index.md"]
    _write_if_changed(written[0], index_page(modules))
    for module in modules:
        path = API_DIR / f"{page_name(module)}.md"
        _write_if_changed(path, module_page(module))
        written.append(path)
    for stale in set(API_DIR.glob("*.md")) - set(written):
        stale.unlink()
    return written


def setup(app: Any) -> dict[str, Any]:
    """Register the page writer before sphinx-external-toc reads ``_toc.yml``."""
    app.connect("config-inited", write_pages, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
