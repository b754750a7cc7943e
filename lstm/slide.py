"""A drawing that dot laid out in one row, cut into rows: a slide's rows of steps, or a
stack's grid (a row per layer).

dot lays the whole row out once, left to right. It is cut into parts (a step each), each part
moved into its row and column: rows one under the other, the parts of a column left-aligned
under each other, a part that dot drew the other way up from its neighbours mirrored. An edge
within a row stretches with its ends; an edge handed from a row to the next is routed around:
right, out of its row, left along the gap below it, down the left side of the next row and
in, each in a lane of its own (the upper one outermost on the right and innermost on the
left, so they never cross); ``rise`` routes an edge up into the row above (a layer's output
into the next layer). The drawing is then drawn by ``neato -n2`` with every position given
(``place`` returns the Graphviz attributes). Why not dot's own rows: rows stacked over the
same ranks are ordered by dot's crossing minimisation, which no attribute pins; rows came out
of order and steps upside down.
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
    sizes: dict = field(default_factory=dict)       # vertex id -> (width, height) in points
    rows: dict = field(default_factory=dict)        # row -> its box (x0, y0, x1, y1) once moved


@dataclass
class _Box:
    x0: float = float("inf")
    y0: float = float("inf")
    x1: float = float("-inf")
    y1: float = float("-inf")

    def add(self, x0, y0, x1, y1):
        self.x0, self.y0, self.x1, self.y1 = min(self.x0, x0), min(self.y0, y0), max(self.x1, x1), max(self.y1, y1)
        return self


def place(dot, part_of, above=()):
    """The Placement that cuts ``dot`` (laid out by dot in one row) into rows and columns:
    ``part_of(vertex)`` is ``(row, column)``, rows numbered from 0 on top, columns any ordered
    numbers; the parts of one column are drawn left-aligned in one column, each row under the
    one above. ``above`` lists pairs of vertex ids, the first meant to be above the second (the
    pipe above the input): a part where dot drew its pairs the other way up is drawn mirrored
    (dot does not pin which way up it draws a step)."""
    laid = json.loads(dot.pipe(format="json"))
    part = {v.id: part_of(v) for v in dot.vertices}
    objects = laid.get("objects", [])
    names = {o["_gvid"]: o["name"] for o in objects if "nodes" not in o}
    nodes = {o["name"]: o for o in objects if "nodes" not in o and "pos" in o}
    box = {name: _node_box(o) for name, o in nodes.items()}
    parts = {}
    for name in nodes:
        parts.setdefault(part[name], _Box()).add(*box[name])
    clusters = [o for o in objects if "bb" in o and o.get("nodes") and o["name"].startswith("cluster")]
    for o in clusters:                  # a cluster in one part is part of it; one across a row, of its height
        inside = {part[names[i]] for i in o["nodes"]}
        x0, y0, x1, y1 = (float(v) for v in o["bb"].split(","))
        for key in inside:
            parts[key].add(*((x0, y0, x1, y1) if len(inside) == 1 else (parts[key].x0, y0, parts[key].x1, y1)))
    lanes = {}
    for e in laid.get("edges", []):
        tail, head = part[names[e["tail"]]][0], part[names[e["head"]]][0]
        if e.get("id", "").startswith("e_") and tail != head:
            lanes[tail] = lanes.get(tail, 0) + 1
    shift = _shifts(parts, lanes, _upside_down(above, nodes, part, parts))
    out = Placement()
    for name, o in nodes.items():
        out.vertex[name] = {"pos": _fmt(_moved(_point(o["pos"]), shift[part[name]]))}
        out.sizes[name] = 72 * float(o["width"]), 72 * float(o["height"])
    for key, b in parts.items():
        out.rows.setdefault(key[0], _Box()).add(*_moved_box((b.x0, b.y0, b.x1, b.y1), shift[key]))
    for o in clusters:
        out.cluster[o["tooltip"]] = _cluster(o, [names[i] for i in o["nodes"]], box, part, shift)
    handed = _place_edges(laid, names, part, shift, out)
    out.rows = {k: (b.x0, b.y0, b.x1, b.y1) for k, b in out.rows.items()}
    out.graph = _graph(laid, out.rows.values(), handed, max(b.y1 for b in parts.values()))
    return out


def _node_box(o):
    x, y = _point(o["pos"])
    w, h = 36 * float(o["width"]), 36 * float(o["height"])
    return x - w, y - h, x + w, y + h


def _upside_down(above, nodes, part, parts):
    """{part: the y to mirror it about (its row's middle)} for the parts dot drew the wrong way up."""
    votes = {}
    for upper, lower in above:
        if upper in nodes and lower in nodes and part[upper] == part[lower]:
            wrong = _point(nodes[upper]["pos"])[1] < _point(nodes[lower]["pos"])[1]
            votes[part[upper]] = votes.get(part[upper], 0) + (1 if wrong else -1)
    middle = {}
    for (row, _), b in parts.items():
        low, high = middle.get(row, (b.y0, b.y1))
        middle[row] = min(low, b.y0), max(high, b.y1)
    said = dict(votes)
    for row, column in parts:           # a part with no say goes the way of the nearest part that has one
        columns = [c for r, c in said if r == row]
        if (row, column) not in said and columns:
            votes[row, column] = said[row, min(columns, key=lambda c: abs(c - column))]
    return {key: sum(middle[key[0]]) / 2 for key, vote in votes.items() if vote > 0}


def _shifts(parts, lanes, mirror):
    """(dx, dy, the y to mirror about or None) of each part: each row under the one above, with
    room in between for the ``lanes[row]`` edges it hands on; each column as wide as its widest
    part, after the previous column with the widest gap any row had there."""
    rows, columns = sorted({r for r, _ in parts}), sorted({c for _, c in parts})
    dy = {rows[0]: 0.0}
    for above, row in zip(rows, rows[1:]):
        bottom = min(b.y0 for (r, _), b in parts.items() if r == above) + dy[above]
        top = max(b.y1 for (r, _), b in parts.items() if r == row)
        dy[row] = bottom - LANE * (lanes.get(above, 0) + 2) - top
    x = {columns[0]: min(b.x0 for (_, c), b in parts.items() if c == columns[0])}
    for column, after in zip(columns, columns[1:]):
        width = max(b.x1 - b.x0 for (_, c), b in parts.items() if c == column)
        gaps = [parts[r, after].x0 - parts[r, column].x1 for r in rows if (r, column) in parts and (r, after) in parts]
        x[after] = x[column] + width + max(gaps, default=LANE)
    return {(r, c): (x[c] - b.x0, dy[r], mirror.get((r, c))) for (r, c), b in parts.items()}


def _cluster(o, members, box, part, shift):
    """A cluster's box and label place once its members moved: the moved members' box with
    the margins the cluster had around them."""
    bb = [float(v) for v in o["bb"].split(",")]
    before, after = _Box(), _Box()
    for name in members:
        before.add(*box[name])
        after.add(*_moved_box(box[name], shift[part[name]]))
    new = (after.x0 - (before.x0 - bb[0]), after.y0 - (before.y0 - bb[1]),
           after.x1 + (bb[2] - before.x1), after.y1 + (bb[3] - before.y1))
    attrs = {"bb": ",".join(f"{v:.2f}" for v in new)}
    if o.get("lp"):
        attrs["lp"] = _fmt(_moved(_point(o["lp"]), (new[0] - bb[0], new[3] - bb[3], None)))
    return attrs


def _place_edges(laid, names, part, shift, out):
    """Edges inside a row move with it (stretched between parts that moved apart); an edge to
    the next row is routed around, in its lane. Returns the lanes' extent: (left, right) x."""
    crossing = {}
    for e in laid.get("edges", []):
        if not e.get("id", "").startswith("e_") or "pos" not in e:
            continue
        tail, head = part[names[e["tail"]]], part[names[e["head"]]]
        points, tip = _spline(e["pos"])
        if tail[0] == head[0] and (shift[tail][2] is None) != (shift[head][2] is None):
            start, end = _moved(points[0], shift[tail]), _moved(points[-1], shift[head])    # one of them mirrored
            middle = (start[0] + end[0]) / 2
            attrs = {"pos": _spline_text([start, (middle, start[1]), (middle, end[1]), end],
                                         tip and _moved(tip, shift[head])),
                     **({"lp": _fmt((middle, max(start[1], end[1]) + 7))} if "lp" in e else {})}
            out.edge[e["id"]] = attrs
        elif tail[0] == head[0]:
            move = _stretch(points[0][0], points[-1][0], shift[tail], shift[head])
            attrs = {"pos": _spline_text([move(p) for p in points], tip and move(tip))}
            if "lp" in e:
                attrs["lp"] = _fmt(move(_point(e["lp"])))
            out.edge[e["id"]] = attrs
        else:
            start, end = _moved(points[0], shift[tail]), _moved(points[-1], shift[head])
            crossing.setdefault(tail[0], []).append((e, start, end, tip and _moved(tip, shift[head]), head[0]))
    left, right = float("inf"), float("-inf")
    for row, edges in crossing.items():
        edges.sort(key=lambda item: -item[1][1])                # the highest first
        n, above = len(edges), out.rows[row]
        for i, (e, start, end, tip, head) in enumerate(edges):
            x_right = above.x1 + LANE * (n - i)
            y_gap = above.y0 - LANE * (n - i)
            x_left = out.rows[head].x0 - LANE * (i + 1)
            route = [start, (x_right, start[1]), (x_right, y_gap), (x_left, y_gap), (x_left, end[1]), end]
            out.edge[e["id"]] = {"pos": _spline_text(_polyline(route), tip),
                                 "lp": _fmt(((x_left + x_right) / 2, y_gap + 7))}
            left, right = min(left, x_left), max(right, x_right)
    return left, right


def _stretch(x_start, x_end, tail, head):
    """Moves a point of an edge from a part shifted by ``tail`` to one shifted by ``head`` (both
    mirrored about the same y, or neither): by the tail's shift at its start, the head's at its
    end, in proportion in between."""
    def move(point):
        f = 0.0 if abs(x_end - x_start) < 1e-6 else min(1.0, max(0.0, (point[0] - x_start) / (x_end - x_start)))
        (x0, y0), (x1, y1) = _moved(point, tail), _moved(point, head)
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0)
    return move


def rise(placed, edges):
    """Route edges up from a row into the row above (in a stacked model, layer l's output at
    step t into layer l+1 at step t), each ``(edge id, tail id, head id, tail's cluster)``:
    right, out of the tail's step, up its right side to the gap between the rows, along the
    gap to under the head, and up into it; when a box stands between the gap and the head, up
    beside the boxes on the left and into the head from its left. Adds them to ``placed``."""
    boxes = {k: tuple(float(v) for v in c["bb"].split(",")) for k, c in placed.cluster.items()}
    for edge_id, tail, head, cluster in edges:
        (tx, ty), (hx, hy) = _point(placed.vertex[tail]["pos"]), _point(placed.vertex[head]["pos"])
        box = boxes[cluster]
        after = [b[0] for b in boxes.values() if b[0] > box[2] and b[1] < ty < b[3]]
        x_side = box[2] + min([LANE / 2] + [(x - box[2]) / 2 for x in after])
        upper = next(r for r in placed.rows.values() if r[1] <= hy <= r[3])
        lower = next(r for r in placed.rows.values() if r[1] <= ty <= r[3])
        y_gap = (upper[1] + lower[3]) / 2
        (w, h), bottom = placed.sizes[head], hy - placed.sizes[head][1] / 2
        route = [(tx + placed.sizes[tail][0] / 2, ty), (x_side, ty), (x_side, y_gap)]
        below = [x - size[0] / 2 for x, y, size in _vertex_boxes(placed, head)
                 if abs(x - hx) < size[0] / 2 + 2 and y_gap < y < hy]
        if below:                       # in from the left, beside what stands under the head
            x_in = min(below + [hx - w / 2]) - LANE / 2
            route += [(x_in, y_gap), (x_in, hy), (hx - w / 2 - 6, hy)]
            tip = (hx - w / 2, hy)
        else:
            route += [(hx, y_gap), (hx, bottom - 6)]
            tip = (hx, bottom)
        placed.edge[edge_id] = {"pos": _spline_text(_polyline(route), tip),
                                "lp": _fmt(((x_side + route[3][0]) / 2, y_gap + 7))}


def _vertex_boxes(placed, but):
    """(x, y, (width, height)) of every placed vertex except ``but``."""
    return [(*_point(a["pos"]), placed.sizes[v]) for v, a in placed.vertex.items() if v != but and v in placed.sizes]


def _graph(laid, rows, lanes, content_top):
    """The graph's box (every moved row, the lanes and the title, as high above the rows as
    it was above the one row, ``content_top``) and its title's place."""
    x0 = min([r[0] for r in rows] + [lanes[0]]) - 8
    x1 = max([r[2] for r in rows] + [lanes[1]]) + 8
    y0 = min(r[1] for r in rows) - 8
    was = float(laid["bb"].split(",")[3])
    top = max(r[3] for r in rows) + was - content_top
    title = 72 * float(laid.get("lwidth", 0))
    if x1 - x0 < title + 16:
        x0, x1 = (x0 + x1 - title) / 2 - 8, (x0 + x1 + title) / 2 + 8
    attrs = {"bb": f"{x0:.2f},{y0:.2f},{x1:.2f},{top:.2f}"}
    if "lp" in laid:
        attrs["lp"] = _fmt(((x0 + x1) / 2, _point(laid["lp"])[1] + top - was))
    return attrs


def _point(text):
    x, y = text.split(",")[-2:]
    return float(x), float(y)


def _moved(point, shift):
    """A point of a part moved by its ``(dx, dy, y to mirror about or None)``."""
    dx, dy, mirror = shift
    return point[0] + dx, (point[1] if mirror is None else 2 * mirror - point[1]) + dy


def _moved_box(box, shift):
    (x0, y0), (x1, y1) = _moved(box[:2], shift), _moved(box[2:], shift)
    return x0, min(y0, y1), x1, max(y0, y1)


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
