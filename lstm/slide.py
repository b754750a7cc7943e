"""A drawing that dot laid out in one row, wrapped into rows for a slide.

dot lays the whole row out once (left to right, every step the same way up). Each row's part
is then moved under the previous one, its first step under the first step above, and an edge
handed from a row to the next is routed around: right, out of its row, left along the gap
below the row, down the left side of the next row and in. Each such edge has a lane of its
own, the upper one outermost on the right and innermost on the left, so they never cross.
The drawing is then drawn by ``neato -n2`` with every position given (``place`` returns the
Graphviz attributes). Why not dot's own rows: rows stacked over the same ranks are ordered by
dot's crossing minimisation, which no attribute pins; rows came out of order and steps upside
down.
"""
import json
from dataclasses import dataclass, field

#: points between the lanes of the edges handed from a row to the next (and from the rows)
LANE = 16


@dataclass
class Placement:
    """Graphviz attributes that place every part of a drawing: by vertex id, by edge index
    (``e_k``), by cluster tooltip (the scope path) and for the graph."""

    vertex: dict = field(default_factory=dict)
    edge: dict = field(default_factory=dict)
    cluster: dict = field(default_factory=dict)
    graph: dict = field(default_factory=dict)


@dataclass
class _Row:
    x0: float = float("inf")
    y0: float = float("inf")
    x1: float = float("-inf")
    y1: float = float("-inf")
    first: float = float("inf")         # left edge of the row's first cluster (its first step)
    dx: float = 0.0
    dy: float = 0.0

    def add(self, x0, y0, x1, y1):
        self.x0, self.y0, self.x1, self.y1 = min(self.x0, x0), min(self.y0, y0), max(self.x1, x1), max(self.y1, y1)


def place(dot, row_of):
    """The Placement that wraps ``dot`` (laid out by dot in one row) into rows; ``row_of(vertex)``
    is each vertex's row, 0 on top, each row holding a later part of the one-row layout."""
    laid = json.loads(dot.pipe(format="json"))
    rows, vertex_row = {}, {v.id: row_of(v) for v in dot.vertices}
    objects = laid.get("objects", [])
    names = {o["_gvid"]: o["name"] for o in objects if "nodes" not in o}
    nodes = {o["name"]: o for o in objects if "nodes" not in o and "pos" in o}
    for name, o in nodes.items():
        x, y = _point(o["pos"])
        w, h = 36 * float(o["width"]), 36 * float(o["height"])
        rows.setdefault(vertex_row[name], _Row()).add(x - w, y - h, x + w, y + h)
    clusters = {}
    for o in objects:
        if "bb" in o and o.get("nodes") and o["name"].startswith("cluster"):
            row = vertex_row[names[o["nodes"][0]]]
            box = [float(v) for v in o["bb"].split(",")]
            rows[row].add(*box)
            rows[row].first = min(rows[row].first, box[0])
            clusters[o["tooltip"]] = (row, box, o.get("lp"))
    lanes = {}
    for e in laid.get("edges", []):
        tail, head = vertex_row[names[e["tail"]]], vertex_row[names[e["head"]]]
        if e.get("id", "").startswith("e_") and tail != head:
            lanes[tail] = lanes.get(tail, 0) + 1
    _stack(rows, lanes)
    out = Placement()
    for name, o in nodes.items():
        out.vertex[name] = {"pos": _fmt(_moved(_point(o["pos"]), rows[vertex_row[name]]))}
    for tooltip, (row, box, lp) in clusters.items():
        r = rows[row]
        out.cluster[tooltip] = {"bb": ",".join(f"{v:.2f}" for v in (box[0] + r.dx, box[1] + r.dy, box[2] + r.dx,
                                                                      box[3] + r.dy))}
        if lp:
            out.cluster[tooltip]["lp"] = _fmt(_moved(_point(lp), r))
    handed = _place_edges(laid, names, vertex_row, rows, out)
    out.graph = _graph(laid, rows, handed)
    return out


