//! Sekisho (関所): the sign-in gateway in front of the storage service.
//!
//! The binary's parts, in the order a request meets them: [`connections`]
//! (deadlines and caps), [`proxy`] (the Pingora phases), [`flows`] (the gateway's own pages), [`sessions`],
//! [`store`], [`hashing`], [`assertion`], [`mail`]; and around them
//! [`server`] (assembly), [`cli`], [`admin`], [`metrics`], [`audit`].

pub mod admin;
pub mod answers;
pub mod assertion;
pub mod attempts;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod connections;
pub mod crypto;
pub mod dbsc;
pub mod demo_upstream;
pub mod descriptors;
pub mod error;
pub mod federation;
pub mod flows;
pub mod handover;
pub mod hashing;
pub mod line;
pub mod mail;
pub mod metrics;
pub mod passkeys;
pub mod preflight;
pub mod proxy;
pub mod refusals;
pub mod request;
pub mod routes;
pub mod scim;
pub mod seeds;
pub mod server;
pub mod sessions;
pub mod sms;
pub mod state;
pub mod store;
pub mod throttle;
pub mod tickets;
pub mod tls;
pub mod totp;
pub mod traces;
pub mod upgrade;
pub mod view_cache;
pub mod web;
