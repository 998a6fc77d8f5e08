"""Settings for the activité partielle support back-office.

Every value comes from the environment (see README.md, "Configuration"). With nothing set,
the project runs on one machine with embedded defaults: SQLite and a file-based Celery
broker under ``var/``. With ``APP_ENV=production``, the values that must not have a default
(``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL``, ``SITE_BASE_URL`` ...) are required and
the security settings are strict, so that ``manage.py check --deploy`` reports nothing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from backoffice.ops import secret_urls

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

APP_ENV = env.str("APP_ENV", default="development")
if APP_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"APP_ENV must be development, test or production, not {APP_ENV!r}.")
PRODUCTION = APP_ENV == "production"


def _strict_bool(name: str, default: bool) -> bool:
    """Read a boolean and fail on anything that is not clearly one (django-environ would
    silently read a typo as False)."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}.")


def _strict_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def _strict_positive_float(name: str, default: float) -> float:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from exc
    if not value > 0:
        raise ImproperlyConfigured(f"{name} must be greater than 0, not {raw!r}.")
    return value


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when APP_ENV=production.")
    return value


def _dev_site_base_url() -> str:
    """Outside production, e-mail links default to the server this machine runs: HOST and
    PORT are what `make run` (and the Procfile's web process) listen on."""
    host = env.str("HOST", default="127.0.0.1") or "127.0.0.1"
    if host in {"0.0.0.0", "::"}:
        host = "127.0.0.1"
    port = _strict_int("PORT", 8000, minimum=1)
    return f"http://{host}:{port}"


DEBUG = _strict_bool("DEBUG", default=not PRODUCTION and APP_ENV != "test")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG cannot be on when APP_ENV=production.")

if PRODUCTION:
    SECRET_KEY = _required("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")
    ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]
    SITE_BASE_URL = _required("SITE_BASE_URL").rstrip("/")
    if not SITE_BASE_URL.startswith("https://"):
        raise ImproperlyConfigured("SITE_BASE_URL must start with https:// in production.")
else:
    # A development key: never used in production (the branch above refuses to start).
    SECRET_KEY = env.str(
        "SECRET_KEY", default="dev-only-insecure-key-apsupport-0123456789-abcdefghijklmnop"
    )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    SITE_BASE_URL = env.str("SITE_BASE_URL", default=_dev_site_base_url()).rstrip("/")
# Rotating the secret key (README.md, "Running it"): the previous key goes here for as long
# as the sessions signed with it may live, then is removed.
SECRET_KEY_FALLBACKS = [k for k in env.list("SECRET_KEY_FALLBACKS", default=[]) if k]
if PRODUCTION and any(len(k) < 50 for k in SECRET_KEY_FALLBACKS):
    raise ImproperlyConfigured("SECRET_KEY_FALLBACKS: each key needs at least 50 characters.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "dsfr",
    "widget_tweaks",  # django-dsfr's radio and checkbox templates load it
    "captcha",
    "django_filters",
    "django_htmx",
    "ninja",
    "phonenumber_field",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_ratelimit",
    "accounts",
    "establishments",
    "tickets",
    "worker",
    "backoffice",
]

MIDDLEWARE = [
    # First: the request id and actor of every log line, the latency of everything below.
    "backoffice.ops.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's, with the second factor checked once per session (not a query a page).
    "backoffice.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "backoffice.middleware.SessionExpiryMiddleware",
    # A cache counter nobody handled (the cache is down): a 503 page, not a 500.
    "backoffice.middleware.CacheUnavailableMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

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
                "backoffice.context_processors.live_notices",
                "backoffice.public.context_processors.public_settings",
            ],
        },
    },
    # Plain-text e-mails (worker.services renders with it): no HTML escaping, so
    # "Dupont & Fils" and "O'Brien" arrive as typed. Headers stay safe by other means: the
    # subject is folded onto one line and Django refuses a header with a line break.
    {
        "NAME": "emails",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"autoescape": False},
    },
]
# One form layout for the whole site (DSFR): templates/forms/, backoffice/forms_rendering.py.
FORM_RENDERER = "backoffice.forms_rendering.DsfrFormRenderer"

