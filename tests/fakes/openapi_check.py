"""Check JSON values against schemas of an OpenAPI document, without the jsonschema package.

Implements the subset of JSON Schema the OpenAI spec uses for the fine-tuning and files
objects: ``$ref`` (local), ``type`` (one or a list, ``"null"`` included), OpenAPI 3.0's
``nullable``, ``enum``, ``const``, ``anyOf``/``oneOf``/``allOf``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``minItems``/``maxItems``, ``minLength``/``maxLength``,
``minimum``/``maximum`` and ``exclusiveMinimum``/``exclusiveMaximum`` (bool or number). Any
other validation keyword raises, so a check can never pass by ignoring a rule it does not know.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

# Keywords that describe rather than constrain.
_ANNOTATIONS = {"description", "title", "example", "examples", "default", "deprecated", "format", "readOnly",
                "writeOnly", "x-oaiMeta", "x-oaiTypeLabel", "x-stainless-const", "x-oaiExpandable",
                "discriminator", "x-stainless-naming", "x-stainless-skip", "x-oaiDocs"}
_HANDLED = {"$ref", "type", "nullable", "enum", "const", "anyOf", "oneOf", "allOf", "properties", "required",
            "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength", "minimum",
            "maximum", "exclusiveMinimum", "exclusiveMaximum"}


def _refs(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for item in value.values():
            found |= _refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    return found


def load_schemas(spec: Path, names: list[str], cache_dir: Path | None = None) -> dict[str, Any]:
    """The named component schemas and everything they reference, from the spec (parsing the
    3 MB YAML takes seconds, so the closure is cached as JSON keyed by the spec's hash)."""
    digest = hashlib.sha256(spec.read_bytes()).hexdigest()[:16]
    key = hashlib.sha256(",".join(sorted(names)).encode()).hexdigest()[:8]
    cached = cache_dir / f"schemas-{digest}-{key}.json" if cache_dir else None
    if cached is not None and cached.is_file():
        return json.loads(cached.read_text())
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    everything = yaml.load(spec.read_text(encoding="utf-8"), Loader=loader)["components"]["schemas"]
    wanted, todo = {}, list(names)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted[name] = everything[name]
        todo.extend(_refs(everything[name]) - set(wanted))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(wanted, default=str))
    return wanted


class Validator:
    def __init__(self, schemas: dict[str, Any]):
        self.schemas = schemas

    def errors(self, instance: Any, schema: Any, path: str = "$") -> list[str]:
        if schema is True or schema == {}:
            return []
        unknown = set(schema) - _HANDLED - _ANNOTATIONS
        if unknown:
            raise NotImplementedError(f"{path}: schema keyword(s) not implemented: {sorted(unknown)}")
        if "$ref" in schema:
            return self.errors(instance, self.schemas[schema["$ref"].rsplit("/", 1)[1]], path)
        if instance is None and schema.get("nullable"):
            return []
        out: list[str] = []
        if "type" in schema and not _type_ok(instance, schema["type"]):
            return [f"{path}: expected {schema['type']}, got {type(instance).__name__} {instance!r:.60}"]
        if "enum" in schema and instance not in schema["enum"]:
            out.append(f"{path}: {instance!r} not one of {schema['enum']}")
        if "const" in schema and instance != schema["const"]:
            out.append(f"{path}: {instance!r} is not {schema['const']!r}")
        for key, check in (("anyOf", lambda n: n >= 1), ("oneOf", lambda n: n == 1)):
            if key in schema:
                results = [self.errors(instance, s, path) for s in schema[key]]
                if not check(sum(1 for r in results if not r)):
                    detail = "; ".join(e for r in results for e in r[:1])
                    out.append(f"{path}: matches {sum(1 for r in results if not r)} of the {key} branches ({detail})")
        for sub in schema.get("allOf", ()):
            out += self.errors(instance, sub, path)
        if isinstance(instance, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", ()):
                if name not in instance:
                    out.append(f"{path}: required property {name!r} is missing")
            for name, value in instance.items():
                if name in props:
                    out += self.errors(value, props[name], f"{path}.{name}")
                elif "additionalProperties" in schema:
                    extra = schema["additionalProperties"]
                    if extra is False:
                        out.append(f"{path}: unexpected property {name!r}")
                    elif isinstance(extra, dict):
                        out += self.errors(value, extra, f"{path}.{name}")
        if isinstance(instance, list):
            if "items" in schema:
                for i, item in enumerate(instance):
                    out += self.errors(item, schema["items"], f"{path}[{i}]")
            if len(instance) < schema.get("minItems", 0) or len(instance) > schema.get("maxItems", 10**9):
                out.append(f"{path}: {len(instance)} items is out of bounds")
        if isinstance(instance, str):
            if len(instance) < schema.get("minLength", 0) or len(instance) > schema.get("maxLength", 10**9):
                out.append(f"{path}: length {len(instance)} is out of bounds")
        if isinstance(instance, (int, float)) and not isinstance(instance, bool):
            out += _bounds(instance, schema, path)
        return out

    def check(self, instance: Any, name: str) -> list[str]:
        return self.errors(instance, {"$ref": f"#/components/schemas/{name}"}, name)


def _type_ok(instance: Any, expected: Any) -> bool:
    kinds = expected if isinstance(expected, list) else [expected]
    for kind in kinds:
        if (kind == "null" and instance is None or kind == "string" and isinstance(instance, str)
                or kind == "boolean" and isinstance(instance, bool)
                or kind == "integer" and isinstance(instance, int) and not isinstance(instance, bool)
                or kind == "number" and isinstance(instance, (int, float)) and not isinstance(instance, bool)
                or kind == "object" and isinstance(instance, dict) or kind == "array" and isinstance(instance, list)):
            return True
    return False


def _bounds(value: float, schema: dict[str, Any], path: str) -> list[str]:
    out = []
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if ex_low is True and low is not None and value <= low or isinstance(ex_low, (int, float)) \
            and not isinstance(ex_low, bool) and value <= ex_low:
        out.append(f"{path}: {value} must be above {low if ex_low is True else ex_low}")
    elif low is not None and value < low:
        out.append(f"{path}: {value} is below the minimum {low}")
    if ex_high is True and high is not None and value >= high or isinstance(ex_high, (int, float)) \
            and not isinstance(ex_high, bool) and value >= ex_high:
        out.append(f"{path}: {value} must be below {high if ex_high is True else ex_high}")
    elif high is not None and value > high:
        out.append(f"{path}: {value} is above the maximum {high}")
    return out
