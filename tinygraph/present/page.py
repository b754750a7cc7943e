"""The stepper as one self-contained HTML page: no kernel, no network, no CDN.

One SVG of the whole graph (drawn once, with the gradient norms of the whole backward pass
on its edges) is restyled at every step by a small script: the current node's group gets
the class ``current``, nodes backward has not reached yet are faded, and an edge shows its
gradient (label and width) only from the step backward sends along it, as the sum sent so far,
its width on one log scale for the whole walk. A close-up shows the current node with its inputs and its consumers at
a legible size (copies of their groups in the same SVG). The step's numbers and its rule
are pre-rendered HTML and MathML. Stable hooks for scripts and tests: the title element
``[data-role=step-title]`` reads "step k of N"; buttons ``prev``, ``next``, ``play``; the
slider ``slider`` counts from 1 like the title.
"""
import html
import json
import math
from importlib import resources

import numpy as np

from ..draw import Overlay, edge_text, grad_norm, zoom_script
from .latex import located_name, node_name, shape_text

_ASSETS = resources.files(__package__) / "assets"


def asset(name):
    """The text of one of the page's inline assets (CSS or JavaScript)."""
    return (_ASSETS / name).read_text(encoding="utf-8")


def svg_text(drawing):
    """A drawing as inline SVG (no XML prologue)."""
    svg = drawing.pipe(format="svg", encoding="utf-8")
    return svg[svg.find("<svg"):]


def stepper_page(stepper, start=0, title=None):
    """The page's HTML: controls, close-up, numbers, and the whole graph that follows the step."""
    drawing = stepper.overview()
    if not hasattr(drawing, "vertices") or not drawing.vertices:
        raise TypeError("Stepper.page: the draw function must return a tinygraph drawing (tinygraph.draw or "
                        f"lstm.diagrams), got {type(drawing).__name__}")
    data = page_data(stepper, drawing, start)
    title = title or f"backward of {node_name(stepper.root)}: {len(stepper)} steps"
    data_json = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    total = len(stepper)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{html.escape(title)}</title><style>{asset("stepper.css")}</style></head>
