// The JS peers of the core's order path (see bench/README.md for the rules):
// integer cents (prices are read by JSON.parse as doubles), output as bytes.
// SPDX-License-Identifier: MIT OR Apache-2.0
'use strict';

const TAXES = {
  TVA20: [607, 20, 100], TVA10: [552, 10, 100], TVA5_5: [223, 55, 1000], TVA2_1: [222, 21, 1000], TVA0: [225, 0, 1],
};
const CURRENCIES = { EUR: 58 };
const ID = /^[A-Za-z0-9._:/-]{1,64}$/;
const MAX_CENTS = 99999999999;

/** Price → integer cents, or -1 when it has more than 2 decimals. */
function toCents(p) {
  const c = Math.round(p * 100);
  return Number.isSafeInteger(c) && c / 100 === p ? c : -1;
}

function mul(a, b) {
  const r = a * b;
  if (!Number.isSafeInteger(r)) throw new RangeError('overflow');
  return r;
}

/** Half-up of sum × num / den for a non-negative sum (integer arithmetic). */
function vatOf(sum, num, den) {
  const a = mul(sum, num) + Math.floor(den / 2);
  return (a - (a % den)) / den;
}

function money(c) {
  const r = c % 100;
  return `${(c - r) / 100}.${r < 10 ? '0' : ''}${r}`;
}

function dateOk(s) {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const y = +s.slice(0, 4), m = +s.slice(5, 7), d = +s.slice(8, 10);
  const dt = new Date(Date.UTC(y, m - 1, d));
  return y >= 2000 && y <= 2100 && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

const incwoDate = (iso) => `${iso.slice(8, 10)}-${iso.slice(5, 7)}-${iso.slice(0, 4)}`;

function totals(lines) {
  const bases = {};
  const lineTotals = lines.map(([, qty, cents, code]) => {
    const t = mul(qty, cents);
    bases[code] = (bases[code] || 0) + t;
    return t;
  });
  let excl = 0, vat = 0;
  for (const code of Object.keys(bases)) {
    excl += bases[code];
    vat += vatOf(bases[code], TAXES[code][1], TAXES[code][2]);
  }
  return { lineTotals, excl, vat, incl: excl + vat };
}

// zod + fast-xml-parser's XMLBuilder.
let zodOrder = null, builder = null;
function zodSetup() {
  if (zodOrder) return;
  const { z } = require('zod');
  const { XMLBuilder } = require('fast-xml-parser');
  const Id = z.string().min(1).max(64).regex(ID);
  const Line = z.object({
    sku: Id,
    qty: z.number().int().positive().max(1000000),
    unitPriceExclTax: z.number().nonnegative().max(999999999.99).refine((p) => toCents(p) >= 0, '2 decimals at most'),
    taxCode: z.enum(Object.keys(TAXES)),
  });
  zodOrder = z.object({
    orderNumber: Id,
    customerExternalId: Id,
    orderDate: z.iso.date().refine((d) => dateOk(d), 'year 2000-2100'),
    currency: z.enum(Object.keys(CURRENCIES)),
    lines: z.array(Line).min(1).max(10000),
  });
  builder = new XMLBuilder({ format: false, suppressEmptyNode: false, processEntities: true });
}

function zodOrderXml(text) {
  zodSetup();
  const o = zodOrder.parse(JSON.parse(text));
  const lines = o.lines.map((l) => [l.sku, l.qty, toCents(l.unitPriceExclTax), l.taxCode]);
  const t = totals(lines);
  const doc = {
    proposal_sheet: {
      sheet_type: 'order',
      title: o.orderNumber,
      billing_date: incwoDate(o.orderDate),
      currency_id: String(CURRENCIES[o.currency]),
      progress_id: '600001',
      vat_exl_total: money(t.excl),
      vat_cost: money(t.vat),
      vat_inc_total: money(t.incl),
      proposal_lines: {
        proposal_line: lines.map(([sku, qty, cents, code], i) => ({
          description: sku,
          quantity: String(qty),
          unit_price: money(cents),
          vat_value_id: String(TAXES[code][0]),
          total_price: money(t.lineTotals[i]),
          ordering: String((i + 1) * 100),
        })),
      },
    },
  };
  return Buffer.from(builder.build(doc));
}

const ESC = /[&<>]/;
function esc(s) {
  if (!ESC.test(s)) return s;
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function plainOrderXml(text) {
  const o = JSON.parse(text);
  const id = (v) => typeof v === 'string' && ID.test(v);
  if (o === null || typeof o !== 'object' || !id(o.orderNumber) || !id(o.customerExternalId)) throw new TypeError('ids');
  if (!dateOk(o.orderDate)) throw new TypeError('orderDate');
  const currencyId = CURRENCIES[o.currency];
  if (currencyId === undefined || !Object.hasOwn(CURRENCIES, o.currency)) throw new TypeError('currency');
  if (!Array.isArray(o.lines) || o.lines.length === 0 || o.lines.length > 10000) throw new TypeError('lines');
  const lines = o.lines.map((l) => {
    const p = l.unitPriceExclTax;
    const cents = typeof p === 'number' && p >= 0 ? toCents(p) : -1;
    if (!id(l.sku) || !Number.isInteger(l.qty) || l.qty <= 0 || l.qty > 1000000 || cents < 0 || cents > MAX_CENTS
      || !Object.hasOwn(TAXES, l.taxCode)) throw new TypeError('line');
    return [l.sku, l.qty, cents, l.taxCode];
  });
  const t = totals(lines);
  let x = `<proposal_sheet><sheet_type>order</sheet_type><title>${esc(o.orderNumber)}</title><billing_date>${incwoDate(o.orderDate)}</billing_date><currency_id>${currencyId}</currency_id><progress_id>600001</progress_id><vat_exl_total>${money(t.excl)}</vat_exl_total><vat_cost>${money(t.vat)}</vat_cost><vat_inc_total>${money(t.incl)}</vat_inc_total><proposal_lines>`;
  for (let i = 0; i < lines.length; i++) {
    const [sku, qty, cents, code] = lines[i];
    x += `<proposal_line><description>${esc(sku)}</description><quantity>${qty}</quantity><unit_price>${money(cents)}</unit_price><vat_value_id>${TAXES[code][0]}</vat_value_id><total_price>${money(t.lineTotals[i])}</total_price><ordering>${(i + 1) * 100}</ordering></proposal_line>`;
  }
  return Buffer.from(x + '</proposal_lines></proposal_sheet>');
}

module.exports = { zodOrderXml, plainOrderXml };