def _stack(rows, lanes):
    """Each row under the previous one, with room in between for the ``lanes[row]`` edges it
    hands on; its first step in the column of the first step above."""
    order = sorted(rows)
    for above, row in zip(order, order[1:]):
        a, r = rows[above], rows[row]
        r.dx = rows[order[0]].first - r.first
        r.dy = (a.y0 + a.dy) - LANE * (lanes.get(above, 0) + 2) - r.y1


def _place_edges(laid, names, vertex_row, rows, out):
    """Edges inside a row move with it; an edge to the next row is routed around, in its
    lane. Returns the lanes' extent: (left, right) x of the outermost lanes."""
    crossing = {}
    for e in laid.get("edges", []):
        if not e.get("id", "").startswith("e_") or "pos" not in e:
            continue
        tail, head = vertex_row[names[e["tail"]]], vertex_row[names[e["head"]]]
        points, tip = _spline(e["pos"])
        if tail == head:
            moved = [_moved(p, rows[tail]) for p in points]
            attrs = {"pos": _spline_text(moved, tip and _moved(tip, rows[head]))}
            if "lp" in e:
                attrs["lp"] = _fmt(_moved(_point(e["lp"]), rows[tail]))
            out.edge[e["id"]] = attrs
        else:
            start, end = _moved(points[0], rows[tail]), _moved(points[-1], rows[head])
            crossing.setdefault(tail, []).append((e, start, end, tip and _moved(tip, rows[head]), head))
    left, right = float("inf"), float("-inf")
    for tail, edges in crossing.items():
        edges.sort(key=lambda item: -item[1][1])                # the highest first
        n, above = len(edges), rows[tail]
        for i, (e, start, end, tip, head) in enumerate(edges):
            below = rows[head]
            x_right = above.x1 + above.dx + LANE * (n - i)
            y_gap = above.y0 + above.dy - LANE * (n - i)
            x_left = below.x0 + below.dx - LANE * (i + 1)
            route = [start, (x_right, start[1]), (x_right, y_gap), (x_left, y_gap), (x_left, end[1]), end]
            out.edge[e["id"]] = {"pos": _spline_text(_polyline(route), tip),
                                 "lp": _fmt(((x_left + x_right) / 2, y_gap + 7))}
            left, right = min(left, x_left), max(right, x_right)
    return left, right


def _graph(laid, rows, lanes):
    """The graph's box (every moved row, the lanes and the title) and its title's place."""
    x0 = min([r.x0 + r.dx for r in rows.values()] + [lanes[0]]) - 8
    x1 = max([r.x1 + r.dx for r in rows.values()] + [lanes[1]]) + 8
    y0 = min(r.y0 + r.dy for r in rows.values()) - 8
    top = float(laid["bb"].split(",")[3])
    title = 72 * float(laid.get("lwidth", 0))
    if x1 - x0 < title + 16:
        x0, x1 = (x0 + x1 - title) / 2 - 8, (x0 + x1 + title) / 2 + 8
    attrs = {"bb": f"{x0:.2f},{y0:.2f},{x1:.2f},{top:.2f}"}
    if "lp" in laid:
        attrs["lp"] = _fmt(((x0 + x1) / 2, _point(laid["lp"])[1]))
    return attrs


def _point(text):
    x, y = text.split(",")[-2:]
    return float(x), float(y)


def _moved(point, row):
    return point[0] + row.dx, point[1] + row.dy


def _fmt(point):
    return f"{point[0]:.2f},{point[1]:.2f}"


def _spline(text):
    """Graphviz's edge ``pos``: its control points and its arrowhead's tip (or None)."""
    points, tip = [], None
    for token in text.split():
        if token.startswith("e,"):
            tip = _point(token)
        elif not token.startswith("s,"):
            points.append(_point(token))
    return points, tip


def _spline_text(points, tip):
    return " ".join(([f"e,{_fmt(tip)}"] if tip else []) + [_fmt(p) for p in points])


def _polyline(corners):
    """A polyline as Bézier control points (each straight piece a cubic with its controls on it)."""
    points = [corners[0]]
    for (ax, ay), (bx, by) in zip(corners, corners[1:]):
        points += [(ax + (bx - ax) / 3, ay + (by - ay) / 3), (ax + 2 * (bx - ax) / 3, ay + 2 * (by - ay) / 3), (bx, by)]
    return points
