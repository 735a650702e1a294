"""The suite's settings: the embedded default (SQLite, tasks in-process, a local-memory cache),
whatever the developer's shell or `.env` file says.

wlcgstatus/settings.py reads its configuration from the environment, and from `.env` only for
names the environment lacks: pinning every name it reads, before it is read, keeps both out.
TEST_DATABASE_URL alone picks another database (scripts/test's PostgreSQL run)."""

import os
import tempfile
from pathlib import Path

# What the suite pins; a process the tests start as production would run leaves these out.
SUITE_ENVIRONMENT = {
    "DATABASE_URL": os.environ.get("TEST_DATABASE_URL", "sqlite:///db.sqlite3"),
    "REDIS_URL": "",
    "DEBUG": "True",
    "SECRET_KEY": "tests-only",
    "ALLOWED_HOSTS": "localhost,127.0.0.1,[::1]",
    "READ_REQUIRES_LOGIN": "False",
    "SITE_URL": "http://127.0.0.1:8000",
    "MEDIA_ROOT": str(Path(tempfile.gettempdir()) / "wlcgstatus-test-media"),
    "CAPABILITY_CONFIRM_DAYS": "180",
    "CRIC_URL": "",
    "IMPORT_MAX_GONE_SHARE": "0.2",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
}
os.environ.update(SUITE_ENVIRONMENT)
# Single sign-on stays off; its tests configure a provider of their own.
for name in [name for name in os.environ if name.startswith("OIDC_")]:
    del os.environ[name]

os.environ["OIDC_RP_CLIENT_ID"] = ""

from wlcgstatus.settings import *  # noqa: E402, F403

# Each test starts from an empty cache (conftest.py); the test that shares one with another
# process configures a file cache of its own.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Test accounts need no costly hash: PBKDF2 makes every sign-in and account take ~0.3 s.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