# --- Database ---------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'apsupport.sqlite3'}")
}
if PRODUCTION and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL: set DATABASE_URL=postgres://…")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; see STACK.md pitfall 16.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", _strict_int("DB_CONN_MAX_AGE", 60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer fails fast (and /readyz says so) instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", _strict_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------
# Rate limits and the login lockout need a cache shared by every web process: Redis in
# production. The embedded default is a per-process memory cache, enough for one web
# process on one machine (make run).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://apsupport")}
if PRODUCTION and "redis" not in CACHES["default"]["BACKEND"].lower():
    raise ImproperlyConfigured("Production needs a shared cache: set CACHE_URL=redis://…")
# The cache is an optimisation (worker/cache.py, README.md "When the cache is down"): with
# Redis unreachable, reads miss and fall through to the database, counters raise
# CacheUnavailable and each protection applies its own rule. A Redis that does not answer
# costs a request at most CACHE_TIMEOUT_SECONDS; then the cache is left alone for
# CACHE_RETRY_SECONDS in that process.
CACHE_TIMEOUT_SECONDS = _strict_positive_float("CACHE_TIMEOUT_SECONDS", 0.3)
CACHE_RETRY_SECONDS = _strict_positive_float("CACHE_RETRY_SECONDS", 5.0)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "worker.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "socket_connect_timeout": CACHE_TIMEOUT_SECONDS,
            "socket_timeout": CACHE_TIMEOUT_SECONDS,
            "down_retry_seconds": CACHE_RETRY_SECONDS,
            "down_warning_seconds": 60.0,
        }
    )

# --- Auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "backoffice:login"
LOGIN_REDIRECT_URL = "backoffice:home"
# django-axes first: it refuses a locked-out (e-mail, IP) pair before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Back-office sessions end after BACKOFFICE_SESSION_IDLE_MINUTES without a request, and in any
# case BACKOFFICE_SESSION_MAX_HOURS after the login (backoffice.middleware).
BACKOFFICE_SESSION_IDLE_MINUTES = _strict_int("BACKOFFICE_SESSION_IDLE_MINUTES", 30, minimum=1)
BACKOFFICE_SESSION_MAX_HOURS = _strict_int("BACKOFFICE_SESSION_MAX_HOURS", 10, minimum=1)
SESSION_COOKIE_AGE = BACKOFFICE_SESSION_MAX_HOURS * 3600

# --- Second factor (django-otp, TOTP) ----------------------------------------------------
OTP_TOTP_ISSUER = "Assistance activité partielle"
OTP_TOTP_THROTTLE_FACTOR = 1

# --- Login lockout (django-axes) --------------------------------------------------------
# Failures are counted in the shared cache (Redis in production) per (e-mail, IP) pair: a
# wrong password typed from one place does not lock the agent out everywhere.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = _strict_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_strict_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.staff.auth.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "backoffice.views.auth.lockout"
AXES_VERBOSE = False
# django-ratelimit 4.1 lists django-redis as its Redis backend; Django's own RedisCache
# increments atomically too (Redis INCR), which is what its counters need.
SILENCED_SYSTEM_CHECKS = [
    "django_ratelimit.W001",
    # Covering indexes (INCLUDE) are PostgreSQL's; SQLite (make run, tests) builds the same
    # index without the included column, which is all it needs.
    "models.W040",
]
if not PRODUCTION and "redis" not in CACHES["default"]["BACKEND"].lower():
    # One web process on one machine (make run, tests): its memory cache is shared by
    # every request it serves. Production is refused without Redis (see CACHES above).
    SILENCED_SYSTEM_CHECKS += ["axes.W001", "django_ratelimit.E003"]

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploaded files (the default storage): under var/ unless told otherwise. `make backup`
# archives every file-system storage but the static files.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# --- E-mail -----------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Assistance activité partielle <ne-pas-repondre@asp.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env.str("EMAIL_HOST", default="")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = _strict_int("EMAIL_PORT", 25, minimum=1)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = _strict_bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = _strict_bool("EMAIL_USE_SSL", default=False)
    EMAIL_TIMEOUT = _strict_int("EMAIL_TIMEOUT", 10, minimum=1)
elif PRODUCTION:
    raise ImproperlyConfigured("Production sends real e-mail: set EMAIL_HOST (SMTP).")
