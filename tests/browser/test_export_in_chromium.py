"""Notebook 03 exported with `jupyter nbconvert --to html --execute` and opened from file://
with the network off: its steppers step (no kernel, nothing fetched for them)."""
import subprocess
import sys
from pathlib import Path

from browsing import STATE_JS, browser, shots, wait_for  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def test_the_exported_notebook_steps_offline(browser, shots, tmp_path):
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--execute", "--output-dir", str(tmp_path),
                    str(ROOT / "notebooks" / "03_stepping_through_backprop.ipynb")], check=True, capture_output=True)
    page = tmp_path / "03_stepping_through_backprop.html"
    browser.set_network_conditions(offline=True, latency=0, throughput=0)
    try:
        browser.get(page.as_uri())
        frames = wait_for(browser, lambda d: d.find_elements("css selector", "iframe.tg-stepper-frame"),
                          message="the stepper frames")
        assert len(frames) >= 5
        frame = frames[-1]
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", frame)
        browser.switch_to.frame(frame)
        before = wait_for(browser, lambda d: d.execute_script(STATE_JS), message="the page inside the frame")
        browser.find_element("css selector", '[data-role="next"]').click()
        wait_for(browser, lambda d: d.execute_script(STATE_JS)["k"] == before["k"] + 1, message="the next step")
        after = browser.execute_script(STATE_JS)
        assert after["title"] == f"step {before['k'] + 2} of {before['total']}" and after["minPx"] >= 11
        assert sorted(after["current"]) == sorted(after["expected"])
        browser.switch_to.default_content()
        shots(browser, "export_03_after_next")
    finally:
        browser.switch_to.default_content()
        browser.delete_network_conditions()
