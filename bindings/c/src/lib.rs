//! C ABI of the incwo connector core (being written).