else:
    # One file per e-mail under var/mail, named by time, kind and recipient (readable by
    # whoever runs `make run`, see worker/mail_backends.py).
    EMAIL_BACKEND = "worker.mail_backends.NamedFileEmailBackend"
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))

# How many times the worker tries an e-mail before it is shown to agents as failed.
EMAIL_MAX_ATTEMPTS = _strict_int("EMAIL_MAX_ATTEMPTS", 5, minimum=1)
# A send still "in progress" after this long was lost with its worker: hand it over again.
# Far above an SMTP timeout, so a slow send is never duplicated.
EMAIL_CLAIM_TIMEOUT_SECONDS = _strict_int("EMAIL_CLAIM_TIMEOUT_SECONDS", 600, minimum=1)

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if PRODUCTION and not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("Production uses Redis: set CELERY_BROKER_URL=redis://…")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    # Tasks are short: an hour of visibility timeout is far above any of them, so Redis
    # never hands a running task to a second worker (STACK.md pitfall 13).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = _strict_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# A broker that is down must not hang a web request: publishing gives up quickly and the
# outbox sweep hands the work over once the broker is back (STACK.md pitfall 14).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Task modules of sub-packages (the apps' own ``tasks.py`` are autodiscovered).
CELERY_IMPORTS = ("accounts.extranet.tasks", "backoffice.notices.tasks", "backoffice.ops.tasks")
# One beat process runs these. Every sweep is idempotent and bounded, so a missed or a
# repeated run does no harm. Each task lives beside the services it calls.
# --- Operations (README.md, "Running it") ------------------------------------------------
# Beat pings the workers this often; /readyz reports a worker down when none answered
# within OPS_WORKER_SILENCE_SECONDS, and beat down when its last ping is older than
# OPS_BEAT_SILENCE_SECONDS.
OPS_HEARTBEAT_SECONDS = _strict_int("OPS_HEARTBEAT_SECONDS", 15, minimum=1)
# How often beat asks for the outbox sweep (jobs the broker never got, or that a dead worker
# left half-done). Each sweep hands a job over once, even with two sweeps at the same time.
OUTBOX_SWEEP_SECONDS = _strict_int("OUTBOX_SWEEP_SECONDS", 30, minimum=1)
# A job handed to the broker that no worker has claimed after this long (the web process
# died between its commit and the publish, or the broker lost the message) is handed over
# again. A second hand-over of a job still queued costs nothing: the claim runs it once.
OUTBOX_REENQUEUE_AFTER_SECONDS = _strict_int("OUTBOX_REENQUEUE_AFTER_SECONDS", 300, minimum=1)
OPS_WORKER_SILENCE_SECONDS = _strict_int("OPS_WORKER_SILENCE_SECONDS", 60, minimum=1)
OPS_BEAT_SILENCE_SECONDS = _strict_int("OPS_BEAT_SILENCE_SECONDS", 60, minimum=1)
if OPS_WORKER_SILENCE_SECONDS <= OPS_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("OPS_WORKER_SILENCE_SECONDS must exceed OPS_HEARTBEAT_SECONDS.")
if OPS_BEAT_SILENCE_SECONDS <= OPS_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("OPS_BEAT_SILENCE_SECONDS must exceed OPS_HEARTBEAT_SECONDS.")
# /readyz and /metrics: `Authorization: Bearer <OPS_TOKEN>`, or from this machine without a
# proxy in between where OPS_LOOPBACK_ACCESS allows it (off by default in production,
# where the reverse proxy itself connects from 127.0.0.1).
OPS_TOKEN = env.str("OPS_TOKEN", default="")
if OPS_TOKEN and len(OPS_TOKEN) < 32:
    raise ImproperlyConfigured("OPS_TOKEN must be at least 32 characters long.")
OPS_LOOPBACK_ACCESS = _strict_bool("OPS_LOOPBACK_ACCESS", default=not PRODUCTION)

