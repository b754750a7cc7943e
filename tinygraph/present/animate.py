"""Backward as an animated GIF: one frame per step (or per scope), readable at 1280 px wide.

Each frame shows what the stepper page shows at its step. The drawing is the page's (the whole
graph), rendered once without the edges that change; each frame draws those edges again from
Graphviz's layout: an edge backward has not sent along yet grey, dashed and unlabelled, then
the norm of the sum sent so far at its width on the page's one scale for the whole walk, the
current node's edges red. The current node is boxed in red, the nodes not reached yet are
veiled (a record's gradient row hidden), and the step, the node and its rule are written
above. A drawing wider than the frame is shown at a legible scale around the current node,
with the whole graph as a strip below it. Needs Pillow (``pip install pillow``; matplotlib
brings it).
"""
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..labels import spline_points
from .latex import located_name, plain_rule, shape_text
from .page import page_data, width_legend

WIDTH = 1280
DPI = 96                 # 1.33 px per point: 9-point labels are 12 px tall
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")
RED, GREY, VEIL = (214, 39, 40), (176, 176, 176), 170      # VEIL: the veil's opacity (of 255)
GRAD_ROW = "#b2182b"     # tinygraph.draw's GRAD_FONT: the colour of a record's gradient row
SMOOTH = 3               # edges are drawn 3× larger and shrunk: smooth, like Graphviz's own lines


def save_gif(stepper, path, per="step", duration=1400):
    """Write the animation of ``stepper`` to ``path``: ``per="step"`` one frame per backward
    step, ``"scope"`` one per run of steps in the same outermost scope (a time step, the loss)."""
    Image, ImageDraw = _pillow()
    drawing = stepper.overview()
    data = page_data(stepper, drawing, 0)
    picture = Image.open(io.BytesIO(_png(drawing, hide=redrawn(data)))).convert("RGB")
    layout = read_layout(drawing, picture.size)
    frames = _same_height(Image, [_frame(Image, ImageDraw, picture, layout, data, stepper, group)
                                   for group in _groups(stepper, per)])
    frames[0].save(Path(path), format="GIF", save_all=True, append_images=frames[1:], duration=duration,
                   loop=0, optimize=True)
    return Path(path)


def _same_height(Image, frames):
    """Every frame on a white canvas of the tallest one's height: a GIF viewer keeps what a
    shorter frame does not cover, which would leave the previous frame's bottom showing."""
    height = max(frame.height for frame in frames)
    padded = []
    for frame in frames:
        if frame.height < height:
            canvas = Image.new("RGB", (frame.width, height), "white")
            canvas.paste(frame.convert("RGB"), (0, 0))
            frame = canvas.quantize(colors=96, method=Image.Quantize.MEDIANCUT)
        padded.append(frame)
    return padded


def _pillow():
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError("an animated GIF needs Pillow: pip install pillow") from None
    return Image, ImageDraw


def redrawn(data):
    """The edges every frame draws itself: those that carry a gradient or are ever lit."""
    return set(data["edges"]) | set(data["edgeSince"]) | {e for step in data["steps"] for e in step["lit"]}


def _png(drawing, hide=()):
    """The drawing as a PNG at ``DPI``, the edges in ``hide`` (ids) in transparent ink: they keep
    their place in the layout, and each frame draws them as they are at its step."""
    dot = drawing.copy()
    dot.attr("graph", dpi=str(DPI))
    if hide:
        dot.body = [_transparent(line) if _edge_id(line) in hide else line for line in dot.body]
    return dot.pipe(format="png")


def _edge_id(line):
    """The id of the edge a DOT statement declares (``... id=e_4 ...``), or None."""
    if "->" not in line and "--" not in line:
        return None
    for word in line.replace("[", " ").replace("]", " ").split():
        if word.startswith("id="):
            return word[3:].strip('"')
    return None


def _transparent(line):
    body = line.rstrip()                  # the later of two settings of an attribute wins
    return body[:-1] + " color=transparent fontcolor=transparent]\n" if body.endswith("]") else line


@dataclass
class EdgeShape:
    """An edge as Graphviz laid it out, in the PNG's pixels: its line, its arrowheads, its own
    colour, width (points) and dashes, and where its label's text goes."""

    line: list
    heads: list = field(default_factory=list)
    colour: tuple = (85, 85, 85)
    width: float = 1.0
    dashed: bool = False
    label: tuple = None                  # (x, baseline y, anchor, size in px, colour)


