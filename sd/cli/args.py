"""Parsing of command-line values shared by the subcommands (names, VAR=VALUE sets)."""

from __future__ import annotations

from collections.abc import Sequence

from sd.errors import ParameterError


def parse_names(flag: str, text: str | None) -> list[str] | None:
    """``"A, B"`` -> ``["A", "B"]``; None when the option was not given."""
    if text is None:
        return None
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise ParameterError(
            f"{flag} {text!r} names no variable; give comma-separated variable names, "
            f"e.g. {flag} 'Stock,outflow' (run `sd info MODEL` to list them)."
        )
    return names


def parse_sets(items: Sequence[str]) -> dict[str, float]:
    """``["Name=1.5", ...]`` -> ``{"Name": 1.5}``, with a clear error for bad items."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--set {item!r}: write it as NAME=VALUE, e.g. 'Tax Rate=0.2'.")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ParameterError(
                f"--set {item!r}: the value {value.strip()!r} for '{name.strip()}' is not a number."
            ) from None
    return out
