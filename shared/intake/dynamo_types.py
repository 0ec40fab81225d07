"""DynamoDB's typed attribute values to and from Python, as boto3.dynamodb.types converts them.

boto3's TypeSerializer/TypeDeserializer would import boto3 (and with it its S3 transfer manager) into
every function for two small tables of rules; these are the same rules. Numbers are Decimals in
DynamoDB's 38-digit context (floats are refused, as boto3 refuses them), sets become SS/NS/BS, binary
values are bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

__all__ = ["TypeDeserializer", "TypeSerializer"]

DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)

_BINARY = (bytes, bytearray)


def _number(value: Any) -> str:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return str(DYNAMODB_CONTEXT.create_decimal(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal | float) and not isinstance(value, bool)


def _set(values: Set[Any]) -> dict[str, list[Any]]:
    if all(_is_number(v) for v in values):
        return {"NS": [_number(v) for v in values]}
    if all(isinstance(v, str) for v in values):
        return {"SS": list(values)}
    if all(isinstance(v, _BINARY) for v in values):
        return {"BS": [bytes(v) for v in values]}
    raise TypeError(f"a set of mixed or unsupported types is no DynamoDB value: {type(values).__name__}")


class TypeSerializer:
    """Python value -> DynamoDB attribute value ({"S": ...}, {"N": ...}, ...)."""

    def serialize(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {"NULL": True}
        if isinstance(value, bool):
            return {"BOOL": value}
        if _is_number(value):
            return {"N": _number(value)}
        if isinstance(value, str):
            return {"S": value}
        if isinstance(value, _BINARY):
            return {"B": bytes(value)}
        if isinstance(value, Set):
            return _set(value)
        if isinstance(value, Mapping):
            return {"M": {k: self.serialize(v) for k, v in value.items()}}
        if isinstance(value, list | tuple):
            return {"L": [self.serialize(v) for v in value]}
        raise TypeError(f"{type(value).__name__} is not a DynamoDB type")


class TypeDeserializer:
    """DynamoDB attribute value -> Python value (numbers as Decimal, sets as set, binary as bytes)."""

    def deserialize(self, value: Mapping[str, Any]) -> Any:
        if not value:
            raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
        ((kind, data),) = value.items()
        if kind == "NULL":
            return None
        if kind in ("BOOL", "S", "B"):
            return data
        if kind == "N":
            return DYNAMODB_CONTEXT.create_decimal(data)
        if kind == "SS":
            return set(data)
        if kind == "NS":
            return {DYNAMODB_CONTEXT.create_decimal(v) for v in data}
        if kind == "BS":
            return set(data)
        if kind == "L":
            return [self.deserialize(v) for v in data]
        if kind == "M":
            return {k: self.deserialize(v) for k, v in data.items()}
        raise TypeError(f"Dynamodb type {kind} is not supported")
