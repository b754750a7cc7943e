"""Notebook 03 in a real JupyterLab (127.0.0.1, headless Chromium at 1600×1200, default
layout with the file browser open): run all cells, click through every step of its steppers
(labels ≥ 11 px, the close-up inside the window), save, stop the kernel, reopen: the saved
steppers still step, and no "model not found" anywhere."""
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browsing import STATE_JS, browser, shots, wait_for  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "03_stepping_through_backprop.ipynb"

#: the notebook panel's API (JupyterLab started with expose_app_in_browser)
PANEL = "const panel = window.jupyterapp.shell.currentWidget; const nb = panel.content;"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_answers(url):
    try:
        with urllib.request.urlopen(f"{url}/api/status", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, folder / NOTEBOOK)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"JUPYTER_CONFIG_DIR": str(folder / ".config"), "JUPYTER_DATA_DIR": str(folder / ".data"),
           "JUPYTERLAB_WORKSPACES_DIR": str(folder / ".workspaces"), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    log = open(folder / "jupyter.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", "--allow-root",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={folder}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
    try:
        deadline = time.monotonic() + 60
        while not server_answers(url):
            assert server.poll() is None and time.monotonic() < deadline, (folder / "jupyter.log").read_text()
            time.sleep(0.2)                    # polling the server's status until it answers
        yield url, folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def open_notebook(browser, url):
    browser.get(f"{url}/lab/tree/{NOTEBOOK}?reset")
    wait_for(browser, lambda d: d.execute_script(
        "const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; "
        "return !!(w && w.content && w.content.widgets && w.content.widgets.length && w.context.isReady);"),
        timeout=60, message="the notebook to open")


def stepper_cells(browser):
    """Indices of the code cells whose output is a stepper page, with their source."""
    return browser.execute_script(PANEL + """
        return nb.widgets.map((c, i) => [i, c.model.sharedModel.getSource(),
                                         JSON.stringify(c.model.type === 'code' ? c.model.outputs.toJSON() : [])])
                         .filter(x => x[2].includes('tg-stepper-frame')).map(x => [x[0], x[1]]);""")


def frame_of(browser, index):
    """Scroll cell ``index`` into view and return its stepper iframe once its page has started."""
    browser.execute_script(PANEL + "nb.activeCellIndex = arguments[0]; nb.scrollToItem(arguments[0], 'start');", index)
    frame = wait_for(browser, lambda d: d.execute_script(
        PANEL + "return nb.widgets[arguments[0]].node.querySelector('iframe.tg-stepper-frame');", index),
        message=f"cell {index}'s stepper frame")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", frame)
    browser.switch_to.frame(frame)
    wait_for(browser, lambda d: d.execute_script(
        "const t = document.querySelector('[data-role=step-title]'); return t && t.textContent.startsWith('step')"),
        message="the stepper page inside the frame")
    return frame


def state_in(browser, frame):
    """The page's state, and where its close-up sits in the JupyterLab window."""
    s = browser.execute_script(STATE_JS)
    browser.switch_to.default_content()
    box = browser.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                 "return {left: r.left, right: r.right, top: r.top, width: innerWidth, height: innerHeight};",
                                 frame)
    browser.switch_to.frame(frame)
    s["frame"] = box
    return s


def next_step(browser, k):
    browser.find_element("css selector", '[data-role="next"]').click()
    wait_for(browser, lambda d: d.execute_script(STATE_JS)["k"] == k + 1, message=f"step {k + 2}")


