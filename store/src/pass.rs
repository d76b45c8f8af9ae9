//! How a part method's arguments reach its domain step in
//! `records.rs`, the same way for every backend: first made owned (a
//! backend may run the step on another thread, as SQLite does on the
//! blocking pool, or run it again after a lost race), then passed as the
//! step takes them: text as `&str`, a record by reference, a scalar by
//! value. The forwarding `store_part!` generates uses nothing else.

use crate::{
    AdConnection, BrowserNote, DirectoryChange, FederatedIdentity, KnownBrowser, MethodChange,
    PasskeyRecord, ScimTokenChange, SessionBinding, SessionRecord, Tenant, TicketRecord,
    TwoStepRegistration, User,
};
use sekisho_policy::line::AccessRoute;
use sekisho_policy::model::{LoginMethod, Plan, Role};
use sekisho_policy::ticket::TicketPurpose;

/// A method's argument as the step's transaction keeps it.
pub trait Owned {
    type Kept: Send + Sync + 'static;
    fn owned(self) -> Self::Kept;
}

/// A kept argument as the step takes it.
pub trait Pass<'a> {
    type Given;
    fn pass(&'a self) -> Self::Given;
}

impl Owned for &str {
    type Kept = String;
    fn owned(self) -> String {
        self.to_string()
    }
}

impl Owned for Option<&str> {
    type Kept = Option<String>;
    fn owned(self) -> Option<String> {
        self.map(str::to_string)
    }
}

impl<'a> Pass<'a> for String {
    type Given = &'a str;
    fn pass(&'a self) -> &'a str {
        self
    }
}

impl<'a> Pass<'a> for Option<String> {
    type Given = Option<&'a str>;
    fn pass(&'a self) -> Option<&'a str> {
        self.as_deref()
    }
}

impl<'a> Pass<'a> for Vec<String> {
    type Given = &'a [String];
    fn pass(&'a self) -> &'a [String] {
        self
    }
}

/// Owned already: kept as they are.
macro_rules! kept_as_they_are {
    ($($t:ty),*) => {
        $(impl Owned for $t {
            type Kept = $t;
            fn owned(self) -> $t {
                self
            }
        })*
    };
}

/// Scalars: the step takes a copy.
macro_rules! passed_by_value {
    ($($t:ty),*) => {
        $(impl<'a> Pass<'a> for $t {
            type Given = $t;
            fn pass(&'a self) -> $t {
                *self
            }
        })*
    };
}

/// Records: the step takes a reference.
macro_rules! passed_by_reference {
    ($($t:ty),*) => {
        $(impl<'a> Pass<'a> for $t {
            type Given = &'a $t;
            fn pass(&'a self) -> &'a $t {
                self
            }
        })*
    };
}

kept_as_they_are!(
    Option<String>,
    Vec<String>,
    i64,
    u32,
    u64,
    bool,
    AccessRoute,
    LoginMethod,
    Plan,
    Role,
    TicketPurpose,
    AdConnection,
    BrowserNote,
    DirectoryChange,
    FederatedIdentity,
    KnownBrowser,
    MethodChange,
    PasskeyRecord,
    ScimTokenChange,
    SessionBinding,
    SessionRecord,
    Tenant,
    TicketRecord,
    TwoStepRegistration,
    User
);
passed_by_value!(
    i64,
    u32,
    u64,
    bool,
    AccessRoute,
    LoginMethod,
    Plan,
    Role,
    TicketPurpose
);
passed_by_reference!(
    AdConnection,
    BrowserNote,
    DirectoryChange,
    FederatedIdentity,
    KnownBrowser,
    MethodChange,
    PasskeyRecord,
    ScimTokenChange,
    SessionBinding,
    SessionRecord,
    Tenant,
    TicketRecord,
    TwoStepRegistration,
    User
);
