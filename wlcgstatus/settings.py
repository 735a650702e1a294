"""Settings, read from the environment.

The embedded default needs nothing installed: a SQLite file next to the code, tasks run
in-process, a cache in files next to the code. Production sets DATABASE_URL, REDIS_URL,
SECRET_KEY, ALLOWED_HOSTS and SITE_URL (README, "Production"); DEBUG is off unless set, and
scripts/demo sets it for itself.
"""

import datetime
import os
import tempfile
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent
# The templates, static files and fixtures, in a checkout (links to its top level) and in an
# installed wheel (copies) alike.
FILES_DIR = Path(__file__).parent / "files"

env = environ.Env()
# Names the environment lacks are read from a file, if there is one: .env next to the code,
# or the file ENV_FILE names (/etc/wlcgstatus.env, say). The environment itself wins.
environ.Env.read_env(env.path("ENV_FILE", default=BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)
# The default key is only good for a laptop demo; DEBUG=False without SECRET_KEY fails loudly.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "experiments",
    "sites",
    "wlcgstatus",
]

# READ_REQUIRES_LOGIN=True: only signed-in users see the dashboard.
READ_REQUIRES_LOGIN = env.bool("READ_REQUIRES_LOGIN", default=False)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "sites.middleware.current_assessments",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    *(["django.contrib.auth.middleware.LoginRequiredMiddleware"] if READ_REQUIRES_LOGIN else []),
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out sign-in with the lockout page
]

ROOT_URLCONF = "wlcgstatus.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [FILES_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wlcgstatus.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "wlcgstatus.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Concurrent writers (gunicorn's workers and threads, a Celery worker) wait their turn
    # instead of failing with "database is locked": a transaction takes the write lock when it
    # begins, not when it first writes (a read upgraded to a write cannot wait, it fails at
    # once), the wait lasts up to 20 s, and in WAL mode readers never wait for a writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a real Celery worker started by the tests shares it; one
    # per test run, so that runs side by side do not meet.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"wlcgstatus-test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No JIT compilation: PostgreSQL compiles a query whose estimated cost is high, and the
    # sites table's per-row subqueries at 20,000 sites are: the export's query spent 580 ms
    # compiling for 330 ms of work. A page's queries are short; compiling never pays here.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# The cache must be one for every process: a command-line import or recomputation, or another
# web worker's write, moves on the version every process reads (sites/cache.py). Without Redis,
# files on this machine are that one cache.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": env.path("CACHE_DIR", default=BASE_DIR / "cache"),
                          "OPTIONS": {"MAX_ENTRIES": 2000}}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")  # collectstatic's
STATICFILES_DIRS = [FILES_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "wlcgstatus.staticfiles.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# The address the dashboard is reached at: mail links to it, and an https:// address means
# the dashboard is served over TLS by a proxy in front of it (gunicorn speaks plain HTTP).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
HTTPS = SITE_URL.startswith("https://")
# Forms posted from the public address pass the CSRF origin check (behind the proxy, Django
# sees its own host and scheme only through the headers below).
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
# The proxy says the request came over HTTPS in X-Forwarded-Proto. Only behind a proxy that
# sets it on every request (overwriting what a client sent) may this be trusted.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=HTTPS)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# HSTS: browsers that have seen the site over HTTPS use nothing else for a year.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Single sign-on with an OpenID Connect provider (CERN SSO, WLCG IAM), on when
# OIDC_RP_CLIENT_ID is set; local accounts keep working beside it.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_WG_GROUPS = env.list("OIDC_WG_GROUPS", default=[])
OIDC_SITE_CONTACT_PREFIX = env.str("OIDC_SITE_CONTACT_PREFIX", default="")
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked-out sign-in goes no further
    *(["wlcgstatus.oidc.GroupMappingBackend"] if OIDC_RP_CLIENT_ID else []),
    "django.contrib.auth.backends.ModelBackend",
]

