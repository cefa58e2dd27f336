"""Checks for Part 6 (filled in by the problem set's author)."""

from __future__ import annotations

__all__: list[str] = []
