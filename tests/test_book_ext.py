"""Tests of the book's own Sphinx extensions (book/_ext): notebook downloads, offline MathJax."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import notebook_download as nd  # noqa: E402
import offline_mathjax  # noqa: E402

CTX = nd.Context(
    numbers={
        "eq-a": ("displaymath", "6.1"),
        "thm-x": ("theorem", "6.2"),
        "fig-y": ("figure", "6.3"),
    },
    titles={"sec-z": "A section"},
    glue={"err": "5.551115123125783e-17", "n": "6", "word": "'hello'"},
)


def test_labelled_display_math_gets_its_book_number():
    out = nd.convert_markdown("$$\nx = 1\n$$ (eq-a)\n\nSee {eq}`eq-a`.", CTX)
    assert "x = 1 \\tag{6.1}$$" in out
    assert "See (6.1)." in out
    assert "{eq}" not in out


def test_roles_become_plain_text():
    src = (
        "{ref}`sec-z`, {ref}`the text <sec-z>`, {prf:ref}`thm-x`, {numref}`fig-y`, "
        "{cite:p}`a2019,b2020`, {math}`x^2`"
    )
    out = nd.convert_markdown(src, CTX)
    assert out == "A section, the text, Theorem 6.2, Figure 6.3, [a2019, b2020], $x^2$"


def test_glue_values_are_filled_in_with_their_format():
    out = nd.convert_markdown("{glue:text}`err:.1e` and {glue:text}`n` and {glue}`word`", CTX)
    assert out == "5.6e-17 and 6 and hello"


def test_numpy_scalars_are_glued_by_their_value():
    ctx = nd.Context(glue={"x": "np.float64(0.8333)", "n": "np.int64(4096)"})
    assert nd.convert_markdown("{glue:text}`x:.2f`, {glue:text}`n`", ctx) == "0.83, 4096"


def test_targets_are_dropped():
    assert nd.convert_markdown("(sec-z)=\n# Title", CTX) == "# Title"


def test_directives_render_as_markdown_and_solutions_stay_hidden():
    src = "\n".join(
        [
            "```{prf:theorem} Name",
            ":label: thm-x",
            "",
            "Body with $a$.",
            "```",
            "",
            "```{prf:proof}",
            "Because.",
            "```",
            "",
            "````{solution} ex-1",
            ":class: dropdown",
            "",
            "Worked answer.",
            "```python",
            "print(1)",
            "```",
            "````",
            "",
            "```{admonition} Common mistake: x",
            ":class: warning",
            "",
            "Text.",
            "```",
        ]
    )
    out = nd.convert_markdown(src, CTX)
    assert "**Theorem (Name).**" in out
    assert ":label:" not in out
    assert "*Proof.* Because." in out
    assert out.index("<details>") < out.index("Worked answer.") < out.index("</details>")
    assert "```python\nprint(1)\n```" in out  # code inside a solution is kept verbatim
    assert "> **Common mistake: x.**" in out
    assert "> Text." in out
    assert "{" not in out.replace("{1}", "")


@pytest.mark.parametrize(
    ("directive", "heading"),
    [("note", "> **Note.**"), ("seealso", "> **See also.**"), ("prf:lemma", "**Lemma (T).**"),
     ("exercise", "**Exercise (T).**")],
)  # fmt: skip
def test_admonitions_and_statements_take_their_titles(directive, heading):
    title = "" if directive in {"note", "seealso"} else " T"
    out = nd.convert_markdown(f"```{{{directive}}}{title}\nBody.\n```", CTX)
    assert out.startswith(heading), out


def test_convert_notebook_adds_version_cell_and_metadata():
    nb = {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": "See {eq}`eq-a`."}],
        "metadata": {"jupytext": {"x": 1}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    out = nd.convert_notebook(nb, CTX, version="9.9.9", commit="abc", repo_url="https://h/r")
    assert out["cells"][0]["id"] == "derived-version-check"
    assert out["cells"][1]["source"] == "See (6.1)."
    assert out["metadata"]["derived"] == {
        "version": "9.9.9",
        "commit": "abc",
        "source": "https://h/r",
        "install": 'pip install "derived[notebooks] @ git+https://h/r@v9.9.9"',
    }
    assert "jupytext" not in out["metadata"]
    assert nb["cells"][0]["source"] == "See {eq}`eq-a`."  # input untouched


def _run_version_cell(tmp_path: Path, installed: str | None) -> subprocess.CompletedProcess[str]:
    """Run the version-check cell in IPython with a fake `derived` installed (or none)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "derived").mkdir()  # shadows the real package, which this environment has
    (site / "derived" / "__init__.py").write_text(
        f"__version__ = {installed!r}\n"
        if installed is not None
        else "raise ModuleNotFoundError(\"No module named 'derived'\", name='derived')\n"
    )
    cell = nd.version_cell("1.2.3", "https://github.com/o/r")["source"]
    script = tmp_path / "cell.ipy"
    script.write_text(cell + "\nprint('the next cell runs')\n")
    return subprocess.run(
        [sys.executable, "-m", "IPython", "--quick", "--no-banner", str(script)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_version_cell_is_silent_for_the_matching_version(tmp_path):
    assert _run_version_cell(tmp_path, "1.2.3").stdout == "the next cell runs\n"


def test_version_cell_explains_a_mismatch_and_carries_on(tmp_path):
    out = _run_version_cell(tmp_path, "0.9.0").stdout
    assert "built with derived 1.2.3, but 0.9.0 is installed" in out
    assert 'pip install "derived[notebooks] @ git+https://github.com/o/r@v1.2.3"' in out
    assert out.endswith("the next cell runs\n")


def test_version_cell_stops_cleanly_when_the_package_is_missing(tmp_path):
    """The install line, no traceback, and nothing after it runs."""
    result = _run_version_cell(tmp_path, None)
    shown = result.stdout + result.stderr
    assert "needs the package `derived` (version 1.2.3)" in shown
    assert 'pip install "derived[notebooks] @ git+https://github.com/o/r@v1.2.3"' in shown
    assert "Traceback" not in shown
    assert "the next cell runs" not in shown


def test_install_ref_is_the_commit_unless_the_release_tag_points_at_it():
    head = nd.source_commit()
    if head is None:
        pytest.skip("not a git checkout")
    tagged = subprocess.run(
        ["git", "tag", "--points-at", head], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert nd.install_ref("0.0.0-never", head) == head
    assert nd.install_ref("9.9.9", None) == "v9.9.9"
    for tag in tagged:
        if tag.startswith("v"):
            assert nd.install_ref(tag[1:], head) == tag


def test_colab_opens_the_published_notebook():
    url = nd.colab_url("https://github.com/o/r", "book/part1/01-a")
    assert (
        url == "https://colab.research.google.com/github/o/r/blob/notebooks/book/part1/01-a.ipynb"
    )
    assert nd.colab_url("https://example.org/o/r", "x") is None


def test_literalinclude_becomes_a_code_block():
    seen = {}

    def include(argument, options):
        seen.update(argument=argument, options=dict(options))
        return "def f():\n    return 1\n"

    ctx = nd.Context(include=include)
    src = "```{literalinclude} ../../code/m.py\n:language: python\n:pyobject: f\n```"
    assert nd.convert_markdown(src, ctx) == "```python\ndef f():\n    return 1\n```"
    assert seen == {
        "argument": "../../code/m.py",
        "options": {"language": "python", "pyobject": "f"},
    }


def test_literalinclude_options_are_typed_as_the_directive_types_them(tmp_path):
    """A page's ``:dedent: 4`` reaches Sphinx's reader as the integer 4 (as text, the
    reader's slice fails), and the included code comes out dedented."""
    from sphinx.directives.code import LiteralIncludeReader

    typed = nd.typed_options({"language": "python", "dedent": "4", "lines": "2-3"})
    assert typed == {"language": "python", "dedent": 4, "lines": "2-3"}
    source = tmp_path / "m.py"
    source.write_text("def f():\n    a = 1\n    return a\n")
    config = type("Config", (), {"source_encoding": "utf-8", "highlight_language": "python"})()
    text, _ = LiteralIncludeReader(str(source), typed, config).read()
    assert text == "a = 1\nreturn a\n"


def test_an_unknown_directive_fails_instead_of_being_dropped():
    with pytest.raises(nd.UnknownDirectiveError, match=r"\{mermaid\}"):
        nd.convert_markdown("```{mermaid}\ngraph TD\n```", CTX)


def test_markdown_outputs_and_figure_captions_are_converted():
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {"mystnb": {"figure": {"name": "fig-y", "caption": "See {eq}`eq-a`."}}},
                "outputs": [
                    {"output_type": "display_data", "data": {"text/markdown": "{ref}`sec-z`"}}
                ],
                "source": "",
            }
        ],
        "metadata": {},
    }
    out = nd.convert_notebook(nb, CTX, version="1", commit=None, repo_url="u")
    assert out["cells"][1]["outputs"][0]["data"]["text/markdown"] == "A section"
    assert out["cells"][2]["source"] == "**Figure 6.3.** See (6.1)."


