"""The stepper's self-contained page: one SVG restyled per step, MathML rules, nothing fetched,
stable hooks; and `python -m lstm step`. (tests/browser/ drives the page in Chromium.)"""
import html
import io
import json
import re

import numpy as np
import pytest

import lstm.cells
import lstm.fused_ops
import tinygraph as tg
from lstm.__main__ import main
from lstm.cells import BlogLSTM
from lstm.losses import ce
from tinygraph.present import Stepper
from tinygraph.present.mathml import math_lines, split_top_level, to_mathml
from tinygraph.present.page import inline_frame


def two_step_blog():
    """Notebook 03's two-step BlogLSTM with the loss on the last output."""
    cell = BlogLSTM(input_size=2, hidden_size=3, seed=0)
    run = cell.unroll(np.array([[[0.5, -1.0]], [[1.0, 0.3]]]))
    return ce([run.outputs[-1]], targets=np.array([[2]]))


@pytest.fixture(scope="module")
def page():
    stepper = Stepper(two_step_blog())
    return stepper, stepper.page()


def page_data(text):
    return json.loads(re.search(r'<script type="application/json" data-role="data">(.*?)</script>', text, re.S)
                      .group(1).replace("<\\/", "</"))


def test_a_two_step_blog_lstm_page_is_one_file_under_2_mb_with_one_svg(page):
    stepper, text = page
    assert len(text.encode()) < 2_000_000
    assert text.count("<svg") == 1                  # one drawing, restyled at every step
    assert not re.search(r'(src|href)="(https?:)?//', text) and "<link" not in text     # nothing fetched


def test_the_page_has_the_stable_hooks_and_counts_steps_from_one(page):
    stepper, text = page
    assert '<h2 data-role="step-title">step 1 of 65</h2>' in text
    for role in ("prev", "next", "play"):
        assert f'data-role="{role}"' in text
    assert '<input data-role="slider" type="range" min="1" max="65" value="1"' in text
    later = stepper.page(start=9)
    assert '<h2 data-role="step-title">step 10 of 65</h2>' in later and 'value="10"' in later


def test_every_step_names_groups_and_edges_that_exist_in_the_svg(page):
    stepper, text = page
    data = page_data(text)
    ids = set(re.findall(r'<g id="([ve]_\w+)" class="(?:node|edge)"', text))
    assert len(data["steps"]) == len(stepper)
    for i, step in enumerate(data["steps"]):
        assert step["current"] and set(step["current"]) <= ids, i
        assert set(step["lit"]) <= ids
        focus = step["focus"]
        shown = focus["current"] + [x["v"] for x in focus["inputs"]] + [v for c in focus["consumers"] for v in c["v"]]
        assert set(shown) <= ids
        node = stepper.steps[i].node
        assert len(focus["consumers"]) == len(stepper.details(i).incoming)      # every consumer, once per use
        if node.op is not None:
            assert len(focus["inputs"]) == len({id(p) for p in node.inputs})
    assert set(data["since"]) <= ids and set(data["edges"]) <= ids


def known_at(changes, k):
    """What an edge shows at step k: its last change at or before k (None: nothing sent yet)."""
    return next((c for c in reversed(changes or []) if c[0] <= k), None)


def sent_norms(stepper, drawing):
    """``{(step, edge index): ‖sum sent along the edge up to that step‖}``, from Stepper.edge_grads."""
    norms = {}
    for k in range(len(stepper)):
        sent = stepper.edge_grads(k)
        for e, edge in enumerate(drawing.edges):
            parts = [sent[(edge.node, c)] for c in edge.consumers if (edge.node, c) in sent]
            if parts:
                norms[k, e] = float(np.linalg.norm(sum(parts[1:], parts[0])))
    return norms


@pytest.fixture(scope="module", params=["default", "cell"])
def walk(request):
    """A stepper, its overview and its page data: notebook 03's two-step BlogLSTM on tinygraph.draw,
    and the blog's cell view (its H_t-1 junction edge adds up four parts)."""
    from lstm.commands.step import make_stepper

    stepper = Stepper(two_step_blog()) if request.param == "default" else make_stepper("blog", "cell", 1)
    text = stepper.page()
    return stepper, stepper.overview(), page_data(text), text


