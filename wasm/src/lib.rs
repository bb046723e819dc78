//! WebAssembly bindings of the incwo connector core (being written).