CELERY_BEAT_SCHEDULE = {
    # Beat's tick and the workers' heartbeat (/readyz). A ping that waited longer than the
    # bound proves nothing: dropped, rather than piled up while the workers are away.
    "ops-heartbeat": {
        "task": "worker.tasks.heartbeat",
        "schedule": float(OPS_HEARTBEAT_SECONDS),
        "options": {"expires": float(OPS_WORKER_SILENCE_SECONDS)},
    },
    # The domain figures of /metrics (open tickets, SLA breaches, reassignments).
    "ops-metrics-rollup": {"task": "backoffice.ops.tasks.metrics_rollup", "schedule": 60.0},
    # E-mails and "J'ai oublié…" requests the broker never got (it was down), or that a
    # dead worker left half-done, are handed over again.
    "outbox-sweep": {"task": "worker.tasks.outbox_sweep", "schedule": float(OUTBOX_SWEEP_SECONDS)},
    # Notices must go up and down within a minute of their start and end.
    "notices-sweep": {"task": "backoffice.notices.tasks.notices_sweep", "schedule": 30.0},
    "sla-breaches": {"task": "tickets.tasks.sla_breaches_mark", "schedule": 60.0},
    "dashboard-refresh": {"task": "backoffice.tasks.dashboard_refresh", "schedule": 60.0},
    "tickets-anonymize": {
        "task": "tickets.tasks.tickets_anonymize_expired",
        "schedule": crontab(hour=3, minute=17),
    },
    # Records the expiry of recovery links (validity itself is checked at use).
    "recovery-links-expire": {
        "task": "accounts.extranet.tasks.recovery_links_expire_sweep",
        "schedule": 60.0,
    },
    # Applies approved account reassignments once their waiting period is over.
    "reassignments-apply": {
        "task": "accounts.extranet.tasks.reassignments_apply_due",
        "schedule": 30.0,
    },
}

# --- Product settings -------------------------------------------------------------------
TICKET_REFERENCE_PREFIX = "AP"


def _opening_hours(raw: str) -> dict[int, list[tuple[str, str]]]:
    """``SLA_OPENING_HOURS="09:00-12:30,13:30-17:30"`` applies to SLA_WORKING_DAYS."""
    import re

    spans = []
    for part in raw.split(","):
        match = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)\s*", part)
        if not match:
            raise ImproperlyConfigured(f"SLA_OPENING_HOURS: cannot read {part!r} (HH:MM-HH:MM).")
        start, end = f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}"
        if end <= start:
            raise ImproperlyConfigured(f"SLA_OPENING_HOURS: {part!r} ends before it starts.")
        spans.append((start, end))
    days = env.list("SLA_WORKING_DAYS", cast=int, default=[0, 1, 2, 3, 4])
    if not all(0 <= d <= 6 for d in days):
        raise ImproperlyConfigured("SLA_WORKING_DAYS: weekdays are 0 (Monday) to 6 (Sunday).")
    return {day: spans for day in days}


# Personal data of closed tickets is erased this many months after closure.
TICKET_RETENTION_MONTHS = _strict_int("TICKET_RETENTION_MONTHS", 24, minimum=1)

# Business hours for SLA targets (French public holidays: see tickets/business_hours.py).
SLA_OPENING_HOURS = _opening_hours(env.str("SLA_OPENING_HOURS", default="09:00-12:30,13:30-17:30"))


