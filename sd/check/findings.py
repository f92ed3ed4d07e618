"""A finding of a model check: severity, location and message."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    severity: str
    check: str
    message: str
    variable: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{self.severity}: [{self.check}] {where}{self.message}"
