"""Browser: the monthly report printed to PDF by Chromium is the report without the console around it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.maintenance.test_monthly_report import october  # noqa: F401 - the seeded month (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("october")
def test_the_printed_report_is_clean(
    page: Any,
    live_server: Any,
    sign_in: Any,
    users: dict[str, Any],
    tmp_path: Path,
) -> None:
    sign_in(page, users["viewer"])
    page.goto(f"{live_server.url}/maintenance/reports/2026-10/")
    assert page.locator("h1").inner_text() == "Ops Portal monthly report: October 2026"
    pdf = tmp_path / "report.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format="A4", print_background=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Ops Portal monthly report: October 2026" in text
    for figure in ("99.967 %", "66.7 %", "-100.0 %", "1.5 min", "15.0 min", "5 good of 6", "83.3 %", "API down"):
        assert figure in text, figure
    # No console chrome on paper: navigation, user menu, month picker, buttons.
    for chrome in ("Dashboard", "Sign out", "Print", "Monthly report\n", "Overview"):
        assert chrome not in text, chrome
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 1 <= pages <= 2
    assert "(A4)" in info  # pdfinfo names the paper size
    # A picture to look at: page 1 as PNG (kept when REPORT_PNG_DIR is set).
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 10_000
    if os.environ.get("REPORT_PNG_DIR"):
        shutil.copy(png, Path(os.environ["REPORT_PNG_DIR"]) / "report-page1.png")
        shutil.copy(pdf, Path(os.environ["REPORT_PNG_DIR"]) / "report.pdf")
