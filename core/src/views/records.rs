//! The typed views of incwo's objects, declared once with the wire kind of
//! each field so the struct and its reader cannot drift apart.
//!
//! Field names are incwo's element names (camelCase in JSON). Everything incwo
//! may omit is an `Option`; empty elements read as `None`; embedded
//! collections read as (possibly empty) vectors. Unknown elements are ignored.

use super::read;
use super::{CashDepositKind, ContentKind, Direction, FromElement, ViewError};
use crate::xml::Element;
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::Serialize;

/// The XML element name of a field: its Rust name unless overridden.
macro_rules! xml_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $xml:literal) => {
        $xml
    };
}

/// Declares a view struct and its [`FromElement`] reader. Each field is
/// `name: Type = kind` (a function of [`read`]), optionally with extra
/// arguments `kind[args]` and an XML name override `as "element"`.
macro_rules! view {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $kind:ident $([$($arg:expr),*])? $(as $xml:literal)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl FromElement for $name {
            fn from_element(el: &Element, path: &str) -> Result<Self, ViewError> {
                Ok(Self {
                    $( $field: read::$kind(el, path, xml_name!($field $(, $xml)?) $($(, $arg)*)?)?, )*
                })
            }
        }
    };
}

/// The header fields proposal sheets and bill sheets share, plus their own.
macro_rules! sheet_view {
    (
        $(#[$meta:meta])*
        pub struct $name:ident lines $wrapper:literal of $line:literal {
            $($extra:tt)*
        }
    ) => {
        view! {
            $(#[$meta])*
            pub struct $name {
                /// incwo id.
                id: u64 = id,
                /// Discriminator (`proposal`, `invoice`, `invoice_maybe`, `credit`…).
                sheet_type: Option<String> = text,
                /// Status label id (account-specific, e.g. 557 = accepted quote).
                progress_id: Option<u64> = link,
                /// Previous status label id.
                progress_prev_id: Option<u64> = link,
                /// Automatic number, e.g. `D1234-56789`.
                reference: Option<String> = text,
                /// Position in the numbering sequence.
                reference_index: Option<i64> = int,
                /// Document title.
                title: Option<String> = text,
                /// Document subtitle.
                subtitle: Option<String> = text,
                /// Language code, e.g. `fr`.
                language: Option<String> = text,
                /// Linked project.
                project_id: Option<u64> = link,
                /// Linked lead.
                lead_id: Option<u64> = link,
                /// Customer firm (`0` on the wire = none).
                firm_id: Option<u64> = link,
                /// Customer contact (`0` on the wire = none).
                contact_id: Option<u64> = link,
                /// Free-text customer name.
                client_name: Option<String> = text,
                /// Party key, e.g. `firms+1`.
                party_idplus: Option<String> = text,
                /// Salesperson.
                manager_user_id: Option<u64> = link,
                /// Bank account shown on the PDF.
                bank_account_id: Option<u64> = link,
                /// Document date.
                billing_date: Option<NaiveDate> = date,
                /// Document-level VAT code.
                vat_value_id: Option<u64> = link,
                /// Document currency.
                currency_id: Option<u64> = link,
                /// Previous document currency.
                previous_currency_id: Option<u64> = link,
                /// Business-file currency ↔ document currency rate.
                currency_exchange_rate: Option<Decimal> = decimal,
                /// Document discount, percent.
                reduction_percent: Option<Decimal> = decimal,
                /// Document discount, amount.
                reduction_currency: Option<Decimal> = decimal,
                /// Shipping cost.
                shipping_cost: Option<Decimal> = decimal,
                /// Total excluding VAT (computed by incwo).
                vat_exl_total: Option<Decimal> = decimal,
                /// VAT total (computed by incwo).
                vat_cost: Option<Decimal> = decimal,
                /// Total including VAT (computed by incwo).
                vat_inc_total: Option<Decimal> = decimal,
                /// Total excluding VAT with shipping (computed by incwo).
                vat_exc_total_with_shipping: Option<Decimal> = decimal,
                /// Margin amount (computed by incwo).
                margin_value: Option<Decimal> = decimal,
                /// Margin ratio (computed by incwo).
                margin_percent: Option<Decimal> = decimal,
                /// Billing address, first line or complement.
                billing_add_name: Option<String> = text,
                /// Billing street address.
                billing_add_street_address: Option<String> = text,
                /// Billing zip code.
                billing_add_zip_code: Option<String> = text,
                /// Billing city.
                billing_add_city: Option<String> = text,
                /// Billing country name.
                billing_add_country: Option<String> = text,
                /// Billing country, ISO 3166 alpha-3.
                billing_add_country_iso_3166_a3: Option<String> = text,
                /// Shipping address, first line or complement.
                shipping_add_name: Option<String> = text,
                /// Shipping street address.
                shipping_add_street_address: Option<String> = text,
                /// Shipping zip code.
                shipping_add_zip_code: Option<String> = text,
                /// Shipping city.
                shipping_add_city: Option<String> = text,
                /// Shipping country name.
                shipping_add_country: Option<String> = text,
                /// Shipping country, ISO 3166 alpha-3.
                shipping_add_country_iso_3166_a3: Option<String> = text,
                /// Free comment.
                comment: Option<String> = text,
                /// Recurring document flag.
                is_repeat: Option<bool> = flag,
                /// Export (no VAT) flag.
                is_export: Option<bool> = flag,
                /// Quote validity (a timestamp on the wire).
                validity_date: Option<NaiveDateTime> = timestamp,
                /// Lines, in document order.
                lines: Vec<DocumentLine> = list[$line] as $wrapper,
                /// Payment schedule and payments.
                cash_deposits: Vec<CashDeposit> = list["cash_deposit"],
                /// Creation time.
                created_at: Option<NaiveDateTime> = timestamp,
                /// Last modification time (`modified_at` on the wire).
                modified_at: Option<NaiveDateTime> = timestamp,
                /// Last update time (`updated_at` on the wire).
                updated_at: Option<NaiveDateTime> = timestamp,
                $($extra)*
            }
        }
    };
}

view! {
    /// A company (`<firm>`), with its embedded addresses and contact items.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Firm {
        /// incwo id.
        id: u64 = id,
        /// Company name.
        name: Option<String> = text,
        /// `client`, `prospect`, `supplier`, `press`, `partner`, `staff`, `perso`, `other`.
        firm_type: Option<String> = text,
        /// Secondary type.
        firm_type2: Option<String> = text,
        /// Linked project.
        project_id: Option<u64> = link,
        /// French company id.
        siren: Option<String> = text,
        /// Intra-EU VAT number.
        tva: Option<String> = text,
        /// Customer accounting reference.
        accounting_ref: Option<String> = text,
        /// Vendor accounting reference.
        accounting_ref_vendor: Option<String> = text,
        /// Postal addresses.
        contact_addresses: Vec<ContactAddress> = list["contact_address"],
        /// Phones, e-mails and the like.
        contact_items: Vec<ContactItem> = list["contact_item"],
        /// Creation time.
        created_at: Option<NaiveDateTime> = timestamp,
        /// Last update time.
        updated_at: Option<NaiveDateTime> = timestamp,
    }
}

view! {
    /// A person (`<contact>`), possibly attached to a firm.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Contact {
        /// incwo id.
        id: u64 = id,
        /// Civility label id (account-specific).
        civility_label_id: Option<u64> = link,
        /// First name.
        first_name: Option<String> = text,
        /// Last name.
        last_name: Option<String> = text,
        /// "First Last", computed by incwo.
        first_last_name: Option<String> = text,
        /// Free comment.
        comment: Option<String> = text,
        /// Job title.
        job_title: Option<String> = text,
        /// Department.
        job_department: Option<String> = text,
        /// Country name.
        country: Option<String> = text,
        /// Same values as a firm's `firm_type`.
        contact_type: Option<String> = text,
        /// Secondary type.
        contact_type2: Option<String> = text,
        /// Parent firm (`0`/absent = none).
        firm_id: Option<u64> = link,
        /// Parent firm name, denormalised by incwo.
        firm_name: Option<String> = text,
        /// Customer accounting reference.
        accounting_ref: Option<String> = text,
        /// Vendor accounting reference.
        accounting_ref_vendor: Option<String> = text,
        /// Where the contact came from.
        contact_origin: Option<String> = text,
        /// Keywords.
        keywords: Option<String> = text,
        /// Postal addresses.
        contact_addresses: Vec<ContactAddress> = list["contact_address"],
        /// Phones, e-mails and the like.
        contact_items: Vec<ContactItem> = list["contact_item"],
        /// Creation time.
        created_at: Option<NaiveDateTime> = timestamp,
        /// Last update time.
        updated_at: Option<NaiveDateTime> = timestamp,
    }
}

