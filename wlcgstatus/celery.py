"""The Celery app: settings under the CELERY_ namespace, tasks discovered per Django app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wlcgstatus.settings")

app = Celery("wlcgstatus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
