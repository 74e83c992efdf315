"""Afspraak's one settings module.

Every knob comes from the environment (see ``.env.example``) through the typed
readers in ``afspraak.environment``. The defaults are those of the embedded mode:
SQLite, keys and certificates in ``var/``, e-mail to the console. Production
(``AFSPRAAK_ENV=production``) refuses to start without the secrets it needs.
"""

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

from afspraak.environment import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_log_sink,
    env_ports,
    env_secret,
    env_str,
    unsafe_production_settings,
)
from afspraak.stores import cache_settings, database_settings, huey_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AFSPRAAK_VAR_DIR", str(BASE_DIR / "var")))

AFSPRAAK_ENV = env_choice("AFSPRAAK_ENV", "embedded", ("embedded", "production"))
IS_PRODUCTION = AFSPRAAK_ENV == "production"
DEBUG = env_bool("AFSPRAAK_DEBUG", False)
if DEBUG and IS_PRODUCTION:
    raise ImproperlyConfigured("AFSPRAAK_DEBUG cannot be on when AFSPRAAK_ENV=production")


def _embedded_secret_key() -> str:
    """Read the embedded mode's secret key from var/, creating it (mode 0600) on first use."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = env_secret("AFSPRAAK_SECRET_KEY")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("AFSPRAAK_SECRET_KEY (or AFSPRAAK_SECRET_KEY_FILE) is required")
    SECRET_KEY = _embedded_secret_key()

ALLOWED_HOSTS = env_list("AFSPRAAK_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
SITE_URL = env_str("AFSPRAAK_SITE_URL", "https://localhost:8443").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "huey.contrib.djhuey",
    "afspraak.accounts",
    "afspraak.audit",
    "afspraak.tenancy",
    "afspraak.crypto",
    "afspraak.scheduling",
    "afspraak.bookings",
    "afspraak.server",
    "afspraak.backups",
    "afspraak.security",
    "afspraak.compliance",
    "afspraak.posture",
]

MIDDLEWARE = [
    "afspraak.audit.middleware.StripNulBytesMiddleware",
    "afspraak.audit.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    # Django's, except that a failover after the view's commit keeps its response.
    "afspraak.server.sessions.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "afspraak.accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "afspraak.accounts.middleware.RequireMFAMiddleware",
    "axes.middleware.AxesMiddleware",
    "afspraak.crypto.middleware.CryptoFailureMiddleware",
    "afspraak.tenancy.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "afspraak.urls"
WSGI_APPLICATION = "afspraak.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "afspraak" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database, caches, job queue (afspraak/stores.py) -------------------------------------------
DB_ENGINE = env_choice("AFSPRAAK_DB_ENGINE", "sqlite", ("sqlite", "postgresql"))
_DB_SSLMODE = env_str("AFSPRAAK_DB_SSLMODE", "prefer")
DATABASES = database_settings(DB_ENGINE, VAR_DIR, sslmode=_DB_SSLMODE)
# The connection system jobs use: "system" when configured, else the default one (on
# SQLite there is no row-level security to bypass; on PostgreSQL without a system role,
# cross-tenant jobs see no tenant rows at all: they fail closed).
AFSPRAAK_SYSTEM_DATABASE = "system" if "system" in DATABASES else "default"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = cache_settings()
HUEY = huey_settings(VAR_DIR)

# --- Accounts and passwords ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# PBKDF2-SHA256 first and explicit (control D1); Django 5.2 uses 1,000,000 iterations.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
PASSWORD_MIN_LENGTH = 15
PASSWORD_MAX_LENGTH = 128
PASSWORD_HISTORY_DEPTH = 5
PASSWORD_CONTEXT_WORDS = ["afspraak", "appointment", "afspraken"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "afspraak.accounts.passwords.LengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH, "max_length": PASSWORD_MAX_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {"NAME": "afspraak.accounts.passwords.ContextWordsValidator"},
    {"NAME": "afspraak.accounts.passwords.StrengthValidator", "OPTIONS": {"min_score": 3}},
    {
        "NAME": "afspraak.accounts.passwords.HistoryValidator",
        "OPTIONS": {"depth": PASSWORD_HISTORY_DEPTH},
    },
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "afspraak.accounts.adapter.AccountAdapter"
# Sign-up shows only the rules a new account meets and hashes a known address's password too.
ACCOUNT_FORMS = {"signup": "afspraak.accounts.forms.SignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("AFSPRAAK_REAUTH_SECONDS", 300, minimum=30)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Afspraak] "
ACCOUNT_PASSWORD_INPUT_RENDER_VALUE = False
ACCOUNT_SESSION_REMEMBER = False
# Per-IP throttling of failed logins across accounts (and of wrong MFA codes); the per-account
# lock is django-axes. Both sit in the shared cache, so every worker counts together.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("AFSPRAAK_LOGIN_FAILED_IP_RATE", "30/15m/ip"),
    # Bookings one address may submit on the public pages (afspraak.bookings.book_views).
    "booking": env_str("AFSPRAAK_BOOKING_IP_RATE", "30/h/ip"),
    # Requests for a fresh invitee link: per address, and per e-mail address asked for.
    "invitee_link": env_str("AFSPRAAK_INVITEE_LINK_IP_RATE", "10/h/ip"),
    "invitee_link_email": env_str("AFSPRAAK_INVITEE_LINK_EMAIL_RATE", "3/h/key"),
    # Vulnerability reports one address may send (afspraak.compliance.disclosure_views).
    "disclosure_report": env_str("AFSPRAAK_DISCLOSURE_IP_RATE", "5/h/ip"),
}
# allauth must see the same client address as axes behind a proxy.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("AFSPRAAK_PROXY_COUNT", 0, minimum=0)

# MFA (control O2): staff and members of organizations that require it must enrol
# (afspraak.accounts.middleware.mfa_required); secrets are encrypted by the adapter.
MFA_ADAPTER = "afspraak.accounts.adapter.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_FORMS = {"activate_totp": "afspraak.accounts.totp.ActivateTOTPForm"}
MFA_TOTP_ISSUER = "Afspraak"
# One 30-second step either side absorbs phone clock drift (RFC 6238 section 5.2); a code
# still works only once, as used codes are remembered in the shared cache.
MFA_TOTP_TOLERANCE = 1
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
# Every login asks for the second factor: no "trust this browser" cookie.
MFA_TRUST_ENABLED = False
# Adding or removing a factor, or viewing recovery codes, needs a recent re-authentication.
MFA_REAUTHENTICATION_REQUIRED = True

USERSESSIONS_TRACK_ACTIVITY = True
USERSESSIONS_ADAPTER = "afspraak.accounts.adapter.UserSessionsAdapter"

# Brute force: at most 10 failures lock the account for at least 30 minutes, never for good
# (django-axes keeps the counters in the database, so they hold across workers and restarts).
AXES_FAILURE_LIMIT = env_int("AFSPRAAK_LOCKOUT_FAILURES", 10, minimum=1)
if AXES_FAILURE_LIMIT > 10:
    raise ImproperlyConfigured("AFSPRAAK_LOCKOUT_FAILURES must be at most 10")
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AFSPRAAK_LOCKOUT_MINUTES", 30, minimum=30))
# Attempts made while locked are refused but not counted, so the lock lifts a fixed time
# after the failure that set it instead of being renewed by every refused try.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "afspraak.accounts.lockout.username_from_attempt"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "afspraak.accounts.lockout.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# axes locks accounts only: locking whole addresses would let one attacker lock out an
# office behind a shared NAT. Guessing from one address across accounts is throttled by
# allauth's "login_failed" rate limit above, kept in the shared cache.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# The client address axes records: the same reading as allauth and the audit trail.
AXES_CLIENT_IP_CALLABLE = "afspraak.audit.context.client_ip"

# --- Sessions -----------------------------------------------------------------------------------
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_ABSOLUTE_SECONDS = env_int("AFSPRAAK_SESSION_ABSOLUTE_SECONDS", 14 * 86400, minimum=60)
SESSION_IDLE_SECONDS = env_int("AFSPRAAK_SESSION_IDLE_SECONDS", 24 * 3600, minimum=60)
STAFF_SESSION_ABSOLUTE_SECONDS = env_int(
    "AFSPRAAK_STAFF_SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=60
)
STAFF_SESSION_IDLE_SECONDS = env_int("AFSPRAAK_STAFF_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
# Each login also sets its session's end date to the absolute limit of its user (12 hours
# for staff) plus a minute's grace, so neither the cookie nor the session row outlives it
# (afspraak.accounts.middleware.start_session_clock).
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_NAME = "__Host-afspraak_session"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "__Host-afspraak_csrf"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# --- Transport security and headers (control D1 in transit) --------------------------------------
SECURE_SSL_REDIRECT = env_bool("AFSPRAAK_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("AFSPRAAK_HSTS_SECONDS", 63072000, minimum=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Production consents to the browsers' preload list (the operator still submits the
# domain); a localhost installation cannot be preloaded, so it does not ask.
SECURE_HSTS_PRELOAD = env_bool("AFSPRAAK_HSTS_PRELOAD", IS_PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
_TRUST_X_FORWARDED_PROTO = env_bool("AFSPRAAK_TRUST_X_FORWARDED_PROTO", False)
if _TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# What `check --deploy` lets through but production must not run with (each also a
# `security-audit` check).
if IS_PRODUCTION:
    _unsafe = unsafe_production_settings(
        db_engine=DB_ENGINE,
        db_sslmode=_DB_SSLMODE,
        site_url=SITE_URL,
        allowed_hosts=ALLOWED_HOSTS,
        trusts_forwarded_proto=_TRUST_X_FORWARDED_PROTO,
        proxy_count=ALLAUTH_TRUSTED_PROXY_COUNT,
    )
    if _unsafe:
        raise ImproperlyConfigured("; ".join(_unsafe))

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "publickey-credentials-get": ["self"],
}

# --- E-mail -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("AFSPRAAK_FROM_EMAIL", "Afspraak <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("AFSPRAAK_SMTP_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("AFSPRAAK_SMTP_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("AFSPRAAK_SMTP_USER")
    EMAIL_HOST_PASSWORD = env_secret("AFSPRAAK_SMTP_PASSWORD")
    EMAIL_USE_TLS = env_bool("AFSPRAAK_SMTP_STARTTLS", True)
    EMAIL_USE_SSL = env_bool("AFSPRAAK_SMTP_SSL", False)
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Scheduling ---------------------------------------------------------------------------------
# Meeting types with a video room get this prefix plus a random room name per booking.
AFSPRAAK_VIDEO_ROOM_URL = env_str("AFSPRAAK_VIDEO_ROOM_URL", "https://meet.jit.si/afspraak-")
if not AFSPRAAK_VIDEO_ROOM_URL.startswith("https://"):
    raise ImproperlyConfigured("AFSPRAAK_VIDEO_ROOM_URL must start with https://")

# --- Keys ---------------------------------------------------------------------------------------
AFSPRAAK_MASTER_KEYSET_FILE = Path(
    env_str("AFSPRAAK_MASTER_KEYSET_FILE", str(VAR_DIR / "keys" / "master.json"))
)
# A cloud KMS key instead of the keyset file (aws-kms://arn:aws:kms:REGION:ACCOUNT:key/ID; needs
# the tink[awskms] extra); credentials come from the AWS default chain unless a file is named.
AFSPRAAK_MASTER_KEY_URI = env_str("AFSPRAAK_MASTER_KEY_URI")
AFSPRAAK_MASTER_KEY_CREDENTIALS_FILE = env_str("AFSPRAAK_MASTER_KEY_CREDENTIALS_FILE")

# --- Backups (docs/runbooks/backups.md) ---------------------------------------------------------
AFSPRAAK_BACKUP_DIR = Path(env_str("AFSPRAAK_BACKUP_DIR", str(VAR_DIR / "backups")))
# The second location (D6): another directory (a different disk or mount), or
# s3://bucket/prefix on any S3-compatible store at AFSPRAAK_BACKUP_S3_ENDPOINT_URL.
AFSPRAAK_BACKUP_SECOND_LOCATION = env_str("AFSPRAAK_BACKUP_SECOND_LOCATION")
AFSPRAAK_BACKUP_S3_ENDPOINT_URL = env_str("AFSPRAAK_BACKUP_S3_ENDPOINT_URL")
AFSPRAAK_BACKUP_S3_REGION = env_str("AFSPRAAK_BACKUP_S3_REGION", "us-east-1")
AFSPRAAK_BACKUP_S3_ACCESS_KEY_ID = env_secret("AFSPRAAK_BACKUP_S3_ACCESS_KEY_ID")
AFSPRAAK_BACKUP_S3_SECRET_ACCESS_KEY = env_secret("AFSPRAAK_BACKUP_S3_SECRET_ACCESS_KEY")
# The backup keyset, wrapped by the master key (each backup's manifest carries a copy).
AFSPRAAK_BACKUP_KEYSET_FILE = Path(
    env_str("AFSPRAAK_BACKUP_KEYSET_FILE", str(VAR_DIR / "keys" / "backup-keyset.json"))
)
# Control D5 keeps backups 7 days; longer needs the override, which the runbook flags.
AFSPRAAK_BACKUP_RETENTION_DAYS = env_int("AFSPRAAK_BACKUP_RETENTION_DAYS", 7, minimum=1)
AFSPRAAK_BACKUP_RETENTION_OVERRIDE = env_bool("AFSPRAAK_BACKUP_RETENTION_OVERRIDE", False)
if AFSPRAAK_BACKUP_RETENTION_DAYS > 7 and not AFSPRAAK_BACKUP_RETENTION_OVERRIDE:
    raise ImproperlyConfigured(
        "AFSPRAAK_BACKUP_RETENTION_DAYS above 7 breaks control D5: "
        "set AFSPRAAK_BACKUP_RETENTION_OVERRIDE=true to keep backups longer anyway"
    )
AFSPRAAK_BACKUP_INTERVAL_MINUTES = env_int("AFSPRAAK_BACKUP_INTERVAL_MINUTES", 60, minimum=5)
if 60 % AFSPRAAK_BACKUP_INTERVAL_MINUTES and AFSPRAAK_BACKUP_INTERVAL_MINUTES % 60:
    raise ImproperlyConfigured(
        "AFSPRAAK_BACKUP_INTERVAL_MINUTES must divide an hour or be whole hours, "
        f"not {AFSPRAAK_BACKUP_INTERVAL_MINUTES}"
    )
# PostgreSQL installations: pgBackRest does the backups (deploy/pgbackrest/); `afspraak
# backup` drives it with its configuration directory (pgbackrest.conf, conf.d/) and stanza,
# running pgBackRest and pg_ctl as AFSPRAAK_PGBACKREST_SYSTEM_USER when Afspraak runs as root.
AFSPRAAK_PGBACKREST_CONFIG_PATH = env_str("AFSPRAAK_PGBACKREST_CONFIG_PATH", "/etc/pgbackrest")
AFSPRAAK_PGBACKREST_STANZA = env_str("AFSPRAAK_PGBACKREST_STANZA", "afspraak")
AFSPRAAK_PGBACKREST_SYSTEM_USER = env_str("AFSPRAAK_PGBACKREST_SYSTEM_USER", "postgres")
# A full backup when the newest full one is older than this; otherwise the partial type.
# With pgBackRest's 6-day retention, 12 keeps deleted data at most 6 d 14 h (control D2;
# `afspraak security-audit` checks the sum, docs/runbooks/backups.md shows it).
AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS = env_int(
    "AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS", 12, minimum=1
)
AFSPRAAK_PGBACKREST_PARTIAL_TYPE = env_choice(
    "AFSPRAAK_PGBACKREST_PARTIAL_TYPE", "diff", ("diff", "incr")
)
# Where the drill restores its scratch cluster (default: the system's temporary directory).
AFSPRAAK_PGBACKREST_SCRATCH_DIR = env_str("AFSPRAAK_PGBACKREST_SCRATCH_DIR")
# PostgreSQL's server binaries (pg_ctl) for the drill: default the newest installed.
AFSPRAAK_PG_BIN_DIR = env_str("AFSPRAAK_PG_BIN_DIR")

# --- Staff compliance and support access (docs/runbooks/staff-access.md) ----------------------
# The longest a staff member's support grant may run; control O1 allows at most 8 hours.
AFSPRAAK_SUPPORT_MAX_HOURS = env_int("AFSPRAAK_SUPPORT_MAX_HOURS", 8, minimum=1)
if AFSPRAAK_SUPPORT_MAX_HOURS > 8:
    raise ImproperlyConfigured("AFSPRAAK_SUPPORT_MAX_HOURS must be at most 8 (control O1)")
# How often an access review opens (docs/runbooks/access-reviews.md): quarterly by default
# (CIS 5.1); control O1 allows at most six months.
AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS = env_int(
    "AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS", 91, minimum=1
)
if AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS > 183:
    raise ImproperlyConfigured(
        "AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS must be at most 183: control O1 reviews access "
        "at least every six months"
    )
# A disciplinary note is erased this many days after it was recorded (set your employment law's).
AFSPRAAK_DISCIPLINARY_NOTE_RETENTION_DAYS = env_int(
    "AFSPRAAK_DISCIPLINARY_NOTE_RETENTION_DAYS", 730, minimum=1
)

# Vulnerability disclosure (docs/runbooks/disclosure.md): the address security.txt names
# beside the report form (optional), and the largest attachment a report may carry.
AFSPRAAK_DISCLOSURE_EMAIL = env_str("AFSPRAAK_DISCLOSURE_EMAIL", "")
AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES = env_int(
    "AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES", 2 * 1024 * 1024, minimum=1
)

# --- Server -------------------------------------------------------------------------------------
AFSPRAAK_TLS_DIR = VAR_DIR / "tls"
AFSPRAAK_BIND_HOST = env_str("AFSPRAAK_BIND_HOST", "127.0.0.1")
AFSPRAAK_HTTPS_PORT = env_int("AFSPRAAK_HTTPS_PORT", 8443, minimum=1)
AFSPRAAK_HTTP_PORT = env_int("AFSPRAAK_HTTP_PORT", 8080, minimum=0)
AFSPRAAK_TLS_CERT = Path(env_str("AFSPRAAK_TLS_CERT", str(AFSPRAAK_TLS_DIR / "server.pem")))
AFSPRAAK_TLS_KEY = Path(env_str("AFSPRAAK_TLS_KEY", str(AFSPRAAK_TLS_DIR / "server-key.pem")))
AFSPRAAK_WEB_WORKERS = env_int("AFSPRAAK_WEB_WORKERS", 2, minimum=1)
AFSPRAAK_WEB_THREADS = env_int("AFSPRAAK_WEB_THREADS", 4, minimum=1)
# Read by OpenSSL in the web server process: it limits the TLS key-exchange groups.
AFSPRAAK_OPENSSL_CONF = Path(
    env_str("AFSPRAAK_OPENSSL_CONF", str(BASE_DIR / "deploy" / "openssl-afspraak.cnf"))
)

# --- Configuration audit (afspraak security-audit, docs/runbooks/security-audit.md) -------------
# Ports that may listen on an address other than loopback (control N1); the firewall still
# decides who reaches them.
AFSPRAAK_AUDIT_ALLOWED_PORTS = env_ports(
    "AFSPRAAK_AUDIT_ALLOWED_PORTS",
    [port for port in (AFSPRAAK_HTTPS_PORT, AFSPRAAK_HTTP_PORT) if port],
)
# The TLS endpoint the audit connects to (HOST:PORT); by default the site URL's.
AFSPRAAK_AUDIT_ENDPOINT = env_str("AFSPRAAK_AUDIT_ENDPOINT")
# The CA that signs the endpoint's certificate: the local CA of `afspraak setup` in the
# embedded mode, the system's trust store in production (empty).
AFSPRAAK_AUDIT_CA_FILE = env_str(
    "AFSPRAAK_AUDIT_CA_FILE", "" if IS_PRODUCTION else str(AFSPRAAK_TLS_DIR / "ca.pem")
)
# The firewall ruleset the host's `inet afspraak` table must equal.
AFSPRAAK_NFTABLES_RULESET = Path(
    env_str("AFSPRAAK_NFTABLES_RULESET", str(BASE_DIR / "deploy" / "nftables" / "afspraak.nft"))
)

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The session first (a browser's calls, CSRF-checked), then a member's Bearer API token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "afspraak.api.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, with a ceiling on size and nesting (deep nesting exhausts the stack).
    "DEFAULT_PARSER_CLASSES": ["afspraak.inputs.parsers.BoundedJSONParser"],
    # Domain refusals answered (and audited) as the pages answer them.
    "EXCEPTION_HANDLER": "afspraak.api.errors.handle_api_exception",
}
SPECTACULAR_SETTINGS = {"TITLE": "Afspraak API", "VERSION": "1.0.0"}

# --- Static files, i18n -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "afspraak" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
# The policy of responses that are no page: static files here, gunicorn's own error
# answers in afspraak.server.bare_responses. Nothing in them may run, load or be framed.
BARE_RESPONSE_CSP = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _static_file_headers(headers: Any, path: str, url: str) -> None:
    """Give static files the headers of pages that SecurityMiddleware does not add."""
    # WhiteNoise answers inside SecurityMiddleware (HSTS, nosniff, Referrer-Policy come from
    # it) but before the CSP and clickjacking middleware.
    headers["Content-Security-Policy"] = BARE_RESPONSE_CSP
    headers["X-Frame-Options"] = X_FRAME_OPTIONS


WHITENOISE_ADD_HEADERS_FUNCTION = _static_file_headers
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: audit events go out as one JSON object a line for the SIEM ------------------------
# The audit chain's head goes to the SIEM stream every this many events (and every hour).
AFSPRAAK_AUDIT_HEAD_EVERY = env_int("AFSPRAAK_AUDIT_HEAD_EVERY", 100, minimum=1)
LOG_LEVEL = env_choice("AFSPRAAK_LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
# Where the audit stream goes: stderr, stdout, file:PATH (rotated) or syslog+tls://HOST:PORT
# (RFC 5425).
AFSPRAAK_SIEM_SINK = env_log_sink("AFSPRAAK_SIEM_SINK", "stderr")
AFSPRAAK_SIEM_CA_FILE = env_str("AFSPRAAK_SIEM_CA_FILE")
AFSPRAAK_SIEM_CERT_FILE = env_str("AFSPRAAK_SIEM_CERT_FILE")
AFSPRAAK_SIEM_KEY_FILE = env_str("AFSPRAAK_SIEM_KEY_FILE")
AFSPRAAK_SIEM_FILE_MAX_BYTES = env_int(
    "AFSPRAAK_SIEM_FILE_MAX_BYTES", 50 * 1024 * 1024, minimum=1024
)
AFSPRAAK_SIEM_FILE_BACKUPS = env_int("AFSPRAAK_SIEM_FILE_BACKUPS", 5, minimum=1)
# --- Detection and alerts (afspraak.audit.detection, docs/security/detection.md) ------------------
# Who hears of every alert (the operator's security team); organization alerts also go to
# that organization's owners and admins.
AFSPRAAK_SECURITY_CONTACTS = env_list("AFSPRAAK_SECURITY_CONTACTS", [])
for _contact in AFSPRAAK_SECURITY_CONTACTS:
    try:
        validate_email(_contact)
    except ValidationError as _error:
        raise ImproperlyConfigured(
            f"AFSPRAAK_SECURITY_CONTACTS: {_contact!r} is not an e-mail address"
        ) from _error
# The counting rules look back this many minutes.
AFSPRAAK_DETECT_WINDOW_MINUTES = env_int("AFSPRAAK_DETECT_WINDOW_MINUTES", 15, minimum=1)
# Below the lockout (AFSPRAAK_LOCKOUT_FAILURES), so the guessing is seen before it locks.
AFSPRAAK_DETECT_ACCOUNT_FAILURES = env_int("AFSPRAAK_DETECT_ACCOUNT_FAILURES", 8, minimum=2)
AFSPRAAK_DETECT_SOURCE_ACCOUNTS = env_int("AFSPRAAK_DETECT_SOURCE_ACCOUNTS", 5, minimum=2)
AFSPRAAK_DETECT_MFA_FAILURES = env_int("AFSPRAAK_DETECT_MFA_FAILURES", 5, minimum=2)
AFSPRAAK_DETECT_DELETIONS = env_int("AFSPRAAK_DETECT_DELETIONS", 20, minimum=2)
AFSPRAAK_DETECT_EXPORTS = env_int("AFSPRAAK_DETECT_EXPORTS", 5, minimum=2)
AFSPRAAK_DETECT_EXPORT_ROWS = env_int("AFSPRAAK_DETECT_EXPORT_ROWS", 50_000, minimum=1)
# A login this many hours after the account was locked out is suspect.
AFSPRAAK_DETECT_LOCKOUT_HOURS = env_int("AFSPRAAK_DETECT_LOCKOUT_HOURS", 24, minimum=1)
# A key rotation not finished this many hours after it started has failed.
AFSPRAAK_DETECT_ROTATION_HOURS = env_int("AFSPRAAK_DETECT_ROTATION_HOURS", 6, minimum=1)
# Firings of one rule about one subject join its alert while it was last seen this recently.
AFSPRAAK_ALERT_GROUP_HOURS = env_int("AFSPRAAK_ALERT_GROUP_HOURS", 24, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every handler: links and keys in URL paths are secrets (afspraak.audit.logredaction).
    "filters": {"redact_secrets": {"()": "afspraak.audit.logredaction.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "afspraak.audit.logformat.ECSFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
        # Raises when a line cannot be written, so the outbox delivers it again later.
        "audit": {
            "()": "afspraak.audit.siem.build_siem_handler",
            "sink": AFSPRAAK_SIEM_SINK,
            "ca_file": AFSPRAAK_SIEM_CA_FILE,
            "cert_file": AFSPRAAK_SIEM_CERT_FILE,
            "key_file": AFSPRAAK_SIEM_KEY_FILE,
            "file_max_bytes": AFSPRAAK_SIEM_FILE_MAX_BYTES,
            "file_backups": AFSPRAAK_SIEM_FILE_BACKUPS,
            "formatter": "json",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "afspraak.audit.events": {"handlers": ["audit"], "level": "INFO", "propagate": False},
        "axes": {"level": "WARNING"},
        # run_huey adds its own handler; without this every job line is printed twice.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
