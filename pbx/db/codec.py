"""Flow nodes and destinations to and from the plain values stored in SQL (JSON params, "kind:ref" text)."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, cast

from pbx.routing.model import Flow, Node, NodeKind, Target

# Stored in columns of their own (flow_nodes.key, .name, .kind), not in params.
_COLUMNS = frozenset({"key", "name", "kind"})


def _kind_of(cls: type[Any]) -> NodeKind:
    for f in dataclasses.fields(cls):
        if f.name == "kind":
            return NodeKind(cast(str, f.default))
    raise TypeError(f"{cls.__name__} has no kind")


# Built from the Node union itself, so a new node kind is covered without touching this module.
NODE_TYPES: Mapping[NodeKind, type[Any]] = {_kind_of(cls): cls for cls in typing.get_args(Node)}


def _mapping_fields(cls: type[Any]) -> frozenset[str]:
    """The fields of a node type that hold a Mapping (Menu.choices)."""
    hints = typing.get_type_hints(cls)
    return frozenset(name for name, hint in hints.items() if typing.get_origin(hint) is Mapping)


_MAPPINGS: Mapping[type[Any], frozenset[str]] = {cls: _mapping_fields(cls) for cls in NODE_TYPES.values()}
# Fields that hold a tuple (ServiceNode.users): JSON gives them back as lists.
_TUPLES: Mapping[type[Any], frozenset[str]] = {
    cls: frozenset(name for name, hint in typing.get_type_hints(cls).items() if typing.get_origin(hint) is tuple)
    for cls in NODE_TYPES.values()}


def node_to_params(node: Node) -> dict[str, Any]:
    """The kind-specific fields of `node` as JSON-ready values.

    Every field is written, defaults included: if a default in the model changes later, stored
    flows keep meaning what they meant when they were saved.
    """
    params: dict[str, Any] = {}
    mappings = _MAPPINGS[type(node)]
    for f in dataclasses.fields(node):
        if f.name in _COLUMNS:
            continue
        value = getattr(node, f.name)
        if f.name in mappings:
            # Pairs rather than a JSON object: order is kept whatever the JSON flavour (PostgreSQL
            # jsonb reorders keys), and menu choices are read out in this order.
            value = [[k, v] for k, v in value.items()]
        params[f.name] = value
    return params


def node_from_params(kind: str, key: str, name: str, params: Mapping[str, Any]) -> Node:
    """The node that `node_to_params` was given; fields missing from `params` take the model's default."""
    try:
        cls = NODE_TYPES[NodeKind(kind)]
    except ValueError:
        raise ValueError(f"node {key!r}: unknown kind {kind!r}") from None
    known = {f.name for f in dataclasses.fields(cls)} - _COLUMNS
    unknown = set(params) - known
    if unknown:
        raise ValueError(f"node {key!r} ({kind}): unknown fields {sorted(unknown)}")
    mappings, tuples = _MAPPINGS[cls], _TUPLES[cls]
    kwargs = {field: (dict(value) if field in mappings else tuple(value) if field in tuples else value)
              for field, value in params.items()}
    node: Node = cls(key=key, name=name, **kwargs)
    return node


def target_to_text(target: Target | None) -> str | None:
    return None if target is None else str(target)


def target_from_text(text: str | None) -> Target | None:
    return None if text is None else Target.parse(text)


# --- whole flows (flow versions and drafts, and the admin API) -------------------------------


def node_to_json(node: Node) -> dict[str, Any]:
    """One node as {kind, key, name, params}: how flow versions store nodes and the admin API shows them."""
    return {"kind": NodeKind(node.kind).value, "key": node.key, "name": node.name, "params": node_to_params(node)}


def nodes_to_json(nodes: typing.Iterable[Node]) -> list[dict[str, Any]]:
    return [node_to_json(n) for n in nodes]


def nodes_from_json(items: typing.Iterable[Mapping[str, Any]]) -> tuple[Node, ...]:
    return tuple(node_from_params(item["kind"], item["key"], item.get("name", ""), item.get("params") or {})
                 for item in items)


def flow_from_json(key: str, name: str, entry: str, nodes: typing.Iterable[Mapping[str, Any]],
                   version: int = 0) -> Flow:
    return Flow(key, name, entry, nodes_from_json(nodes), version)


# --- the JSON schema of each node kind's params, from the model's own type hints -------------

_INT = {"type": "integer", "minimum": -1000000, "maximum": 1000000}
_TEXT = {"type": "string", "maxLength": 200}


def _hint_schema(hint: Any) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return dict(_TEXT)
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return dict(_INT)
    if origin is typing.Literal:
        return {"type": "string", "enum": [str(a) for a in args]}
    if origin is tuple:
        return {"type": "array", "maxItems": 100, "items": _hint_schema(args[0])}
    if origin is Mapping:  # pairs, as node_to_params writes them
        pair = [_hint_schema(args[0]), _hint_schema(args[1])]
        return {"type": "array", "maxItems": 100, "items": {
            "type": "array", "minItems": 2, "maxItems": 2, "prefixItems": pair, "items": False}}
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner = _hint_schema(next(a for a in args if a is not type(None)))
        if isinstance(inner.get("type"), str):
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    raise TypeError(f"no JSON schema for {hint!r}")


def params_schema(kind: NodeKind) -> dict[str, Any]:
    """What `params` of a node of `kind` may hold: its fields (those without a default are required)."""
    cls = NODE_TYPES[kind]
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        if f.name in _COLUMNS:
            continue
        properties[f.name] = _hint_schema(hints[f.name])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}
