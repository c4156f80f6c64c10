//! # dmsrs-tasks
//!
//! The DMS control plane as the seed scenario uses it: endpoints, replication tasks, their
//! statuses and statistics ([`model`]), one trait for it ([`ReplicationService`]) and the
//! errors it returns ([`DmsError`], mirroring the DMS faults).
//!
//! The embedded engine (`dmsrs-engine`) implements the trait in-process; the AWS DMS client
//! implements it against AWS, LocalStack or any AWS-compatible endpoint, so a scenario runs
//! unchanged on either.

mod error;
pub mod model;
mod service;
pub mod wait;

pub use error::{DmsError, Result};
pub use model::*;
pub use service::ReplicationService;
