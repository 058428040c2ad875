"""Headless Chromium for tests: Debian's ``chromium`` and ``chromium-driver`` through
Selenium (browsers cannot be downloaded here). Skips with the reason when either is
missing; ``.ci/run`` installs both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


@contextmanager
def chromium(profile: Path, *, size: str = "1280,2000",
             network_log: bool = False) -> Iterator[Any]:
    """A fresh headless Chromium (its own ``--user-data-dir``), quit afterwards.
    ``network_log``: keep the performance log, so ``get_log("performance")`` shows every
    request the page made."""
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.skip("headless Chromium not installed: apt-get install -y chromium "
                    "chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={size}"):
        options.add_argument(flag)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    browser = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    try:
        browser.set_page_load_timeout(60)
        yield browser
    finally:
        browser.quit()
