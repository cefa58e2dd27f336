"""Offer each chapter's executed notebook for download, readable in plain Jupyter.

myst-nb executes every chapter and keeps the executed notebook in
``_build/jupyter_execute/``. This extension turns it into the notebook a reader
downloads from the page's download menu (``_build/html/_notebooks/<page>.ipynb``):

* MyST syntax that plain Jupyter cannot render is rewritten as ordinary Markdown:
  directives (theorems, proofs, admonitions, exercises) become bold headings or
  block quotes, hidden solutions become ``<details>`` blocks that stay closed until
  clicked, labelled equations get their number from the book (``\\tag{6.3}``),
  ``{eq}`` references become ``(6.3)``, glued numbers are filled in, and citations
  and cross-references become plain text.
* A first cell is added that checks the installed ``derived`` against the version
  the notebook was built with, and prints the exact install command if it is
  missing or different (the package's version contract); the version and the
  source commit are also recorded in the notebook metadata under ``"derived"``.
* When the build ends, every chapter's notebook is also packed into one zip,
  ``_build/html/_notebooks/deep-learning-derived-notebooks.zip`` (linked from the
  front page), with fixed timestamps so that two builds give the same bytes.

The conversion is plain text processing, tested in ``tests/test_book_ext.py``.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = "_notebooks"
ZIP_NAME = "deep-learning-derived-notebooks.zip"
# The branch that the book workflow publishes the executed notebooks to (for Colab).
NOTEBOOK_BRANCH = "notebooks"

# --------------------------------------------------------------------------- #
# MyST Markdown -> plain Jupyter Markdown
# --------------------------------------------------------------------------- #

_FENCE_OPEN = re.compile(
    r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$"
)
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<content>[^`]*)`")
_TARGET = re.compile(r"^\s*\((?P<label>[\w.:-]+)\)=\s*$")
_LABELLED_MATH = re.compile(r"\$\$(?P<body>.+?)\$\$\s*\((?P<label>[\w.:-]+)\)", re.S)

# Admonitions shown as block quotes under their own title ("note" -> "Note"); every
# prf: directive and the exercise are shown as a bold heading instead.
_ADMONITIONS = frozenset(
    "note tip hint important warning caution attention danger error seealso".split()
)


@dataclass
class Context:
    """What the converter needs to know about the book: numbers, titles, glue, files.

    ``numbers`` maps a label to its kind and number (``"eq-softmax"`` to
    ``("displaymath", "6.1")``). ``include`` reads a ``literalinclude`` the way the book
    does: it takes the directive's argument (a path relative to the page) and its
    options, and returns the included text. The book passes Sphinx's own reader, so the
    notebook shows exactly the lines the page shows.
    """

    numbers: dict[str, tuple[str, str]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    glue: dict[str, str] = field(default_factory=dict)
    include: Callable[[str, Mapping[str, str]], str] | None = None


class UnknownDirectiveError(ValueError):
    """A directive the converter cannot render: the build stops instead of dropping it."""


def _format_glue(raw: str, spec: str) -> str:
    """Apply a format spec such as ``.3f`` to a glued value's ``text/plain`` repr."""
    raw = re.sub(r"^np\.\w+\((.*)\)$", r"\1", raw.strip())  # NumPy 2's np.float64(0.5)
    if not spec:
        return raw.strip("'\"")
    number = re.search(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", raw)
    if number is None:
        return raw.strip("'\"")
    value = float(number.group(0))
    try:
        return format(value, spec)
    except ValueError:
        return format(int(value), spec)


def convert_role(name: str, content: str, ctx: Context) -> str:
    """Render one inline role ``{name}`content``` as plain Markdown."""
    text, target = content, content
    explicit = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", content, re.S)
    if explicit:
        text, target = explicit.group("text"), explicit.group("target")
    if name == "eq":
        return f"({ctx.numbers.get(target, ('', target))[1]})"
    if name in {"math"}:
        return f"${content}$"
    if name.startswith("cite"):
        keys = ", ".join(k.strip() for k in content.split(","))
        return f"[{keys}]"
    if name.startswith("glue"):
        key, _, spec = content.partition(":")
        return _format_glue(ctx.glue.get(key, key), spec) if key in ctx.glue else key
    if name in {"ref", "numref", "prf:ref", "doc", "term", "any", "download", "external"}:
        kind, number = ctx.numbers.get(target, ("", ""))
        if explicit:
            return text.replace("{number}", number).strip()
        if number:
            return f"{kind.replace('displaymath', 'equation').title()} {number}"
        return ctx.titles.get(target, target.replace("-", " "))
    if name == "abbr":
        return re.sub(r"\s*\(.*\)$", "", content)
    return content


def convert_inline(text: str, ctx: Context) -> str:
    """Rewrite roles, labelled display math and targets in a block of Markdown."""

    def math(match: re.Match[str]) -> str:
        label = match.group("label")
        number = ctx.numbers.get(label, ("", label))[1]
        return f"$${match.group('body').rstrip()} \\tag{{{number}}}$$"

    text = _LABELLED_MATH.sub(math, text)
    text = "\n".join(line for line in text.split("\n") if not _TARGET.match(line))
    return _ROLE.sub(lambda m: convert_role(m.group("name"), m.group("content"), ctx), text)


def _parse_blocks(lines: list[str]) -> list[Any]:
    """Split lines into plain lines and nested directive blocks (name, arg, options, body)."""
    out: list[Any] = []
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence = match.group("fence")
        close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j, depth = i + 1, 0
        while j < len(lines):
            inner = _FENCE_OPEN.match(lines[j])
            if (
                inner
                and inner.group("fence")[0] == fence[0]
                and len(inner.group("fence")) == len(fence)
            ):
                depth += 1
            elif close.match(lines[j]) and len(lines[j].strip()) == len(fence):
                if depth == 0:
                    break
                depth -= 1
            j += 1
        body = lines[i + 1 : j]
        options: dict[str, str] = {}
        while body and _OPTION.match(body[0]):
            opt = _OPTION.match(body[0])
            assert opt is not None
            options[opt.group("key")] = opt.group("value").strip()
            body = body[1:]
        out.append((match.group("name"), match.group("arg").strip(), options, _parse_blocks(body)))
        i = j + 1
    return out


def _render(blocks: list[Any], ctx: Context) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, str):
            lines.append(block)
            continue
        name, arg, options, body = block
        inner = _render(body, ctx)
        title = convert_inline(arg, ctx)
        if name == "math":
            label = options.get("label")
            tag = f" \\tag{{{ctx.numbers.get(label, ('', label))[1]}}}" if label else ""
            lines += ["$$", *inner, f"{tag.strip()}$$" if tag else "$$"]
        elif name in {"exercise-start", "solution-start"}:
            heading = "Exercise" if name == "exercise-start" else "Solution"
            lines += [
                f"**{heading}{f' ({title})' if title and heading == 'Exercise' else ''}.**",
                *inner,
            ]
        elif name in {"exercise-end", "solution-end"}:
            lines += ["", "---"]
        elif name in {"solution", "dropdown"} or options.get("class", "") == "dropdown":
            summary = "Solution" if name == "solution" else (title or "Details")
            lines += [
                "<details>",
                f"<summary>{summary} (click to show)</summary>",
                "",
                *inner,
                "",
                "</details>",
            ]
        elif name == "prf:proof":
            lines += [f"*Proof.* {inner[0] if inner else ''}", *inner[1:], "", "$\\blacksquare$"]
        elif name in _ADMONITIONS or name in {"exercise", "admonition"} or name.startswith("prf:"):
            heading = "See also" if name == "seealso" else name.split(":")[-1].title()
            if name == "admonition":
                heading, title = title, ""
            head = f"**{heading}{f' ({title})' if title else ''}.**"
            if name.startswith("prf:") or name == "exercise":
                lines += ["", head, *inner, ""]
            else:
                lines += ["", *(f"> {line}".rstrip() for line in [head, "", *inner]), ""]
        elif name in {"figure", "image"}:
            lines += [f"*Figure: {' '.join(inner).strip()}*"] if inner else []
        elif name == "literalinclude":
            if ctx.include is None:
                raise UnknownDirectiveError(f"literalinclude {arg!r}: no file reader was given")
            language = options.get("language", "")
            code = ctx.include(arg, options).rstrip("\n")
            lines += [f"```{language}", *code.split("\n"), "```"]
        elif name in {"code-block", "code", "sourcecode"}:
            lines += [f"```{arg}", *(b if isinstance(b, str) else "" for b in body), "```"]
        elif name in _DROPPED:
            continue
        else:
            raise UnknownDirectiveError(
                f"the notebook converter (book/_ext/notebook_download.py) does not know the "
                f"directive {{{name}}}; teach it how a notebook shows it, or the download "
                f"would silently lose it"
            )
    return lines


