//! The one error distinction the command line makes: a problem with what
//! the operator gave (configuration, arguments: exit 2, fix the input) versus
//! a failure while running (exit 1, look at the system).

use std::fmt;

/// A bad configuration value or command-line argument. The message starts
/// with the key or flag it is about (`store.path: …`, `--holder-email: …`).
#[derive(Debug)]
pub struct InputError(pub String);

impl InputError {
    /// Wraps `message` as an `anyhow::Error` that the command line maps to
    /// exit code 2.
    pub fn error(message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(InputError(message.into()))
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}