view! {
    /// A postal address embedded in a firm or contact (`<contact_address>`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ContactAddress {
        /// incwo id.
        id: Option<u64> = opt_id,
        /// Owner.
        contact_id: Option<u64> = link,
        /// Address type code (contacts: 20 personal, 21 professional, 22 other).
        address_type: Option<i64> = int,
        /// Street address, first line.
        street_address: Option<String> = text,
        /// Street address, second line.
        street_address2: Option<String> = text,
        /// Street number.
        street_number: Option<String> = text,
        /// Street name.
        street_name: Option<String> = text,
        /// Additional information.
        additional_info: Option<String> = text,
        /// Zip code.
        zip_code: Option<String> = text,
        /// City.
        city: Option<String> = text,
        /// Country name.
        country: Option<String> = text,
        /// Country, ISO 3166 alpha-3.
        country_iso_3166_a3: Option<String> = text,
        /// Creation time.
        created_at: Option<NaiveDateTime> = timestamp,
        /// Last update time.
        updated_at: Option<NaiveDateTime> = timestamp,
    }
}

view! {
    /// A phone number, e-mail or messaging handle embedded in a firm or contact
    /// (`<contact_item>`). Its `Debug` output hides the value: it is personal data.
    #[derive(Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ContactItem {
        /// incwo id.
        id: Option<u64> = opt_id,
        /// Owner.
        contact_id: Option<u64> = link,
        /// Kind (471 main phone, 24 business phone, 27 business e-mail…).
        type_id: Option<u64> = link,
        /// The phone number, address or handle as entered.
        value: Option<String> = text,
        /// Phone number normalised by incwo (digits only).
        normalized_phone: Option<String> = text,
        /// Owner type name.
        object_zname: Option<String> = text,
        /// Owner id.
        object_zid: Option<u64> = link,
        /// Creation time.
        created_at: Option<NaiveDateTime> = timestamp,
        /// Last update time.
        updated_at: Option<NaiveDateTime> = timestamp,
    }
}

