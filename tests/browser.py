"""Headless Chromium for the browser tests (the inspector, the live page, the course site), one way to start it.

Imported by the test modules (pytest puts tests/ on the path); skips the test where chromium or its driver is
missing (Debian: apt-get install chromium chromium-driver; .ci/run installs them).
"""

import shutil
import time
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")


def chromium(tmp_path, size: str = "1600,1000", *, offline: bool = False):
    """A headless Chromium (selenium) with its own profile under ``tmp_path`` and the browser's console log
    kept; ``offline``: no host name resolves and the network is switched off (what a classroom without
    internet sees)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and CHROMEDRIVER):
        pytest.skip("needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={size}"):
        options.add_argument(arg)
    if offline:
        options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")  # no host name resolves
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    if offline:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                               {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    return driver


def wait_for(driver, script, timeout: float):
    """Run ``script`` in the page every 50 ms until it returns something true (returned), or fail after
    ``timeout`` seconds naming the script."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")