# Directives with nothing to show in a notebook: the page's navigation, its bibliography
# (citations read [key] in a notebook), and glue directives (the book has none today; a
# glued value in prose is filled in by the role converter).
_DROPPED = frozenset(
    {"glue:figure", "glue:math", "glue", "glue:any", "bibliography", "tableofcontents", "toctree"}
)


def convert_markdown(source: str, ctx: Context | None = None) -> str:
    """Convert one MyST Markdown cell into Markdown that plain Jupyter renders.

    Parameters
    ----------
    source : str
        The cell's MyST source.
    ctx : Context, optional
        Equation numbers, reference titles and glued values of the page.

    Returns
    -------
    str
        Plain Markdown (with ``<details>`` for hidden solutions).
    """
    ctx = ctx or Context()
    rendered = _render(_parse_blocks(source.split("\n")), ctx)
    text = convert_inline("\n".join(rendered), ctx)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# --------------------------------------------------------------------------- #
# The notebook
# --------------------------------------------------------------------------- #


def glue_values(glue_data: Mapping[str, Any]) -> dict[str, str]:
    """``{name: text/plain}`` of the values glued with ``myst_nb.glue`` (its ``.glue.json``)."""
    values: dict[str, str] = {}
    for name, entry in glue_data.items():
        text = entry.get("data", {}).get("text/plain", "")
        values[name] = "".join(text) if isinstance(text, list) else str(text)
    return values


