"""Write the README's chapter map (chapter, modules of `derived`, tests) from book/chapters.toml.

    .venv/bin/python tools/chapter_map.py          # rewrite the table in README.md
    .venv/bin/python tools/chapter_map.py --print  # print it

The map is declared once, in book/chapters.toml; tests/test_chapter_map.py checks it against
the chapters' imports and fails if the README's table is not what this script writes.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP_FILE = ROOT / "book" / "chapters.toml"
README = ROOT / "README.md"
BEGIN = "<!-- chapter-map: written by tools/chapter_map.py from book/chapters.toml -->"
END = "<!-- /chapter-map -->"


def load() -> dict[str, dict[str, list[str]]]:
    """Read the declared map: ``{"chapters": {file: [module]}, "tests": {module: [path]}}``."""
    return tomllib.loads(MAP_FILE.read_text(encoding="utf-8"))


def title(chapter: str) -> str:
    """Return the chapter's title: the first level-1 heading of ``book/<chapter>.md``."""
    text = (ROOT / "book" / f"{chapter}.md").read_text(encoding="utf-8")
    match = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"book/{chapter}.md has no level-1 heading")
    return match.group(1).strip()


def render() -> str:
    """Return the Markdown table, between its markers."""
    declared = load()
    rows = [
        BEGIN,
        "| Chapter | File | Modules of `derived` | Tests |",
        "|---|---|---|---|",
    ]
    for chapter, modules in declared["chapters"].items():
        tests = sorted({t for m in modules for t in declared["tests"][m]})
        rows.append(
            f"| {title(chapter)} | `book/{chapter}.md` | "
            + ", ".join(f"`derived.{m}`" for m in modules)
            + " | "
            + ", ".join(f"`{t}`" for t in tests)
            + " |"
        )
    rows.append(END)
    return "\n".join(rows)


def rewrite(readme: str) -> str:
    """Return ``readme`` with the table between the markers replaced by :func:`render`'s."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), flags=re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"README.md has no chapter-map markers ({BEGIN} ... {END})")
    return pattern.sub(lambda _: render(), readme)


def main(argv: list[str]) -> int:
    """Rewrite the README's table, or print it with ``--print``."""
    if argv[1:] == ["--print"]:
        print(render())
        return 0
    README.write_text(rewrite(README.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
