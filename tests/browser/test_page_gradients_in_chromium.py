"""What the stepper page's whole graph says about gradients, read from Chromium's computed
styles: an edge shows nothing of its gradient (label, width, colour) until backward sends along
it, then the sum sent so far at its width on the walk's one scale; a record hides its gradient
until backward reaches it. On the blog's cell view, whose H_t-1 fans out to four gates."""
import pytest

from browsing import browser, shots, wait_for  # noqa: F401 (fixtures)

EDGE_JS = r"""
const g = document.getElementById(arguments[0]), path = g.querySelector('path'), text = g.querySelector('text');
const style = getComputedStyle(path);
return {unsent: g.classList.contains('unsent'), lit: g.classList.contains('lit'),
        width: parseFloat(style.strokeWidth), stroke: style.stroke, dashed: style.strokeDasharray !== 'none',
        label: text ? text.textContent : null, shown: text ? getComputedStyle(text).visibility === 'visible' : null};
"""

#: the gradient rows (in tinygraph.draw's GRAD_FONT) of a vertex in the whole graph and of its close-up copies
RECORD_JS = r"""
const id = arguments[0];
const rows = function (g) { return Array.from(g.querySelectorAll('text'))
  .filter(t => (t.getAttribute('fill') || '').toLowerCase() === '#b2182b'); };
const whole = rows(document.getElementById(id));
const copies = Array.from(document.querySelectorAll('[data-role=focus] g[data-of="' + id + '"]')).map(rows);
const visible = t => getComputedStyle(t).visibility === 'visible';
return {rows: whole.length, shown: whole.some(visible), copies: copies.length,
        copyShown: copies.map(c => c.some(visible))};
"""


@pytest.fixture(scope="module")
def cell_page(browser, tmp_path_factory):
    from lstm.commands.step import make_stepper
    from tinygraph.present.page import page_data

    stepper = make_stepper("blog", "cell", 1)
    path = stepper.save_html(tmp_path_factory.mktemp("cell") / "cell.html")
    data = page_data(stepper, stepper.overview(), 0)
    browser.get(path.as_uri())
    return stepper, data, browser


def go(browser, k):
    browser.execute_script("const s = document.querySelector('[data-role=slider]'); s.value = arguments[0]; "
                           "s.dispatchEvent(new Event('input'));", k + 1)
    wait_for(browser, lambda d: d.execute_script(
        "return document.querySelector('[data-role=step-title]').textContent").startswith(f"step {k + 1} of"),
        message=f"step {k + 1}")


def test_an_edge_shows_its_gradient_only_once_sent_and_then_the_sum_so_far(cell_page, shots):
    stepper, data, browser = cell_page
    eid, changes = max(data["edges"].items(), key=lambda item: len(item[1]))
    assert len(changes) >= 3 and changes[0][0] > 0                       # a sum of several parts
    go(browser, changes[0][0] - 1)
    before = browser.execute_script(EDGE_JS, eid)
    assert before["unsent"] and not before["shown"] and before["dashed"]
    assert before["width"] == 1 and before["stroke"] == "rgb(176, 176, 176)"      # grey, not its final look
    for step, label, width, _ in changes:
        go(browser, step)
        now = browser.execute_script(EDGE_JS, eid)
        assert not now["unsent"] and now["shown"] and now["label"] == label, (step, now)
        assert now["width"] == pytest.approx(max(3, width) if now["lit"] else width, abs=0.01), (step, now)
        assert now["stroke"] != "rgb(176, 176, 176)"
        if step == changes[0][0]:
            shots(browser, "page_cell_edge_first_part")
    assert changes[0][1] != changes[-1][1] and changes[0][2] != changes[-1][2]   # the first part is not the sum
    go(browser, changes[0][0] - 1)                                             # and stepping back hides it again
    assert browser.execute_script(EDGE_JS, eid)["unsent"]


def test_edge_widths_compare_across_steps_on_one_scale(cell_page):
    stepper, data, browser = cell_page
    last = len(stepper) - 1
    go(browser, last)
    seen = []
    for eid, changes in data["edges"].items():
        now = browser.execute_script(EDGE_JS, eid)
        if not now["lit"]:
            seen.append((changes[-1][3], now["width"]))
    seen.sort()
    assert all(w1 <= w2 + 1e-9 for (_, w1), (_, w2) in zip(seen, seen[1:]))      # larger norm, wider edge
    lo, hi = data["scale"]["low"], data["scale"]["high"]
    legend = browser.find_element("css selector", '[data-role="width-legend"]').text
    assert f"{lo:.2g}" in legend and f"{hi:.3g}" in legend


def test_a_record_shows_its_gradient_only_once_backward_reaches_it(cell_page, shots):
    stepper, data, browser = cell_page
    vid, since = max(((v, s) for v, s in data["since"].items()
                      if browser.execute_script(RECORD_JS, v)["rows"]), key=lambda item: item[1])
    assert since > 0
    consumer = next(k for k in range(since) if any(i["v"] == vid for i in data["steps"][k]["focus"]["inputs"]))
    go(browser, consumer)                              # an input of the current node, not reached yet
    record = browser.execute_script(RECORD_JS, vid)
    assert not record["shown"] and record["copies"] and not any(record["copyShown"])
    shots(browser, "page_cell_record_not_reached")
    go(browser, since)
    record = browser.execute_script(RECORD_JS, vid)
    assert record["shown"] and all(record["copyShown"])
