"""Every variable a function's settings model requires is set by the template on that function.

The handlers validate their model at cold start, so a variable the template forgets would fail the
function's init on AWS; this finds it before a deploy. Optional variables the template sets must be
ones the model knows too, so a renamed field cannot silently fall back to its default.
"""

from __future__ import annotations

from typing import Any

import pytest

from intake.settings import (
    ApiSettings,
    FunctionSettings,
    IndexSettings,
    NotifySettings,
    ThumbnailSettings,
    ValidateSettings,
)
from tests.support.templates import effective_template

MODELS: dict[str, type[FunctionSettings]] = {
    "ValidateFunction": ValidateSettings,
    "ThumbnailFunction": ThumbnailSettings,
    "IndexFunction": IndexSettings,
    "NotifyFunction": NotifySettings,
    "ApiFunction": ApiSettings,
}
# Read by powertools or the runtime, not by our models.
RUNTIME_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
    "PYDANTIC_DISABLE_PLUGINS",
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return effective_template()["Resources"]  # type: ignore[no-any-return]


def _variables(resources: dict[str, Any], function: str) -> set[str]:
    return set(resources[function]["Properties"]["Environment"]["Variables"])


@pytest.mark.parametrize("function", sorted(MODELS))
def test_the_template_sets_every_required_variable(resources: dict[str, Any], function: str) -> None:
    model = MODELS[function]
    required = {field.upper() for field, info in model.model_fields.items() if info.is_required()}
    assert required, f"{model.__name__} requires nothing: the check would pass vacuously"
    assert required <= _variables(resources, function)


@pytest.mark.parametrize("function", ["ApiFunction"])
def test_every_variable_the_api_gets_is_one_its_model_reads(resources: dict[str, Any], function: str) -> None:
    known = {field.upper() for field in MODELS[function].model_fields}
    assert _variables(resources, function) - RUNTIME_VARIABLES <= known