# Passwords cannot be guessed: after LOGIN_FAILURE_LIMIT wrong passwords for an account from
# one address, that account is locked for that address for LOGIN_LOCKOUT_MINUTES (others
# still sign in; the right password does not help meanwhile). Behind the proxy, the address is
# the client's as the proxy forwards it.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
if BEHIND_TLS_PROXY:
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:  # a client could claim any X-Forwarded-For
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Content-Security-Policy: scripts and styles from this server only, no inline script (charts
# get their data through json_script), no eval. Two allowances for styles, both for what the
# browser can not be given as a file:
# - style attributes: the pages colour badges, bars and dots with `style="--c: #rrggbb"`, one
#   colour per scenario from the database, and plotly.js sets attributes on its SVG;
# - empty <style> elements (the hash is that of the empty string): plotly.js creates them and
#   fills them through the CSSOM (insertRule), which CSP does not restrict; a <style> with any
#   text in it stays refused (plotly.js's one such, MapLibre's stylesheet, is kept out by
#   templates/_chart_scripts.html).
# Swagger UI's page (api/urls.py) and DRF's browsable API (api/renderers.py) are served without
# their inline code.
# Forms post here; with single sign-on, a sign-in may go on to the provider's authorization
# endpoint, which form-action must then allow.
_oidc_provider = urlsplit(OIDC_OP_AUTHORIZATION_ENDPOINT)
_FORM_TARGETS = ([f"{_oidc_provider.scheme}://{_oidc_provider.netloc}"]
                 if OIDC_RP_CLIENT_ID and _oidc_provider.netloc else [])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"],
        "style-src-attr": [UNSAFE_INLINE],
        # plotly.js draws a chart's PNG download from a blob: image of its SVG.
        "img-src": [SELF, "data:", "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *_FORM_TARGETS],
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sites:my_sites"
LOGOUT_REDIRECT_URL = "overview"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="wlcgstatus@localhost")

# Per person: reports being made at once, and asked for in any 24 hours.
REPORTS_IN_PROGRESS_PER_USER = env.int("REPORTS_IN_PROGRESS_PER_USER", default=2)
REPORTS_PER_DAY_PER_USER = env.int("REPORTS_PER_DAY_PER_USER", default=20)

# A site's capabilities count as stale when no one has confirmed them for this long.
CAPABILITY_CONFIRM_DAYS = env.int("CAPABILITY_CONFIRM_DAYS", default=180)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")  # for the SMTP backend
EMAIL_PORT = env.int("EMAIL_PORT", default=25)

# Celery: Redis as broker and result backend when REDIS_URL is set; otherwise tasks run
# in-process, so the demo needs no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# The sources of truth (sites/importers/): with CRIC_URL set (CRIC's resource-centre query,
# e.g. https://wlcg-cric.cern.ch/api/core/rcsite/query/?json), beat imports from it daily.
CRIC_URL = env.str("CRIC_URL", default="")
# An import that would make more than this share of a source's sites gone is refused unless
# explicitly allowed (--allow-gone): a cut-off file must not mark the grid gone.
IMPORT_MAX_GONE_SHARE = env.float("IMPORT_MAX_GONE_SHARE", default=0.2)

CELERY_BEAT_SCHEDULE = {
    # Exceptions expire at midnight without any edit: the stored assessments must follow.
    "recompute-assessments-nightly": {
        "task": "sites.tasks.recompute_all_assessments",
        "schedule": crontab(hour=0, minute=5),
    },
    "snapshot-nightly": {
        "task": "wlcgstatus.tasks.snapshot_today",
        "schedule": crontab(hour=23, minute=55),
    },
    "reminders-daily": {
        "task": "sites.tasks.remind",
        "schedule": crontab(hour=7, minute=0),
    },
}
if CRIC_URL:
    CELERY_BEAT_SCHEDULE["import-cric-daily"] = {
        "task": "sites.tasks.import_from_cric",
        "schedule": crontab(hour=6, minute=0),  # before the WG's working day in Europe
    }

# The JSON API (/api/): anyone may read (signed-in users only when READ_REQUIRES_LOGIN); a
# site's capabilities are written with a token of that site. Lists come 50 to a page, up to
# 500 with ?page_size=.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["wlcgstatus.api.authentication.ReadAccess"],
    "DEFAULT_PAGINATION_CLASS": "wlcgstatus.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["wlcgstatus.api.filters.FilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "wlcgstatus.api.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "wlcgstatus.api.schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "wlcgstatus API",
    "DESCRIPTION": "The WLCG Traceability and Isolation WG's status dashboard as JSON: sites, "
                   "their capabilities and assessments, the experiments' policies, scenarios, "
                   "exceptions, migrations and the per-experiment summary. Anyone may read "
                   "(signed-in users only where the dashboard requires a sign-in). "
                   "A site's capabilities are reported with an API token of that site, made "
                   "by a site contact on the site's “API tokens” page.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["wlcgstatus.api.authentication.ReadAccess"],
    # The docs page loads Swagger UI from this server (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {"ComplianceEnum": "experiments.models.Compliance",
                            "SiteKindEnum": "experiments.models.SiteKind"},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
FIXTURE_DIRS = [FILES_DIR / "fixtures"]

# Logs go to stderr, where gunicorn, Celery and systemd collect them: every request that
# fails (a 500 with its traceback, from django.request) included. With ADMINS set
# ("Name <address>", comma-separated), each 500 is also mailed to them.
ADMINS = [parseaddr(admin) for admin in env.list("ADMINS", default=[])]
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
LOG_LEVEL = env.str("LOG_LEVEL", default="WARNING")  # INFO adds every library's chatter
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name} {process}: {message}", "style": "{"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        "mail_admins": {"class": "django.utils.log.AdminEmailHandler", "level": "ERROR"},
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stderr", *(["mail_admins"] if ADMINS else [])],
                   "level": LOG_LEVEL, "propagate": False},
        # A request for another host name (a scanner, a misdirected client): logged, not mailed.
        "django.security.DisallowedHost": {"handlers": ["stderr"], "propagate": False},
    },
}
