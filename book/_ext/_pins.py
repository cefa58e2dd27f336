"""Each workaround in book/_ext names the versions it was written for; a bump fails loudly.

A workaround that patches another package's internals (a private method, serialised HTML)
can break silently when that package changes. Each such module declares
``WRITTEN_FOR = {distribution: version}`` and calls :func:`require` from its ``setup``, so
a build with any other version stops with a message that says what to check, and
``tests/test_book_ext.py`` checks the declarations against the installed versions, the
pins in ``pyproject.toml`` and the list in ``book/_ext/README.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version

from sphinx.errors import ExtensionError


def require(extension: str, written_for: Mapping[str, str]) -> None:
    """Raise ``ExtensionError`` unless each distribution has the version written for."""
    for distribution, wanted in written_for.items():
        try:
            installed = version(distribution)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != wanted:
            raise ExtensionError(
                f"book/_ext/{extension}.py patches {distribution} {wanted}, but {installed} is "
                f"installed. Check whether the workaround is still needed and still right for "
                f"{installed} (book/_ext/README.md says what it works around and how to see "
                f"the bug), then update WRITTEN_FOR in book/_ext/{extension}.py, the pin in "
                f"pyproject.toml and the README."
            )
