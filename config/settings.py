"""Settings for Imprimatur, read from the environment (see README: Configuration)."""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-imprimatur-development-key-never-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to 50 or more random characters when DJANGO_DEBUG=0.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "django_fsm",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Imports run one way: review → accounts → audit (import-linter keeps it so).
    "audit",
    "accounts",
    "review",
    "accounts.apps.AxesConfig",  # django-axes, with a name in the admin
]

MIDDLEWARE = [
    "config.middleware.RefuseNullCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a lockout found during the request into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "review.context_processors.navigation",
            ],
        },
    },
]

# SQLite by default; PostgreSQL (or anything dj-database-url reads) when DATABASE_URL is set.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of
    # failing with "database is locked" when one upgrades a read transaction.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}

# Shared by every app server: throttles, lockouts and cached pages count the same everywhere. The database by
# default (its table is created by migrate); Redis when REDIS_URL is set.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "imprimatur_cache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out users before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; visitors must log in.
GUARDIAN_RAISE_403 = False

# The first hashes new passwords; the others still verify older hashes, which are rehashed with the first at the
# next login or signature (accounts/hashers.py says why these parameters).
PASSWORD_HASHERS = [
    "accounts.hashers.OWASPArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "review:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production: hashed names, and gzip and Brotli copies made by collectstatic (about 40 s of CPU on a small
    # machine); DJANGO_STATIC_COMPRESS=0 skips the copies, e.g. where the proxy in front compresses.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DJANGO_STATIC_COMPRESS", True)
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
# Several app servers (docs/deployment.md) share uploads and export files through S3-compatible object storage:
# set the bucket and every other server sees what one wrote. The objects stay private (no ACL, signed URLs); the
# application reads them and serves them itself, after its permission checks. boto3 reads the credentials
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) from the environment itself, so they need not pass through settings.
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,  # unset: Amazon S3 itself
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE") or None,  # "path" for most MinIO set-ups
            "location": os.environ.get("AWS_LOCATION", ""),  # a key prefix, to share a bucket
            "default_acl": None,
            "querystring_auth": True,
            # Names are generated (attachments, exports); never replace an object another server wrote.
            "file_overwrite": False,
        },
    }

TASKS = {
    "default": {
        "BACKEND": os.environ.get("DJANGO_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# How many proxies (nginx, a load balancer) stand in front of the app servers and append to X-Forwarded-For:
# the client's address is then the entry the nearest of them added (audit.context.client_address: the audit
# log, the login lockout and the API's throttle all count by it). 0: the connection's own address.
TRUSTED_PROXIES = int(os.environ.get("DJANGO_NUM_PROXIES") or 0)

# The REST API (/api/v1/, see README: API). Unauthenticated requests answer 401: the token scheme comes first,
# so the response names it in WWW-Authenticate. Browser sessions work too, with CSRF checks.
REST_FRAMEWORK = {
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "review.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("DJANGO_API_TOKEN_RATE", "10/min")},
    "EXCEPTION_HANDLER": "review.api.views.exception_handler",
    # `?format=` belongs to the audit export (csv or jsonl), not to content negotiation.
    "URL_FORMAT_OVERRIDE": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Imprimatur API",
    "DESCRIPTION": "Editorial sign-off (三审三校): pieces, their review stages, signatures and audit log.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The documentation page uses the copies of its scripts shipped in drf-spectacular-sidecar: no CDN.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "review.models.Channel",
        "KindEnum": "review.models.Kind",
        "CreatableKindEnum": "review.models.choices.CREATABLE_KINDS",
    },
}

_EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": {
            "host": os.environ.get("DJANGO_EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("DJANGO_EMAIL_PORT", "25")),
            "username": os.environ.get("DJANGO_EMAIL_USER", ""),
            "password": os.environ.get("DJANGO_EMAIL_PASSWORD", ""),
            "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", False),
        }
        if _EMAIL_BACKEND.endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "imprimatur@localhost")

# Sessions end after SESSION_IDLE_TIMEOUT without a request, and SESSION_COOKIE_AGE after login whatever happens.
SESSION_IDLE_TIMEOUT = datetime.timedelta(minutes=int(os.environ.get("DJANGO_SESSION_IDLE_MINUTES", "30")))
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_MAX_HOURS", "12")) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Login throttling: five failures for one user name from one address lock it for fifteen minutes, and so do
# thirty failures from one address whatever the names (accounts.lockout). The counts live in the database.
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT", "30"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Attempts refused during a lockout neither extend it nor count again (nor reach the audit log).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "audit.context.client_address"
AXES_VERBOSE = False

# Content-Security-Policy (Django's own middleware): no inline script or style without the request's nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Uploads: what a piece may carry, checked by content as well as by name.
ATTACHMENT_MAX_BYTES = int(os.environ.get("DJANGO_ATTACHMENT_MAX_MB", "10")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_PERMISSIONS = 0o640
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # django-axes reports every login at INFO; lockouts (WARNING) are what matter.
        "axes": {"level": "WARNING"},
        # WeasyPrint reports each step of each PDF at INFO; its warnings (a font not loaded) still show.
        "weasyprint.progress": {"level": "WARNING"},
    },
}

# Proofreading: the organisation's name on sign-off sheets, and the highest acceptable error rate (差错率, weighted
# errors per 10,000 characters) before a piece is flagged to its next reviewer.
ORGANISATION_NAME = os.environ.get("DJANGO_ORGANISATION_NAME", "")
# Stage time limits count working hours: these days of the week (Monday is 0), between these hours, local time,
# except holidays (DJANGO_HOLIDAYS: comma-separated dates, e.g. 2026-10-01,2026-10-02). Reviewers are reminded
# this long before a stage is due.
WORKING_DAYS = [int(day) for day in os.environ.get("DJANGO_WORKING_DAYS", "0,1,2,3,4").split(",")]
WORKING_HOURS = tuple(int(hour) for hour in os.environ.get("DJANGO_WORKING_HOURS", "9,17").split(","))
HOLIDAYS = [
    datetime.date.fromisoformat(day.strip()) for day in os.environ.get("DJANGO_HOLIDAYS", "").split(",") if day.strip()
]
DEADLINE_REMINDER = datetime.timedelta(hours=int(os.environ.get("DJANGO_REMIND_BEFORE_HOURS", "2")))
# Where people open the site: the links in emails and group-chat messages, written by the background worker.
SITE_URL = os.environ.get("DJANGO_SITE_URL", "http://127.0.0.1:8000/")
ERROR_RATE_THRESHOLD = os.environ.get("DJANGO_ERROR_RATE_THRESHOLD", "1")
# What each channel allows, in characters, checked by the pre-checks: channel → field (title, summary, body) → limit.
CHANNEL_LIMITS = {
    "wechat": {"title": 64, "summary": 120},
    "weibo": {"body": 2000},
}

# API tokens expire this long after they are issued (and at once when the password changes).
API_TOKEN_LIFETIME = datetime.timedelta(days=int(os.environ.get("DJANGO_API_TOKEN_DAYS", "30")))

# Signs every audit event and the checkpoints of the chain's head. Keep it out of the database and out of its
# backups: whoever holds both could rewrite the log and sign it again. Set it once; rotating the secret key
# must not change it. (DJANGO_AUDIT_CHECKPOINT_KEY is its earlier name.)
AUDIT_KEY = (
    os.environ.get("DJANGO_AUDIT_KEY")
    or os.environ.get("DJANGO_AUDIT_CHECKPOINT_KEY")
    or f"audit-key-derived-from-the-secret-key:{SECRET_KEY}"
)
