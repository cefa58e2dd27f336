"""The book's one figure style.

Every chapter calls :func:`use_book_style` once, in its hidden setup cell, so that
all figures share fonts, sizes and colours. Figures are drawn on an opaque white
background with dark ink, which stays readable when the book is switched to its
dark theme (a transparent figure with black text would vanish there). The colour
cycle is the Okabe-Ito palette, which readers with the common forms of colour
blindness can tell apart.

:func:`draw_graph` draws a computation graph of :class:`derived.autograd.Value` nodes:
boxes in layered columns, edges routed between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from derived.autograd import Value, topological_order

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["OKABE_ITO", "draw_graph", "use_book_style"]

#: The Okabe-Ito colour-blind-safe palette (without black), in cycle order.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)


def use_book_style() -> dict[str, Any]:
    """Apply the book's matplotlib style and return the settings that were applied.

    Returns
    -------
    dict
        The ``matplotlib.rcParams`` entries set.

    Examples
    --------
    >>> settings = use_book_style()
    >>> settings["figure.facecolor"]
    'white'
    """
    import matplotlib as mpl  # imported here: importing derived must stay cheap
    from cycler import cycler

    settings: dict[str, Any] = {
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 110,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.facecolor": "white",
        "axes.edgecolor": "#333333",
        "axes.labelcolor": "#222222",
        "text.color": "#222222",
        "xtick.color": "#333333",
        "ytick.color": "#333333",
        "axes.grid": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
        "font.size": 11,
        "axes.titlesize": 12,
        "legend.frameon": False,
        "lines.linewidth": 1.8,
        "image.cmap": "viridis",
        # Deterministic output: no timestamp or version in saved images.
        "svg.hashsalt": "deep-learning-derived",
    }
    rc: Any = mpl.rcParams  # typed with a closed set of keys; we set known ones
    rc.update(settings)
    return settings


Point = tuple[float, float]


def _layout(order: list[Value]) -> tuple[dict[int, Point], list[list[Point]]]:
    """Place nodes in columns and route edges: a small layered (Sugiyama-style) drawing.

    A value's column is one more than its deepest parent's (an input sits just left of
    its first use). An edge that spans several columns gets a waypoint in each column it
    crosses, so it runs between boxes instead of behind them. Within a column, boxes and
    waypoints are sorted by the mean row of their neighbours (the barycentre heuristic),
    sweeping right and left a few times, which removes most crossings of small graphs.

    Returns the centre of every node (keyed by ``id``) and, per edge, the points of its
    path from the parent's centre to the child's centre.
    """
    depth: dict[int, int] = {}
    children: dict[int, list[Value]] = {id(v): [] for v in order}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
        for p in node.parents:
            children[id(p)].append(node)
    for node in reversed(order):  # inputs move right, next to their first use
        if not node.parents and children[id(node)]:
            depth[id(node)] = min(depth[id(c)] for c in children[id(node)]) - 1
    columns: list[list[object]] = [[] for _ in range(1 + max(depth.values()))]
    for node in order:
        columns[depth[id(node)]].append(id(node))
    preds: dict[object, list[object]] = {key: [] for col in columns for key in col}
    succs: dict[object, list[object]] = {key: [] for col in columns for key in col}
    chains: list[list[object]] = []
    for node in order:
        for e, p in enumerate(node.parents):
            chain: list[object] = [id(p)]
            for c in range(depth[id(p)] + 1, depth[id(node)]):
                dummy = (id(node), e, c)  # a waypoint of this edge in column c
                columns[c].append(dummy)
                preds[dummy], succs[dummy] = [], []
                chain.append(dummy)
            chain.append(id(node))
            for a, b in zip(chain[:-1], chain[1:], strict=True):
                succs[a].append(b)
                preds[b].append(a)
            chains.append(chain)
    row = {key: float(k) for col in columns for k, key in enumerate(col)}

    def centre(keys: list[object], fallback: float) -> float:
        return sum(row[k] for k in keys) / len(keys) if keys else fallback

    for _ in range(4):
        for col in columns[1:]:
            col.sort(key=lambda k: centre(preds[k], row[k]))
            row.update({key: float(i) for i, key in enumerate(col)})
        for col in reversed(columns[:-1]):
            col.sort(key=lambda k: centre(succs[k], row[k]))
            row.update({key: float(i) for i, key in enumerate(col)})
    where = {
        key: (float(c), (len(col) - 1) / 2.0 - i)
        for c, col in enumerate(columns)
        for i, key in enumerate(col)
    }
    nodes = {id(v): where[id(v)] for v in order}
    return nodes, [[where[k] for k in chain] for chain in chains]


_HALF_WIDTH = 0.24  # half the width of the gap an edge leaves at a waypoint, in column units


def _edges(order: list[Value]) -> list[tuple[Value, Value]]:
    """Every edge (parent, child), in the order in which :func:`_layout` returns paths."""
    return [(p, node) for node in order for p in node.parents]


def draw_graph(
    output: Value,
    ax: Axes | None = None,
    *,
    show_grad: bool = True,
    show_edges: bool = False,
    label_at: float = 0.5,
    fmt: str = ".4g",
) -> Axes:
    """Draw the computation graph of ``output`` with matplotlib.

    Each value is a box with its label (or operation), its value and, if ``show_grad``,
    its gradient; arrows run from inputs to outputs. Inputs are in the leftmost column and
    each other value one column right of its deepest parent.

    Parameters
    ----------
    output : Value
        The root of the graph.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    show_grad : bool, default True
        Whether to print ``grad`` under the value.
    show_edges : bool, default False
        Whether to write on each arrow ``parent -> child`` the contribution
        ``child.grad * d child / d parent`` that the backward pass adds to the parent's
        gradient (so the gradient of a box is the sum of the numbers on its outgoing arrows).
    label_at : float, default 0.5
        Where along the last segment of an arrow its number sits, from 0 (the start of the
        segment) to 1 (the arrow head); move it off 0.5 where two arrows cross midway.
    fmt : str, default ".4g"
        Format of the numbers.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on (with its axis lines turned off).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> x = Value(2.0, label="x")
    >>> y = x * x + 1
    >>> y.backward()
    >>> ax = draw_graph(y)
    >>> sum(bool(t.get_text()) for t in ax.texts)  # a box per value: x, 1, x*x and y
    4
    """
    if not 0.0 <= label_at <= 1.0:
        raise ValueError(f"label_at must lie in [0, 1], got {label_at!r}")
    import matplotlib.pyplot as plt  # imported here: importing derived must stay cheap

    order = topological_order(output)
    pos, paths = _layout(order)
    if ax is None:
        n_cols = 1 + max(x for x, _ in pos.values())
        n_rows = 1 + max(abs(y) for _, y in pos.values()) * 2
        new_fig, ax = plt.subplots(figsize=(2.0 * n_cols + 0.3, 1.0 * n_rows + 0.5))
        new_fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.4, max(xs) + 0.4)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    boxes = {}
    for node in order:
        x, y = pos[id(node)]
        title = node.label or node.op or "constant"
        if node.label and node.op:
            title = f"{node.label} = {node.op}"
        text = f"{title}\n{node.data:{fmt}}"
        if show_grad:
            text += f"\ngrad {node.grad:{fmt}}"
        is_input = not node.parents
        edge = "#0072B2" if is_input else ("#D55E00" if node is output else "#333333")
        box = ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=9,
            zorder=2,
            bbox={
                "boxstyle": "round,pad=0.35",
                "facecolor": "#E8F1FA" if is_input else "#FFFFFF",
                "edgecolor": edge,
            },
        )
        boxes[id(node)] = box
    fig = ax.get_figure(root=True)
    assert fig is not None  # an Axes that has been drawn on belongs to a figure
    fig.draw_without_rendering()  # lays out the frames, so that their sizes are known
    half_width: dict[int, float] = {}  # of each node's frame, in data units
    to_data = ax.transData.inverted()
    for key, box in boxes.items():
        frame = box.get_bbox_patch()
        assert frame is not None  # every node text is drawn with a frame
        extent = frame.get_window_extent()  # pixels
        (x0, _), (x1, _) = to_data.transform([(extent.x0, 0.0), (extent.x1, 0.0)])
        half_width[key] = (x1 - x0) / 2
    parent_slot = {id(v): 0 for v in order}  # which operand of the child this edge is
    for path, (parent, child) in zip(paths, _edges(order), strict=True):
        # leave the parent's box on its right, cross waypoint columns horizontally
        pts = [(path[0][0] + half_width[id(parent)], path[0][1])]
        for x, y in path[1:-1]:
            pts += [(x - _HALF_WIDTH, y), (x + _HALF_WIDTH, y)]
        end = (path[-1][0] - half_width[id(child)], path[-1][1])
        ax.plot(*zip(*pts, strict=True), color="#555555", lw=1.1, zorder=1)
        if show_edges:
            k = parent_slot[id(child)]
            local = child.local_grads[k]
            parent_slot[id(child)] = k + 1
            t = label_at
            mid = ((1 - t) * pts[-1][0] + t * end[0], (1 - t) * pts[-1][1] + t * end[1])
            ax.text(
                *mid,
                f"{child.grad * local:{fmt}}",
                ha="center",
                va="center",
                fontsize=8,
                color="#D55E00",
                zorder=3,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "#FFFFFF", "edgecolor": "none"},
            )
        ax.annotate(
            "",
            xy=end,
            xytext=pts[-1],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#555555",
                "shrinkA": 0,
                "shrinkB": 0,
                "lw": 1.1,
            },
            zorder=1,
        )
    ax.set_axis_off()
    return ax
