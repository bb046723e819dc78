//! Python bindings of the incwo connector core (being written).