def test_an_edge_shows_nothing_until_backward_sends_along_it_then_the_sum_sent_so_far(walk):
    stepper, drawing, data, _ = walk
    norms = sent_norms(stepper, drawing)
    partial = 0
    for k in range(len(stepper)):
        for e in range(len(drawing.edges)):
            shown = known_at(data["edges"].get(f"e_{e}"), k)
            if (k, e) not in norms:
                assert shown is None, (k, e)                  # not sent yet: no label, no width
                continue
            assert shown is not None and shown[3] == pytest.approx(norms[k, e], rel=1e-12), (k, e)
            assert shown[1].split()[0].replace("−", "-") == f"{norms[k, e]:.3g}"
            partial += norms[k, e] != norms[len(stepper) - 1, e]
    assert partial > 0                                         # some steps show a sum in progress


def test_edge_widths_use_one_log_scale_for_the_whole_walk_and_the_page_says_which(walk):
    stepper, drawing, data, text = walk
    norms = sent_norms(stepper, drawing)
    low, high = min(n for n in norms.values() if n > 0), max(norms.values())
    assert data["scale"] == {"low": pytest.approx(low), "high": pytest.approx(high)}
    for changes in data["edges"].values():
        for _, _, width, norm in changes:
            expected = 0.6 + 4.4 * (np.log10(norm) - np.log10(low)) / (np.log10(high) - np.log10(low)) if norm else 0.6
            assert width == pytest.approx(expected, abs=0.006)
    legend = re.search(r'<span data-role="width-legend">(.*?)</span>', text).group(1)
    assert f"thinnest {low:.2g}" in legend and f"thickest {high:.3g}" in legend and "every step" in legend


def test_a_record_hides_its_gradient_until_backward_reaches_it():
    from tinygraph.draw import GRAD_FONT
    from tinygraph.present.page import asset

    css = asset("stepper.css")           # records write their gradient in GRAD_FONT
    assert f'.node.pending text[fill="{GRAD_FONT.lower()}" i]' in css and ".grad-unknown text" in css


def test_nodes_are_faded_until_backward_reaches_them(page):
    stepper, text = page
    data = page_data(text)
    for i, step in enumerate(data["steps"]):
        for vid in step["current"]:
            assert data["since"].get(vid, 0) <= i           # the current node is never faded
    assert sorted(set(data["since"].values()))[0] == 0 and max(data["since"].values()) == len(stepper) - 1


def test_the_numbers_and_rules_are_pre_rendered_as_mathml(page):
    stepper, text = page
    data = page_data(text)
    k = stepper.index_of(stepper.steps[1].node)
    assert data["steps"][k]["html"] == stepper.details(k).html()
    assert all("<math" in step["html"] and "$" not in step["html"] for step in data["steps"])


def test_in_jupyter_a_stepper_and_a_step_show_the_page_in_a_frame():
    a = tg.parameter(2.0, name="a")
    y = (a * a).named("y")
    stepper = Stepper(y)
    frame = stepper._repr_html_()
    assert frame.startswith('<iframe class="tg-stepper-frame" srcdoc="')
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)) == stepper.page(0)
    assert "step 2 of 2" in html.unescape(stepper[1]._repr_html_())
    assert inline_frame("<p>x</p>").count("<iframe") == 1


def test_save_html_writes_the_page(tmp_path):
    a = tg.parameter(2.0, name="a")
    stepper = Stepper((a * a).named("y"))
    path = stepper.save_html(tmp_path / "backprop.html", start=1)
    assert path.read_text(encoding="utf-8") == stepper.page(1)


# --- MathML -------------------------------------------------------------------------

def op_classes():
    found, todo = [], [tg.Op]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("rule", sorted({c.rule for c in op_classes() if getattr(c, "rule", "")}))
