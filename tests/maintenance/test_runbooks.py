"""Runbooks: versions and diffs, executions keep their version, Markdown files round trip, sanitising, steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from maintenance.markdown import parse_steps, render
from maintenance.models import Runbook, RunbookVersion
from maintenance.runbooks import OUTPUT_LIMIT, StepRefused, complete_step, save_version, skip_step
from maintenance.seed import RUNBOOK_DIR
from opsportal.models import AuditRecord
from tests.maintenance.fixtures import execution, runbook

pytestmark = pytest.mark.django_db


def test_admin_edit_is_a_new_version_and_execution_keeps_its_own(users: dict[str, Any], client_for: Any) -> None:
    book = runbook("emergency-rollback")
    ex = execution(users["editor"])  # Service Is Down
    ex_book = ex.runbook
    body = ex_book.current.body.replace("4. If still down, rollback", "4. If still down, roll back")
    body = body.replace("Restart service", "Restart the service")
    response = client_for("admin").post(
        reverse("maintenance:runbook_edit", kwargs={"slug": ex_book.slug}),
        {"title": ex_book.title, "kind": ex_book.kind, "body": body, "change_note": "wording"},
    )
    assert response.status_code == 302
    ex_book.refresh_from_db()
    assert ex_book.current.number == 2 and ex_book.current.author == users["admin"]
    assert ex_book.current.steps[2]["text"] == "Restart the service"
    ex.refresh_from_db()
    assert ex.version.number == 1
    assert [s.text for s in ex.steps.all()][2] == "Restart service"
    page = client_for("viewer").get(reverse("maintenance:execution", kwargs={"pk": ex.pk})).content.decode()
    assert "this execution keeps v1" in page
    diff = (
        client_for("viewer")
        .get(reverse("maintenance:runbook_version", kwargs={"slug": ex_book.slug, "number": 2}))
        .content.decode()
    )
    assert '<span class="d-del">-3. Restart service</span>' in diff
    assert '<span class="d-add">+3. Restart the service</span>' in diff
    assert AuditRecord.objects.filter(object_type="maintenance.runbookversion", actor_name="ada-admin").exists()
    # Saving the same text again makes no version.
    assert save_version(ex_book, body, author=users["admin"]) is None
    assert book.versions.count() == 1


def test_editor_may_not_edit_runbooks(client_for: Any) -> None:
    book = runbook()
    url = reverse("maintenance:runbook_edit", kwargs={"slug": book.slug})
    assert client_for("editor").post(url, {"title": "x", "kind": "runbook", "body": "1. y"}).status_code == 403
    assert book.versions.count() == 1


def test_body_without_steps_is_refused(client_for: Any) -> None:
    book = runbook()
    response = client_for("admin").post(
        reverse("maintenance:runbook_edit", kwargs={"slug": book.slug}),
        {"title": book.title, "kind": book.kind, "body": "Just prose, no steps."},
    )
    assert response.status_code == 200 and "numbered list" in response.content.decode()
    assert book.versions.count() == 1


def test_script_in_a_runbook_is_not_markup(client_for: Any, users: dict[str, Any]) -> None:
    book = runbook()
    evil = (
        '1. Look <script>document.title="owned"</script>\n'
        "2. [click](javascript:alert(1)) <img src=x onerror=alert(1)>\n"
        '3. <a href="#" onclick="alert(1)">raw link</a>\n'
    )
    save_version(book, evil, author=users["admin"])
    html = render(evil)
    assert "<script" not in html and "<img" not in html
    assert '<a href="#"' not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;" in html
    page = client_for("viewer").get(reverse("maintenance:runbook", kwargs={"slug": book.slug})).content.decode()
    assert '<script>document.title="owned"</script>' not in page
    assert "&lt;script&gt;document.title" in page


def test_sanitiser_removes_tags_even_if_html_were_let_through() -> None:
    # nh3 is the second line: even markup produced as HTML is cleaned.
    import nh3

    from maintenance.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

    dirty = '<p onclick="x()">hi</p><script>alert(1)</script><a href="javascript:alert(1)">x</a>'
    clean = nh3.clean(dirty, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"})
    assert clean == '<p>hi</p><a rel="noopener noreferrer">x</a>'


def test_markdown_folder_round_trip(tmp_path: Path, users: dict[str, Any]) -> None:
    runbook()
    out = tmp_path / "export"
    call_command("runbooks", "export", str(out))
    files = sorted(p.name for p in out.glob("*.md"))
    assert files == sorted(p.name for p in RUNBOOK_DIR.glob("*.md"))
    for path in out.glob("*.md"):
        assert path.read_text() == (RUNBOOK_DIR / path.name).read_text()  # the shipped files, byte for byte
    before = RunbookVersion.objects.count()
    call_command("runbooks", "import", str(out))
    assert RunbookVersion.objects.count() == before  # unchanged text: no new versions
    # Edit one file in "git" and add a new one; import makes one new version and one new runbook.
    edited = out / "scale-service.md"
    edited.write_text(
        edited.read_text().replace(
            "6. Document configuration changes", "6. Document configuration changes\n\n7. Tell the team"
        )
    )
    (out / "rotate-tls.md").write_text(
        "---\ntitle: Rotate TLS\nkind: procedure\n---\n1. Renew\n\n   ```bash\n   certbot renew\n   ```\n"
    )
    call_command("runbooks", "import", str(out))
    scale = Runbook.objects.get(slug="scale-service")
    assert scale.current.number == 2 and scale.current.steps[-1] == {"text": "Tell the team", "code": ""}
    tls = Runbook.objects.get(slug="rotate-tls")
    assert tls.current.steps == [{"text": "Renew", "code": "certbot renew"}] and tls.kind == "procedure"


def test_import_of_a_bad_folder_stores_nothing(tmp_path: Path) -> None:
    runbook()
    (tmp_path / "good.md").write_text("---\ntitle: Good one\n---\n1. Fine\n")
    (tmp_path / "bad.md").write_text("no front matter\n1. x\n")
    (tmp_path / "nosteps.md").write_text("---\ntitle: Empty\n---\nprose\n")
    with pytest.raises(CommandError) as err:
        call_command("runbooks", "import", str(tmp_path))
    assert "bad.md" in str(err.value) and "nosteps.md" in str(err.value)
    assert not Runbook.objects.filter(title="Good one").exists()


def test_steps_parse_code_blocks_and_ignore_nested_lists() -> None:
    body = (
        "Intro\n\n1. First `inline` words\n\n   - a detail\n   - another\n\n   ```bash\n   ls -l\n   ```\n\n2. Second\n"
    )
    assert parse_steps(body) == [{"text": "First inline words", "code": "ls -l"}, {"text": "Second", "code": ""}]


def test_steps_done_with_bounded_output_and_skipped_with_reason(users: dict[str, Any], client_for: Any) -> None:
    ex = execution(users["editor"])
    editor = client_for("editor")
    url = reverse("maintenance:step_done", kwargs={"pk": ex.pk, "position": 1})
    response = editor.post(url, {"note": "logs show OOM", "output": "x" * (OUTPUT_LIMIT + 50)})
    assert response.status_code == 302
    step = ex.steps.get(position=1)
    assert step.state == "done" and step.output_truncated and len(step.output) == OUTPUT_LIMIT
    assert step.done_by == users["editor"] and step.note == "logs show OOM"
    skip = reverse("maintenance:step_skip", kwargs={"pk": ex.pk, "position": 2})
    editor.post(skip, {"reason": ""})
    assert ex.steps.get(position=2).state == "pending"
    editor.post(skip, {"reason": "no access to Railway"})
    assert ex.steps.get(position=2).skip_reason == "no access to Railway"
    with pytest.raises(StepRefused):
        skip_step(ex.steps.get(position=2), users["editor"], reason="again")
    assert (
        client_for("viewer").post(reverse("maintenance:step_done", kwargs={"pk": ex.pk, "position": 3})).status_code
        == 403
    )
    editor.post(
        reverse("maintenance:execution_finish", kwargs={"pk": ex.pk}), {"outcome": "resolved", "note": "back up"}
    )
    ex.refresh_from_db()
    assert ex.state == "finished" and ex.outcome == "resolved"
    with pytest.raises(StepRefused):
        complete_step(ex.steps.get(position=3), users["editor"])
    page = client_for("viewer").get(reverse("maintenance:execution", kwargs={"pk": ex.pk})).content.decode()
    assert "no access to Railway" in page and "output cut to the size limit" in page


def test_runbook_page_renders_code_blocks_for_copy(client_for: Any) -> None:
    page = client_for("viewer").get(reverse("maintenance:runbook", kwargs={"slug": "deploy-hotfix"})).content.decode()
    assert '<pre><code class="language-bash">git checkout -b hotfix/issue-name' in page
    assert "js/copy.js" in page


def test_load_runbook_puts_back_missing_content_only(users: dict[str, Any]) -> None:
    from io import StringIO

    book = runbook("scale-service")
    save_version(book, book.current.body + "\n7. Tell the team\n", author=users["admin"])
    Runbook.objects.filter(slug="high-memory-usage").delete()
    out = StringIO()
    call_command("load_runbook", stdout=out)
    assert "0 checklists and 1 runbooks added" in out.getvalue()
    assert Runbook.objects.get(slug="high-memory-usage").current.number == 1
    assert Runbook.objects.get(slug="scale-service").current.number == 2  # the admin's edit stays


def test_django_admin_edit_is_a_new_version(users: dict[str, Any], client_for: Any) -> None:
    book = runbook("api-key-rotation")
    url = reverse("admin:maintenance_runbook_change", args=[book.pk])
    admin = client_for("admin")
    assert admin.get(url).status_code == 200
    body = book.current.body.replace("4. Revoke old key", "4. Revoke old key\n\n5. Note the rotation date")
    response = admin.post(
        url,
        {
            "title": book.title,
            "slug": book.slug,
            "kind": book.kind,
            "position": book.position,
            "body": body,
            "change_note": "record the date",
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
            "versions-0-id": book.current.pk,
            "versions-0-runbook": book.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    book.refresh_from_db()
    assert book.current.number == 2 and book.current.steps[-1]["text"] == "Note the rotation date"
    assert client_for("editor").get(url).status_code in (302, 403)
