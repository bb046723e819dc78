//! What the simulator knows of each incwo resource: its names, its fields
//! (writable or computed), its embedded lists and its marker field.
//! Everything resource-specific that is plain data lives here; the
//! account-specific tables (VAT, sheet types, statuses) are in `account.rs`.

/// The REST resources the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Companies (`/firms.xml`, `<firm>`).
    Firms,
    /// Persons (`/contacts.xml`, `<contact>`).
    Contacts,
    /// Products (`/customer_products.xml`, `<customer_product>`).
    CustomerProducts,
    /// Quotes, orders and delivery notes (`/proposal_sheets.xml`).
    ProposalSheets,
    /// Invoices and credit notes, draft or final (`/bill_sheets.xml`).
    BillSheets,
    /// Stock movements (`/stock_movements.xml`).
    StockMovements,
    /// Payments and payment schedules (`/cash_deposits.xml`).
    CashDeposits,
}

/// The marker field of each resource: the field in which the connector
/// stores its own external id, used to detect duplicate creations.
/// This is the one place that defines it.
pub const MARKERS: &[(Resource, Option<&str>)] = &[
    (Resource::Firms, Some("accounting_ref")),
    (Resource::Contacts, None),
    (Resource::CustomerProducts, Some("reference")),
    (Resource::ProposalSheets, Some("title")),
    (Resource::BillSheets, Some("title")),
    (Resource::StockMovements, Some("comment")),
    (Resource::CashDeposits, None),
];

/// Type of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Str,
    /// Integer.
    Int,
    /// Exact decimal with a dot separator.
    Dec,
    /// Date, `DD-MM-YYYY`.
    Date,
    /// Timestamp, `DD-MM-YYYY-HH-MM`.
    Ts,
    /// Boolean as 0/1.
    Bool,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// Id of an object of that resource; 0 (or -1) means "no link".
    Fk(Resource),
    /// A VAT id from the account's VAT table.
    Vat,
    /// A proposal sheet `sheet_type`: one of the account's literals.
    ProposalType,
}

/// A field of a resource or of an embedded item.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Element name.
    pub name: &'static str,
    /// Value type.
    pub kind: Kind,
    /// Computed or system field: never read from a request body.
    pub read_only: bool,
    /// Must be present and not blank on create (and stay so on update).
    pub required: bool,
}

const fn w(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        read_only: false,
        required: false,
    }
}
const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        read_only: false,
        required: true,
    }
}
const fn ro(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        read_only: true,
        required: false,
    }
}

/// An embedded collection: `<wrapper><item>…</item>…</wrapper>`.
#[derive(Debug, Clone, Copy)]
pub struct List {
    /// Wrapper element, e.g. `proposal_lines`.
    pub wrapper: &'static str,
    /// Item element, e.g. `proposal_line`.
    pub item: &'static str,
    /// Item fields (the item `id` is implicit).
    pub fields: &'static [Field],
}

/// Everything the simulator knows about one resource's shape.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Scalar fields in output order (the `id` is implicit and first).
    pub fields: &'static [Field],
    /// Embedded lists, output after the scalar fields.
    pub lists: &'static [List],
    /// Timestamps output last.
    pub timestamps: &'static [&'static str],
}

const PARTY_TYPES: &[&str] = &[
    "client", "prospect", "supplier", "press", "partner", "staff", "perso", "other",
];
/// `sheet_type` values of bill sheets.
pub const BILL_TYPES: &[&str] = &["invoice_maybe", "invoice", "credit_maybe", "credit"];
const CONTENT_KINDS: &[&str] = &["", "comment", "option", "total"];
const DEPOSIT_KINDS: &[&str] = &["deposit", "plan"];
const SHEET_NAMES: &[&str] = &["bill_sheets", "proposal_sheets", "emitted_payments"];

const TS: &[&str] = &["created_at", "modified_at", "updated_at"];

const ADDRESS: &[Field] = &[
    w("address_type", Kind::Int),
    w("street_address", Kind::Str),
    w("street_address2", Kind::Str),
    w("street_number", Kind::Str),
    w("street_name", Kind::Str),
    w("additional_info", Kind::Str),
    w("zip_code", Kind::Str),
    w("city", Kind::Str),
    w("country", Kind::Str),
    w("country_iso_3166_a3", Kind::Str),
    ro("created_at", Kind::Ts),
    ro("updated_at", Kind::Ts),
];
const CONTACT_ITEM: &[Field] = &[
    w("type_id", Kind::Int),
    w("value", Kind::Str),
    ro("created_at", Kind::Ts),
    ro("updated_at", Kind::Ts),
];
const PARTY_LISTS: &[List] = &[
    List {
        wrapper: "contact_addresses",
        item: "contact_address",
        fields: ADDRESS,
    },
    List {
        wrapper: "contact_items",
        item: "contact_item",
        fields: CONTACT_ITEM,
    },
];