# Extranet recovery / activation links (DESIGN.md section 7): validity, checked at use.
RECOVERY_LINK_VALIDITY_MINUTES = _strict_int("RECOVERY_LINK_VALIDITY_MINUTES", 60, minimum=1)
# A new staff account (or one whose device an administrator removed) enrols its second
# factor through a one-time link e-mailed to its own address, valid this long.
STAFF_ENROLMENT_LINK_HOURS = _strict_int("STAFF_ENROLMENT_LINK_HOURS", 24, minimum=1)
# Links one account may be sent per hour and purpose; beyond that no new link is issued,
# but nothing is locked: existing links still work and the holder can still log in.
RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR = _strict_int(
    "RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR", 5, minimum=1
)
# A link asked through "J'ai oublié mon mot de passe" does not revoke a pending one issued
# less than this many minutes ago (anyone who knows an identifiant can ask for a link: they
# must not be able to void the one the holder has just received; both stay usable, and
# using one revokes the others).
RECOVERY_LINK_SPARED_MINUTES = _strict_int("RECOVERY_LINK_SPARED_MINUTES", 15, minimum=0)
# Public forms (forgot identifiant / password, create my space, login) per client IP.
PUBLIC_FORM_POSTS_PER_IP_PER_HOUR = _strict_int("PUBLIC_FORM_POSTS_PER_IP_PER_HOUR", 30, minimum=1)
EXTRANET_LOGIN_ATTEMPTS_PER_IP_PER_15_MIN = _strict_int(
    "EXTRANET_LOGIN_ATTEMPTS_PER_IP_PER_15_MIN", 30, minimum=1
)
# Failed logins on one identifiant, counted from every address: past this many within the
# window, a login with that identifiant also needs the security code (the captcha of
# "Créer mon espace", with its audio version). Never a lockout: the holder who types the
# code and the right password gets in.
EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE = _strict_int(
    "EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE", 5, minimum=1
)
EXTRANET_LOGIN_FAILURE_WINDOW_MINUTES = _strict_int(
    "EXTRANET_LOGIN_FAILURE_WINDOW_MINUTES", 60, minimum=1
)
# Account reassignment (DESIGN.md section 6): how long an approved change waits for an
# objection before the worker applies it. Decimals allowed so the demo can shorten it
# (e.g. 0.02 hours = 72 seconds).
REASSIGNMENT_WAITING_PERIOD_HOURS = _strict_positive_float(
    "REASSIGNMENT_WAITING_PERIOD_HOURS", 24.0
)
# A second reassignment on one SIRET within this many days is flagged to the approver.
REASSIGNMENT_REPEAT_WINDOW_DAYS = _strict_int("REASSIGNMENT_REPEAT_WINDOW_DAYS", 90, minimum=1)
# Risk signals (accounts/extranet/risk.py). Free webmail domains: a new holder there while
# the establishment's address on record is at its own domain is a signal; requesters
# sharing one of these domains are not (everyone does).
REASSIGNMENT_WEBMAIL_DOMAINS = tuple(
    d.strip().lower()
    for d in env.list(
        "REASSIGNMENT_WEBMAIL_DOMAINS",
        default=[
            "gmail.com", "googlemail.com", "yahoo.fr", "yahoo.com", "hotmail.fr", "hotmail.com",
            "outlook.fr", "outlook.com", "live.fr", "live.com", "msn.com", "orange.fr",
            "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr", "laposte.net", "icloud.com",
            "me.com", "aol.com", "gmx.fr", "gmx.com", "protonmail.com", "proton.me",
            "bbox.fr", "numericable.fr",
        ],
    )
    if d.strip()
)  # fmt: skip
# The establishment's e-mail on record changed within this many days before the request.
REASSIGNMENT_EMAIL_CHANGE_DAYS = _strict_int("REASSIGNMENT_EMAIL_CHANGE_DAYS", 30, minimum=1)
# A request filed within this many days after the establishment's creation in the registry.
REASSIGNMENT_NEW_ESTABLISHMENT_DAYS = _strict_int(
    "REASSIGNMENT_NEW_ESTABLISHMENT_DAYS", 90, minimum=1
)
# From this many live risk signals on, two different supervisors must approve.
REASSIGNMENT_TWO_APPROVERS_FROM_SIGNALS = _strict_int(
    "REASSIGNMENT_TWO_APPROVERS_FROM_SIGNALS", 2, minimum=1
)