<body><div class="tg-stepper" tabindex="-1">
<div class="bar">
<button type="button" data-role="prev" title="previous step (← key)">◀ previous</button>
<button type="button" data-role="play" title="play / pause (space)">▶ play</button>
<button type="button" data-role="next" title="next step (→ key)">next ▶</button>
<input data-role="slider" type="range" min="1" max="{total}" value="{start + 1}" aria-label="step">
<h2 data-role="step-title">step {start + 1} of {total}</h2>
<span data-role="step-name" class="name"></span>
</div>
<div class="main">
<div class="focus" data-role="focus" aria-label="the current node, its inputs and its consumers"></div>
<div class="numbers" data-role="numbers"></div>
</div>
<div class="whole-bar"><b>the whole graph</b> <span class="hint">(red: this step; grey, dashed: not
reached yet; edges: ‖gradient‖ sent so far, <span data-role="width-legend">{html.escape(width_legend(data["scale"]))}</span>;
click to zoom, drag to move)</span>
<button type="button" data-role="whole">see the whole</button>
<label><input type="checkbox" data-role="follow" checked> follow the current node</label></div>
<div class="overview tg-zoom" data-role="overview">{svg_text(drawing)}</div>
</div>
<script type="application/json" data-role="data">{data_json}</script>
<script>{zoom_script()}
{asset("stepper.js")}</script>
</body></html>
"""


def inline_frame(page, height=900):
    """A page inside an iframe for a notebook output: it runs in its own document (its keys,
    styles and scripts do not mix with the notebook's) and sizes itself to its content."""
    return (f'<iframe class="tg-stepper-frame" srcdoc="{html.escape(page, quote=True)}" '
            f'style="width:100%; height:{height}px; border:0" title="backward, step by step"></iframe>')


def page_data(stepper, drawing, start):
    """What the page's script needs, as JSON-ready data: per step the highlighted groups and
    edges, the close-up and the numbers; per group and edge the step it is reached at; per
    edge what it shows from each step its gradient changes on (``edges``), on one width
    scale for the whole walk (``scale``)."""
    never = len(stepper.steps)
    vertices = [v for v in drawing.vertices if v.kind != "junction"]
    def reached(nodes):
        return min((i for i in map(stepper.reached_at, nodes) if i is not None), default=never)

    since = {f"v_{v.id}": reached([n for n in v.nodes if n.requires_grad])
             for v in vertices if any(n.requires_grad for n in v.nodes)}
    edge_ids = {id(e): f"e_{k}" for k, e in enumerate(drawing.edges)}
    edge_since = {edge_ids[id(e)]: reached([e.node, *e.consumers]) for e in drawing.edges if e.node.requires_grad}
    edges, scale = edges_sent(stepper, drawing, edge_ids)
    return {"start": start, "steps": [_step_data(stepper, drawing, i, vertices, edge_ids) for i in range(never)],
            "since": since, "edgeSince": edge_since, "edges": edges, "scale": scale}


def edges_sent(stepper, drawing, edge_ids):
    """``{edge id: [[step, label, width, norm], ...]}``: what each edge shows from each step its
    gradient changes on (a sum in progress shows its partial value), and the scale of the widths:
    ``{"low": norm, "high": norm}``, the smallest and largest nonzero norm any edge shows at any
    step, drawn 0.6 and 5 points wide (log scale), so widths compare across steps."""
    carried = {}
    for edge in drawing.edges:
        for consumer in edge.consumers:
            carried.setdefault((edge.node, consumer), []).append(edge)
    sums, norms = {}, {}
    for i, step in enumerate(stepper.steps):
        for parent, g in zip(step.node.inputs, step.input_grads):
            if g is None:
                continue
            for edge in carried.get((parent, step.node), ()):
                sums[id(edge)] = sums[id(edge)] + g if id(edge) in sums else np.asarray(g)
                norms.setdefault(id(edge), []).append((i, grad_norm(sums[id(edge)])))
    shown = [n for changes in norms.values() for _, n in changes if n > 0]
    low, high = (min(shown), max(shown)) if shown else (1.0, 1.0)
    width = Overlay(scale=(math.log10(low), math.log10(high))).width
    edges = {edge_ids[id(e)]: [[i, edge_text(e, n), round(width(n), 2), n] for i, n in norms[id(e)]]
             for e in drawing.edges if id(e) in norms}
    return edges, {"low": low, "high": high}


def width_legend(scale):
    """The caption of the edge widths: which norms the thinnest and thickest edges carry."""
    if scale["low"] == scale["high"]:
        return f"every edge width the same: one nonzero ‖gradient‖ ({scale['low']:.3g})"
    return (f"width: ‖gradient‖ on one log scale for every step, thinnest {scale['low']:.2g}, "
            f"thickest {scale['high']:.3g}")


def _step_data(stepper, drawing, i, vertices, edge_ids):
    step = stepper.steps[i]
    node = step.node
    adjoint = stepper.adjoints.get(node)              # create_graph: the adjoint node this step completes
    lit_vertices = [v for v in vertices if node in v.nodes or (adjoint is not None and adjoint in v.nodes)]
    lit_edges = [edge_ids[id(e)] for e in drawing.edges
                 if e.src in lit_vertices or e.dst in lit_vertices or (e.dst.kind == "junction" and e.node is node)]
    details = stepper.details(i)
    current = _chain(vertices, node)
    inputs, seen = [], set(current)
    for parent, g in details.outgoing:
        vertex = drawing.vertex_of(parent)
        if vertex is None or f"v_{vertex.id}" in seen:          # hidden, or inside the same box
            continue
        seen.add(f"v_{vertex.id}")
        inputs.append({"v": f"v_{vertex.id}", "label": "no gradient" if g is None else _norm(g)})
    consumers = [{"v": [v for v in _chain(vertices, consumer) if v not in current], "label": _norm(g)}
                 for consumer, _, g in details.incoming]
    if adjoint is not None:
        consumers.append({"v": _chain(vertices, adjoint), "label": f"its adjoint {adjoint.label()}"})
    return {"name": f"{located_name(node)}  ({shape_text(node)})", "current": [f"v_{v.id}" for v in lit_vertices],
            "lit": lit_edges, "html": details.html(),
            "focus": {"inputs": inputs, "current": current,
                      "consumers": [c for c in consumers if c["v"]]}}


def _chain(vertices, node):
    """The groups that show ``node``: its op, then its record (or its collapsed scope); one per kind."""
    order = {"op": 0, "group": 1, "data": 2}
    chosen = {}
    for v in vertices:
        if node in v.nodes and v.kind not in chosen:
            chosen[v.kind] = v
    return [f"v_{v.id}" for v in sorted(chosen.values(), key=lambda v: order.get(v.kind, 3))]


def _norm(g):
    value = grad_norm(g)
    return f"‖grad‖ {value:.3g}"