@dataclass
class Layout:
    """Where things are in the PNG: node boxes (``boxes``), edges (``edges``), the gradient rows
    of records (``grad_rows``: node id -> (its fill colour, the rows' boxes)), and pixels per point."""

    boxes: dict
    edges: dict
    grad_rows: dict
    px: float


def read_layout(drawing, size):
    """The layout of ``drawing`` in the pixels of its PNG of ``size``: node boxes from Graphviz's
    plain output, edges and text from its JSON output (points: 1/72 inch)."""
    lines = drawing.pipe(format="plain", encoding="utf-8").splitlines()
    head = lines[0].split()
    scale, height = float(head[1]), float(head[3])
    pad = (size[1] / DPI - height * scale) / 2              # the drawing's margin, in inches

    def at(x, y):                                           # a point of the JSON output, in pixels
        return (x / 72 * scale + pad) * DPI, (height * scale - y / 72 * scale + pad) * DPI

    boxes = {}
    for line in lines:
        parts = line.split()
        if parts and parts[0] == "node":
            x, y, w, h = (float(v) * scale for v in parts[2:6])
            left, top = (x - w / 2 + pad) * DPI, (height * scale - y - h / 2 + pad) * DPI
            boxes[f"v_{parts[1]}"] = (left, top, left + w * DPI, top + h * DPI)
    layout = json.loads(drawing.pipe(format="json"))
    px = scale * DPI / 72
    edges = {e["id"]: _edge_shape(e, at, px) for e in layout.get("edges", ()) if "id" in e}
    rows = {o["id"]: (_fill(o), _grad_rows(o.get("_ldraw_", ()), at, px)) for o in layout.get("objects", ())
            if "id" in o}
    return Layout(boxes, edges, {k: v for k, v in rows.items() if v[1]}, px)


def _fill(node):
    """A node's fill colour (white if it has none)."""
    fills = [op["color"] for op in node.get("_draw_", ()) if op["op"] == "C"]
    return _rgb(fills[-1]) if fills else (255, 255, 255)


def _edge_shape(edge, at, px):
    shape = EdgeShape(line=[])
    for op in edge.get("_draw_", ()):
        if op["op"] == "b":
            shape.line += [tuple(p) for p in spline_points([at(*p) for p in op["points"]], 12).tolist()]
        elif op["op"] == "c":
            shape.colour = _rgb(op["color"])
        elif op["op"] == "S" and op["style"].startswith("setlinewidth("):
            shape.width = float(op["style"][13:-1])
        elif op["op"] == "S" and op["style"] == "dashed":
            shape.dashed = True
    shape.heads = [[at(*p) for p in op["points"]] for key in ("_hdraw_", "_tdraw_")
                   for op in edge.get(key, ()) if op["op"] in "Pp"]
    font, colour = 9.0, (0, 0, 0)
    for op in edge.get("_ldraw_", ()):
        if op["op"] == "F":
            font = op["size"]
        elif op["op"] == "c":
            colour = _rgb(op["color"])
        elif op["op"] == "T" and shape.label is None:
            anchor = {"l": "ls", "r": "rs"}.get(op["align"], "ms")
            shape.label = (*at(*op["pt"]), anchor, max(1, round(font * px)), colour)
    return shape


def _grad_rows(ops, at, px):
    """The boxes of a node's text drawn in the gradient rows' colour."""
    boxes, font, colour = [], 9.0, None
    for op in ops:
        if op["op"] == "F":
            font = op["size"]
        elif op["op"] == "c":
            colour = op["color"].lower()
        elif op["op"] == "T" and colour == GRAD_ROW:
            (x, y), w = at(*op["pt"]), op["width"] * px
            left = {"l": x, "r": x - w}.get(op["align"], x - w / 2)
            boxes.append((left - 1, y - 0.8 * font * px - 1, left + w + 1, y + 0.25 * font * px + 1))
    return boxes


def _rgb(colour):
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4)) if len(colour) >= 6 else (0, 0, 0)


def edge_look(shape, changes, pending, lit, k):
    """What an edge shows at step ``k``, as the page shows it: ``(colour, width in points,
    dashed, label)``. ``changes`` are the page's ``[step, label, width, norm]`` for the edge
    (None: it carries no gradient), ``pending``: backward has not reached it, ``lit``: an
    edge of the current node."""
    now = next((c for c in reversed(changes or ()) if c[0] <= k), None)
    if pending or (changes and now is None):
        return GREY, 1.0, True, None                       # not sent yet: nothing of its gradient
    colour, width, dashed, label = shape.colour, shape.width, shape.dashed, None
    if now is not None:
        width, dashed, label = now[2], now[3] == 0, now[1]        # a zero gradient: dashed
    if lit:
        colour, width = RED, max(3.0, width)
    return colour, width, dashed, label


