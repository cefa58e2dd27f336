"""The book's figure style, tested by what it does to a saved figure, not by reading back the
settings it wrote: figures are opaque (readable on the theme's dark mode), their lines take
the colour-blind-safe palette in order, and an SVG saved twice is the same but for its date
(its element ids are salted, not random)."""

import io
import math
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from derived.autograd import Value, topological_order
from derived.plotting import OKABE_ITO, draw_graph, use_book_style


def _figure() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    for k in range(3):
        ax.plot([0, 1], [k, k + 1])
    return fig


def test_saved_figures_are_opaque_and_use_the_palette_in_order():
    with mpl.rc_context():
        use_book_style()
        fig = _figure()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        image = plt.imread(io.BytesIO(buffer.getvalue()))
        assert image.shape[-1] == 4
        assert np.all(image[..., 3] == 1.0)  # no transparent pixel
        np.testing.assert_array_equal(image[0, 0, :3], [1.0, 1.0, 1.0])  # white background
        colours = [mpl.colors.to_hex(line.get_color()) for line in fig.axes[0].lines]
        assert colours == [c.lower() for c in OKABE_ITO[:3]]


def test_an_svg_saved_twice_differs_only_in_its_date():
    with mpl.rc_context():
        use_book_style()
        svgs = []
        for _ in range(2):
            fig = _figure()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="svg")
            plt.close(fig)
            svgs.append(re.sub(rb"<dc:date>[^<]*</dc:date>", b"", buffer.getvalue()))
        assert b"clip-path" in svgs[0]  # ids that would be random without the style's salt
        assert svgs[0] == svgs[1]


def test_palette_is_distinct_hex_colours():
    assert len(set(OKABE_ITO)) == len(OKABE_ITO)
    assert all(c.startswith("#") and len(c) == 7 for c in OKABE_ITO)


def test_draw_graph_draws_every_node():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    f = (x * y).exp() + x
    f.label = "f"
    f.backward()
    ax = draw_graph(f)
    texts = [t.get_text() for t in ax.texts if t.get_text()]  # arrows are empty annotations
    assert len(texts) == len(topological_order(f))
    assert any(t.startswith("f = +") and "grad 1" in t for t in texts)
    assert any(t.startswith("x\n1") for t in texts)
    plt.close("all")


def test_draw_graph_edge_labels_sum_to_the_parent_gradient():
    x, y = Value(1.5, "x"), Value(-0.5, "y")
    f = x * y + x.tanh()
    f.backward()
    ax = draw_graph(f, show_edges=True, fmt=".12g")
    boxes = [t for t in ax.texts if t.get_text() and "\n" in t.get_text()]
    labels = [float(t.get_text()) for t in ax.texts if t.get_text() and "\n" not in t.get_text()]
    order = topological_order(f)
    assert len(boxes) == len(order)
    assert len(labels) == sum(len(v.parents) for v in order)
    # x has two outgoing edges (into x*y and tanh): their labels y and 1 - tanh(x)^2
    assert sorted(labels) == pytest.approx(
        sorted([-0.5, 1.5, 1 - math.tanh(1.5) ** 2, 1.0, 1.0]), rel=1e-11
    )
    assert x.grad == pytest.approx(-0.5 + 1 - math.tanh(1.5) ** 2, rel=1e-14)
    plt.close("all")


def test_draw_graph_places_edge_labels_along_the_arrow():
    mpl.use("Agg")
    x = Value(2.0, "x")
    f = x * 3.0
    f.backward()
    positions = []
    for t in (0.2, 0.8):
        ax = draw_graph(f, show_edges=True, label_at=t)
        (label,) = [s for s in ax.texts if s.get_text() == "3"]  # the one edge label on x -> f
        positions.append(label.get_position()[0])
    assert positions[0] < positions[1]  # further along the arrow, further right
    with pytest.raises(ValueError, match="label_at"):
        draw_graph(f, show_edges=True, label_at=1.5)
    plt.close("all")