#: The extra of ``derived`` that installs everything the chapters import (torch, Triton,
#: with NumPy, SciPy, matplotlib and scikit-learn from the core) and nothing the book
#: build needs. Jupyter itself (a kernel) is the reader's.
EXTRA = "notebooks"


def install_command(repo_url: str, ref: str) -> str:
    """The one line that installs what a downloaded chapter needs.

    ``ref`` is the git tag ``v<version>`` of a release, or the commit the book was
    built from (see :func:`install_ref`); either exists in the public repository.
    """
    return f'pip install "derived[{EXTRA}] @ git+{repo_url}@{ref}"'


_VERSION_CHECK = """\
# Deep Learning, Derived: this notebook was built with the package derived @VERSION@.
# This cell checks that it is installed (in Colab or a fresh environment, it is not yet).
_WANTED = "@VERSION@"
_INSTALL = @INSTALL@
try:
    import derived as _derived

    _found = _derived.__version__
except ModuleNotFoundError:
    _found = None


class _InstallFirst(Exception):
    \"\"\"Stops "Run all" here, without a traceback, until `derived` is installed.\"\"\"

    def _render_traceback_(self):
        return [str(self)]


if _found is None:
    raise _InstallFirst(
        f"This notebook needs the package `derived` (version {_WANTED}). Install it with\\n"
        f"    {_INSTALL}\\n"
        "(in Colab or Jupyter: put % in front of pip and run it in a cell), then restart\\n"
        "the kernel and run the notebook again."
    )
if _found != _WANTED:
    print(f"This notebook was built with derived {_WANTED}, but {_found} is installed;")
    print(f"results may differ. To match the book, run\\n    {_INSTALL}\\nthen restart the kernel.")
"""


def version_cell(version: str, repo_url: str, ref: str | None = None) -> dict[str, Any]:
    """The first cell of every downloaded notebook: the package version contract.

    With ``derived`` missing it prints the install line and stops a "Run all" cleanly
    (an exception that IPython shows as its message alone); with another version
    installed it says so once and carries on.
    """
    install = install_command(repo_url, ref or f"v{version}")
    source = _VERSION_CHECK.replace("@VERSION@", version).replace("@INSTALL@", repr(install))
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": "derived-version-check",
        "metadata": {"tags": ["remove-cell"]},
        "outputs": [],
        "source": source.rstrip("\n"),
    }


def _caption_cell(cell: Mapping[str, Any], ctx: Context) -> dict[str, Any] | None:
    """A Markdown cell with the caption of the figure a code cell draws, as the page shows it."""
    figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
    caption = str(figure.get("caption", "")).strip()
    if not caption:
        return None
    number = ctx.numbers.get(str(figure.get("name", "")), ("", ""))[1]
    head = f"**Figure {number}.**" if number else "**Figure.**"
    cell_id = f"{cell.get('id', 'figure')}-caption"
    text = convert_markdown(caption, ctx)
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": f"{head} {text}"}


def _convert_outputs(cell: dict[str, Any], ctx: Context) -> None:
    """Markdown that a cell prints (a table of results) is MyST too: convert it like the text."""
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "text/markdown" in data:
            text = data["text/markdown"]
            data["text/markdown"] = convert_markdown(
                "".join(text) if isinstance(text, list) else text, ctx
            )


