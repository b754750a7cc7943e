"""The stepper page in a narrow (800 px) and a wide (1,920 px) Chromium window: at every step
the close-up's labels, its arrows' included, are at least 11 px tall, the close-up fits the
window (in a narrow one its inputs go above the node and its consumers below), and neither
the page nor its controls run off the side."""
import pytest

from browsing import STATE_JS, browser, shots, wait_for  # noqa: F401 (fixtures)

LAYOUT_JS = r"""
const fsvg = document.querySelector('[data-role=focus] svg');
const px = t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
const arrows = Array.from(fsvg.querySelectorAll('text.grad')).filter(t => t.textContent.trim()).map(px);
const controls = Array.from(document.querySelectorAll('.bar > *, .whole-bar > *')).map(e => e.getBoundingClientRect());
return {layout: fsvg.getAttribute('data-layout'), arrowPx: arrows.length ? Math.min(...arrows) : null,
        pageWidth: document.documentElement.scrollWidth, window: window.innerWidth,
        controlsInside: controls.every(b => b.left >= 0 && b.right <= window.innerWidth)};
"""


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    from lstm.commands.step import make_stepper

    stepper = make_stepper("blog", "ops", 2)
    return stepper, stepper.save_html(tmp_path_factory.mktemp("widths") / "blog.html")


def every_step(browser, page_path, width):
    """Open the page in a window ``width`` px wide and yield each step's index once it shows."""
    stepper, path = page_path
    browser.set_window_size(width, 1100)
    try:
        browser.get(path.as_uri())
        wait_for(browser, lambda d: d.execute_script("return window.innerWidth") == width, message=f"{width} px")
        for k in range(len(stepper)):
            wait_for(browser, lambda d: d.execute_script(STATE_JS)["k"] == k, message=f"step {k + 1}")
            yield k
            browser.execute_script("document.querySelector('[data-role=next]').click()")
    finally:
        browser.set_window_size(1600, 1200)


@pytest.mark.parametrize("width", [800, 1920])
def test_every_steps_close_up_is_legible_and_fits_the_window(browser, page_path, shots, width):
    smallest, layouts = 99.0, set()
    for k in every_step(browser, page_path, width):
        s, room = browser.execute_script(STATE_JS), browser.execute_script(LAYOUT_JS)
        assert not s["missing"] and s["inside"], (width, k, s)                  # no sideways scrolling
        assert s["minPx"] >= 11 and (room["arrowPx"] is None or room["arrowPx"] >= 11), (width, k, s, room)
        assert room["pageWidth"] <= room["window"] and room["controlsInside"], (width, k, room)
        smallest = min(smallest, s["minPx"], room["arrowPx"] or 99)
        layouts.add(room["layout"])
        if k == 29:
            shots(browser, f"page_{width}px_step_30")
    print(f"{width} px: smallest close-up label {smallest:.1f} px, layouts {sorted(layouts)}")
    if width == 800:            # inputs above and consumers below; H_t [t=1]'s six, one below the other
        assert {"down", "list"} <= layouts
    else:
        assert layouts == {"across"}


FORMULAS_JS = r"""
return Array.from(document.querySelectorAll('[data-role=numbers] .eq math')).map(m => ({
  px: parseFloat(getComputedStyle(m).fontSize), width: m.getBoundingClientRect().width,
  room: m.closest('.eqs').clientWidth}));
"""


@pytest.mark.parametrize("width", [800, 1920])
def test_every_rule_fits_its_column_at_12_px_or_more(browser, page_path, shots, width):
    smallest, shrunk = 99.0, 0
    for k in every_step(browser, page_path, width):
        for f in browser.execute_script(FORMULAS_JS):
            assert f["px"] >= 12 and f["width"] <= f["room"] + 1, (width, k, f)
            smallest, shrunk = min(smallest, f["px"]), shrunk + (f["px"] < 17)
        if k == 18:
            shots(browser, f"page_{width}px_step_19_rule")
    print(f"{width} px: smallest formula {smallest:.1f} px, {shrunk} set smaller than 17 px")