const FIRM: Spec = Spec {
    fields: &[
        req("name", Kind::Str),
        w("firm_type", Kind::Enum(PARTY_TYPES)),
        w("firm_type2", Kind::Str),
        w("project_id", Kind::Int),
        w("siren", Kind::Str),
        w("tva", Kind::Str),
        w("accounting_ref", Kind::Str),
        w("accounting_ref_vendor", Kind::Str),
    ],
    lists: PARTY_LISTS,
    timestamps: TS,
};

const CONTACT: Spec = Spec {
    fields: &[
        w("civility_label_id", Kind::Int),
        w("first_name", Kind::Str),
        req("last_name", Kind::Str),
        ro("first_last_name", Kind::Str),
        w("comment", Kind::Str),
        w("job_title", Kind::Str),
        w("job_department", Kind::Str),
        w("country", Kind::Str),
        w("contact_type", Kind::Enum(PARTY_TYPES)),
        w("contact_type2", Kind::Str),
        w("firm_id", Kind::Fk(Resource::Firms)),
        ro("firm_name", Kind::Str),
        w("accounting_ref", Kind::Str),
        w("accounting_ref_vendor", Kind::Str),
        w("contact_origin", Kind::Str),
        w("keywords", Kind::Str),
    ],
    lists: PARTY_LISTS,
    timestamps: TS,
};

const PRODUCT: Spec = Spec {
    fields: &[
        w("reference", Kind::Str),
        req("name", Kind::Str),
        w("description", Kind::Str),
        w("notes_internal", Kind::Str),
        w("is_active", Kind::Bool),
        w("price", Kind::Dec),
        w("price_distributor", Kind::Dec),
        w("cost", Kind::Dec),
        w("vat_id", Kind::Vat),
        w("unit", Kind::Str),
        w("currency_id", Kind::Int),
        w("product_category_id", Kind::Int),
        w("barcode", Kind::Str),
        w("accounting_ref", Kind::Str),
        w("activity_classification_choice", Kind::Str),
        w("type_of_product_id", Kind::Int),
        w("weight_kg", Kind::Dec),
        w("alert_stock", Kind::Int),
        ro("total_stock", Kind::Dec),
    ],
    lists: &[],
    timestamps: TS,
};

/// Line fields shared by proposal and bill lines (the parent id field is
/// added per resource).
macro_rules! line_fields {
    ($parent:literal) => {
        &[
            ro($parent, Kind::Int),
            w("customer_product_id", Kind::Fk(Resource::CustomerProducts)),
            w("content_kind", Kind::Enum(CONTENT_KINDS)),
            w("description", Kind::Str),
            w("description_more", Kind::Str),
            w("quantity", Kind::Dec),
            w("unit", Kind::Str),
            w("unit_price", Kind::Dec),
            w("vat_value_id", Kind::Vat),
            ro("vat_value", Kind::Dec),
            ro("total_price", Kind::Dec),
            ro("total_price_with_taxes", Kind::Dec),
            w("ordering", Kind::Int),
            ro("created_at", Kind::Ts),
            ro("updated_at", Kind::Ts),
        ]
    };
}

/// Header fields shared by proposal and bill sheets.
macro_rules! sheet_fields {
    ($sheet_type:expr $(, $extra:expr)*) => {
        &[
            w("sheet_type", $sheet_type),
            w("progress_id", Kind::Int),
            ro("progress_prev_id", Kind::Int),
            ro("reference", Kind::Str),
            ro("reference_index", Kind::Int),
            w("firm_id", Kind::Fk(Resource::Firms)),
            w("contact_id", Kind::Fk(Resource::Contacts)),
            w("project_id", Kind::Int),
            w("title", Kind::Str),
            w("subtitle", Kind::Str),
            w("billing_date", Kind::Date),
            w("language", Kind::Str),
            w("currency_id", Kind::Int),
            w("bank_account_id", Kind::Int),
            w("manager_user_id", Kind::Int),
            w("comment", Kind::Str),
            w("billing_add_name", Kind::Str),
            w("billing_add_street_address", Kind::Str),
            w("billing_add_zip_code", Kind::Str),
            w("billing_add_city", Kind::Str),
            w("billing_add_country", Kind::Str),
            w("billing_add_country_iso_3166_a3", Kind::Str),
            w("shipping_add_name", Kind::Str),
            w("shipping_add_street_address", Kind::Str),
            w("shipping_add_zip_code", Kind::Str),
            w("shipping_add_city", Kind::Str),
            w("shipping_add_country", Kind::Str),
            w("shipping_add_country_iso_3166_a3", Kind::Str),
            ro("vat_exl_total", Kind::Dec),
            ro("vat_cost", Kind::Dec),
            ro("vat_inc_total", Kind::Dec),
            $($extra,)*
        ]
    };
}

