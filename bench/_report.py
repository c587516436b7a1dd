"""How every benchmark prints: a readable table, then one JSON line to compare run to run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence


def report(rows: Sequence[tuple[str, str, str]], figures: Mapping[str, object]) -> None:
    width = max(len(r[0]) for r in rows)
    value_width = max(12, *(len(r[1]) for r in rows))
    print(f"{'measure':<{width}}  {'figure':>{value_width}}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>{value_width}}  {target}")
    print(json.dumps(dict(figures)))