def test_offline_mathjax_reports_a_missing_install(monkeypatch, tmp_path):
    monkeypatch.setattr(offline_mathjax, "MATHJAX_PACKAGE", tmp_path / "nothing")
    with pytest.raises(Exception, match="npm ci"):
        offline_mathjax._installed_version()


def test_gated_solutions_open_a_span_instead_of_an_empty_block():
    src = "```{solution-start} ex-1\n:class: dropdown\n```\nText of the solution."
    out = nd.convert_markdown(src, CTX)
    assert out.startswith("**Solution.**")
    assert "<details>" not in out
    assert "Text of the solution." in out


def test_notebook_zip_is_sorted_and_byte_for_byte_reproducible(tmp_path):
    import zipfile

    src = tmp_path / "_notebooks"
    (src / "book" / "part2").mkdir(parents=True)
    (src / "book" / "part2" / "06-b.ipynb").write_text('{"cells": []}')
    (src / "book" / "part2" / "05-a.ipynb").write_text('{"cells": [1]}')
    (src / "book" / "notes.txt").write_text("not a notebook")
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    names = nd.write_zip(src, first)
    nd.write_zip(src, second)
    assert names == [
        "deep-learning-derived/book/part2/05-a.ipynb",
        "deep-learning-derived/book/part2/06-b.ipynb",
    ]
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert zf.read(names[0]) == b'{"cells": [1]}'