def test_every_op_rule_converts_to_mathml_without_falling_back(rule):
    out = to_mathml(rule)
    assert out.startswith("<math>") and "\\" not in out


def test_mathml_structure_of_bars_scripts_and_text():
    assert to_mathml(r"\overline{C_{t}}") == ('<math><mrow style="border-top:0.06em solid currentColor; '
                                              'padding-top:0.08em"><mrow><msub><mi>C</mi><mrow><mi>t</mi></mrow>'
                                              '</msub></mrow></mrow></math>')
    assert to_mathml(r"B^\top") == "<math><msup><mi>B</mi><mo>⊤</mo></msup></math>"
    assert to_mathml(r"\text{a < b}") == "<math><mtext>a &lt; b</mtext></math>"
    assert to_mathml(r"x_i^2") == "<math><msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup></math>"
    assert to_mathml(r"g_{\iota}") == "<math><msub><mi>g</mi><mrow><mi>ι</mi></mrow></msub></math>"


def test_latex_outside_the_subset_is_refused_or_shown_as_source():
    with pytest.raises(ValueError, match=r"\\frobnicate is not in the supported subset"):
        to_mathml(r"\frobnicate x")
    with pytest.raises(ValueError, match="missing"):
        to_mathml(r"\bar{x")
    assert to_mathml(r"\frobnicate <x>", strict=False) == r"<code>\frobnicate &lt;x&gt;</code>"


def test_a_list_of_rules_splits_into_lines_that_wrap_only_at_top_level():
    assert split_top_level(r"\bar a = \bar y,\quad \bar b = f(x, y),\ \bar c = 1") == [
        r"\bar a = \bar y", r"\bar b = f(x, y)", r"\bar c = 1"]
    assert split_top_level(r"\text{a,\quad b}") == [r"\text{a,\quad b}"]
    assert math_lines(r"a,\quad b").count("<math>") == 2


# --- the command --------------------------------------------------------------------

