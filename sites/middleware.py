"""Before a request is answered, the assessments the clock has overtaken are recomputed."""

from django.utils import timezone

from .clock import recompute_overtaken


def current_assessments(get_response):
    def middleware(request):
        recompute_overtaken(timezone.localdate())
        return get_response(request)

    return middleware
