"""Flow nodes and destinations to and from the plain values stored in SQL (JSON params, "kind:ref" text)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, cast

from pbx.routing.model import Node, NodeKind, Target

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
