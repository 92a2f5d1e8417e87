"""Take the README's screenshot of a running dashboard in headless Chromium.

usage: SCREENSHOT_USER=demo-admin SCREENSHOT_PASSWORD=... .venv/bin/python docs/screenshot.py [URL] [OUT]
       SCREENSHOT_USER=... SCREENSHOT_PASSWORD=... .venv/bin/python docs/screenshot.py hotspots [URL] [OUT]

The browser logs in first as SCREENSHOT_USER (a user of any role; ``make run`` prints the demo
users' passwords once). URL defaults to the situation page of ``make run``
(http://127.0.0.1:8050/) at the regional view with every layer on, OUT to
docs/screenshot-situation.png. The page is shown at 1600 x 1000; the newest incident of the
feed is then opened through the URL (``sel=``), so its details panel shows while the map keeps
the regional view.

``hotspots`` takes the hotspot layer's screenshot instead (docs/screenshot-hotspots.png): the
Gi* classes along the Serbian borders with Hungary and Croatia, a hexagon's tooltip, no
incident selected (it needs ``borderwatch analyse hotspots``, which ``demo load`` runs).

A crossing page URL (``http://127.0.0.1:8050/bcp/RS-HR-BATROVCI``) is shot whole, 1400 px wide
and as tall as the page, once every chart has drawn (OUT defaults to
docs/screenshot-crossing.png).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.common.by import By

DEFAULT_URL = ("http://127.0.0.1:8050/?lat=42.60000&lon=21.60000&z=7"
               "&layers=sections,bcps,incidents,hotspots,patrol")
DEFAULT_OUT = Path(__file__).resolve().parent / "screenshot-situation.png"
HOTSPOTS_URL = "http://127.0.0.1:8050/?lat=45.45000&lon=19.60000&z=8&layers=sections,bcps,hotspots"
HOTSPOTS_OUT = Path(__file__).resolve().parent / "screenshot-hotspots.png"


def _wait(driver: webdriver.Chrome, css: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if driver.find_elements(By.CSS_SELECTOR, css):
            return
        time.sleep(0.25)
    raise SystemExit(f"nothing matched {css!r} within {timeout:.0f} s: is the dashboard up?")


def _login(driver: webdriver.Chrome, url: str) -> None:
    user, password = os.environ.get("SCREENSHOT_USER"), os.environ.get("SCREENSHOT_PASSWORD")
    if not user or not password:
        raise SystemExit("set SCREENSHOT_USER and SCREENSHOT_PASSWORD (a dashboard user) first")
    parts = urlsplit(url)
    driver.get(f"{parts.scheme}://{parts.netloc}/login?next=/healthz")
    _wait(driver, "#bw-login-form")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "bw-login-submit").click()
    end = time.monotonic() + 30
    while not driver.current_url.endswith("/healthz"):
        if time.monotonic() > end:
            raise SystemExit(f"the login of {user} was refused")
        time.sleep(0.25)


def main(url: str = DEFAULT_URL, out: Path = DEFAULT_OUT) -> None:
    options = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options)
    try:
        _login(driver, url)
        driver.get(url)
        _wait(driver, ".bw-feed-item")
        newest = driver.find_elements(By.CSS_SELECTOR, ".bw-feed-item")[0].get_attribute("id")
        pk = "".join(ch for ch in (newest or "") if ch.isdigit())
        if pk:
            driver.get(f"{url}&sel={pk}")
        _wait(driver, ".leaflet-bw-sections-pane path")
        _wait(driver, ".leaflet-bw-hotspots-pane path")
        _wait(driver, ".bw-detail-title")
        time.sleep(2.0)  # the fly-to animation and the tiles of the offline basemap
        driver.save_screenshot(str(out))
        print(f"saved {out}")
    finally:
        driver.quit()


def hotspots(url: str = HOTSPOTS_URL, out: Path = HOTSPOTS_OUT) -> None:
    """The hotspot layer with the legend and the tooltip of the strongest hexagon in view."""
    from selenium.webdriver.common.action_chains import ActionChains

    options = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options)
    try:
        _login(driver, url)
        driver.get(url)
        _wait(driver, ".leaflet-bw-hotspots-pane path")
        _wait(driver, ".leaflet-bw-sections-pane path")
        time.sleep(2.0)
        cells = driver.find_elements(By.CSS_SELECTOR, ".leaflet-bw-hotspots-pane path")
        ActionChains(driver).move_to_element(cells[0]).perform()
        time.sleep(1.0)
        driver.save_screenshot(str(out))
        print(f"saved {out}")
    finally:
        driver.quit()


def crossing(url: str, out: Path) -> None:
    """The whole crossing page at ``url``, every section drawn."""
    options = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options)
    driver.set_script_timeout(120)  # a busy machine renders the charts slowly
    try:
        driver.get(url)
        _wait(driver, ".bw-crossing-head h1")
        end = time.monotonic() + 60
        while time.monotonic() < end and driver.execute_script(
                "return document.querySelectorAll('.js-plotly-plot .main-svg').length < 5"
                " || document.querySelector('#bcp-incidents-total').textContent === '…'"):
            time.sleep(0.5)
        height = int(driver.execute_script(
            "return document.querySelector('.bw-crossing').scrollHeight")) + 160
        driver.set_window_size(1400, height)
        time.sleep(3.0)  # charts resize to the new window, the small map's basemap draws
        driver.save_screenshot(str(out))
        print(f"saved {out}")
    finally:
        driver.quit()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "hotspots":
        hotspots(sys.argv[2] if len(sys.argv) > 2 else HOTSPOTS_URL,
                 Path(sys.argv[3]) if len(sys.argv) > 3 else HOTSPOTS_OUT)
    elif len(sys.argv) > 1 and "/bcp/" in sys.argv[1]:
        crossing(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2
                 else DEFAULT_OUT.with_name("screenshot-crossing.png"))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_URL,
             Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_OUT)
