"""The Python peers of the core's order path (see bench/README.md for the rules).

SPDX-License-Identifier: MIT OR Apache-2.0
"""

from __future__ import annotations

import datetime
import json
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

TAXES = {"TVA20": (607, Decimal("0.20")), "TVA10": (552, Decimal("0.10")), "TVA5_5": (223, Decimal("0.055")),
         "TVA2_1": (222, Decimal("0.021")), "TVA0": (225, Decimal("0"))}
CURRENCIES = {"EUR": 58}
ID = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
CENT = Decimal("0.01")
MAX_PRICE = Decimal("999999999.99")

try:
    from pydantic import BaseModel, BeforeValidator, Field, StrictInt, StrictStr, StringConstraints

    def _iso_date(v):
        if not isinstance(v, str) or len(v) != 10:
            raise ValueError("a YYYY-MM-DD string")
        d = datetime.date.fromisoformat(v)
        if not 2000 <= d.year <= 2100:
            raise ValueError("year outside 2000-2100")
        return d

    Id = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]

    class Line(BaseModel):
        sku: Id
        qty: Annotated[StrictInt, Field(gt=0, le=1_000_000)]
        unitPriceExclTax: Annotated[Decimal, Field(ge=0, le=MAX_PRICE, decimal_places=2)]
        taxCode: Literal["TVA20", "TVA10", "TVA5_5", "TVA2_1", "TVA0"]

    class Order(BaseModel):
        orderNumber: Id
        customerExternalId: Id
        orderDate: Annotated[datetime.date, BeforeValidator(_iso_date)]
        currency: Literal["EUR"]
        lines: Annotated[list[Line], Field(min_length=1, max_length=10_000)]

except ImportError:  # pragma: no cover - pydantic is optional
    Order = None


def _round(v: Decimal) -> Decimal:
    return v.quantize(CENT, rounding=ROUND_HALF_UP)


def _xml(number, date, currency_id, lines):
    """lines: (sku, qty, price, tax code); builds the XML with ElementTree."""
    bases = {}
    totals = []
    for sku, qty, price, code in lines:
        t = _round(qty * price)
        totals.append(t)
        bases[code] = bases.get(code, Decimal(0)) + t
    excl = sum(bases.values(), Decimal(0))
    vat = sum((_round(b * TAXES[c][1]) for c, b in bases.items()), Decimal(0))
    root = ET.Element("proposal_sheet")
    sub = ET.SubElement
    sub(root, "sheet_type").text = "order"
    sub(root, "title").text = number
    sub(root, "billing_date").text = date.strftime("%d-%m-%Y")
    sub(root, "currency_id").text = str(currency_id)
    sub(root, "progress_id").text = "600001"
    sub(root, "vat_exl_total").text = str(_round(excl))
    sub(root, "vat_cost").text = str(_round(vat))
    sub(root, "vat_inc_total").text = str(_round(excl + vat))
    wrapper = sub(root, "proposal_lines")
    for i, ((sku, qty, price, code), total) in enumerate(zip(lines, totals)):
        line = sub(wrapper, "proposal_line")
        sub(line, "description").text = sku
        sub(line, "quantity").text = str(qty)
        sub(line, "unit_price").text = str(_round(price))
        sub(line, "vat_value_id").text = str(TAXES[code][0])
        sub(line, "total_price").text = str(total)
        sub(line, "ordering").text = str((i + 1) * 100)
    return ET.tostring(root, encoding="unicode").encode()


def pydantic_order(text: str) -> bytes:
    """pydantic v2 on json.loads(parse_float=Decimal), every violation collected."""
    o = Order.model_validate(json.loads(text, parse_float=Decimal))
    lines = [(l.sku, l.qty, l.unitPriceExclTax, l.taxCode) for l in o.lines]
    return _xml(o.orderNumber, o.orderDate, CURRENCIES[o.currency], lines)


def _id(v) -> bool:
    return type(v) is str and ID.fullmatch(v) is not None


def plain_order(text: str) -> bytes:
    """json + decimal, `type(x) is` checks (bools refused), first violation only."""
    o = json.loads(text, parse_float=Decimal)
    if type(o) is not dict or not _id(o.get("orderNumber")) or not _id(o.get("customerExternalId")):
        raise ValueError("orderNumber / customerExternalId")
    d = o.get("orderDate")
    if type(d) is not str or len(d) != 10:
        raise ValueError("orderDate")
    date = datetime.date.fromisoformat(d)
    if not 2000 <= date.year <= 2100:
        raise ValueError("orderDate")
    currency_id = CURRENCIES.get(o.get("currency"))
    if currency_id is None:
        raise ValueError("currency")
    raw = o.get("lines")
    if type(raw) is not list or not 1 <= len(raw) <= 10_000:
        raise ValueError("lines")
    lines = []
    for l in raw:
        if type(l) is not dict:
            raise ValueError("line")
        sku, qty, p, code = l.get("sku"), l.get("qty"), l.get("unitPriceExclTax"), l.get("taxCode")
        if type(p) is int:
            p = Decimal(p)
        if (not _id(sku) or type(qty) is not int or not 0 < qty <= 1_000_000 or type(p) is not Decimal
                or not 0 <= p <= MAX_PRICE or p.normalize().as_tuple().exponent < -2 or code not in TAXES):
            raise ValueError("line")
        lines.append((sku, qty, p, code))
    return _xml(o["orderNumber"], date, currency_id, lines)
