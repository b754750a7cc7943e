"""The stepper page's whole graph: a drawing too large to read when fitted (labels under 4 px)
opens zoomed in on the current node and follows it from step to step, the current node (one of
its copies, for a weight drawn once per time step) inside the box at a legible size; "see the
whole" shows the map and stepping keeps it; a drawing that reads when fitted (the cell view)
opens whole."""
import pytest

from browsing import browser, shots, wait_for  # noqa: F401 (fixtures)

OVERVIEW_JS = r"""
const box = document.querySelector('[data-role=overview]'), svg = box.querySelector('svg');
const frame = box.getBoundingClientRect();
const current = Array.from(svg.querySelectorAll('g.node.current')).map(g => g.getBoundingClientRect());
const title = document.querySelector('[data-role=step-title]').textContent;
return {k: parseInt(title.split(' ')[1], 10) - 1, zoomed: box.classList.contains('zoomed'), drawn: current.length,
        labelPx: 9 * svg.getScreenCTM().a,
        inside: current.length > 0 && current.some(r => r.left >= frame.left - 1 && r.right <= frame.right + 1
                                                     && r.top >= frame.top - 1 && r.bottom <= frame.bottom + 1)};
"""


def page(browser, tmp_path, view, steps):
    from lstm.commands.step import make_stepper

    stepper = make_stepper("blog", view, steps)
    browser.get(stepper.save_html(tmp_path / f"{view}.html").as_uri())
    wait_for(browser, lambda d: d.execute_script(OVERVIEW_JS)["k"] == 0, message="the page")
    return stepper


def test_a_graph_too_large_to_read_opens_zoomed_on_the_current_node_and_follows_it(browser, tmp_path, shots):
    stepper = page(browser, tmp_path, "ops", 2)
    for k in range(len(stepper)):
        wait_for(browser, lambda d: d.execute_script(OVERVIEW_JS)["k"] == k, message=f"step {k + 1}")
        s = browser.execute_script(OVERVIEW_JS)
        assert s["zoomed"] and s["inside"] and s["labelPx"] >= 11, (k, s)
        if k == 29:
            browser.execute_script("document.querySelector('[data-role=overview]').scrollIntoView()")
            shots(browser, "page_overview_follows_step_30")
        browser.execute_script("document.querySelector('[data-role=next]').click()")
    browser.execute_script("document.querySelector('[data-role=whole]').click()")
    wait_for(browser, lambda d: not d.execute_script(OVERVIEW_JS)["zoomed"], message="the whole graph")
    assert browser.execute_script(OVERVIEW_JS)["labelPx"] < 4                   # a map, too small to read
    browser.execute_script("document.querySelector('[data-role=prev]').click()")
    wait_for(browser, lambda d: d.execute_script(OVERVIEW_JS)["k"] == len(stepper) - 2, message="a step back")
    assert not browser.execute_script(OVERVIEW_JS)["zoomed"]                    # the reader's choice stays


def test_a_graph_that_reads_when_fitted_opens_whole(browser, tmp_path):
    page(browser, tmp_path, "cell", 1)
    s = browser.execute_script(OVERVIEW_JS)
    assert not s["zoomed"] and s["labelPx"] >= 4, s


def test_a_wide_short_graph_zoomed_in_keeps_room_around_the_node(browser, tmp_path, shots):
    browser.set_window_size(800, 1000)
    try:
        stepper = page(browser, tmp_path, "unrolled", 3)
        for k in range(0, len(stepper), 7):
            browser.execute_script("const s = document.querySelector('[data-role=slider]'); s.value = arguments[0]; "
                                   "s.dispatchEvent(new Event('input'));", k + 1)
            wait_for(browser, lambda d: d.execute_script(OVERVIEW_JS)["k"] == k, message=f"step {k + 1}")
            s = browser.execute_script(OVERVIEW_JS)
            height = browser.execute_script(
                "return document.querySelector('[data-role=overview]').getBoundingClientRect().height")
            assert s["zoomed"] and s["labelPx"] >= 11 and height >= 300, (k, s, height)
            assert s["inside"] or not s["drawn"], (k, s)          # a weight the view does not draw
        browser.execute_script("document.querySelector('[data-role=overview]').scrollIntoView()")
        shots(browser, "page_800px_unrolled_overview_zoomed")
        browser.execute_script("document.querySelector('[data-role=whole]').click()")
        wait_for(browser, lambda d: not d.execute_script(OVERVIEW_JS)["zoomed"], message="the whole graph")
        fitted = browser.execute_script(
            "return document.querySelector('[data-role=overview]').getBoundingClientRect().height")
        assert fitted < 200                             # whole, the box is a thin strip
    finally:
        browser.set_window_size(1600, 1200)
