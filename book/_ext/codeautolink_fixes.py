"""Three fixes for sphinx-codeautolink (0.19), which links names in code cells to the API.

* It keeps a stack of section titles while it walks a page: it pushes on every ``title``
  node and pops when it leaves a ``section``. sphinx-exercise wraps the body of every
  exercise and solution in a ``section`` *without* a title, so a page with enough
  exercises pops an empty stack and the build stops with ``IndexError: pop from empty
  list``. Here a section pops only the title it pushed.
* It adds its links to the HTML of the pages that were out of date when the build
  started. When a change of configuration makes Sphinx re-read and re-write every page,
  the pages whose sources did not change are written again without links. Here every
  page written in the build is marked for linking.
* It keeps what it learnt of each page's code in a cache between builds, but on reading
  the cache it drops every page that has no ``.rst`` source, which is every page of this
  book (MyST Markdown). The next build that re-writes pages without re-reading them (a
  change to an HTML option, say) then writes them with no links, and the cache is left
  empty. Here a page is kept if it has a source of any suffix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes

from _pins import require

# The versions this workaround was written for (see _pins.py and README.md).
WRITTEN_FOR = {"sphinx-codeautolink": "0.19.0"}


def _depart_section(self: Any, node: nodes.section) -> None:
    """Pop the section's title, if it has one."""
    if node.children and isinstance(node.children[0], nodes.title) and self.title_stack:
        self.title_stack.pop()


def _codeautolink(app: Any) -> Any:
    """Return the extension's state object (the owner of its build-finished handler)."""
    for listener in app.events.listeners.get("build-finished", []):
        owner = getattr(listener.handler, "__self__", None)
        if type(owner).__name__ == "SphinxCodeAutoLink":
            return owner
    return None


def _mark_written(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Link the page being written, whether or not its source changed."""
    state = _codeautolink(app)
    if state is not None and doctree is not None:
        state.outdated_docs.add(str(Path(pagename)))


def _has_source(src_dir: Path, docname: str) -> bool:
    """Whether the page ``docname`` has a source file, whatever its suffix."""
    path = src_dir / docname
    return any(p.is_file() for p in path.parent.glob(f"{path.name}.*"))


def _read_cache(self: Any) -> None:
    """DataCache.read, keeping every page that has a source (``.md``, ``.ipynb``, ``.rst``)."""
    from sphinx_codeautolink.extension.block import CodeExample, Name, SourceTransform

    cache = self.cache_dir / self.cache_filename
    if not cache.exists():
        return
    content = json.loads(cache.read_text("utf-8"))
    for docname, transforms in content.items():
        if not _has_source(self.src_dir, docname):
            continue
        for transform in transforms:
            transform["example"] = CodeExample(**transform["example"])
            transform["names"] = [Name(**n) for n in transform["names"]]
        self.transforms[docname] = [SourceTransform(**t) for t in transforms]


def setup(app: Any) -> dict[str, Any]:
    """Patch the analyser and the cache of sphinx-codeautolink and track the pages written."""
    require("codeautolink_fixes", WRITTEN_FOR)
    from sphinx_codeautolink.extension.block import CodeBlockAnalyser
    from sphinx_codeautolink.extension.cache import DataCache

    CodeBlockAnalyser.depart_section = _depart_section
    DataCache.read = _read_cache
    app.connect("html-page-context", _mark_written)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
