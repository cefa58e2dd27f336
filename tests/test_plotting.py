"""The book's figure style, tested by what it does to a saved figure, not by reading back the
settings it wrote: figures are opaque (readable on the theme's dark mode), their lines take
the colour-blind-safe palette in order, and an SVG saved twice is the same but for its date
(its element ids are salted, not random)."""

import io
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from derived.plotting import OKABE_ITO, use_book_style


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
