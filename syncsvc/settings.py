"""Settings, read from the environment in this one place.

PostgreSQL is the only database engine. With nothing set, the database is the project's embedded
PostgreSQL in var/postgres (`make run` starts it through syncsvc/devdb.py) and the broker is kombu's
filesystem broker (no server). DATABASE_URL and REDIS_URL (or CELERY_BROKER_URL) point the same code
at external PostgreSQL and Redis.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

from syncsvc import devdb

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LEDGERSYNC_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: DEBUG is on, so this key never signs a production session.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI and ReDoc served from our static files: the docs work on a closed network.
    "drf_spectacular_sidecar",
    "accounts",
    "documents",
    "integrations",
    "synclog",
    "webhooks",
    "api",
    "partners",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "accounts.middleware.BrowserTimeZoneMiddleware",
]

if not DEBUG:
    # Production serves collected static files itself; in development runserver does.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "syncsvc.urls"
WSGI_APPLICATION = "syncsvc.wsgi.application"

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
                "accounts.context_processors.organization",
            ],
        },
    },
]

# Unset: the embedded server of var/postgres (its Unix socket is in its data folder), which
# `make run` starts and passes on as DATABASE_URL (syncsvc/devdb.py).
DATABASE_URL = os.environ.get("DATABASE_URL") or devdb.database_url(VAR_DIR / "postgres")
if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured(
        "DATABASE_URL must be a postgres:// URL: PostgreSQL is the only engine."
    )
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # A connection kept between requests is checked before reuse: after a database restart
        # a web process reconnects instead of failing its next request with a 500. (Celery
        # workers close their connection around every task: Celery's Django fix-up.)
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", default=True),
    )
}
# No JIT: PostgreSQL compiles a query whose estimated cost passes jit_above_cost, and on a large
# run's page (its 5,145 failed items' error summary) that took 40-70 ms of a query that runs in
# ~50 ms (bench/README.md, issue 13 figure 3). The service's queries are all short.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "documents:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end libraries come from npm (package.json, `npm ci`) and are served as our own static files.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/pico", NODE_MODULES / "@picocss" / "pico" / "css"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Attachments: receipts and vendors' PDFs.
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))

if env_bool("BEHIND_HTTPS_PROXY"):
    # Trust X-Forwarded-Proto only when told a proxy sets it: otherwise a client could spoof it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Connection credentials are encrypted at rest with these Fernet keys (comma-separated; the first
# encrypts, all decrypt). Development derives one from SECRET_KEY; production must set its own.
CREDENTIALS_ENCRYPTION_KEYS = env_list("CREDENTIALS_ENCRYPTION_KEYS", "")
if not DEBUG and not CREDENTIALS_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("CREDENTIALS_ENCRYPTION_KEYS must be set when DEBUG is off.")

# Ledger connections: the OAuth2 apps' client credentials, and where an emulator may stand in for
# the real ledger: only at XERO_EMULATOR_URL, QBO_EMULATOR_URL, MYOB_EMULATOR_URL and the
# addresses in LEDGER_EMULATOR_URLS (never any other port, loopback or not: the server sends the
# app's client secret there), and never in production unless enabled.
XERO_CLIENT_ID = os.environ.get("XERO_CLIENT_ID", "ledgersync-dev")
XERO_CLIENT_SECRET = os.environ.get("XERO_CLIENT_SECRET", "ledgersync-dev-secret")
LEDGER_EMULATOR_ALLOWED = env_bool("LEDGER_EMULATOR_ALLOWED", default=DEBUG)
LEDGER_EMULATOR_URLS = env_list("LEDGER_EMULATOR_URLS", "")
XERO_EMULATOR_URL = os.environ.get("XERO_EMULATOR_URL", "http://127.0.0.1:8123")
# Where the user's browser reaches the emulator's consent page, when that differs from where the
# service reaches it (docker compose: the service says http://emulator:8123).
XERO_EMULATOR_PUBLIC_URL = os.environ.get("XERO_EMULATOR_PUBLIC_URL", "")
QBO_CLIENT_ID = os.environ.get("QBO_CLIENT_ID", "ledgersync-qbo-dev")
QBO_CLIENT_SECRET = os.environ.get("QBO_CLIENT_SECRET", "ledgersync-qbo-dev-secret")
QBO_EMULATOR_URL = os.environ.get("QBO_EMULATOR_URL", "http://127.0.0.1:8125")
# MYOB: the API key is the OAuth client id and the x-myobapi-key header; its limits hold across
# every organisation connected with it.
MYOB_CLIENT_ID = os.environ.get("MYOB_CLIENT_ID", "ledgersync-myob-dev")
MYOB_CLIENT_SECRET = os.environ.get("MYOB_CLIENT_SECRET", "ledgersync-myob-dev-secret")
MYOB_EMULATOR_URL = os.environ.get("MYOB_EMULATOR_URL", "http://127.0.0.1:8127")
# The ledgers a connection can push to: provider (Connection.provider) → connector class.
LEDGER_CONNECTORS = {
    "xero": "integrations.connectors.xero.XeroConnector",
    "quickbooks": "integrations.connectors.qbo.QboConnector",
    "myob": "integrations.connectors.myob.MyobConnector",
}
# Where users reach this service; links in ledger entries point back here.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
LEDGER_HTTP_TIMEOUT_SECONDS = float(os.environ.get("LEDGER_HTTP_TIMEOUT_SECONDS", "20"))
# How long a page's read of the ledger waits for room in the connection's quota before it says
# "try again in N s" (a per-second window frees in a second; a spent minute does not).
LEDGER_PAGE_QUOTA_WAIT_SECONDS = float(os.environ.get("LEDGER_PAGE_QUOTA_WAIT_SECONDS", "5"))

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)

# Celery: Redis when REDIS_URL / CELERY_BROKER_URL is set, otherwise a broker on the file system.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL or None)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_FOLDER = Path(os.environ.get("CELERY_BROKER_FOLDER", VAR_DIR / "broker"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "out"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "out"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "store_processed": False,
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
    }
    # kombu's filesystem transport expects its folder to exist.
    (CELERY_BROKER_FOLDER / "out").mkdir(parents=True, exist_ok=True)
    (CELERY_BROKER_FOLDER / "processed").mkdir(parents=True, exist_ok=True)
    (CELERY_BROKER_FOLDER / "control").mkdir(parents=True, exist_ok=True)

# The sync engine (synclog.services). Seconds unless named otherwise.
SYNC_COALESCE_SECONDS = float(os.environ.get("SYNC_COALESCE_SECONDS", "2"))
# Longer than the slowest push (a few calls at the HTTP timeout each); a dead worker's records
# wait this long before the sweep frees them.
SYNC_LEASE_SECONDS = float(os.environ.get("SYNC_LEASE_SECONDS", "300"))
SYNC_MAX_ATTEMPTS = int(os.environ.get("SYNC_MAX_ATTEMPTS", "6"))
SYNC_BACKOFF_BASE_SECONDS = float(os.environ.get("SYNC_BACKOFF_BASE_SECONDS", "2"))
SYNC_BACKOFF_CAP_SECONDS = float(os.environ.get("SYNC_BACKOFF_CAP_SECONDS", "300"))
SYNC_BILL_FIRST_DELAY_SECONDS = float(os.environ.get("SYNC_BILL_FIRST_DELAY_SECONDS", "2"))
SYNC_SWEEP_INTERVAL_SECONDS = float(os.environ.get("SYNC_SWEEP_INTERVAL_SECONDS", "30"))
SYNC_SWEEP_AFTER_SECONDS = float(os.environ.get("SYNC_SWEEP_AFTER_SECONDS", "60"))
SYNC_SWEEP_BULK_AFTER_SECONDS = float(os.environ.get("SYNC_SWEEP_BULK_AFTER_SECONDS", "900"))
SYNC_SWEEP_BATCH = 5000
# How often each connection's ledger is read for entries changed behind our back (drift).
SYNC_RECONCILE_INTERVAL_SECONDS = float(os.environ.get("SYNC_RECONCILE_INTERVAL_SECONDS", "900"))
# How long a worker keeps trying to save what the ledger answered while the database is down
# (the entries exist in the ledger: their facts and attempts must not be lost).
SYNC_DB_RETRY_SECONDS = float(os.environ.get("SYNC_DB_RETRY_SECONDS", "120"))
# New entries of bulk runs go to the ledger this many per call (Xero suggests about 50).
SYNC_BATCH_SIZE = int(os.environ.get("SYNC_BATCH_SIZE", "50"))
# A connection's bulk batches in the broker at once; the rest of its backlog waits in the
# database and goes as these end, so that the bulk queue serves organisations in turn.
SYNC_BULK_BATCHES_IN_FLIGHT = int(os.environ.get("SYNC_BULK_BATCHES_IN_FLIGHT", "2"))
# A bulk re-sync of more documents than this is answered at once; a worker marks them Pending.
SYNC_PREPARE_IN_WORKER_OVER = int(os.environ.get("SYNC_PREPARE_IN_WORKER_OVER", "500"))
# ...this many documents per transaction, each chunk's batches sent as it commits.
SYNC_PREPARE_CHUNK = int(os.environ.get("SYNC_PREPARE_CHUNK", "500"))
# A bulk re-sync's preview reads the ledger's entries of this many documents (one batched read
# where the ledger has one); the rest are counted, not read.
SYNC_PREVIEW_DOCUMENTS = int(os.environ.get("SYNC_PREVIEW_DOCUMENTS", "20"))
RATE_LIMIT_KEY_PREFIX = os.environ.get("RATE_LIMIT_KEY_PREFIX", "ledgersync:rl:")
SYNC_LOGGED_CALLS = 20
# How old a connection's copy of the ledger's lock date may grow before beat reads it again.
LEDGER_LOCK_DATE_REFRESH_SECONDS = float(os.environ.get("LEDGER_LOCK_DATE_REFRESH_SECONDS", "3600"))
# How often beat sends webhook deliveries whose task was lost (webhooks.services): a
# redelivery asked for while the broker is down goes out with it (the page says when).
WEBHOOK_SWEEP_INTERVAL_SECONDS = float(os.environ.get("WEBHOOK_SWEEP_INTERVAL_SECONDS", "60"))
CELERY_TASK_DEFAULT_QUEUE = "sync"
# Interactive re-syncs have a queue of their own, so bulk work cannot starve them.
SYNC_QUEUES = ("interactive", "sync", "bulk")
CELERY_BEAT_SCHEDULE = {
    "sync-sweep": {"task": "synclog.tasks.sync_sweep", "schedule": SYNC_SWEEP_INTERVAL_SECONDS},
    # Entries changed in the ledger behind our back (drift), one task per connection.
    "ledger-reconcile": {
        "task": "synclog.tasks.ledger_reconcile_all",
        "schedule": SYNC_RECONCILE_INTERVAL_SECONDS,
    },
    # Deliveries whose task was lost (broker restart) are sent again.
    "webhooks-sweep": {
        "task": "webhooks.tasks.webhook_sweep",
        "schedule": WEBHOOK_SWEEP_INTERVAL_SECONDS,
    },
    # API Idempotency-Key rows are kept 24 hours.
    "api-idempotency-purge": {"task": "api.tasks.idempotency_keys_purge", "schedule": 3600.0},
    # The ledgers' lock dates, read again once older than LEDGER_LOCK_DATE_REFRESH_SECONDS.
    "lock-dates-refresh": {
        "task": "integrations.tasks.lock_dates_refresh",
        "schedule": min(LEDGER_LOCK_DATE_REFRESH_SECONDS, 300.0),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The API's schema (api/schema.py adds its long description and holds the hooks named here).
SPECTACULAR_SETTINGS = {
    "TITLE": "ledgersync API",
    "DESCRIPTION": "Push bills, payments and expenses, start syncs, read their status and per-item "
    "results. Authenticate with `Authorization: Bearer <API key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name per choice set, so partners' generated clients get stable type names (and the
    # deploy check is clean of drf-spectacular's naming warnings).
    "ENUM_NAME_OVERRIDES": {
        "DocumentStatusEnum": "documents.models.DocumentStatus",
        "DocumentKindEnum": "documents.models.DocumentKind",
        "ExpenseTypeEnum": "documents.models.ExpenseType",
        "ContactKindEnum": "documents.models.ContactKind",
        "ConnectionStatusEnum": "integrations.models.ConnectionStatus",
        "TransactionStatusEnum": "synclog.models.RunItemOutcome",
        "AttemptOutcomeEnum": "synclog.models.AttemptOutcome",
        "DatasetStatusEnum": "api.models.ExpenseDataset.Status",
        "EntryTypeEnum": "synclog.models.EntryType",
        "TriggerEnum": "synclog.models.Trigger",
        "OperationEnum": "synclog.models.Operation",
        "SyncRecordStatusEnum": ["pending", "complete", "failed"],
        "WebhookEventTypeEnum": "webhooks.models.WebhookEventType",
        "DeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
    "PREPROCESSING_HOOKS": ["api.schema.drop_organization_path_copies"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_retry_after_header",
        "api.schema.fix_decimal_patterns",
    ],
}
# Webhook endpoints on private or loopback addresses: development only.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=DEBUG)
API_KEY_RATE_LIMIT_PER_MINUTE = int(os.environ.get("API_KEY_RATE_LIMIT_PER_MINUTE", "600"))

# A request id on every answer (X-Request-ID: the caller's when given, else a new one) and on
# every log line of its request (django-guid), so a partner's report finds our logs.
INSTALLED_APPS += ["django_guid"]
MIDDLEWARE.insert(0, "django_guid.middleware.guid_middleware")
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    # A partner's own id format (not only UUIDs) is kept, so both sides log the same id.
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
    # The id travels with the tasks a request sends, and Celery logs through LOGGING below: the
    # worker's lines about a partner's push carry the id of the request that caused it.
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True)],
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "default": {
            "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "default",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # It says at INFO, on every call, that it made an id: the id on each line says it already.
    "loggers": {"django_guid": {"level": "WARNING"}},
}

# Sign-in throttling (django-axes, accounts/signin.py): failed sign-ins are counted per username
# and, apart, per client address; SIGNIN_FAILURE_LIMIT failures within SIGNIN_LOCKOUT_MINUTES
# lock that username or address out for that long, with the same answer for unknown users.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = [
    "accounts.signin.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as axes asks
AXES_FAILURE_LIMIT = int(os.environ.get("SIGNIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=float(os.environ.get("SIGNIN_LOCKOUT_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not wipe the count: it would let one working account reset its address's count.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.signin.client_ip"

# HTTPS in production (`manage.py check --deploy`): redirect plain HTTP and send HSTS, on by
# default when DEBUG is off. Preloading HSTS commits the domain to browsers' lists, so it is the
# operator's choice (its check is silenced while it is off).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Content-Security-Policy (django-csp): our own static files only; no inline script or style
# (pages declare behaviour with data- attributes, static/js/app.js). Swagger UI's page adds its
# inline style itself (api/urls.py).
INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
