"""How the schema describes what drf-spectacular cannot see for itself: the filters, built
from the filter set's form (with the capability filters and the choices in the database), the
capability values a site reports (one property per capability definition), the site token,
and the error responses of the read endpoints."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import DatabaseError
from drf_spectacular import openapi
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiFilterExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import build_array_type, build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from experiments.capabilities import NO, YES, CapabilityKind
from experiments.models import CapabilityDefinition
from sites.as_of import PARAMETER as AS_OF

STRINGS = {"type": "array", "items": {"type": "string"}}
DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Per parameter, what is wrong with it.",
    "additionalProperties": STRINGS,
}
REPORT_ERRORS = {
    "type": "object",
    "description": "What is wrong, per field; under `values`, per capability. Nothing was "
                   "stored.",
    "properties": {
        "values": {"oneOf": [STRINGS, {"type": "object", "additionalProperties": STRINGS}]},
        "reporter": STRINGS,
        "detail": {"type": "string"},
    },
}


class AutoSchema(openapi.AutoSchema):
    """Reads need no credentials unless READ_REQUIRES_LOGIN (then a session), and also document
    their errors: a filter that does not validate (400), a page past the last or an unknown
    name (404)."""

    def get_auth(self):
        if self.method == "GET" and not settings.READ_REQUIRES_LOGIN:
            return []
        return super().get_auth()

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self._shows_a_past_day():
            parameters.append(OpenApiParameter(
                AS_OF, OpenApiTypes.DATE,
                description="The status at the end of this past day, rebuilt from the recorded "
                            "history (YYYY-MM-DD); today if left out, today or later; "
                            "1 January 2000 if earlier."))
        return parameters

    def _shows_a_past_day(self) -> bool:
        return (self.method == "GET" and self._is_list_view()
                and getattr(self.view, "shows_past_days", False))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.method != "GET":
            return responses
        if self._is_list_view():
            if getattr(self.view, "filterset_class", None) or self._shows_a_past_day():
                responses.setdefault("400", self._error(
                    FIELD_ERRORS, "400", "A filter's value, or the day asked for, is not "
                                         "valid."))
            responses.setdefault("404", self._error(DETAIL, "404", "No such page."))
        else:
            responses.setdefault("404", self._error(DETAIL, "404", "Not found."))
        return responses

    def _error(self, schema: dict, code: str, description: str) -> dict:
        response = self._get_response_for_code(schema, code)
        response["description"] = description
        return response


class SiteTokenScheme(OpenApiAuthenticationExtension):
    target_class = "wlcgstatus.api.authentication.SiteTokenAuthentication"
    name = "siteToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, with a key made by a contact of the site on the "
                           "site's “API tokens” page (/sites/<name>/tokens/).",
        }


class FilterSetParameters(OpenApiFilterExtension):
    """One query parameter per field of the view's filter set's form, as the form will read
    and validate it."""

    target_class = "wlcgstatus.api.filters.FilterBackend"
    priority = 1  # before drf-spectacular's own django-filter extension

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        view = auto_schema.view
        queryset = view.get_queryset()
        filterset_class = self.target.get_filterset_class(view, queryset)
        if filterset_class is None:
            return []
        form = filterset_class(queryset=queryset.none()).form
        parameters = []
        for name, field in form.fields.items():
            schema, explode = field_schema(field)
            description = str(field.help_text or field.label or "")
            parameters.append(build_parameter_type(
                name=name, schema=schema, location=OpenApiParameter.QUERY,
                description=description, explode=explode))
        return parameters


def field_schema(field: forms.Field) -> tuple[dict, bool | None]:
    """The schema of a form field's value in a query string, and whether a list repeats the
    parameter (tier=1&tier=2)."""
    if isinstance(field, forms.ModelMultipleChoiceField):
        return build_array_type(_model_choices(field)), True
    if isinstance(field, forms.ModelChoiceField):
        return _model_choices(field), None
    if isinstance(field, forms.MultipleChoiceField):
        return build_array_type(_choices(field)), True
    if isinstance(field, forms.ChoiceField):
        return _choices(field), None
    if isinstance(field, forms.NullBooleanField | forms.BooleanField):
        return {"type": "boolean"}, None
    if isinstance(field, forms.DateField):
        return {"type": "string", "format": "date"}, None
    if isinstance(field, forms.DecimalField | forms.FloatField | forms.IntegerField):
        number = {"type": "integer" if type(field) is forms.IntegerField else "number"}
        if field.min_value is not None:
            number["minimum"] = field.min_value
        if field.max_value is not None:
            number["maximum"] = field.max_value
        return number, None
    text = {"type": "string"}
    if getattr(field, "max_length", None):
        text["maxLength"] = field.max_length
    return text, None


def _enum(values: list[str]) -> dict:
    values = [value for value in dict.fromkeys(values) if value != ""]
    return {"type": "string", "enum": values} if values else {"type": "string"}


def _choices(field: forms.ChoiceField) -> dict:
    # A field may accept more than the choices it offers: the country filter takes a code too.
    aliases = field.aliases() if hasattr(field, "aliases") else []
    return _enum([str(value) for value, _ in field.choices] + aliases)


def _model_choices(field: forms.ModelChoiceField) -> dict:
    return _enum([str(value) for value in
                  field.queryset.values_list(field.to_field_name or "pk", flat=True)])


class CapabilityValuesSchema(OpenApiSerializerFieldExtension):
    """The values a site reports: one optional property per capability definition."""

    target_class = "wlcgstatus.api.serializers.CapabilityValuesField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {
            "type": "object",
            "minProperties": 1,
            "description": "Capability key → value. Only the capabilities given change; an "
                           "empty string withdraws a value.",
        }
        try:
            definitions = list(CapabilityDefinition.objects.select_related("only_with"))
        except DatabaseError:  # e.g. the schema written out before the database exists
            return {**schema, "additionalProperties": {"type": "string", "maxLength": 100}}
        return {**schema, "additionalProperties": False,
                "properties": {d.key: capability_schema(d) for d in definitions}}


def capability_schema(definition: CapabilityDefinition) -> dict:
    description = definition.name + (f": {definition.help_text}" if definition.help_text else "")
    if definition.only_with:
        description += (f" Only where {definition.only_with.name.lower()} "
                        f"(`{definition.only_with.key}`) is reported and not no or none.")
    description += " An empty string withdraws the value."
    match definition.kind:
        case CapabilityKind.YES_NO:
            return {"type": "string", "enum": [YES, NO, ""], "description": description}
        case CapabilityKind.CHOICE:
            return {"type": "string", "enum": [*definition.choices, ""],
                    "description": description}
        case _:
            return {"type": "string", "maxLength": 100, "description": description,
                    "example": "3.8.7"}
