"""Settings, read from the environment.

The embedded default needs nothing installed: a SQLite file next to the code, tasks run
in-process, an in-memory cache. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY,
DEBUG=False and ALLOWED_HOSTS.
"""

import os
import tempfile
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; the environment itself wins

DEBUG = env.bool("DEBUG", default=True)
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
    "experiments",
    "sites",
    "wlcgstatus",
]

# READ_REQUIRES_LOGIN=True: only signed-in users see the dashboard.
READ_REQUIRES_LOGIN = env.bool("READ_REQUIRES_LOGIN", default=False)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    *(["django.contrib.auth.middleware.LoginRequiredMiddleware"] if READ_REQUIRES_LOGIN else []),
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "wlcgstatus.urls"

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
                "wlcgstatus.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "wlcgstatus.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that a real Celery worker started by the tests shares it; one
    # per test run, so that runs side by side do not meet.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"wlcgstatus-test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
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

# The address mail links to.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my_sites"
LOGOUT_REDIRECT_URL = "overview"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="wlcgstatus@localhost")

# A site's capabilities count as stale when no one has confirmed them for this long.
CAPABILITY_CONFIRM_DAYS = env.int("CAPABILITY_CONFIRM_DAYS", default=180)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

# Celery: Redis as broker and result backend when REDIS_URL is set; otherwise tasks run
# in-process, so the demo needs no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
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
        "task": "wlcgstatus.tasks.remind",
        "schedule": crontab(hour=7, minute=0),
    },
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]
