"""Lists (A-04): filter, sort and page (20 rows by default), or export the whole filtered list as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from admin_api.core import Ctx, Param, json_response

PER_PAGE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def list_params(sortable: Sequence[str], filters: Sequence[Param] = ()) -> list[Param]:
    orders = [*sortable, *(f"-{f}" for f in sortable)]
    return [
        Param("q", "query", {"type": "string", "maxLength": 200}, "text anywhere in the row"),
        *filters,
        Param("sort", "query", {"type": "string", "enum": orders, "default": sortable[0]},
              "a field, or -field for descending"),
        Param("page", "query", {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}),
        Param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": 500, "default": PER_PAGE}),
        Param("format", "query", {"type": "string", "enum": ["json", "csv", "xlsx"], "default": "json"},
              "csv and xlsx export every row that matches, not one page"),
    ]


def page_schema(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "total", "page", "per_page"], "properties": {
        "items": {"type": "array", "items": item}, "total": {"type": "integer"},
        "page": {"type": "integer"}, "per_page": {"type": "integer"}}}


def list_responses(item: dict[str, Any]) -> dict[int, Any]:
    return {200: {"application/json": page_schema(item), "text/csv": None, XLSX: None}}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return value


def _sheet_cell(value: Any) -> Any:
    # XLSX (XML 1.0) cannot hold most control characters; a caller ID or label may carry one
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def listing(ctx: Ctx, rows: list[dict[str, Any]], columns: Sequence[str], filename: str,
            exact: Sequence[str] = ()) -> web.Response:
    """Filter by `q` (any text column) and the `exact` query filters, sort, then a page or an export."""
    q = str(ctx.query.get("q") or "").casefold()
    if q:
        rows = [r for r in rows if any(q in str(r.get(c) or "").casefold() for c in columns)]
    for name in exact:
        if name in ctx.query and ctx.query[name] is not None:
            rows = [r for r in rows if r.get(name) == ctx.query[name]]
    order = str(ctx.query.get("sort") or columns[0])
    field = order.lstrip("-")
    present = [r for r in rows if r.get(field) is not None]
    rows = sorted(present, key=lambda r: r[field], reverse=order.startswith("-")) + \
        [r for r in rows if r.get(field) is None]  # empty values last, either way round
    fmt = ctx.query.get("format", "json")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in columns])
        return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = filename[:31]
        sheet.append(list(columns))
        for r in rows:
            sheet.append([_sheet_cell(_cell(r.get(c))) for c in columns])
        data = io.BytesIO()
        book.save(data)
        return web.Response(body=data.getvalue(), content_type=XLSX,
                            headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'})
    page, per_page = int(ctx.query.get("page", 1)), int(ctx.query.get("per_page", PER_PAGE))
    start = (page - 1) * per_page
    return json_response({"items": rows[start:start + per_page], "total": len(rows), "page": page,
                          "per_page": per_page})
