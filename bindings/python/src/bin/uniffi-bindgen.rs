//! The uniffi bindings generator, built from the same uniffi version as the
//! library (maturin runs it to write the Python module).

fn main() {
    uniffi::uniffi_bindgen_main()
}