def test_codeautolink_cache_keeps_markdown_pages(tmp_path):
    """What sphinx-codeautolink learnt of a Markdown page survives a build that does not re-read it.

    Unpatched, its cache drops every page without an ``.rst`` source; the next build that
    re-writes pages without re-reading them writes them with no links to the API.
    """
    pytest.importorskip("sphinx_codeautolink")
    from sphinx_codeautolink.extension.backref import CodeExample
    from sphinx_codeautolink.extension.block import SourceTransform
    from sphinx_codeautolink.extension.cache import DataCache
    from sphinx_codeautolink.parse import Name

    import codeautolink_fixes

    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "book" / "chapter.md").write_text("# A chapter\n", encoding="utf-8")
    (src / "book" / "notebook.ipynb").write_text("{}", encoding="utf-8")
    transform = SourceTransform(
        source="derived.softmax.softmax(z)",
        names=[Name(["derived", "softmax", "softmax"], "derived.softmax.softmax", 1, 1)],
        example=CodeExample("book/chapter", "ref", ["A chapter"]),
        doc_lineno=3,
    )
    written = DataCache(str(tmp_path), str(src))
    for doc in ("book/chapter", "book/notebook", "book/deleted"):
        written.transforms[doc] = [transform]
    written.write()

    original = DataCache.read
    try:
        DataCache.read = codeautolink_fixes._read_cache
        read = DataCache(str(tmp_path), str(src))
        read.read()
    finally:
        DataCache.read = original
    assert sorted(read.transforms) == ["book/chapter", "book/notebook"]  # the deleted page goes
    assert read.transforms["book/chapter"] == [transform]


def test_numbered_chapter_reference_becomes_its_number():
    ctx = nd.Context(numbers={"ch-x": ("section", "3")}, titles={"ch-x": "Counting pieces"})
    out = nd.convert_markdown("As {numref}`chapter {number} <ch-x>` shows.", ctx)
    assert out.strip() == "As chapter 3 shows."


