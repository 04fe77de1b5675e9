"""The OpenAPI schema as /api/schema/ serves it, built without a request."""

import json

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import patched_settings

from api.schema import SCHEMA_SETTINGS


def generated_schema() -> dict:
    with patched_settings(SCHEMA_SETTINGS):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    # Through the JSON renderer, as served: plain dicts, lists and strings.
    return json.loads(OpenApiJsonRenderer().render(schema))
