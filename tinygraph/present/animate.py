"""Backward as an animated GIF: one frame per step (or per scope), readable at 1280 px wide.

The drawing is the stepper page's (the whole graph, the gradient norms of the whole backward
pass on its edges), rendered once; each frame marks the current node in red, veils the nodes
backward has not reached yet and the gradient labels of the edges it has not sent along yet
(as the page hides them), and writes the step, the node and its rule above it. A drawing
wider than the frame is shown at a legible scale around the current node, with the whole graph
as a strip below it. Needs Pillow (``pip install pillow``; matplotlib brings it).
"""
import io
from pathlib import Path

from .latex import located_name, plain_rule, shape_text
from .page import page_data

WIDTH = 1280
DPI = 96                 # 1.33 px per point: 9-point labels are 12 px tall
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")
RED, VEIL = (214, 39, 40), (255, 255, 255, 170)


def save_gif(stepper, path, per="step", duration=1400):
    """Write the animation of ``stepper`` to ``path``: ``per="step"`` one frame per backward
    step, ``"scope"`` one per run of steps in the same outermost scope (a time step, the loss)."""
    Image, ImageDraw = _pillow()
    drawing = stepper.overview()
    picture = Image.open(io.BytesIO(_png(drawing))).convert("RGB")
    boxes = _boxes(drawing, picture.size)
    data = page_data(stepper, drawing, 0)
    frames = _same_height(Image, [_frame(Image, ImageDraw, picture, boxes, data, stepper, group)
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


def _png(drawing):
    dot = drawing.copy()
    dot.attr("graph", dpi=str(DPI))
    return dot.pipe(format="png")


def _boxes(drawing, size):
    """``{svg id: (left, top, right, bottom)}`` of every node, and ``{"label of " + edge id:
    ...}`` of every edge label, in the PNG's pixels, from Graphviz's layout."""
    lines = drawing.pipe(format="plain", encoding="utf-8").splitlines()
    head = lines[0].split()
    scale, height = float(head[1]), float(head[3])
    pad = (size[1] / DPI - height * scale) / 2              # the drawing's margin, in inches
    boxes = _label_boxes(drawing, scale, height, pad)
    for line in lines:
        parts = line.split()
        if parts and parts[0] == "node":
            x, y, w, h = (float(v) * scale for v in parts[2:6])
            left, top = (x - w / 2 + pad) * DPI, (height * scale - y - h / 2 + pad) * DPI
            boxes[f"v_{parts[1]}"] = (left, top, left + w * DPI, top + h * DPI)
    return boxes


def _label_boxes(drawing, scale, height, pad):
    """``{"label of " + edge id: (left, top, right, bottom)}``: each edge label's box in the
    PNG's pixels, from the text Graphviz placed (``dot -Tjson``; its points are 1/72 inch),
    with the layout's ``scale``, ``height`` and ``pad`` (inches) that ``_boxes`` read."""
    import json

    boxes = {}
    for edge in json.loads(drawing.pipe(format="json")).get("edges", []):
        ops = edge.get("_ldraw_", ())
        font = next((op["size"] for op in ops if op["op"] == "F"), 9.0) / 72 * scale
        for op in (op for op in ops if op["op"] == "T"):          # pt: the baseline's centre
            x, y, w = op["pt"][0] / 72 * scale, op["pt"][1] / 72 * scale, op["width"] / 72 * scale
            box = ((x - w / 2 + pad) * DPI - 1, (height * scale - y - 0.8 * font + pad) * DPI - 1,
                   (x + w / 2 + pad) * DPI + 1, (height * scale - y + 0.2 * font + pad) * DPI + 1)
            old = boxes.get("label of " + edge["id"], box)
            boxes["label of " + edge["id"]] = (min(old[0], box[0]), min(old[1], box[1]),
                                               max(old[2], box[2]), max(old[3], box[3]))
    return boxes


def _background(picture, box):
    """The lightest colour of the ring just around ``box``: the cluster's fill or white (the
    edge the label belongs to, and other text, are darker)."""
    left, top, right, bottom = (int(round(v)) for v in box)
    ring = [picture.getpixel((x, y)) for x in range(max(0, left - 2), min(picture.width, right + 3))
            for y in (top - 2, bottom + 2) if 0 <= y < picture.height]
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


def _frame(Image, ImageDraw, picture, boxes, data, stepper, group):
    last = group[-1]
    marked = picture.convert("RGBA")
    veil = Image.new("RGBA", marked.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(veil)
    for vid, since in data["since"].items():
        if last < since and vid in boxes:
            pen.rectangle(boxes[vid], fill=VEIL)
    for eid, labels in data["edges"].items():           # a gradient label shows once sent along
        if last < labels[0][0] and "label of " + eid in boxes:
            box = boxes["label of " + eid]
            pen.rectangle(box, fill=_background(picture, box) + (255,))
    current = [boxes[v] for i in group for v in data["steps"][i]["current"] if v in boxes]
    near = current or [boxes[v] for i in group for v in _neighbours(data["steps"][i]) if v in boxes]
    for box in current:
        pen.rounded_rectangle(_grow(box, 5), radius=8, outline=RED + (255,), width=5)
    marked = Image.alpha_composite(marked, veil).convert("RGB")
    header = _header(Image, ImageDraw, stepper, group)
    view = _view(Image, ImageDraw, marked, near)
    frame = Image.new("RGB", (WIDTH, header.height + view.height), "white")
    frame.paste(header, (0, 0))
    frame.paste(view, (0, header.height))
    return frame.quantize(colors=96, method=Image.Quantize.MEDIANCUT)


def _neighbours(step):
    """Where to look when the current node is not drawn (a weight inside a collapsed gate):
    its consumers, else its inputs."""
    focus = step["focus"]
    return [v for c in focus["consumers"] for v in c["v"]] or [i["v"] for i in focus["inputs"]]


def _grow(box, by):
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _header(Image, ImageDraw, stepper, group):
    """The step (or the scope's steps), the node and its rule, as lines of text."""
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