def _around(picture, box):
    """The lightest colour just around ``box``: the fill of the cluster it sits in, or white
    (a veil of that colour fades the node into its cluster, as the page greys it)."""
    left, top, right, bottom = (int(round(v)) for v in box)
    ring = [picture.getpixel((x, y)) for x in range(max(0, left - 3), min(picture.width, right + 4), 2)
            for y in (top - 3, bottom + 3) if 0 <= y < picture.height]
    return max(ring, key=sum) if ring else (255, 255, 255)


def _groups(stepper, per):
    """Lists of step indices, one per frame."""
    if per == "step":
        return [[i] for i in range(len(stepper))]
    if per != "scope":
        raise ValueError(f"save_gif: per must be 'step' or 'scope', got {per!r}")
    groups, last = [], object()
    for i, step in enumerate(stepper.steps):
        where = step.node.scope[:1]
        if where and where != last or not groups:       # a node outside any scope (a shared weight)
            groups.append([])                           # joins the frame it is reached in
            last = where
        groups[-1].append(i)
    return groups


def _font(size):
    from PIL import ImageFont

    for name in FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _frame(Image, ImageDraw, picture, layout, data, stepper, group):
    last = group[-1]
    boxes = layout.boxes
    marked = picture.copy()
    pen = ImageDraw.Draw(marked)
    for vid, (fill, rows) in layout.grad_rows.items():     # a gradient not complete yet is not shown
        if last < data["since"].get(vid, 0):
            for box in rows:
                pen.rectangle(box, fill=fill)
    lit = set(data["steps"][last]["lit"])                  # as the page at the frame's last step
    for eid in redrawn(data):
        if eid in layout.edges:
            pending = last < data["edgeSince"].get(eid, 0)
            _draw_edge(Image, ImageDraw, marked, layout, eid,
                       edge_look(layout.edges[eid], data["edges"].get(eid), pending, eid in lit, last))
    marked = marked.convert("RGBA")
    veil = Image.new("RGBA", marked.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(veil)
    for vid, since in data["since"].items():
        if last < since and vid in boxes:
            pen.rectangle(boxes[vid], fill=_around(picture, boxes[vid]) + (VEIL,))
    current = [boxes[v] for i in group for v in data["steps"][i]["current"] if v in boxes]
    near = current or [boxes[v] for i in group for v in _neighbours(data["steps"][i]) if v in boxes]
    for box in current:
        pen.rounded_rectangle(_grow(box, 5), radius=8, outline=RED + (255,), width=5)
    marked = Image.alpha_composite(marked, veil).convert("RGB")
    header = _header(Image, ImageDraw, stepper, group, data["scale"])
    view = _view(Image, ImageDraw, marked, near)
    frame = Image.new("RGB", (WIDTH, header.height + view.height), "white")
    frame.paste(header, (0, 0))
    frame.paste(view, (0, header.height))
    return frame.quantize(colors=96, method=Image.Quantize.MEDIANCUT)


def _draw_edge(Image, ImageDraw, picture, layout, eid, look):
    """Draw an edge as ``look`` says (see ``edge_look``) onto ``picture``: its line and arrowheads
    through a mask drawn ``SMOOTH`` times larger and shrunk, then its label."""
    colour, width, dashed, label = look
    shape = layout.edges[eid]
    points = shape.line + [p for head in shape.heads for p in head]
    if points:
        grow = width * layout.px + 2
        left, top = int(min(x for x, _ in points) - grow), int(min(y for _, y in points) - grow)
        right, bottom = int(max(x for x, _ in points) + grow) + 1, int(max(y for _, y in points) + grow) + 1
        mask = Image.new("L", ((right - left) * SMOOTH, (bottom - top) * SMOOTH), 0)
        pen = ImageDraw.Draw(mask)
        def big(p):
            return ((p[0] - left) * SMOOTH, (p[1] - top) * SMOOTH)
        line = [big(p) for p in shape.line]
        dash = (5 * layout.px * SMOOTH, 2 * layout.px * SMOOTH) if dashed else None
        for piece in _dashes(line, dash):
            pen.line(piece, fill=255, width=max(1, round(width * layout.px * SMOOTH)), joint="curve")
        for head in shape.heads:
            pen.polygon([big(p) for p in head], fill=255)
        mask = mask.resize((right - left, bottom - top), Image.BOX)
        picture.paste(colour, (left, top, right, bottom), mask)
    if label and shape.label:
        x, y, anchor, size, ink = shape.label
        ImageDraw.Draw(picture).text((x, y), label, font=_font(size), fill=ink, anchor=anchor)


def _dashes(line, dash):
    """``line`` cut into dashes of ``dash = (on, off)`` lengths (None: the whole line)."""
    if dash is None or len(line) < 2:
        return [line]
    on, off = dash
    pieces, piece, left, drawing = [], [line[0]], on, True
    for (x0, y0), (x1, y1) in zip(line, line[1:]):
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        done = 0.0
        while length - done > left:
            done += left
            t = done / length
            point = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            if drawing:
                pieces.append(piece + [point])
            piece, drawing = [point], not drawing
            left = on if drawing else off
        left -= length - done
        piece.append((x1, y1))
    if drawing and len(piece) > 1:
        pieces.append(piece)
    return pieces


def _neighbours(step):
    """Where to look when the current node is not drawn (a weight inside a collapsed gate):
    its consumers, else its inputs."""
    focus = step["focus"]
    return [v for c in focus["consumers"] for v in c["v"]] or [i["v"] for i in focus["inputs"]]


def _grow(box, by):
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _header(Image, ImageDraw, stepper, group, scale):
    """The step (or the scope's steps), the node and its rule, and what the edges show, as
    lines of text."""
    first, last = group[0], group[-1]
    details = stepper.details(last)
    node = details.node
    if len(group) == 1:
        title = f"step {first + 1} of {len(stepper)}:  {located_name(node)}  ({shape_text(node)})"
        lines = [details.kind, f"gradient flowing in: ‖∂L/∂{located_name(node)}‖ = {_norm(details.grad)}"]
        if details.rule:
            lines += _wrap("rule: " + plain_rule(details.written_rule), 110)
    else:
        where = next(("/".join(stepper.steps[i].node.scope[:1]) for i in group if stepper.steps[i].node.scope),
                     "outside any scope")
        title = f"steps {first + 1}-{last + 1} of {len(stepper)}:  backward through {where}"
        lines = [f"{len(group)} nodes, last {located_name(node)}: ‖∂L/∂·‖ = {_norm(details.grad)}"]
    lines += _wrap("edges: ‖gradient‖ sent so far (grey, dashed: not yet); " + width_legend(scale), 110)
    big, small = _font(26), _font(19)
    height = 20 + 34 + 27 * len(lines) + 10
    image = Image.new("RGB", (WIDTH, height), "white")
    pen = ImageDraw.Draw(image)
    pen.text((20, 14), title, font=big, fill=(20, 20, 20))
    for k, line in enumerate(lines):
        pen.text((20, 54 + 27 * k), line, font=small, fill=(60, 60, 60))
    return image


def _wrap(text, width):
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "    " + word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]


