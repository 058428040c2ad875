"""``arena rate serve``: the rating page, driven in real headless Chromium.

A rater rates pairs with the mouse and with the keyboard, reloads mid-way, answers one
pair in two tabs; every answer is then found in the run's database exactly once, the
first answers of the pair answered twice kept. A ``<script>`` written by an agent and a
rater's name with markup are shown as text.
"""

from __future__ import annotations

import os
import select
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.browser import chromium

REPO = Path(__file__).resolve().parents[2]
ARENA = str(Path(sys.executable).parent / "arena")
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
SCRIPT = "<script>window.pwned = 1; alert('x')</script> & <b>bold</b> words"


def arena(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([ARENA, *map(str, args)], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=180)


def writers_run(directory: Path, *, episodes: int = 4, seed: int = 11) -> Path:
    """Three built-in writers, one of which writes markup, answering the same prompts."""
    config = {"name": "writers", "seed": seed,
              "game": {"id": "creative_writing", "semantic": False},
              "format": {"type": "solo", "episodes": episodes},
              "agents": [{"name": "writer_fixed", "type": "fixed_text"},
                         {"name": "writer_markup", "type": "fixed_text", "text": SCRIPT},
                         {"name": "writer_template", "type": "template_writer"}]}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "writers.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    done = arena("run", path, "--no-live", "--out", directory / "run")
    assert done.returncode == 0, done.stderr
    # where to go next
    assert f"Report: arena report {directory / 'run'}" in done.stdout
    assert f"Judge texts: arena rate serve {directory / 'run'}\n" in done.stdout
    return directory / "run"


@contextmanager
def serving(run: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``arena rate serve`` on a free port; yields its printed URL once it is printed."""
    proc = subprocess.Popen([ARENA, "rate", "serve", str(run), "--port", "0", *args],
                            cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while " at http" not in line:
            assert proc.poll() is None, proc.stderr.read()
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            assert time.monotonic() < deadline, "the server printed no address"
            if ready:
                line = proc.stdout.readline()
        yield line.split(" at ", 1)[1].strip(), proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def stored(run: Path) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(run / "arena.db")
    try:
        return sorted(conn.execute("SELECT rater, pair_id, criterion, choice FROM judgements"))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return writers_run(tmp_path_factory.mktemp("rating-page"))


def test_rating_with_mouse_and_keyboard_stores_every_answer_once(run: Path,
                                                                 tmp_path: Path) -> None:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    rater = "<i>Ann</i> & co"
    expected: dict[str, dict[str, str]] = {}
    script_seen: list[tuple[str, int]] = []

    with serving(run) as (url, _), chromium(tmp_path / "profile") as browser:
        # a page being replaced by the next one: look again
        wait = WebDriverWait(browser, 60, ignored_exceptions=(
            StaleElementReferenceException, NoSuchElementException))

        def progress() -> str:
            return browser.find_element(By.ID, "progress").text

        def after_save(before: str) -> None:
            wait.until(lambda b: b.find_elements(By.ID, "progress") and progress() != before)

        def current() -> str:
            return browser.find_element(By.NAME, "pair_id").get_attribute("value")

        def look() -> None:
            for side in ("left", "right"):
                if "<script>" in browser.find_element(By.ID, side).text:
                    script_seen.append((browser.find_element(By.ID, side).text,
                                        browser.execute_script("return document.scripts.length")))

        browser.get(url)
        # the name field has the focus: type the name and press Enter
        browser.switch_to.active_element.send_keys(rater + Keys.ENTER)
        wait.until(lambda b: b.find_elements(By.ID, "progress"))
        assert browser.find_element(By.ID, "who").text == rater
        assert progress().startswith("0 of ")
        total = int(progress().split(" of ")[1].split()[0])
        assert total >= 8

        # with the mouse: click one option per question, then the button
        for choices in ({"original": "left", "pleasant": "tie", "preferred": "right"},
                        {"original": "right", "pleasant": "right", "preferred": "left"}):
            look()
            pid, before = current(), progress()
            for criterion, choice in choices.items():
                browser.find_element(By.ID, f"{criterion}-{choice}").click()
            browser.find_element(By.ID, "save").click()
            after_save(before)
            expected[pid] = choices

        # a reload mid-way shows the same unanswered pair and stores nothing
        pid = current()
        browser.refresh()
        wait.until(lambda b: b.find_elements(By.NAME, "pair_id"))
        assert current() == pid and progress().startswith("2 of ")

        # with the keyboard alone: Space picks, Tab moves on, arrows choose, Enter saves
        for _ in range(3):
            look()
            pid, before = current(), progress()
            # the first question has the focus once the page is shown
            wait.until(lambda b: b.switch_to.active_element.get_attribute("id")
                       == "original-left")
            browser.switch_to.active_element.send_keys(Keys.SPACE, Keys.TAB)  # original: left
            browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT, Keys.TAB)  # tie
            browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT,
                                                       Keys.ENTER)  # preferred: right
            after_save(before)
            expected[pid] = {"original": "left", "pleasant": "tie", "preferred": "right"}

        # the same pair open in two tabs: the first save stands, the second is not stored
        pid, first_tab = current(), browser.current_window_handle
        browser.switch_to.new_window("tab")
        browser.get(_rate_url(url, rater))
        wait.until(lambda b: b.find_elements(By.NAME, "pair_id"))
        assert current() == pid
        for criterion in ("original", "pleasant", "preferred"):
            browser.find_element(By.ID, f"{criterion}-tie").click()
        before = progress()
        browser.find_element(By.ID, "save").click()
        after_save(before)
        expected[pid] = {"original": "tie", "pleasant": "tie", "preferred": "tie"}
        browser.switch_to.window(first_tab)
        for criterion in ("original", "pleasant", "preferred"):
            browser.find_element(By.ID, f"{criterion}-left").click()
        before = progress()
        browser.find_element(By.ID, "save").click()
        wait.until(lambda b: "answered already" in b.page_source)

        # rate on to the end, so every pair (and the one with markup) comes by
        while browser.find_elements(By.NAME, "pair_id"):
            look()
            pid, before = current(), progress()
            for criterion in ("original", "pleasant", "preferred"):
                browser.find_element(By.ID, f"{criterion}-right").click()
            browser.find_element(By.ID, "save").click()
            wait.until(lambda b, pid=pid: not b.find_elements(By.NAME, "pair_id")
                       or b.find_element(By.NAME, "pair_id").get_attribute("value") != pid)
            expected[pid] = dict.fromkeys(("original", "pleasant", "preferred"), "right")
        assert progress().startswith(f"{total} of {total}")
        assert browser.execute_script("return window.pwned === undefined")

    assert len(expected) == total
    assert stored(run) == sorted((" ".join(rater.split()), p, c, v)
                                 for p, answers in expected.items() for c, v in answers.items())
    # the agent's <script> is on the page as text, and the page runs no script at all
    assert script_seen and all(SCRIPT in text and scripts == 0 for text, scripts in script_seen)


def _rate_url(url: str, rater: str) -> str:
    from urllib.parse import urlencode

    base, token = url.split("/?token=")
    return f"{base}/rate?{urlencode({'token': token, 'rater': rater})}"


def test_every_request_needs_the_token_and_another_host_warns(run: Path) -> None:
    with serving(run, "--host", "127.0.0.2") as (url, proc):
        base = url.split("/?token=")[0]
        for bad in (f"{base}/", f"{base}/?token=nope", f"{base}/rate?rater=x"):
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(bad, timeout=30)
            assert caught.value.code == 403
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
            assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "warning: listening on 127.0.0.2" in err


def test_a_run_without_texts_is_one_clear_line(tmp_path: Path) -> None:
    config = {"name": "numbers", "seed": 1,
              "game": {"id": "random_number", "low": 0, "high": 10, "length": 1},
              "format": {"type": "solo", "episodes": 2},
              "agents": [{"name": "random", "type": "uniform_random"}]}
    path = tmp_path / "n.yaml"
    path.write_text(yaml.safe_dump(config))
    ran = arena("run", path, "--no-live", "--out", tmp_path / "run")
    assert ran.returncode == 0, ran.stderr
    assert "Report: arena report" in ran.stdout
    assert "Judge texts: arena rate serve" in ran.stdout and "creative-writing" in ran.stdout
    done = arena("rate", "serve", tmp_path / "run", "--port", "0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no texts to judge" in done.stderr