def test_step_command_writes_a_page(tmp_path, capsys):
    out = tmp_path / "blog.html"
    assert main(["step", "--variant", "rnn", "--view", "cell", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert 'data-role="step-title"' in text and "VanillaRNN" in text
    assert "wrote" in capsys.readouterr().out


def test_step_command_steps_through_a_stacked_model_layer_by_layer(tmp_path, capsys):
    from lstm import diagrams

    out = tmp_path / "gru2.html"
    assert main(["step", "--variant", "gru", "--layers", "2", "--view", "unrolled", "--steps", "2", "-o", str(out)]) == 0
    ex = diagrams.example("gru", steps=2, num_layers=2)
    backward = sum(1 for _ in tg.backward_steps(ex.loss, accumulate=False))
    assert f"wrote {out} ({backward} backward steps of gru × 2 layers, unrolled view" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert f"step 1 of {backward}" in text and "layer=2" in text and "layer=1" in text


@pytest.mark.parametrize("args, message", [
    (["-o", "x.txt"], "with a .html or .gif suffix"),
    (["-o", "x.gif", "--format", "html"], "ends in .gif but --format is html"),
    (["--view", "cell", "--steps", "3", "-o", "x.html"], "the cell view draws one step"),
    (["--frames", "scope", "-o", "x.html"], "--frames scope is for a gif"),
    (["--view", "cell", "--layers", "2", "-o", "x.html"], "the cell view draws one cell"),
])
def test_step_command_refuses_bad_options_in_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["step", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_step_command_keeps_an_existing_file_unless_forced(tmp_path, capsys):
    out = tmp_path / "page.html"
    out.write_text("mine")
    assert main(["step", "--view", "cell", "-o", str(out)]) == 2
    assert "the file exists; use --force" in capsys.readouterr().err and out.read_text() == "mine"
    assert main(["step", "--view", "cell", "-o", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --- the animation ------------------------------------------------------------------

def test_step_command_writes_a_gif_with_one_frame_per_step_1280_wide(tmp_path):
    from PIL import Image, ImageChops

    out = tmp_path / "rnn.gif"
    assert main(["step", "--variant", "rnn", "--view", "cell", "-o", str(out)]) == 0
    from lstm.commands.step import make_stepper

    steps = len(make_stepper("rnn", "cell", 1))
    with Image.open(out) as gif:
        assert gif.n_frames == steps and gif.size[0] == 1280
        gif.seek(0)
        first = gif.convert("RGB")
        gif.seek(1)
        second = gif.convert("RGB")
    assert ImageChops.difference(first, second).getbbox() is not None        # the red marker moved on


def gif_of(view, steps):
    """The blog's ``view`` as the GIF draws it: its picture, layout and page data, and a function
    that draws one step's frame at full scale (no window, no header; ``frame.picture``: the base)."""
    from PIL import Image, ImageDraw

    from lstm.commands.step import make_stepper
    from tinygraph.present import animate
    from tinygraph.present.page import page_data

    stepper = make_stepper("blog", view, steps)
    drawing = stepper.overview()
    data = page_data(stepper, drawing, 0)
    picture = Image.open(io.BytesIO(animate._png(drawing, hide=animate.redrawn(data)))).convert("RGB")
    layout = animate.read_layout(drawing, picture.size)

    def frame(step):
        saved = animate._view, animate.WIDTH
        animate._view, animate.WIDTH = (lambda Image, ImageDraw, marked, near: marked), picture.width
        try:
            image = animate._frame(Image, ImageDraw, picture, layout, data, stepper, [step]).convert("RGB")
        finally:
            animate._view, animate.WIDTH = saved
        return image.crop((0, image.height - picture.height, picture.width, image.height))

    frame.picture = picture
    return stepper, drawing, data, layout, frame


@pytest.fixture(scope="module")
def gif_cell():
    """The blog's cell view as the GIF draws it (its H_t-1 junction edge adds up four parts)."""
    return gif_of("cell", 1)


def ink_near(image, point, colour, radius=7):
    """How many pixels within ``radius`` of ``point`` are close to ``colour``."""
    x0, y0 = (int(round(v)) for v in point)
    return sum(1 for x in range(x0 - radius, x0 + radius + 1) for y in range(y0 - radius, y0 + radius + 1)
               if 0 <= x < image.width and 0 <= y < image.height and (x - x0) ** 2 + (y - y0) ** 2 <= radius ** 2
               and sum(abs(a - b) for a, b in zip(image.getpixel((x, y)), colour)) < 60)


def label_reads(image, shape, text):
    """How far the frame's label area is from ``text`` drawn there on a blank background (0: the same)."""
    from PIL import ImageChops, ImageDraw

    from tinygraph.present.animate import _font

    x, y, anchor, size, ink = shape.label
    font = _font(size)
    box = [int(v) for v in ImageDraw.Draw(image).textbbox((x, y), "0.00000", font=font, anchor=anchor)]
    box = (box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1)
    crop = image.crop(box)
    blank = crop.copy()
    pen = ImageDraw.Draw(blank)
    pen.rectangle((0, 0, *blank.size), fill=image.getpixel((box[0], box[1])))
    pen.text((x - box[0], y - box[1]), text, font=font, fill=ink, anchor=anchor)
    diff = ImageChops.difference(crop, blank).convert("L")
    return sum(count * value for count, value in diff.getcolors(256)) / 255


def test_the_gif_draws_the_page_layout_with_the_changing_edges_left_out():
    from tinygraph.present import animate

    stepper = Stepper(two_step_blog())
    drawing = stepper.overview()
    hidden = drawing.copy()
    hidden.body = [animate._transparent(line) if animate._edge_id(line) else line for line in hidden.body]
    def positions(dot):                       # every node's box, every edge's points and label place
        lines = [line.split() for line in dot.pipe(format="plain", encoding="utf-8").splitlines()]
        return [words[:-2] if words[0] == "edge" else words for words in lines]   # not its style, colour

    assert positions(hidden) == positions(drawing)
    assert sum("color=transparent" in line for line in hidden.body) == len(drawing.edges)


def test_each_gif_frame_shows_an_edge_as_the_page_does_grey_then_the_sum_sent_so_far(gif_cell):
    from tinygraph.present.animate import GREY, RED, edge_look

    stepper, drawing, data, layout, frame = gif_cell
    eid, changes = max(data["edges"].items(), key=lambda item: len(item[1]))     # H_t-1's four parts
    shape = layout.edges[eid]
    middle = shape.line[len(shape.line) // 2]
    assert len(changes) >= 3 and changes[0][1] != changes[-1][1]
    before = frame(changes[0][0] - 1)
    assert edge_look(shape, changes, False, False, changes[0][0] - 1) == (GREY, 1.0, True, None)
    assert ink_near(before, middle, shape.colour) == 0                          # not its colour: grey
    assert label_reads(before, shape, "") < label_reads(before, shape, changes[0][1]) / 4    # and no number
    for step, label, width, _ in changes:
        lit = eid in data["steps"][step]["lit"]
        colour, drawn, _, text = edge_look(shape, changes, False, lit, step)
        assert text == label and drawn == (max(3, width) if lit else width) and (colour == RED) == lit
    first, final = frame(changes[0][0]), frame(len(stepper) - 1)
    assert ink_near(first, middle, shape.colour) > 10
    assert label_reads(first, shape, changes[0][1]) < label_reads(first, shape, changes[-1][1]) / 2
    assert label_reads(final, shape, changes[-1][1]) < label_reads(final, shape, changes[0][1]) / 2


def test_gif_edge_widths_follow_the_norms_on_one_scale(gif_cell):
    stepper, drawing, data, layout, frame = gif_cell
    last = len(stepper) - 1
    final = frame(last)
    ends = {eid: changes[-1] for eid, changes in data["edges"].items()
            if eid not in data["steps"][last]["lit"] and len(layout.edges[eid].line) > 8}
    thin = min(ends, key=lambda e: ends[e][3])
    thick = max(ends, key=lambda e: ends[e][3])
    assert ends[thick][2] - ends[thin][2] > 2                                   # points apart on the scale

    def coverage(eid, radius=5):            # how much of a disc at the edge's middle its colour covers
        shape = layout.edges[eid]
        x0, y0 = (int(round(v)) for v in shape.line[len(shape.line) // 2])
        total = 0.0
        for x in range(x0 - radius, x0 + radius + 1):
            for y in range(y0 - radius, y0 + radius + 1):
                if (x - x0) ** 2 + (y - y0) ** 2 <= radius ** 2:
                    seen, under = final.getpixel((x, y)), frame.picture.getpixel((x, y))   # under: without the edge
                    full = sum(abs(a - b) for a, b in zip(under, shape.colour))
                    total += max(0.0, 1 - sum(abs(a - b) for a, b in zip(seen, shape.colour)) / full) if full else 0
        return total

    assert coverage(thick) > 3 * coverage(thin) > 0


def test_a_gif_frame_hides_a_records_gradient_until_backward_reaches_it(gif_cell):
    stepper, drawing, data, layout, frame = gif_cell
    vid, (fill, rows) = max(layout.grad_rows.items(), key=lambda item: data["since"].get(item[0], 0))
    since = data["since"][vid]
    assert since > 0 and rows
    box = tuple(int(v) for v in rows[0])
    assert len(frame(since - 1).crop(box).getcolors(4096)) == 1                # covered: no text
    assert len(frame(since).crop(box).getcolors(4096)) > 1


def test_a_gif_frame_veils_a_node_not_reached_in_its_clusters_colour():
    stepper, drawing, data, layout, frame = gif_of("unrolled", 2)
    first = frame(0)
    shaded = 0
    for vid, since in data["since"].items():
        if since == 0 or vid not in layout.boxes:
            continue
        left, top, right, bottom = (int(v) for v in layout.boxes[vid])
        corner = (left + 1, top + 1)                     # inside the box, outside a rounded node
        under = frame.picture.getpixel(corner)
        if min(under) < 235:                              # a shaded step's cluster, not white
            shaded += 1
            assert sum(abs(a - b) for a, b in zip(first.getpixel(corner), under)) < 30, (vid, under)
    assert shaded > 3


def test_gif_frames_are_one_size():
    from PIL import Image

    from tinygraph.present import animate

    sizes = {frame.size for frame in animate._same_height(Image, [Image.new("RGB", (1280, h)) for h in (5, 9)])}
    assert sizes == {(1280, 9)}


def test_a_long_unroll_gets_one_frame_per_scope(tmp_path):
    from PIL import Image

    from lstm.commands.step import make_stepper
    from tinygraph.present.animate import _groups, save_gif

    stepper = make_stepper("rnn", "unrolled", 5)
    groups = _groups(stepper, "scope")
    assert [i for g in groups for i in g] == list(range(len(stepper)))          # every step, in order
    scoped = [{stepper.steps[i].node.scope[0] for i in g if stepper.steps[i].node.scope} for g in groups]
    assert all(len(s) <= 1 for s in scoped) and len(groups) < len(stepper) / 3
    with Image.open(save_gif(stepper, tmp_path / "rnn.gif", per="scope")) as gif:
        assert gif.n_frames == len(groups)


# --- walking the backward graph (create_graph) ---------------------------------------

def small_lstm_like():
    W = tg.parameter(np.array([[0.5, -1.0], [2.0, 0.3]]), name="W")
    x = tg.tensor(np.array([[1.0, 2.0]]), name="x")
    with tg.scope("t=1"):
        F = tg.sigmoid(x @ W, name="F")
    return W, F, (F * F).sum().named("L")


def test_a_create_graph_stepper_has_backwards_numbers_and_the_adjoint_nodes():
    W, F, L = small_lstm_like()
    plain, walked = Stepper(L), Stepper(L, create_graph=True)
    assert [s.node for s in plain.steps] == [s.node for s in walked.steps]
    for a, b in zip(plain.steps, walked.steps):
        np.testing.assert_allclose(b.grad, a.grad, rtol=1e-15)
        assert walked.adjoints[a.node].adjoint_of is a.node or walked.adjoints[a.node].op is not None
    assert walked.adjoints[W].name == "W\u0304" and W.grad is None               # .grad untouched
    built = walked.built_at
    assert built and all(n.scope[0] == "backward" for n in built)
    assert built[walked.adjoints[W]] == walked.index_of(F.inputs[0])         # W̄ is built when x W sends it
    with pytest.raises(ValueError, match="takes no draw= function"):
        Stepper(L, create_graph=True, draw=lambda *a, **k: None)


def test_the_create_graph_page_draws_the_backward_graph_and_lights_each_adjoint_at_its_step():
    W, F, L = small_lstm_like()
    stepper = Stepper(L, create_graph=True)
    text = stepper.page()
    data = page_data(text)
    drawing = stepper.overview()
    k = stepper.index_of(F)
    adjoint_vertex = f"v_{drawing.vertex_of(stepper.adjoints[F]).id}"
    assert adjoint_vertex in data["steps"][k]["current"] and f"v_{drawing.vertex_of(F).id}" in data["steps"][k]["current"]
    assert data["steps"][k]["focus"]["consumers"][-1]["label"] == "its adjoint F\u0304"
    assert data["since"][adjoint_vertex] == k                                    # appears when it is built
    assert "#7B3294" in drawing.source and text.count("<svg") == 1


def test_step_command_walks_the_backward_graph(tmp_path):
    out = tmp_path / "bw.html"
    assert main(["step", "--variant", "rnn", "--backward-graph", "-o", str(out)]) == 0
    assert "backward" in out.read_text(encoding="utf-8")
    assert main(["step", "--variant", "rnn", "--view", "cell", "--backward-graph", "-o", str(tmp_path / "x.html")]) == 2