def convert_notebook(
    nb: Mapping[str, Any],
    ctx: Context,
    *,
    version: str,
    commit: str | None,
    repo_url: str,
    ref: str | None = None,
) -> dict[str, Any]:
    """Return the downloadable copy of an executed MyST notebook.

    Markdown cells and Markdown outputs are converted to plain Markdown, each figure's
    caption follows its cell, and a first cell checks the installed ``derived``
    (installed from ``ref``, by default the release tag ``v<version>``).
    """
    out = copy.deepcopy(dict(nb))
    cells = []
    for cell in out.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            cell["source"] = convert_markdown(src, ctx)
        cells.append(cell)
        if cell.get("cell_type") == "code":
            _convert_outputs(cell, ctx)
            caption = _caption_cell(cell, ctx)
            if caption is not None:
                cells.append(caption)
    out["cells"] = [version_cell(version, repo_url, ref), *cells]
    metadata = out.setdefault("metadata", {})
    metadata["derived"] = {
        "version": version,
        "commit": commit,
        "source": repo_url,
        "install": install_command(repo_url, ref or f"v{version}"),
    }
    metadata.pop("jupytext", None)  # the notebook is no longer paired with the .md source
    return out


def _git(*args: str) -> str | None:
    """The output of a git command in the book's checkout, or None without git."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip()


def source_commit() -> str | None:
    """The git commit the book is built from, if the source is a git checkout."""
    return _git("rev-parse", "HEAD") or None


def install_ref(version: str, commit: str | None) -> str:
    """What a downloaded notebook installs ``derived`` from: a tag, or the exact commit.

    A release build (its commit carries the tag ``v<version>``) pins the tag; any other
    build pins the commit it was built from, which the repository has once it is pushed.
    Either way the printed command installs the code the book was built with, on the
    day the reader copies it. Without git, the tag.
    """
    tag = f"v{version}"
    if commit is None:
        return tag
    tags = _git("tag", "--points-at", commit)
    return tag if tags is not None and tag in tags.split() else commit


def colab_url(repo_url: str, pagename: str) -> str | None:
    """Colab's address of a chapter's executed notebook, published on the branch ``notebooks``.

    Colab opens notebooks from GitHub; the book's workflow pushes ``_notebooks/`` to the
    branch ``notebooks`` of the repository when it deploys the book from main.
    """
    match = re.match(r"https://github\.com/(?P<repo>[^/]+/[^/]+?)/?$", repo_url)
    if match is None:
        return None
    return (
        f"https://colab.research.google.com/github/{match.group('repo')}/blob/"
        f"{NOTEBOOK_BRANCH}/{pagename}.ipynb"
    )


# --------------------------------------------------------------------------- #
# Sphinx glue
# --------------------------------------------------------------------------- #


def _page_context(app: Any, glue_file: Path) -> Context:
    env = app.env
    numbers: dict[str, tuple[str, str]] = {}
    for per_kind in getattr(env, "toc_fignumbers", {}).values():
        for kind, ids in per_kind.items():
            for node_id, number in ids.items():
                label = node_id.removeprefix("equation-")
                numbers[label] = (kind, ".".join(map(str, number)))
    labels = env.get_domain("std").labels
    titles = {label: title for label, (_doc, _anchor, title) in labels.items() if title}
    # Sections: {numref}`chapter {number} <ch-x>` needs the chapter's number. A label on a
    # page's top section is numbered under "" (the page itself), not under its anchor.
    secnumbers = getattr(env, "toc_secnumbers", {})
    for label, (doc, anchor, title) in labels.items():
        numbered = secnumbers.get(doc, {})
        number = numbered.get(f"#{anchor}")
        if number is None and doc in env.titles and title == env.titles[doc].astext():
            number = numbered.get("")
        if number and label not in numbers:
            numbers[label] = ("section", ".".join(map(str, number)))
    glue = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.is_file() else {}
    return Context(numbers=numbers, titles=titles, glue=glue_values(glue))


def with_cached_outputs(nb: dict[str, Any], cache_path: str | None) -> dict[str, Any]:
    """Fill in the outputs of ``nb`` from myst-nb's execution cache.

    When myst-nb takes a chapter from its cache, the copy it writes to
    ``jupyter_execute/`` has no outputs; the cache has them. Glue outputs (data for
    myst-nb, which Jupyter cannot display) are dropped.
    """
    if cache_path and Path(cache_path).is_dir():
        import nbformat
        from jupyter_cache import get_cache

        node = nbformat.from_dict(nb)
        try:
            _, merged = get_cache(cache_path).merge_match_into_notebook(node)
        except KeyError:  # not in the cache: the notebook was executed now, outputs in place
            merged = node
        nb = json.loads(nbformat.writes(merged))
    for cell in nb.get("cells", []):
        if "outputs" in cell:
            cell["outputs"] = [
                o for o in cell["outputs"] if "scrapbook" not in o.get("metadata", {})
            ]
    return nb


def write_notebook(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """On each page: write its downloadable notebook and put it in the download menu."""
    if doctree is None:
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    cache_path = getattr(app.config, "nb_execution_cache_path", None) or None
    if cache_path and not Path(cache_path).is_absolute():
        cache_path = str(Path(app.srcdir) / cache_path)
    nb = with_cached_outputs(json.loads(executed.read_text(encoding="utf-8")), cache_path)
    from derived import __version__

    repo_url = app.config.html_theme_options.get("repository_url", "") or ""
    if not hasattr(app, "_derived_commit"):
        app._derived_commit = source_commit()
    if not hasattr(app, "_derived_ref"):
        app._derived_ref = install_ref(__version__, app._derived_commit)
    ctx = _page_context(app, executed.with_suffix(".glue.json"))
    ctx.include = _sphinx_include(app, pagename)
    out = convert_notebook(
        nb,
        ctx,
        version=__version__,
        commit=app._derived_commit,
        repo_url=repo_url,
        ref=app._derived_ref,
    )
    target = Path(app.outdir) / NOTEBOOK_DIR / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(out, indent=1, ensure_ascii=False) + "\n"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")

    url = f"{context['pathto'](NOTEBOOK_DIR, 1)}/{pagename}.ipynb"
    entry = {
        "type": "link",
        "url": url,
        "text": ".ipynb",
        "icon": "fas fa-code",
        "tooltip": "Download the executed notebook (runs in plain Jupyter)",
        "label": "download-notebook-button",
    }
    colab = colab_url(repo_url, pagename)
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            entries = [b for b in button["buttons"] if b.get("label") != "download-notebook-button"]
            button["buttons"] = [entry, *entries]
        if button.get("label") == "launch-buttons":
            for launch in button["buttons"]:
                # The theme points Colab at the page's .md source, which Colab cannot open.
                if "colab.research.google.com" in launch.get("url", "") and colab:
                    launch["url"] = colab
    context["derived_notebook_url"] = url


def write_zip(notebook_dir: Path, target: Path) -> list[str]:
    """Pack every notebook under ``notebook_dir`` into the zip ``target``.

    Members are sorted and carry a fixed timestamp, so the same notebooks give the same
    bytes. Returns the member names.
    """
    import zipfile

    names = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(notebook_dir.rglob("*.ipynb")):
            name = f"deep-learning-derived/{path.relative_to(notebook_dir).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
            names.append(name)
    return names


def typed_options(options: Mapping[str, str]) -> dict[str, Any]:
    """Convert a ``literalinclude``'s options from the page's text as the directive does.

    ``:dedent: 4`` becomes the integer 4, ``:lines:`` stays a string, a flag becomes None.
    """
    from sphinx.directives.code import LiteralInclude

    spec = LiteralInclude.option_spec or {}
    return {key: spec[key](value) if key in spec else value for key, value in options.items()}


def _sphinx_include(app: Any, pagename: str) -> Callable[[str, Mapping[str, str]], str]:
    """Read a ``literalinclude`` of page ``pagename`` with Sphinx's own reader."""
    from sphinx.directives.code import LiteralIncludeReader

    page_dir = (Path(app.srcdir) / app.env.doc2path(pagename, False)).parent

    def include(argument: str, options: Mapping[str, str]) -> str:
        reader = LiteralIncludeReader(str(page_dir / argument), typed_options(options), app.config)
        text, _lines = reader.read()
        return str(text)

    return include


def _zip_notebooks(app: Any, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    notebook_dir = Path(app.outdir) / NOTEBOOK_DIR
    if notebook_dir.is_dir():
        write_zip(notebook_dir, notebook_dir / ZIP_NAME)
    # The theme also copies each page's *unexecuted* notebook into _sources/, beside the
    # page's .md source. Nothing links to it, and it is not what a reader should get:
    # the executed, converted notebook in _notebooks/ is the one download.
    sources = Path(app.outdir) / "_sources"
    for stale in sources.rglob("*.ipynb") if sources.is_dir() else ():
        stale.unlink()


def setup(app: Any) -> dict[str, Any]:
    """Register the extension (after sphinx-book-theme has built its header buttons)."""
    app.connect("html-page-context", write_notebook, priority=600)
    app.connect("build-finished", _zip_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
