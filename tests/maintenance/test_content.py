"""Every checklist item and runbook step of the runbook shipped in the repo appears word for word."""

from __future__ import annotations

import re
from typing import Any

import pytest

from maintenance.models import Checklist, Runbook
from maintenance.seed import RUNBOOK_TEXT, ensure_content

TEXT = RUNBOOK_TEXT.read_text(encoding="utf-8")
NUMBERED = re.compile(r"^(?:#\s*)?(\d+)\.\s+(.*)$")


@pytest.fixture(autouse=True)
def _content(db: Any) -> None:
    """The migration's content (a transactional test elsewhere may have flushed the tables since)."""
    ensure_content()


def section(heading: str) -> str:
    """The text under a '## ...' heading whose words include ``heading``, up to the next '## '."""
    m = re.search(rf"^## [^\n]*{re.escape(heading)}\n(.*?)(?=^## |\Z)", TEXT, re.S | re.M)
    assert m, f"runbook has no section {heading!r}"
    return m.group(1)


def subsections(body: str) -> dict[str, str]:
    parts = re.split(r"^### (.+)$", body, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def code_block(body: str) -> list[str]:
    m = re.search(r"```\w*\n(.*?)```", body, re.S)
    assert m
    return [line.rstrip() for line in m.group(1).splitlines()]


def guide_steps(lines: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(steps as (text, code), intro lines) of a troubleshooting/procedure block."""
    numbered = any(NUMBERED.match(line) for line in lines)
    steps: list[list] = []
    intro: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        m = NUMBERED.match(line)
        if m:
            steps.append([m.group(2), []])
        elif line.startswith("#"):
            text = line.lstrip("#").strip()
            if numbered:
                intro.append(text)
            else:
                steps.append([text, []])
        else:
            steps[-1][1].append(line)
    return [(t, "\n".join(c)) for t, c in steps], intro


def expected_checklists() -> dict[str, list[str]]:
    return {
        name: re.findall(r"^- \[ \] (.+)$", body, re.M)
        for name, body in subsections(section("Regular Maintenance Tasks")).items()
    }


def stored_steps(title: str) -> list[dict[str, str]]:
    return Runbook.objects.select_related("current").get(title=title).current.steps


@pytest.mark.django_db
def test_checklist_items_word_for_word() -> None:
    expected = expected_checklists()
    assert list(expected) == ["Daily", "Weekly", "Monthly", "Quarterly"]
    for name, items in expected.items():
        checklist = Checklist.objects.get(name=name)
        assert [i.text for i in checklist.active_items()] == items
    assert sum(len(v) for v in expected.values()) == 14


@pytest.mark.django_db
def test_runbook_steps_word_for_word() -> None:
    books = {name.removeprefix("Runbook: "): body for name, body in subsections(section("Runbooks")).items()}
    assert list(books) == ["Deploy Hotfix", "Scale Service", "Emergency Rollback"]
    counts = {}
    for title, body in books.items():
        lines = [NUMBERED.match(line).group(2) for line in code_block(body) if line.strip()]
        steps = stored_steps(title)
        # A step shows its words and then its command as a code block: together they are the runbook's line.
        assert [f"{s['text']} {s['code']}" if s["code"] else s["text"] for s in steps] == lines, title
        counts[title] = len(steps)
    assert counts == {"Deploy Hotfix": 9, "Scale Service": 6, "Emergency Rollback": 6}


@pytest.mark.django_db
def test_troubleshooting_guides_word_for_word() -> None:
    guides = subsections(section("Troubleshooting"))
    assert list(guides) == ["Service Is Down", "Database Connection Issues", "High Memory Usage", "High Error Rate"]
    for title, body in guides.items():
        steps, _intro = guide_steps(code_block(body))
        assert [(s["text"], s["code"]) for s in stored_steps(title)] == steps, title


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ("Backups & Recovery", "Disaster Recovery Test"),
        ("Security", "API Key Rotation"),
        ("Security", "Dependency Security"),
    ],
)
def test_procedures_word_for_word(heading: str, title: str) -> None:
    steps, intro = guide_steps(code_block(subsections(section(heading))[title]))
    assert [(s["text"], s["code"]) for s in stored_steps(title)] == steps
    body = Runbook.objects.get(title=title).current.body
    for line in intro:
        assert line in body


@pytest.mark.django_db
def test_alert_runbook_names_exist() -> None:
    """The runbooks alerts name are there by those titles."""
    for title in (
        "Service Is Down",
        "Emergency Rollback",
        "High Error Rate",
        "High Memory Usage",
        "Disaster Recovery Test",
    ):
        assert Runbook.objects.filter(title=title).exists()
