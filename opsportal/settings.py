"""Django settings for the Ops Portal: every value comes from the environment (.env.example)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from . import caching, conf

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(
    conf.string(
        "DATA_DIR",
        str(BASE_DIR / "data"),
        "SQLite file, generated development secret key, embedded broker, admin password.",
        shown="./data",
    )
).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = conf.boolean("DEBUG", False, "Development mode (tracebacks, generated SECRET_KEY); never in production.")
# HTTPS: the portal is served over TLS (secure cookies, HSTS, redirect to https).
HTTPS = conf.boolean("HTTPS", not DEBUG, "Served over TLS: secure cookies, HSTS, redirect to https.", shown="not DEBUG")


def _secret_key() -> str:
    key = conf.string(
        "SECRET_KEY",
        None,
        "Signing key; in development generated once into DATA_DIR, and used whenever DEBUG is not set at all.",
        secret=True,
        shown="required unless DEBUG",
    )
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not DEBUG:
        # The checkout `make run` set up: with DEBUG not set at all, the development secret it
        # generated in DATA_DIR is used, so `manage.py ...` works there without any variable.
        # Production sets SECRET_KEY (or SECRET_KEY_FILE), and a DEBUG=false given explicitly
        # never falls back.
        if "DEBUG" not in os.environ and "DEBUG_FILE" not in os.environ and path.is_file():
            return path.read_text().strip()
        raise ImproperlyConfigured("SECRET_KEY: required when DEBUG is off (or set SECRET_KEY_FILE)")
    # Development: generate once and keep it, so sessions survive restarts.
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = conf.string_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"], "Host names the portal answers to (comma-separated)."
)
CSRF_TRUSTED_ORIGINS = conf.string_list(
    "CSRF_TRUSTED_ORIGINS", [], "Origins trusted for form posts, e.g. https://ops.example.com (comma-separated)."
)
SITE_URL = conf.url(
    "SITE_URL", "http://127.0.0.1:8000", {"http", "https"}, "Base URL of the portal, used in notification links."
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_celery_beat",
    "opsportal",
    "monitoring",
    "backups",
    "maintenance",
]

MIDDLEWARE = [
    "opsportal.middleware.RequestMetricsMiddleware",
    "opsportal.caching.CacheStrategyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "opsportal.twofactor.TwoFactorGateMiddleware",
    "opsportal.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opsportal.urls"
WSGI_APPLICATION = "opsportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "opsportal.context_processors.portal",
            ],
        },
    }
]

DATABASES = {
    "default": conf.database(
        "DATABASE_URL",
        f"sqlite:///{DATA_DIR / 'portal.sqlite3'}",
        "postgres://user:password@host:5432/opsportal in production.",
        shown="SQLite in DATA_DIR",
    )
}
# Read (and so declared and checked) whichever database is configured.
_conn_max_age = conf.integer("DB_CONN_MAX_AGE", 60, "Seconds a PostgreSQL connection is reused.", minimum=0)
_test_database = conf.string(
    "TEST_DATABASE_NAME", None, "Only for the test suite: name of the throwaway test database."
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write the same file: WAL, IMMEDIATE transactions and a busy
    # timeout avoid "database is locked" under the scheduler.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The hourly rollups' covering index (INCLUDE) is a plain index on SQLite, which is what a
    # development database needs; the warning printed on every start said nothing to act on.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", _conn_max_age)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    DATABASES["default"]["TEST"] = {"NAME": _test_database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": conf.cache("CACHE_URL", "locmemcache://opsportal", "redis://host:6379/1 in production.")}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "monitoring:dashboard"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username coming from one address after repeated failures.
AXES_FAILURE_LIMIT = conf.integer(
    "AXES_FAILURE_LIMIT", 5, "Failed sign-ins before a username is locked for that address.", minimum=1
)
AXES_COOLOFF_TIME = (
    conf.integer("AXES_COOLOFF_MINUTES", 15, "How long a sign-in lockout lasts, in minutes.", minimum=1) / 60
)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner in every process
AXES_IPWARE_PROXY_COUNT = (
    conf.integer(
        "TRUSTED_PROXY_COUNT", 0, "Trusted proxies in front of the portal (client address of the lockout).", minimum=0
    )
    or None
)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

# Two-factor sign-in (TOTP, django-otp): required for nobody, for admins, or for everyone. A user
# who has enrolled is always asked for the second factor; API tokens are not affected.
TWO_FACTOR_REQUIRED = conf.choice(
    "TWO_FACTOR_REQUIRED",
    "none",
    ("none", "admins", "everyone"),
    "Who must sign in with a second factor (TOTP): none, admins or everyone.",
)
OTP_TOTP_ISSUER = conf.string("TWO_FACTOR_ISSUER", "Ops Portal", "Issuer name authenticator apps show.")
TWO_FACTOR_PENDING_SECONDS = conf.integer(
    "TWO_FACTOR_PENDING_SECONDS", 300, "An accepted password waits this long for its second factor.", minimum=30
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = conf.string("TIME_ZONE", "UTC", "Also the zone of backup retention periods and schedules.")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
_static_manifest = conf.boolean(
    "STATIC_MANIFEST", True, "Serve hashed static file names (off only to debug static files)."
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and _static_manifest
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Hashed static files a year, immutable (the runbook's "Static content: Cache for 1 year").
WHITENOISE_ADD_HEADERS_FUNCTION = caching.static_headers

EMAIL_CONFIG = conf.email("EMAIL_URL", "consolemail://", "smtp+tls://user:password@host:587 in production.")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = conf.string("DEFAULT_FROM_EMAIL", "ops-portal@localhost", "Sender of the portal's mail.")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers; with HTTPS=true and DEBUG=false, `manage.py check --deploy` is clean.
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = conf.integer(
    "SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, "HSTS max-age.", minimum=0, shown="31536000 with HTTPS, else 0"
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = conf.boolean(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS, "HSTS for subdomains too.", shown="HTTPS"
)
SECURE_HSTS_PRELOAD = conf.boolean("SECURE_HSTS_PRELOAD", HTTPS, "HSTS preload flag.", shown="HTTPS")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if conf.boolean("BEHIND_TLS_PROXY", False, "A proxy terminates TLS and sends X-Forwarded-Proto.")
    else None
)
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = conf.integer("SESSION_HOURS", 12, "Sign-in session length, in hours.", minimum=1) * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Celery. With no broker configured, an embedded broker that needs no server: kombu's
# filesystem transport, one folder for in and out, shared by web, worker and beat.
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = conf.url(
    "CELERY_BROKER_URL",
    "filesystem://",
    {"filesystem", "redis", "rediss", "amqp", "amqps", "memory"},
    "Default: embedded broker under DATA_DIR/broker; redis://host:6379/0 in production.",
)
_visibility_timeout = conf.integer(
    "CELERY_VISIBILITY_TIMEOUT", 3600, "Seconds before Redis redelivers an unacknowledged task.", minimum=60
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    if CELERY_BROKER_URL == "filesystem://":
        CELERY_BROKER_URL = "filesystem://localhost/"  # the transport ignores it; kombu warns without one
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
CELERY_RESULT_BACKEND = (
    conf.string("CELERY_RESULT_BACKEND", None, "Celery result backend URL (none: results ignored).") or None
)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "opsportal.scheduler:PortalScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A worker or beat whose heartbeat is older than this is reported as not seen.
HEARTBEAT_STALE_SECONDS = conf.integer(
    "HEARTBEAT_STALE_SECONDS", 90, "A worker or beat not seen for this long makes /api/health degraded.", minimum=10
)
# The portal watched from outside: pinged every minute while the portal is healthy.
HEARTBEAT_URL = conf.url(
    "HEARTBEAT_URL",
    None,
    {"http", "https"},
    "Pinged every minute while database, broker, worker and scheduler are healthy (e.g. a Healthchecks.io URL).",
    secret=True,
)
DISK_PATHS = conf.string_list(
    "DISK_PATHS",
    [str(DATA_DIR)],
    "Paths whose free space health and metrics watch (comma-separated).",
    shown="DATA_DIR",
)

# Scheduled job runs (probe sweeps, rollups, evaluations) are kept this long.
JOB_RUN_RETENTION_DAYS = conf.integer(
    "JOB_RUN_RETENTION_DAYS", 7, "Scheduled job runs shown under Jobs are kept this many days.", minimum=1
)
# Sign-in history (successes, failures, lockouts) for the access review is kept this long.
SIGNIN_RETENTION_DAYS = conf.integer(
    "SIGNIN_RETENTION_DAYS", 400, "Sign-in history for the access review is kept this many days.", minimum=31
)

METRICS_TOKEN = (
    conf.string("METRICS_TOKEN", "", "When set, /metrics requires Authorization: Bearer <token>.", secret=True) or None
)
API_PAGE_SIZE = conf.integer("API_PAGE_SIZE", 100, "Rows per page of the JSON API.", minimum=1)
LOG_LEVEL = conf.string("LOG_LEVEL", "INFO", "Level of the console log.").upper()
# Request bodies (opsportal/bodies.py): one size, depth and batch limit for every JSON endpoint and upload.
API_MAX_BODY_BYTES = conf.integer(
    "API_MAX_BODY_BYTES", 2 * 1024 * 1024, "Largest JSON body or upload accepted (413 beyond).", minimum=1024
)
API_MAX_DEPTH = conf.integer("API_MAX_DEPTH", 32, "Deepest nesting of a JSON body.", minimum=2)
API_MAX_BATCH = conf.integer(
    "API_MAX_BATCH", 1000, "Most items in one batch of any JSON endpoint (413 beyond).", minimum=1
)
# Django refuses bigger bodies before any view runs (an HTML 400); keep it above the API's own limit
# so a JSON endpoint answers 413 itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, API_MAX_BODY_BYTES + 1)
# Outbound targets (probes, channel URLs): networks added to the built-in deny list (link-local,
# cloud metadata, unspecified, multicast, broadcast) and exceptions carved out of it (opsportal/netguard.py).
PROBE_DENY_NETWORKS = conf.cidr_list(
    "PROBE_DENY_NETWORKS",
    [],
    "Networks probes and channels may not reach, on top of link-local, metadata, multicast (e.g. 10.0.0.0/8).",
)
PROBE_ALLOW_NETWORKS = conf.cidr_list(
    "PROBE_ALLOW_NETWORKS", [], "Exceptions carved out of the deny list (the most specific network wins)."
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"one_line_refusals": {"()": "opsportal.logfilters.OneLineRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["one_line_refusals"]},
        "django.security": {"filters": ["one_line_refusals"]},
    },
}
