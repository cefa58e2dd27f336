import matplotlib as mpl

from derived.plotting import OKABE_ITO, use_book_style


def test_style_is_applied_and_opaque():
    with mpl.rc_context():
        settings = use_book_style()
        assert mpl.rcParams["figure.facecolor"] == "white"
        assert mpl.rcParams["savefig.facecolor"] == "white"
        colours = [c["color"] for c in mpl.rcParams["axes.prop_cycle"]]
        assert colours == list(OKABE_ITO)
        assert settings["svg.hashsalt"]  # deterministic SVG ids


def test_palette_is_distinct_hex_colours():
    assert len(set(OKABE_ITO)) == len(OKABE_ITO)
    assert all(c.startswith("#") and len(c) == 7 for c in OKABE_ITO)
