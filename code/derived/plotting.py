"""The book's one figure style.

Every chapter calls :func:`use_book_style` once, in its hidden setup cell, so that
all figures share fonts, sizes and colours. Figures are drawn on an opaque white
background with dark ink, which stays readable when the book is switched to its
dark theme (a transparent figure with black text would vanish there). The colour
cycle is the Okabe-Ito palette, which readers with the common forms of colour
blindness can tell apart.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OKABE_ITO", "use_book_style"]

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
