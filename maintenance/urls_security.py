"""URLs of the security half of maintenance: registry, audits, access review, database care, report."""

from __future__ import annotations

from django.urls import path, register_converter

from . import views_access, views_audits, views_dbcare, views_reports, views_security


class MonthConverter:
    """A "YYYY-MM" month in a URL."""

    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(MonthConverter, "month")

urlpatterns = [
    path("security/", views_security.security, name="security"),
    path("security/secrets/", views_security.secrets, name="secrets"),
    path("security/secrets/new/", views_security.secret_create, name="secret_create"),
    path("security/secrets/<int:pk>/", views_security.secret_detail, name="secret"),
    path("security/secrets/<int:pk>/edit/", views_security.secret_edit, name="secret_edit"),
    path("security/secrets/<int:pk>/rotate/", views_security.rotation_start, name="rotation_start"),
    path("security/rotations/<int:pk>/tick/", views_security.rotation_tick, name="rotation_tick"),
    path("security/rotations/<int:pk>/cancel/", views_security.rotation_cancel, name="rotation_cancel"),
    path("security/dependencies/", views_audits.findings, name="findings"),
    path("security/dependencies/upload/", views_audits.audit_upload, name="audit_upload"),
    path("security/access/", views_access.access_review, name="access_review"),
    path("security/access/sign-ins.csv", views_access.access_review_csv, name="access_review_csv"),
    path("security/database/", views_dbcare.database_care, name="database_care"),
    path("security/database/vacuum/", views_dbcare.vacuum_run, name="vacuum_run"),
    path("reports/", views_reports.report, name="report"),
    path("reports/<month:month>/", views_reports.report, name="report_month"),
    path("reports/<month:month>.csv", views_reports.report_csv, name="report_csv"),
]
