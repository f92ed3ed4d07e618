"""Read the sketch (diagram) records of a Vensim ``.mdl``: views, objects and arrows.

Follows the record layout in Vensim's help (``ref_sketch_format.html``) as summarised
in ``shared/vensim/FORMAT.md`` section 6: type 10 variables, 11 valves, 12 clouds and
comments, 1 arrows and pipes. Coordinates are centres; ``w, h`` are half sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sd.model import mdl

VIEW_MARKER = "\\\\\\---///"
END_MARKER = "///---\\\\\\"


@dataclass(frozen=True)
class SketchObject:
    """A variable (type 10), valve (11), or cloud/comment (12)."""

    type: int
    id: int
    name: str  #: variable name as written (quotes removed); "" for valves and clouds
    x: float
    y: float
    w: float
    h: float
    shape: int
    bits: int
    line: int  #: line in the .mdl
    text: str = ""  #: comment text (type 12 with bits & 4)

    @property
    def is_stock(self) -> bool:
        return self.type == 10 and self.shape & 31 == 3

    @property
    def is_flow_label(self) -> bool:
        return self.type == 10 and bool(self.shape & 32)

    @property
    def is_shadow(self) -> bool:
        return self.type == 10 and self.bits % 2 == 0

    @property
    def is_cloud(self) -> bool:
        return self.type == 12 and self.name == "48"

    @property
    def is_comment(self) -> bool:
        return self.type == 12 and not self.is_cloud


@dataclass(frozen=True)
class Arrow:
    """An influence arrow or (``thickness > 20``) a flow pipe."""

    id: int
    source: int
    target: int
    shape: int  #: 0 straight, 1 arc; pipes: 4 head at target, 100 no head
    polarity: int  #: ASCII code of the sign, 0 none
    thickness: int
    points: tuple[tuple[float, float], ...]
    line: int

    @property
    def is_pipe(self) -> bool:
        return self.thickness > 20

    @property
    def has_head(self) -> bool:
        return self.shape != 100


@dataclass(frozen=True)
class View:
    name: str
    line: int
    objects: dict[int, SketchObject] = field(default_factory=dict)
    arrows: list[Arrow] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)  #: record ids in file order

    def variables(self) -> list[SketchObject]:
        return [o for o in self.objects.values() if o.type == 10]

    def label_of_valve(self, valve_id: int) -> SketchObject | None:
        """The flow label written right after a valve (id + 1, shape with bit 32)."""
        label = self.objects.get(valve_id + 1)
        return label if label is not None and label.is_flow_label else None


def split_fields(line: str) -> list[str]:
    """Split a record on commas outside double quotes."""
    out, cur, quoted, escape = [], [], False, False
    for ch in line:
        if escape:
            cur.append(ch)
            escape = False
        elif ch == "\\" and quoted:
            cur.append(ch)
            escape = True
        elif ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == "," and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _points(field_text: str) -> tuple[tuple[float, float], ...]:
    # "1|(225,150)|" -> ((225, 150),)
    pts = []
    for part in field_text.split("|")[1:]:
        part = part.strip()
        if part.startswith("(") and part.endswith(")"):
            x, _, y = part[1:-1].partition(",")
            try:
                pts.append((float(x), float(y)))
            except ValueError:
                continue
    return tuple(pts)


def read_sketch(path: Path | str, text: str | None = None) -> list[View]:
    """All views of the model's sketch, in file order."""
    text = mdl.read_text(Path(path)) if text is None else text
    lines = text.splitlines()
    views: list[View] = []
    current: View | None = None
    in_sketch = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(VIEW_MARKER):
            in_sketch = True
            current = None
        elif line.startswith(END_MARKER):
            break
        elif in_sketch and line.startswith("*") and current is None:
            current = View(name=line[1:].strip(), line=i + 1)
            views.append(current)
        elif in_sketch and current is not None and line[:1].isdigit():
            fields = split_fields(line)
            try:
                rtype, rid = int(fields[0]), int(fields[1])
            except (ValueError, IndexError):
                i += 1
                continue
            current.ids.append(rid)
            if rtype == 1 and len(fields) >= 14:
                current.arrows.append(
                    Arrow(
                        id=rid,
                        source=_int(fields[2]),
                        target=_int(fields[3]),
                        shape=_int(fields[4]),
                        polarity=_int(fields[6]),
                        thickness=_int(fields[7]),
                        points=_points(",".join(fields[13:])),
                        line=i + 1,
                    )
                )
            elif rtype in (10, 11, 12) and len(fields) >= 10:
                name = fields[2].strip()
                if name.startswith('"') and name.endswith('"'):
                    name = name[1:-1].replace('\\"', '"')
                bits = _int(fields[8])
                obj_text = ""
                if rtype == 12 and bits & 4 and i + 1 < len(lines):
                    obj_text = lines[i + 1]
                    i += 1
                current.objects[rid] = SketchObject(
                    type=rtype,
                    id=rid,
                    name=name if rtype != 11 else "",
                    x=_float(fields[3]),
                    y=_float(fields[4]),
                    w=_float(fields[5]),
                    h=_float(fields[6]),
                    shape=_int(fields[7]),
                    bits=bits,
                    line=i + 1 - (1 if obj_text else 0),
                    text=obj_text,
                )
        i += 1
    return views


def _int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        return 0


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
