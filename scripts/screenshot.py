#!/usr/bin/env python
"""Sign in to a running portal and save full-page screenshots: screenshot.py URL USER PASSWORD OUT.png [PATH ...]."""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    base, user, password, out, *paths = sys.argv[1:]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for i, path in enumerate(paths or ["/"]):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            target = out if i == 0 else out.replace(".png", f"-{i}.png")
            page.screenshot(path=target, full_page=True)
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
