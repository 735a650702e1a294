"""A site's API tokens page: those who may edit a site (its contacts, WG members) create tokens
for programs that report its capabilities, see when each was last used, and revoke them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from sites.models import Site
from sites.permissions import can_edit_site

from .models import SiteToken


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Name",
        help_text="What will use it, e.g. “capability probe on ce01.example.org”.")


def _editable_site(request, name: str) -> Site:
    site = get_object_or_404(Site, name=name)
    if not can_edit_site(request.user, site):
        raise PermissionDenied("You are not a contact of this site.")
    return site


@never_cache  # the page that shows a new key must not be kept by any cache
@login_required
def site_tokens(request, name: str):
    site = _editable_site(request, name)
    form = TokenForm(request.POST or None)
    created = key = None
    if request.method == "POST" and form.is_valid():
        created, key = SiteToken.issue(site, form.cleaned_data["name"], request.user)
        form = TokenForm()
    return render(request, "sites/site_tokens.html", {
        "site": site,
        "form": form,
        "tokens": site.api_tokens.select_related("created_by"),
        "created": created,
        "key": key,
        "endpoint": request.build_absolute_uri(reverse("api:site-capabilities",
                                                       args=[site.name])),
    })


@require_POST
@login_required
def revoke_token(request, name: str, pk: int):
    site = _editable_site(request, name)
    token = get_object_or_404(SiteToken, pk=pk, site=site)
    token.revoke()
    messages.success(request, f"The token “{token.name}” is revoked: it no longer works.")
    return redirect("site_tokens", site.name)
