//! Reading the CLI's inputs: a file path or `-` for standard input.

use std::io::Read;
use std::path::Path;

/// The bytes of a file, or of standard input for `-`.
pub fn bytes(file: &str) -> Result<Vec<u8>, String> {
    if file == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))
    }
}

/// The UTF-8 text of a file, or of standard input for `-`.
pub fn text(file: &str) -> Result<String, String> {
    String::from_utf8(bytes(file)?).map_err(|e| {
        format!(
            "{file} is not UTF-8 (invalid byte at offset {}); save it as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// The text of a profile file, if one was named.
pub fn profile(path: Option<&Path>) -> Result<Option<String>, String> {
    path.map(|p| std::fs::read_to_string(p).map_err(|e| format!("cannot read profile {}: {e}", p.display())))
        .transpose()
}