impl std::fmt::Debug for ContactItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("ContactItem")
            .field("id", &self.id)
            .field("contact_id", &self.contact_id)
            .field("type_id", &self.type_id)
            .field("value", &hidden(&self.value))
            .field("normalized_phone", &hidden(&self.normalized_phone))
            .field("object_zname", &self.object_zname)
            .field("object_zid", &self.object_zid)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

view! {
    /// A product or service (`<customer_product>`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CustomerProduct {
        /// incwo id.
        id: u64 = id,
        /// Our reference (the product code).
        reference: Option<String> = text,
        /// Position in the numbering sequence.
        reference_index: Option<i64> = int,
        /// Name.
        name: Option<String> = text,
        /// Description.
        description: Option<String> = text,
        /// Active flag (deactivate instead of deleting).
        is_active: Option<bool> = flag,
        /// Bought from a vendor.
        is_from_vendor: Option<bool> = flag,
        /// Vendor's reference.
        vendor_reference: Option<String> = text,
        /// Vendor's name for the product.
        name_vendor: Option<String> = text,
        /// Sales unit.
        unit: Option<String> = text,
        /// Vendor unit.
        unit_vendor: Option<String> = text,
        /// Price excluding tax.
        price: Option<Decimal> = decimal,
        /// Distributor price excluding tax.
        price_distributor: Option<Decimal> = decimal,
        /// Cost.
        cost: Option<Decimal> = decimal,
        /// Vendor cost.
        vendor_cost: Option<Decimal> = decimal,
        /// VAT code (607 = 20 %).
        vat_id: Option<u64> = link,
        /// Price currency.
        currency_id: Option<u64> = link,
        /// Cost currency.
        cost_currency_id: Option<u64> = link,
        /// Business-file currency ↔ product currency rate.
        currency_exchange_rate: Option<Decimal> = decimal,
        /// Category.
        product_category_id: Option<u64> = link,
        /// Product type code.
        type_of_product_id: Option<u64> = link,
        /// Brand label.
        brand_id: Option<u64> = link,
        /// Prices are entered including tax.
        enter_prices_in_ttc: Option<bool> = flag,
        /// Price including tax, as entered.
        entered_price_in_ttc: Option<Decimal> = decimal,
        /// Product discount, percent.
        reduction_percent: Option<Decimal> = decimal,
        /// French eco-tax.
        eco_participation: Option<Decimal> = decimal,
        /// Weight.
        weight_kg: Option<Decimal> = decimal,
        /// Stock on hand, all warehouses.
        total_stock: Option<Decimal> = decimal,
        /// Low-stock threshold.
        alert_stock: Option<Decimal> = decimal,
        /// Barcode.
        barcode: Option<String> = text,
        /// Accounting reference.
        accounting_ref: Option<String> = text,
        /// Activity classification (`commerce`…).
        activity_classification_choice: Option<String> = text,
        /// Creation time.
        created_at: Option<NaiveDateTime> = timestamp,
        /// Last modification time.
        modified_at: Option<NaiveDateTime> = timestamp,
        /// Last update time.
        updated_at: Option<NaiveDateTime> = timestamp,
    }
}