def test_chapters_refer_to_each_other_by_reference_not_by_typed_number():
    """A typed "chapter 7" goes stale when chapters move; {numref} keeps the number right.

    A chapter number followed by "of" names a chapter of a cited book, which stays typed.
    """
    import re

    typed = re.compile(r"\b[Cc]hapters? \d+(?!\d)(?!(?:\s+and\s+\d+)?\s+of\b)")
    code_cell = re.compile(r"```\{code-cell\}.*?```", re.S)
    offenders = []
    for source in sorted((ROOT / "book").rglob("*.md")):
        if "api" in source.relative_to(ROOT / "book").parts:
            continue  # generated from docstrings
        prose = code_cell.sub("", source.read_text(encoding="utf-8"))
        offenders += [f"{source.relative_to(ROOT)}: {m.group(0)!r}" for m in typed.finditer(prose)]
    assert offenders == [], "use {numref}`chapter {number} <ch-...>`:\n" + "\n".join(offenders)


def test_no_numbered_figure_inside_a_solution():
    """A solution is a framed box in the PDF, and a float (a numbered figure) cannot sit
    inside one: LaTeX stops with "Not in outer par mode". A picture in a solution is an
    image with alt text and its caption in the prose."""
    import re

    offenders = []
    for source in sorted((ROOT / "book").rglob("*.md")):
        inside = False
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```{solution-start}"):
                inside = True
            elif line.startswith("```{solution-end}"):
                inside = False
            elif inside and re.match(r"\s+figure:\s*$", line):
                offenders.append(f"{source.relative_to(ROOT)}:{number}")
    assert offenders == [], "figure metadata inside a solution:\n" + "\n".join(offenders)


def test_every_gated_solution_and_exercise_is_closed():
    """A ``solution-start`` (or ``exercise-start``) without its ``-end`` stops the book
    build with an extension error, while running the chapter alone does not notice."""
    unclosed = []
    for source in sorted((ROOT / "book").rglob("*.md")):
        open_at: dict[str, int | None] = {"solution": None, "exercise": None}
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            for kind in open_at:
                if line.startswith(f"```{{{kind}-start}}"):
                    if open_at[kind] is not None:
                        unclosed.append(f"{source.relative_to(ROOT)}:{open_at[kind]}")
                    open_at[kind] = number
                elif line.startswith(f"```{{{kind}-end}}"):
                    open_at[kind] = None
        unclosed += [f"{source.relative_to(ROOT)}:{n}" for n in open_at.values() if n is not None]
    assert unclosed == [], "unclosed gated directive at:\n" + "\n".join(unclosed)


def test_no_code_cell_starts_with_a_blank_line():
    """A code cell whose source starts with a blank line renders without it, and the code
    links (sphinx-codeautolink) then cannot match the example: a build warning."""
    import re

    offenders = []
    for source in sorted((ROOT / "book").rglob("*.md")):
        text = source.read_text(encoding="utf-8")
        for match in re.finditer(r"```\{code-cell\} ipython3\n(?::[^\n]*\n)*\n\n", text):
            line = text[: match.start()].count("\n") + 1
            offenders.append(f"{source.relative_to(ROOT)}:{line}")
    assert offenders == [], "code cell starting with a blank line:\n" + "\n".join(offenders)


def test_no_citation_inside_a_figure_caption():
    """A citation in a caption becomes a hyperlink inside LaTeX's \\caption, a moving
    argument, and stops the PDF build ("Argument of \\Hy@tempa has an extra }"). Cite in
    the prose that refers to the figure."""
    import re

    offenders = []
    for source in sorted((ROOT / "book").rglob("*.md")):
        indent = None  # the caption's indentation while inside one
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r"^(\s*)caption: \|", line)
            if match:
                indent = len(match.group(1))
            elif indent is not None and line.strip() and len(line) - len(line.lstrip()) > indent:
                if "{cite" in line:
                    offenders.append(f"{source.relative_to(ROOT)}:{number}")
            else:
                indent = None
    assert offenders == [], "citation inside a figure caption:\n" + "\n".join(offenders)


def test_the_readme_prints_the_install_line_of_this_version_and_repository():
    """The repository address lives in _config.yml; the README's install line agrees."""
    import re

    from derived import __version__

    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    url = re.search(r"^repository:\n\s+url:\s*(\S+)", config, re.M)
    assert url is not None
    line = nd.install_command(url.group(1), f"v{__version__}")
    assert line in (ROOT / "README.md").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## {__version__}\n" in changelog, "CHANGELOG.md needs a section per version"


def test_the_release_workflow_refuses_a_tag_that_is_not_the_version():
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert 'tags: ["v*"]' in workflow
    assert 'test "$GITHUB_REF_NAME" = "v$version"' in workflow
    assert "python -m build" in workflow
    assert "make test-all" in workflow


