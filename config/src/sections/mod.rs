//! One conversion per table of the file, from its raw form to its typed
//! one, each check naming its key.

pub(crate) mod accounts;
pub(crate) mod federation;
pub(crate) mod listeners;
pub(crate) mod operations;
pub(crate) mod stores;
