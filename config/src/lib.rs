//! Sekisho's configuration: one TOML file → a validated, typed [`Config`].
//!
//! Two layers, as in River: [`raw`] is the file format (serde, unknown keys
//! refused), [`Config`] is what the gateway uses (addresses resolved, paths
//! made absolute against the file's folder, secrets read, durations typed).
//! Every problem is reported with the key it belongs to, all at once.

mod checker;
mod raw;
mod sections;
mod typed;
mod validate;

use std::path::{Path, PathBuf};

pub use typed::*;
pub use validate::{check_syntax, from_toml_str};

/// Reads and validates the file at `path`. Relative paths inside it are taken
/// relative to the file's folder.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            key: "(file)".into(),
            message: format!("cannot read {}: {e}", path.display()),
        }])
    })?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    from_toml_str(&text, &base)
}
