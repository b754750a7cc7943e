"""The stepper page opened from file:// in headless Chromium with the network off: buttons,
arrow keys and the slider move it, the title and the highlighted node follow, and every
step's close-up shows the current node, its inputs and its consumers with labels ≥ 11 px."""
import numpy as np
import pytest

from lstm.cells import BlogLSTM
from lstm.losses import ce
from tinygraph.present import Stepper

from browsing import STATE_JS, browser, shots, wait_for  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    cell = BlogLSTM(input_size=2, hidden_size=3, seed=0)
    run = cell.unroll(np.array([[[0.5, -1.0]], [[1.0, 0.3]]]))
    stepper = Stepper(ce([run.outputs[-1]], targets=np.array([[2]])))
    return stepper, stepper.save_html(tmp_path_factory.mktemp("page") / "backprop.html")


@pytest.fixture(scope="module")
def opened(browser, page_file):
    stepper, path = page_file
    browser.set_network_conditions(offline=True, latency=0, throughput=0)
    browser.get(path.as_uri())
    wait_for(browser, lambda d: d.execute_script(
        "return document.querySelector('[data-role=step-title]').textContent") == f"step 1 of {len(stepper)}",
        message="the page's first step")
    yield stepper, browser
    browser.delete_network_conditions()


def state(browser):
    return browser.execute_script(STATE_JS)


def click(browser, role):
    browser.find_element("css selector", f'[data-role="{role}"]').click()


def key(browser, name):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(browser).send_keys(getattr(Keys, name)).perform()


def at_step(browser, k):
    wait_for(browser, lambda d: state(d)["k"] == k, message=f"step {k + 1}")
    return state(browser)


def test_the_page_loads_offline_and_fetches_nothing(opened, shots):
    stepper, browser = opened
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    s = state(browser)
    assert s["title"] == f"step 1 of {len(stepper)}" and s["slider"] == "1"
    assert sorted(s["current"]) == sorted(s["expected"]) and s["math"]
    shots(browser, "page_step_01")


def test_buttons_keys_and_slider_step_forward_and_back(opened, shots):
    stepper, browser = opened
    click(browser, "next")
    s = at_step(browser, 1)
    assert s["title"] == f"step 2 of {len(stepper)}" and s["slider"] == "2"
    assert sorted(s["current"]) == sorted(s["expected"]) and s["currentInFocus"] >= 1
    shots(browser, "page_step_02_after_next")
    key(browser, "ARROW_RIGHT")
    key(browser, "ARROW_RIGHT")
    at_step(browser, 3)
    key(browser, "ARROW_LEFT")
    s = at_step(browser, 2)
    assert s["title"] == f"step 3 of {len(stepper)}"
    shots(browser, "page_step_03_after_arrow_keys")
    click(browser, "prev")
    at_step(browser, 1)
    key(browser, "END")
    s = at_step(browser, len(stepper) - 1)
    assert browser.find_element("css selector", '[data-role="next"]').get_attribute("disabled")
    shots(browser, "page_last_step")
    browser.execute_script("const s = document.querySelector('[data-role=slider]'); s.value = 10; "
                           "s.dispatchEvent(new Event('input'));")
    assert at_step(browser, 9)["title"] == f"step 10 of {len(stepper)}"
    key(browser, "HOME")
    at_step(browser, 0)


def test_every_step_shows_the_node_its_inputs_and_consumers_legibly(opened, shots):
    stepper, browser = opened
    smallest = []
    for k in range(len(stepper)):
        s = state(browser)
        assert s["k"] == k
        assert sorted(s["current"]) == sorted(s["expected"]), k
        assert not s["missing"], (k, s["missing"])
        assert s["inside"] and s["focusBottom"] <= s["viewport"], k        # no scrolling needed
        assert s["minPx"] >= 11, (k, s["minPx"])
        smallest.append(s["minPx"])
        if k + 1 < len(stepper):
            key(browser, "ARROW_RIGHT")
            at_step(browser, k + 1)
    print(f"smallest close-up label over {len(stepper)} steps: {min(smallest):.1f} px")


def test_play_moves_on_by_itself_and_pauses(opened):
    stepper, browser = opened
    key(browser, "HOME")
    at_step(browser, 0)
    click(browser, "play")
    wait_for(browser, lambda d: state(d)["k"] >= 1, message="play to reach step 2")
    click(browser, "play")
    paused = state(browser)["k"]
    assert browser.find_element("css selector", '[data-role="play"]').text.endswith("play")
    assert paused >= 1


@pytest.mark.parametrize("variant", ["paper", "peephole", "gru", "rnn"])
def test_every_variants_ops_page_keeps_its_close_up_labels_legible(browser, tmp_path, variant):
    from lstm.commands.step import make_stepper

    stepper = make_stepper(variant, "ops", 1)
    browser.get(stepper.save_html(tmp_path / f"{variant}.html").as_uri())
    smallest = 99.0
    for k in range(len(stepper)):
        s = at_step(browser, k)
        assert not s["missing"] and s["inside"] and sorted(s["current"]) == sorted(s["expected"]), (variant, k)
        smallest = min(smallest, s["minPx"])
        browser.execute_script("document.querySelector('[data-role=next]').click()")
    assert smallest >= 11, (variant, smallest)
    assert not [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