def _norm(g):
    import numpy as np

    return f"{float(np.linalg.norm(np.asarray(g))):.3g}"


def _view(Image, ImageDraw, marked, near, height=560, strip=170):
    """The drawing at 1280 px: whole if it fits at a legible scale, else a window around the
    current node at full scale above a strip of the whole graph marking where it is."""
    w, h = marked.size
    if w <= WIDTH:
        view = Image.new("RGB", (WIDTH, h), "white")
        view.paste(marked, ((WIDTH - w) // 2, 0))
        return view
    cx = sum((b[0] + b[2]) / 2 for b in near) / len(near) if near else w / 2
    cy = sum((b[1] + b[3]) / 2 for b in near) / len(near) if near else h / 2
    window_h = min(h, height)
    left = int(min(max(cx - WIDTH / 2, 0), w - WIDTH))
    top = int(min(max(cy - window_h / 2, 0), h - window_h))
    window = marked.crop((left, top, left + WIDTH, top + window_h))
    k = min(WIDTH / w, strip / h)
    whole = marked.resize((max(1, round(w * k)), max(1, round(h * k))), Image.LANCZOS)
    pen = ImageDraw.Draw(whole)
    pen.rectangle((left * k, top * k, (left + WIDTH) * k, (top + window_h) * k), outline=(40, 40, 40), width=2)
    view = Image.new("RGB", (WIDTH, window_h + whole.height + 12), "white")
    view.paste(window, (0, 0))
    ImageDraw.Draw(view).line((0, window_h + 5, WIDTH, window_h + 5), fill=(180, 180, 180), width=1)
    view.paste(whole, ((WIDTH - whole.width) // 2, window_h + 12))
    return view
