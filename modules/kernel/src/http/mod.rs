//! The HTTP edge shared by every module.

pub mod headers;
pub mod health;
pub mod internal;
pub mod observe;
pub mod problems;
pub mod remote;
pub mod resilience;
pub mod trace;

pub use remote::{RemoteClient, RemoteError};
