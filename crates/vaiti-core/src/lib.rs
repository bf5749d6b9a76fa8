//! Domain types shared by vaiti's server and its clients.
//!
//! Everything here is what the *server* may see: ids, enums, timestamps, public keys, signatures
//! and [`Sealed`] ciphertext. There is deliberately no decrypted form of any record in this crate:
//! a type that could hold a note's text does not exist in the server's dependency tree.

#![forbid(unsafe_code)]

pub mod alert;
pub mod api;
pub mod ids;
pub mod model;
pub mod report;
pub mod signed;

pub use alert::{Alert, AlertKind};
pub use ids::{AlertId, BranchId, ChartId, ClinicId, IdError, InviteId, KeyId, ObjectId, UserId};
pub use model::*;
