"""Edge labels moved clear of the arrows, after Graphviz laid the drawing out.

dot places an edge's label beside the edge, but another edge (or, on a thick edge, the edge
itself) can still run through the label's text. ``clear_positions`` reads a finished layout
(``-Tjson``) and finds, for each label that an edge line or a box covers, the nearest place
beside its own edge where nothing does; ``patch`` writes those places into the laid-out DOT
source (``-Tdot``), which ``neato -n2`` then draws with every other position as it was.
"""
import re

import numpy as np

#: points kept free around a label's text
MARGIN = 1.0


def spline_points(points, pieces=24):
    """A cubic B-spline as Graphviz writes it (p0, then three control points per piece) as a
    polyline: p0, then ``pieces`` points along each piece, as an (n, 2) array."""
    p = np.asarray(points, dtype=float)
    t = np.linspace(0.0, 1.0, pieces + 1)[1:, None]
    out = [(1 - t) ** 3 * p[i] + 3 * (1 - t) ** 2 * t * p[i + 1] + 3 * (1 - t) * t ** 2 * p[i + 2] + t ** 3 * p[i + 3]
           for i in range(0, len(p) - 3, 3)]
    return np.concatenate([p[:1]] + out)


def _drawn(edge):
    """The points along a drawn edge's line and arrowhead, and half its line width."""
    curves, width = [], 1.0
    for op in edge.get("_draw_", []) + edge.get("_hdraw_", []) + edge.get("_tdraw_", []):
        if op["op"] == "S" and op["style"].startswith("setlinewidth("):
            width = max(width, float(op["style"][13:-1]))
        elif op["op"] in "bB":
            curves.append(spline_points(op["points"]))
        elif op["op"] in "pP":
            curves.append(np.asarray(op["points"], dtype=float))
    return (np.concatenate(curves) if curves else np.zeros((0, 2))), width / 2


def _label(edge):
    """A drawn label's ink box, as (half width, half height, centre), and the offset from that
    centre to its ``lp``; None for an edge without one. The box runs from the text's baseline
    to the top of its digits (0.73 of the font size)."""
    texts = [op for op in edge.get("_ldraw_", []) if op["op"] == "T"]
    sizes = [op["size"] for op in edge.get("_ldraw_", []) if op["op"] == "F"]
    if not texts or "lp" not in edge:
        return None
    size = sizes[-1] if sizes else 14.0
    width = max(max(op["width"], 0.6 * size * len(op["text"])) for op in texts)
    lowest, highest = min(op["pt"][1] for op in texts), max(op["pt"][1] for op in texts) + 0.73 * size
    centre = (texts[0]["pt"][0], (lowest + highest) / 2)
    x, y = (float(v) for v in edge["lp"].split(","))
    return width / 2, (highest - lowest) / 2, centre, (x - centre[0], y - centre[1])


def _covered(centre, half, lines, boxes):
    """Whether a label box (centre, half sizes) meets a line's point (``lines``: the points and
    each one's half line width) or a box (centre and half sizes, one per row of ``boxes``)."""
    (x, y), (hw, hh) = centre, half
    points, pads = lines
    if np.any((np.abs(points[:, 0] - x) < hw + pads) & (np.abs(points[:, 1] - y) < hh + pads)):
        return True
    return bool(len(boxes)) and bool(np.any((np.abs(boxes[:, 0] - x) < hw + boxes[:, 2])
                                            & (np.abs(boxes[:, 1] - y) < hh + boxes[:, 3])))


def clear_positions(laid):
    """{edge id: (x, y)}: a new centre for each edge label that a drawn edge line, an arrowhead
    or a box covers in the layout ``laid`` (Graphviz's JSON), the nearest clear place beside
    its own edge inside the drawing; labels nothing covers are left out."""
    x0, y0, x1, y1 = (float(v) for v in laid["bb"].split(","))
    boxes = []
    for o in laid.get("objects", []):
        if "pos" in o and "nodes" not in o and o.get("style") != "invis":
            x, y = (float(v) for v in o["pos"].split(","))
            boxes.append((x, y, 36 * float(o["width"]), 36 * float(o["height"])))
    edges = [e for e in laid.get("edges", []) if "invis" not in e.get("style", "")]
    drawn = [_drawn(e) for e in edges]
    points = np.concatenate([p for p, _ in drawn] + [np.zeros((0, 2))])
    owner = np.concatenate([np.full(len(p), k) for k, (p, _) in enumerate(drawn)] + [np.zeros(0, int)])
    width = np.concatenate([np.full(len(p), pad) for p, pad in drawn] + [np.zeros(0)])
    labels = [_label(e) for e in edges]
    placed = {k: (*label[2], label[0], label[1]) for k, label in enumerate(labels) if label is not None}
    moved = {}
    for k, (edge, (own, _), label) in enumerate(zip(edges, drawn, labels)):
        if label is None or "id" not in edge:        # patch() finds an edge by its id
            continue
        hw, hh, centre, offset = label
        # other lines stay MARGIN away; the label's own line may touch its text (as dot draws it), not cross it
        pads = np.where(owner == k, np.maximum(width - 0.5, 0.0), width + MARGIN)
        others = np.array(boxes + [box for other, box in placed.items() if other != k]).reshape(-1, 4)
        others[:, 2:] += MARGIN
        if not _covered(centre, (hw, hh), (points, pads), others):
            continue
        # only what lies near the label's own edge can cover a place beside it
        reach = np.vstack([own, [centre]])
        lo, hi = reach.min(axis=0) - 3 * (hw + hh) - 10, reach.max(axis=0) + 3 * (hw + hh) + 10
        near = np.all((points >= lo) & (points <= hi), axis=1)
        lines = points[near], pads[near]
        steps = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
        candidates = [(px + dx * (hw + 2 * MARGIN), py + dy * (hh + 2 * MARGIN)) for px, py in own for dx, dy in steps]
        candidates.sort(key=lambda c: (c[0] - centre[0]) ** 2 + (c[1] - centre[1]) ** 2)
        for c in candidates:
            inside = x0 + hw <= c[0] <= x1 - hw and y0 + hh <= c[1] <= y1 - hh
            if inside and not _covered(c, (hw, hh), lines, others):
                moved[edge["id"]] = (c[0] + offset[0], c[1] + offset[1])
                placed[k] = (*c, hw, hh)
                break
    return moved


def patch(laid_dot, moved):
    """The laid-out DOT source ``laid_dot`` (``-Tdot``) with each moved edge's ``lp`` set to
    its new centre."""
    out, last = [], 0
    for found in re.finditer(r'\bid="?([^",\]\s]+)"?[,\]\s]', laid_dot):
        if found.group(1) not in moved:
            continue
        lp = re.compile(r'\blp="[^"]*"').search(laid_dot, found.end(), laid_dot.find("];", found.end()))
        if lp is not None:
            x, y = moved[found.group(1)]
            out += [laid_dot[last:lp.start()], f'lp="{x:.2f},{y:.2f}"']
            last = lp.end()
    return "".join(out) + laid_dot[last:]
