//! # dmsrs-tasks
//!
//! The DMS control plane as the seed scenario uses it: endpoints, replication tasks, their
//! statuses and statistics ([`model`]), one trait for it ([`ReplicationService`]) and the
//! errors it returns ([`DmsError`], mirroring the DMS faults).
//!
//! The embedded engine (`dmsrs-engine`) implements the trait in-process; the AWS DMS client
//! (`AwsDms`, cargo feature `aws`) implements it against AWS, LocalStack or any
//! AWS-compatible endpoint, so a scenario runs unchanged on either.
//!
//! [`seed`] holds the seed sample's task definitions as data (exact `TableMappings` and
//! `ReplicationTaskSettings` strings, Kinesis settings, instance parameters); it needs no AWS.

mod error;
pub mod model;
pub mod seed;
mod service;
pub mod wait;

#[cfg(feature = "aws")]
pub mod aws;

#[cfg(feature = "aws")]
pub use aws::AwsDms;

pub use error::{DmsError, Result};
pub use model::*;
pub use service::ReplicationService;