def test_notebook_03_steppers_in_jupyterlab_step_legibly_and_survive_save_and_reopen(browser, lab, shots):
    url, folder = lab
    open_notebook(browser, url)
    wait_for(browser, lambda d: d.execute_script(
        PANEL + "const k = panel.sessionContext.session && panel.sessionContext.session.kernel; "
                "return !!k && k.status === 'idle';"), timeout=90, message="the kernel")
    browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
    wait_for(browser, lambda d: d.execute_script(PANEL + """
        const k = panel.sessionContext.session.kernel;
        return k.status === 'idle' && nb.widgets.every(c => c.model.type !== 'code' || c.model.executionCount);"""),
             timeout=240, message="all cells to run")
    errors = browser.execute_script(PANEL + "return nb.widgets.filter(c => c.model.type === 'code' && "
                                            "JSON.stringify(c.model.outputs.toJSON()).includes('\"error\"')).length;")
    assert errors == 0
    cells = stepper_cells(browser)
    assert len(cells) >= 5, cells
    shots(browser, "lab_03_after_run_all")

    # every step of each whole stepper (the cells that show `stepper`, `cell_stepper[...]`, `stepper2`)
    whole = [i for i, source in cells if source.strip().splitlines()[-1] in ("stepper", "stepper2")
             or "cell_stepper[" in source]
    assert len(whole) == 3, cells
    smallest = {}
    for index in whole:
        frame = frame_of(browser, index)
        s = state_in(browser, frame)
        browser.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Home'}));")
        wait_for(browser, lambda d: d.execute_script(STATE_JS)["k"] == 0, message="step 1")
        sizes = []
        for k in range(s["total"]):
            s = state_in(browser, frame)
            assert s["k"] == k and s["title"] == f"step {k + 1} of {s['total']}" and s["slider"] == str(k + 1)
            assert sorted(s["current"]) == sorted(s["expected"]) and not s["missing"], (index, k, s)
            assert s["minPx"] >= 11, (index, k, s["minPx"])
            assert s["inside"] and s["frame"]["right"] <= s["frame"]["width"], (index, k)      # no sideways scrolling
            assert s["frame"]["top"] + s["focusBottom"] <= s["frame"]["height"], (index, k)      # nor down to it
            sizes.append(s["minPx"])
            if k in (0, s["total"] // 2):
                shots(browser, f"lab_03_cell{index}_step{k + 1:02d}")
            if k + 1 < s["total"]:
                next_step(browser, k)
        smallest[index] = (min(sizes), s["total"])
        browser.switch_to.default_content()
    print("smallest close-up label per stepper (px, steps):", json.dumps(smallest))

    check_zoomable_drawing(browser, shots)

    # save, stop the kernel, reopen: the saved outputs still step
    browser.execute_script("window.jupyterapp.commands.execute('docmanager:save');")
    wait_for(browser, lambda d: d.execute_script(PANEL + "return !panel.context.model.dirty;"), message="the save")
    saved = json.loads((folder / NOTEBOOK).read_text(encoding="utf-8"))
    assert sum("tg-stepper-frame" in json.dumps(c.get("outputs", [])) for c in saved["cells"]) == len(cells)
    for session in json.load(urllib.request.urlopen(f"{url}/api/sessions")):
        urllib.request.urlopen(urllib.request.Request(f"{url}/api/sessions/{session['id']}", method="DELETE"))
    browser.get("about:blank")
    open_notebook(browser, url)
    index = whole[-1]
    frame = frame_of(browser, index)
    before = state_in(browser, frame)
    next_step(browser, before["k"])
    after = state_in(browser, frame)
    assert after["title"] == f"step {before['k'] + 2} of {before['total']}"
    assert sorted(after["current"]) == sorted(after["expected"]) and after["minPx"] >= 11
    shots(browser, "lab_03_reopened_after_next")
    browser.switch_to.default_content()
    assert "model not found" not in browser.find_element("tag name", "body").text


ZOOM_JS = r"""
const box = arguments[0], svg = box.querySelector('svg'), r = svg.getBoundingClientRect();
const area = box.closest('.jp-OutputArea-output').getBoundingClientRect();
const seen = Array.from(svg.querySelectorAll('text')).filter(t => {
  const b = t.getBoundingClientRect();
  return t.textContent.trim() && b.left >= r.left && b.right <= r.right && b.top >= r.top && b.bottom <= r.bottom;
});
const px = seen.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
return {zoomed: box.classList.contains('zoomed'), width: r.width, area: area.width, right: r.right,
        window: innerWidth, visible: seen.length, minPx: px.length ? Math.min(...px) : null};
"""


def check_zoomable_drawing(browser, shots):
    """tg.draw(L)'s output fits the output area's width; a click zooms in to legible labels."""
    index = browser.execute_script(PANEL + "return nb.widgets.findIndex(c => c.model.sharedModel.getSource().trim() "
                                           "=== 'tg.draw(L)');")
    assert index >= 0
    browser.execute_script(PANEL + "nb.scrollToItem(arguments[0], 'start');", index)
    box = wait_for(browser, lambda d: d.execute_script(
        PANEL + "return nb.widgets[arguments[0]].node.querySelector('.tg-zoom');", index), message="the drawing")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", box)
    whole = browser.execute_script(ZOOM_JS, box)
    assert not whole["zoomed"] and whole["width"] <= whole["area"] + 1 and whole["right"] <= whole["window"]
    shots(browser, "lab_03_drawing_whole")
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(box).click().perform()
    wait_for(browser, lambda d: d.execute_script(ZOOM_JS, box)["zoomed"], message="the drawing to zoom in")
    zoomed = browser.execute_script(ZOOM_JS, box)
    assert zoomed["visible"] > 5 and zoomed["minPx"] >= 11, zoomed
    shots(browser, "lab_03_drawing_zoomed")
    print(f"tg.draw(L) in the notebook: {whole['width']:.0f} px wide, labels {whole['minPx']:.1f} px; "
          f"zoomed in: {zoomed['minPx']:.1f} px")