def test_pdf_links_to_an_exercise_in_another_chapter_carry_its_number(tmp_path):
    """latex_fixes: a reference across chapters to an exercise resolves in LaTeX."""
    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        'extensions = ["myst_parser", "sphinx_exercise", "latex_fixes"]\nnumfig = True\n'
    )
    (tmp_path / "index.md").write_text("# Top\n\n```{toctree}\na\nb\n```\n")
    (tmp_path / "a.md").write_text(
        "# A\n\n```{exercise} First\n:label: ex-one\n\nDo it.\n```\n\n"
        "```{exercise} Second\n:label: ex-two\n\nAgain.\n```\n"
    )
    (tmp_path / "b.md").write_text("# B\n\nSee {ref}`ex-two` and {numref}`ex-one`.\n")
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "latex", str(tmp_path), str(tmp_path / "_b")],
        check=True,
        capture_output=True,
    )
    tex = next((tmp_path / "_b").glob("*.tex")).read_text(encoding="utf-8")
    assert r"\label{\detokenize{a:ex-two}}" in tex
    assert r"\hyperref[\detokenize{a:ex-two}]{Exercise 2}" in tex
    assert r"\hyperref[\detokenize{a:ex-one}]{Exercise 1}" in tex
    assert r"Exercise \ref" not in tex


# --------------------------------------------------------------------------- #
# Workarounds: each pinned to the versions it was written for, and listed.

WORKAROUNDS = ["codeautolink_fixes", "latex_fixes"]


def _written_for(name: str) -> dict[str, str]:
    import importlib

    return dict(importlib.import_module(name).WRITTEN_FOR)


def test_every_module_that_declares_pins_is_a_listed_workaround():
    declaring = sorted(
        p.stem
        for p in (ROOT / "book" / "_ext").glob("*.py")
        if any(line.startswith("WRITTEN_FOR = ") for line in p.read_text("utf-8").splitlines())
    )
    assert declaring == WORKAROUNDS


@pytest.mark.parametrize("name", WORKAROUNDS)
def test_a_workaround_runs_on_the_versions_it_was_written_for(name: str):
    from importlib.metadata import version

    for distribution, wanted in _written_for(name).items():
        assert version(distribution) == wanted, (
            f"book/_ext/{name}.py was written for {distribution} {wanted}; "
            f"{version(distribution)} is installed (see book/_ext/README.md)"
        )


@pytest.mark.parametrize("name", WORKAROUNDS)
def test_a_workaround_is_pinned_exactly_and_listed(name: str):
    import tomllib

    book_extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["book"]
    readme = (ROOT / "book" / "_ext" / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}.py`"))
    for distribution, wanted in _written_for(name).items():
        assert f"{distribution}=={wanted}" in book_extra
        assert f"{distribution} {wanted}" in row


def test_a_version_bump_stops_the_build_with_a_clear_message(monkeypatch):
    from sphinx.errors import ExtensionError

    import _pins

    monkeypatch.setattr(_pins, "version", lambda distribution: "99.0")
    with pytest.raises(ExtensionError, match=r"patches sphinx-codeautolink 0\.19\.0, but 99\.0"):
        _pins.require("codeautolink_fixes", {"sphinx-codeautolink": "0.19.0"})
    _pins.require("codeautolink_fixes", {"sphinx-codeautolink": "99.0"})  # a match passes


def test_the_extension_list_is_jupyter_books_without_sphinx_thebe():
    """_config.yml replaces Jupyter Book's extension list; it keeps every other default.

    A Jupyter Book release that adds a default extension fails here instead of losing it.
    """
    import yaml
    from jupyter_book.config import get_default_sphinx_config

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    listed = config["sphinx"]["config"]["extensions"]
    defaults = get_default_sphinx_config()["extensions"]
    assert "sphinx_thebe" not in listed
    assert [e for e in defaults if e != "sphinx_thebe"] == listed[: len(defaults) - 1]
    ext_dir = ROOT / "book" / "_ext"
    ours = sorted(p.stem for p in ext_dir.glob("*.py") if not p.stem.startswith("_"))
    assert sorted(e for e in listed if (ext_dir / f"{e}.py").is_file()) == ours
    assert len(listed) == len(set(listed))
