"""A tool's JSON Schema as an argument model: Claude's arguments and a reviewer's edit are
checked against the schema the server listed, the errors naming each bad field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from jsonschema import exceptions as schema_errors
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, model_validator

from agent.errors import ToolInputError

ERRORS_SHOWN = 5


class SchemaArguments(BaseModel):
    """Arguments checked against ``input_schema`` (set on each subclass)."""

    model_config = ConfigDict(extra="allow")
    input_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    @model_validator(mode="before")
    @classmethod
    def _valid(cls, data: Any) -> Any:
        problems = schema_problems(cls.input_schema, data)
        if problems:
            raise ValueError("; ".join(problems))
        return data

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return dict(cls.input_schema)


def arguments_model(name: str, input_schema: Mapping[str, Any]) -> type[SchemaArguments]:
    """An argument model for a tool with ``input_schema`` (a bad schema: ``ValueError``)."""
    schema = dict(input_schema)
    try:
        validator_for(schema).check_schema(schema)
    except schema_errors.SchemaError as err:
        raise ValueError(f"its input schema is not valid JSON Schema: {err.message}") from None
    return type(f"{name}_arguments", (SchemaArguments,), {"input_schema": schema})


def schema_problems(schema: Mapping[str, Any], data: Any) -> list[str]:
    """Each way ``data`` breaks ``schema``, naming the field (at most a few)."""
    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    shown = [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(arguments)'}: {e.message}"
        for e in errors[:ERRORS_SHOWN]
    ]
    if len(errors) > ERRORS_SHOWN:
        shown.append(f"and {len(errors) - ERRORS_SHOWN} more")
    return shown


def checked_arguments(tool_name: str, schema: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """``data`` when it fits ``schema``; ``ToolInputError`` naming each problem otherwise."""
    if not isinstance(data, dict):
        raise ToolInputError(f"arguments for {tool_name} must be a JSON object")
    problems = schema_problems(schema, data)
    if problems:
        raise ToolInputError(
            f"arguments for {tool_name} do not fit its schema: " + "; ".join(problems)
        )
    return data