const PROPOSAL: Spec = Spec {
    fields: sheet_fields!(Kind::ProposalType),
    lists: &[List {
        wrapper: "proposal_lines",
        item: "proposal_line",
        fields: line_fields!("proposal_sheet_id"),
    }],
    timestamps: TS,
};

const BILL: Spec = Spec {
    fields: sheet_fields!(Kind::Enum(BILL_TYPES), ro("payed_amount", Kind::Dec)),
    lists: &[List {
        wrapper: "bill_lines",
        item: "bill_line",
        fields: line_fields!("bill_sheet_id"),
    }],
    timestamps: TS,
};

const STOCK_MOVEMENT: Spec = Spec {
    fields: &[
        req("customer_product_id", Kind::Fk(Resource::CustomerProducts)),
        w("origin_warehouse_id", Kind::Int),
        w("destination_warehouse_id", Kind::Int),
        req("quantity", Kind::Dec),
        req("direction", Kind::Int),
        w("comment", Kind::Str),
    ],
    lists: &[],
    timestamps: TS,
};

const CASH_DEPOSIT: Spec = Spec {
    fields: &[
        w("kind", Kind::Enum(DEPOSIT_KINDS)),
        req("amount_ttc", Kind::Dec),
        w("deposit_date", Kind::Date),
        w("deposit_date_estimation", Kind::Date),
        w("sheet_name", Kind::Enum(SHEET_NAMES)),
        w("sheet_id", Kind::Int),
        w("payment_type_id", Kind::Int),
        w("payment_type_info", Kind::Str),
        w("bank_account_id", Kind::Int),
        w("comments", Kind::Str),
    ],
    lists: &[],
    timestamps: TS,
};

impl Resource {
    /// Every resource, in a stable order.
    pub const ALL: [Resource; 7] = [
        Resource::Firms,
        Resource::Contacts,
        Resource::CustomerProducts,
        Resource::ProposalSheets,
        Resource::BillSheets,
        Resource::StockMovements,
        Resource::CashDeposits,
    ];

    /// Plural path segment, e.g. `firms`.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Firms => "firms",
            Resource::Contacts => "contacts",
            Resource::CustomerProducts => "customer_products",
            Resource::ProposalSheets => "proposal_sheets",
            Resource::BillSheets => "bill_sheets",
            Resource::StockMovements => "stock_movements",
            Resource::CashDeposits => "cash_deposits",
        }
    }

    /// Singular element name, e.g. `firm`.
    pub fn singular(self) -> &'static str {
        match self {
            Resource::Firms => "firm",
            Resource::Contacts => "contact",
            Resource::CustomerProducts => "customer_product",
            Resource::ProposalSheets => "proposal_sheet",
            Resource::BillSheets => "bill_sheet",
            Resource::StockMovements => "stock_movement",
            Resource::CashDeposits => "cash_deposit",
        }
    }

    /// The resource of a plural path segment.
    pub fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The marker field (see [`MARKERS`]).
    pub fn marker_field(self) -> Option<&'static str> {
        MARKERS.iter().find(|(r, _)| *r == self).and_then(|(_, m)| *m)
    }

    /// Fields and lists of the resource.
    pub fn spec(self) -> &'static Spec {
        match self {
            Resource::Firms => &FIRM,
            Resource::Contacts => &CONTACT,
            Resource::CustomerProducts => &PRODUCT,
            Resource::ProposalSheets => &PROPOSAL,
            Resource::BillSheets => &BILL,
            Resource::StockMovements => &STOCK_MOVEMENT,
            Resource::CashDeposits => &CASH_DEPOSIT,
        }
    }

    /// First id given to objects of this resource (distinct ranges make a
    /// client that mixes ids of two resources fail loudly).
    pub fn id_base(self) -> u64 {
        match self {
            Resource::Firms => 100_001,
            Resource::Contacts => 200_001,
            Resource::CustomerProducts => 300_001,
            Resource::ProposalSheets => 400_001,
            Resource::BillSheets => 500_001,
            Resource::StockMovements => 600_001,
            Resource::CashDeposits => 700_001,
        }
    }

    /// Whether the resource is a sales document with lines and totals.
    pub fn is_sheet(self) -> bool {
        matches!(self, Resource::ProposalSheets | Resource::BillSheets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_has_one_marker_entry() {
        for r in Resource::ALL {
            assert_eq!(MARKERS.iter().filter(|(m, _)| *m == r).count(), 1);
            assert_eq!(Resource::from_name(r.name()), Some(r));
            if let Some(m) = r.marker_field() {
                assert!(r.spec().fields.iter().any(|f| f.name == m && !f.read_only));
            }
        }
    }
}
