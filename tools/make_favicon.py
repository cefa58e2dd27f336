"""Draw the book's icon as book/_extra/favicon.ico (the SVG twin is book/_static/favicon.svg).

Usage: .venv/bin/python tools/make_favicon.py

Pages link to the SVG icon; the ICO sits at the site's root for pages without that link
(the root index.html, which only redirects), where browsers look for /favicon.ico.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
BLUE, WHITE = (31, 78, 121, 255), (255, 255, 255, 255)
NODES = [(8, 9, 3), (8, 23, 3), (16, 16, 3.4), (24, 9, 3), (24, 23, 3)]  # x, y, r on 32x32
EDGES = [(0, 2), (1, 2), (2, 3), (2, 4)]


def draw(size: int = 256) -> Image.Image:
    """Draw the icon at size x size pixels: a small network, white on the book's blue."""
    s = size / 32
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle([0, 0, size - 1, size - 1], radius=6 * s, fill=BLUE)
    for a, b in EDGES:
        (xa, ya, _), (xb, yb, _) = NODES[a], NODES[b]
        pen.line([xa * s, ya * s, xb * s, yb * s], fill=(255, 255, 255, 217), width=round(1.6 * s))
    for x, y, r in NODES:
        pen.ellipse([(x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s], fill=WHITE)
    return image


def main() -> None:
    """Write book/_extra/favicon.ico at 16, 32 and 48 pixels."""
    out = ROOT / "book" / "_extra" / "favicon.ico"
    out.parent.mkdir(parents=True, exist_ok=True)
    draw().save(out, sizes=[(16, 16), (32, 32), (48, 48)])
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
