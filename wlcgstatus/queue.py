"""Whether the task queue can take work: with Redis down, pages still serve and say so."""

import logging

from .celery import app

logger = logging.getLogger(__name__)


def queue_available() -> bool:
    if app.conf.task_always_eager:
        return True  # tasks run in-process: nothing to reach
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # any transport error means the same to the user
        logger.warning("Task queue unavailable: %s", error)
        return False
    return True