# --- The requester's side: follow-up links and documents (DESIGN.md section 10) ---------
# A follow-up link works while its ticket is open, and this many days after the ticket is
# resolved or closed; an agent can revoke it by sending a new one.
FOLLOWUP_LINK_DAYS_AFTER_CLOSE = _strict_int("FOLLOWUP_LINK_DAYS_AFTER_CLOSE", 30, minimum=0)
# Answers posted from a follow-up page, per ticket and per client IP.
FOLLOWUP_POSTS_PER_TICKET_PER_HOUR = _strict_int(
    "FOLLOWUP_POSTS_PER_TICKET_PER_HOUR", 10, minimum=1
)
FOLLOWUP_POSTS_PER_IP_PER_HOUR = _strict_int("FOLLOWUP_POSTS_PER_IP_PER_HOUR", 30, minimum=1)
# Documents (PDF, JPEG, PNG, the type read from the content): size of one file, files per
# message, documents per ticket (rejected ones do not count).
DOCUMENT_MAX_MB = _strict_int("DOCUMENT_MAX_MB", 10, minimum=1)
DOCUMENT_MAX_BYTES = DOCUMENT_MAX_MB * 1024 * 1024
DOCUMENTS_PER_MESSAGE = _strict_int("DOCUMENTS_PER_MESSAGE", 5, minimum=1)
DOCUMENTS_PER_TICKET = _strict_int("DOCUMENTS_PER_TICKET", 20, minimum=1)
# Where documents are kept, through Django's storage API (the "documents" storage). Never
# under a public URL: agents download them through an access-checked view.
DOCUMENTS_STORAGE = env.str("DOCUMENTS_STORAGE", default="filesystem")
if DOCUMENTS_STORAGE == "filesystem":
    STORAGES["documents"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("DOCUMENTS_DIR", default=str(VAR_DIR / "documents")),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
elif DOCUMENTS_STORAGE == "s3":
    # An S3-compatible bucket through django-storages, configured by the environment only.
    # Private objects, no public URL is ever built (the views stream the files).
    try:
        import boto3  # noqa: F401
    except ImportError as exc:
        raise ImproperlyConfigured(
            "DOCUMENTS_STORAGE=s3 needs boto3: install the project with its s3 extra "
            "(pip install '.[s3]')."
        ) from exc
    _bucket = env.str("DOCUMENTS_S3_BUCKET", default="")
    if not _bucket:
        raise ImproperlyConfigured("DOCUMENTS_STORAGE=s3 needs DOCUMENTS_S3_BUCKET.")
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": env.str("DOCUMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DOCUMENTS_S3_REGION", default="") or None,
            "access_key": env.str("DOCUMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("DOCUMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("DOCUMENTS_S3_PREFIX", default="documents"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            "object_parameters": {"ServerSideEncryption": "AES256"},
        },
    }
else:
    raise ImproperlyConfigured(
        f"DOCUMENTS_STORAGE must be filesystem or s3, not {DOCUMENTS_STORAGE!r}."
    )

# The indemnisation simulator of the home page (not ours: only the link, DESIGN.md § 2).
SIMULATOR_URL = env.str("SIMULATOR_URL", default="https://www.simulateurap.emploi.gouv.fr/")

# --- django-dsfr ------------------------------------------------------------------------
DSFR_MARK_OPTIONAL_FIELDS = True
# Agents write banner text: never render it as HTML (STACK.md pitfall 6).
DSFR_CONTENT_IS_SAFE = False

# --- Captcha (offline) ------------------------------------------------------------------
# Digits only, with an audio version and a "Nouveau code" button (tickets/captcha.py).
CAPTCHA_CHALLENGE_FUNCT = "tickets.captcha.digits_challenge"
CAPTCHA_LENGTH = 6
CAPTCHA_TIMEOUT = 10
CAPTCHA_IMAGE_SIZE = (160, 50)
CAPTCHA_FONT_SIZE = 32

# --- Security ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A refused form (expired page, cookies blocked) gets the site's French error page.
CSRF_FAILURE_VIEW = "backoffice.public.errors.csrf_failure"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _strict_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = _strict_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [SITE_BASE_URL]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Logging ----------------------------------------------------------------------------
# JSON lines in production (one object per line: time, level, logger, message, request id,
# actor, task), text for a person at a terminal (make run). Web, worker and beat alike
# (worker/celery.py hands Celery's logging over to this).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")
# No secret in any log line (backoffice/ops/secret_urls.py): every record this process
# creates has the tokens of link URLs and the values of query strings masked, before any
# handler sees it (runserver's django.server, django.request's "Gone: …", Celery, ours).
secret_urls.install()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "backoffice.ops.logformat.TextFormatter"},
        "json": {"()": "backoffice.ops.logformat.JsonFormatter"},
    },
    "filters": {"secret_urls": {"()": "backoffice.ops.secret_urls.RedactingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["secret_urls"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Error reporting ----------------------------------------------------------------------
# Sentry, only with a DSN; personal data off (backoffice/ops/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from backoffice.ops.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=APP_ENV),
        release=env.str("SENTRY_RELEASE", default="") or None,
    )
