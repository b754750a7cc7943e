"""Headless Chromium for the tests that check what a person sees: the fixtures (Debian's
chromium + chromium-driver driven by selenium), what the tests read from a stepper page's DOM,
and how they wait for it. Screenshots of every checked state go to out/browser-screenshots/.
Without Chromium the tests are skipped, unless TINYGRAPH_BROWSER_TESTS=required (CI) makes that
a failure."""
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "browser-screenshots"
CHROMIUM, DRIVER = "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _missing():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, DRIVER):
        if not Path(path).exists():
            return f"{path} not found (apt-get install chromium chromium-driver; `bash run.sh setup` does it)"
    return None


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium window of 1600×1200."""
    missing = _missing()
    if missing:
        if os.environ.get("TINYGRAPH_BROWSER_TESTS") == "required":
            pytest.fail(missing)
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1200",
                "--force-device-scale-factor=1", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_window_size(1600, 1200)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def shots():
    """save(driver, name): a screenshot of the window into out/browser-screenshots/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(driver, name):
        path = SHOTS / f"{name}.png"
        driver.save_screenshot(str(path))
        return path

    return save


#: returns the title, the current node's groups, and the close-up's label sizes and placement
STATE_JS = r"""
const page = document.querySelector('.tg-stepper');
const data = JSON.parse(document.querySelector('script[data-role="data"]').textContent);
const title = page.querySelector('[data-role="step-title"]').textContent;
const k = parseInt(title.split(' ')[1], 10) - 1;
const overview = page.querySelector('[data-role="overview"] svg');
const current = Array.from(overview.querySelectorAll('g.current')).map(g => g.id);
const focus = page.querySelector('[data-role="focus"]');
const fsvg = focus.querySelector('svg');
const texts = Array.from(fsvg.querySelectorAll('g[data-of] text')).filter(t => t.textContent.trim());
const px = texts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
const shown = Array.from(fsvg.querySelectorAll('g[data-of]')).map(g => g.getAttribute('data-of'));
const f = data.steps[k].focus;
const wanted = f.current.concat(f.inputs.map(i => i.v), [].concat(...f.consumers.map(c => c.v)));
const box = fsvg.getBoundingClientRect(), holder = focus.getBoundingClientRect();
const mathOk = Array.from(page.querySelectorAll('[data-role="numbers"] math'))
  .every(m => m.getBoundingClientRect().width > 0);
return {title: title, k: k, total: data.steps.length, current: current, expected: data.steps[k].current,
        slider: page.querySelector('[data-role="slider"]').value,
        minPx: px.length ? Math.min(...px) : null, labels: texts.length,
        missing: wanted.filter(id => !shown.includes(id)),
        inside: box.left >= holder.left - 1 && box.right <= holder.right + 1 && box.right <= window.innerWidth,
        focusTop: box.top, focusBottom: box.bottom, viewport: window.innerHeight,
        math: mathOk, currentInFocus: fsvg.querySelectorAll('g.current[data-of]').length};
"""


def wait_for(driver, condition, timeout=30, message="condition"):
    """Wait until ``condition(driver)`` is truthy (polled; no fixed sleeps)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, message=f"timed out waiting for {message}")