view! {
    /// A line of a quote or an invoice (`<proposal_line>` or `<bill_line>`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct DocumentLine {
        /// incwo id (`0` is kept: incwo writes it on some comment lines).
        id: Option<u64> = opt_id,
        /// Parent quote.
        proposal_sheet_id: Option<u64> = link,
        /// Parent invoice.
        bill_sheet_id: Option<u64> = link,
        /// Product (`0` = free line).
        customer_product_id: Option<u64> = link,
        /// Product category.
        customer_product_category_id: Option<u64> = link,
        /// Normal line, comment, option or sub-total.
        content_kind: ContentKind = content_kind,
        /// Line label.
        description: Option<String> = text,
        /// Long description.
        description_more: Option<String> = text,
        /// Quantity.
        quantity: Option<Decimal> = decimal,
        /// Unit, e.g. `JH`.
        unit: Option<String> = text,
        /// Unit price excluding tax.
        unit_price: Option<Decimal> = decimal,
        /// VAT code (607 = 20 %).
        vat_value_id: Option<u64> = link,
        /// VAT amount (computed by incwo).
        vat_value: Option<Decimal> = decimal,
        /// Total excluding tax (computed by incwo; 0 on option lines).
        total_price: Option<Decimal> = decimal,
        /// Total including tax (computed by incwo).
        total_price_with_taxes: Option<Decimal> = decimal,
        /// Sort key (100, 200…).
        ordering: Option<i64> = int,
        /// Activity classification.
        activity_classification_choice: Option<String> = text,
    }
}

sheet_view! {
    /// A quote or delivery note (`<proposal_sheet>`), lines in `<proposal_lines>`.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ProposalSheet lines "proposal_lines" of "proposal_line" {}
}

sheet_view! {
    /// An invoice or credit note (`<bill_sheet>`), lines in `<bill_lines>`.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct BillSheet lines "bill_lines" of "bill_line" {
        /// `0` invoice, `1` fees.
        sheet_subtype: Option<String> = text,
        /// Amount already paid (computed by incwo).
        payed_amount: Option<Decimal> = decimal,
        /// Beneficiary contact.
        beneficiary_contact_id: Option<u64> = link,
        /// Beneficiary firm.
        beneficiary_firm_id: Option<u64> = link,
        /// Prescriber contact.
        prescriptor_contact_id: Option<u64> = link,
        /// Prescriber firm.
        prescriptor_firm_id: Option<u64> = link,
        /// VAT not deductible flag.
        vat_not_deductible: Option<bool> = flag,
    }
}

view! {
    /// A stock movement (`<stock_movement>`): a positive quantity moved in or out.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct StockMovement {
        /// incwo id.
        id: u64 = id,
        /// Product moved.
        customer_product_id: Option<u64> = link,
        /// Warehouse the goods leave.
        origin_warehouse_id: Option<u64> = link,
        /// Warehouse the goods enter.
        destination_warehouse_id: Option<u64> = link,
        /// Quantity (positive; the direction gives the sign).
        quantity: Option<Decimal> = decimal,
        /// `1` in, `-1` out.
        direction: Option<Direction> = direction,
        /// Free comment.
        comment: Option<String> = text,
        /// Creation time.
        created_at: Option<NaiveDateTime> = timestamp,
        /// Last update time.
        updated_at: Option<NaiveDateTime> = timestamp,
    }
}

view! {
    /// A payment or a planned payment (`<cash_deposit>`), top-level or embedded
    /// in a document's `<cash_deposits>`.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CashDeposit {
        /// incwo id.
        id: u64 = id,
        /// `deposit` (money moved) or `plan` (expected).
        kind: Option<CashDepositKind> = deposit_kind,
        /// Amount including tax.
        amount_ttc: Option<Decimal> = decimal,
        /// Payment date.
        deposit_date: Option<NaiveDate> = date,
        /// Expected date of a planned payment.
        deposit_date_estimation: Option<NaiveDate> = date,
        /// Due-date rule of a planned payment.
        deposit_date_model_id: Option<u64> = link,
        /// Owner type: `bill_sheets`, `proposal_sheets`, `emitted_payments`.
        sheet_name: Option<String> = text,
        /// Owner id.
        sheet_id: Option<u64> = link,
        /// Payment means (55 cheque, 56 card, 57 cash, 265 transfer…).
        payment_type_id: Option<u64> = link,
        /// Payment detail, e.g. a cheque number.
        payment_type_info: Option<String> = text,
        /// Staff member who received it.
        payer_staff_id: Option<u64> = link,
        /// Bank account.
        bank_account_id: Option<u64> = link,
        /// Reconciled with the bank statement.
        bank_reconciled: Option<bool> = flag,
        /// Free comments.
        comments: Option<String> = text,
        /// Creation time.
        created_at: Option<NaiveDateTime> = timestamp,
        /// Last update time.
        updated_at: Option<NaiveDateTime> = timestamp,
    }
}
