//! # dmsrs-seed
//!
//! The seed scenario of "Real-time Database Replication with DMS and Kinesis": its SQL
//! ([`sql`]), its stack outputs ([`Outputs`]), its full-load and CDC flows with a checked
//! expectation per step ([`flows::Runner`]), and the report they produce ([`report`]).
//!
//! The flows talk to any `ReplicationService` (the embedded engine or AWS DMS), any pair of
//! MariaDB/MySQL databases (through `dmsrs-database`'s SQL client) and any stream reader
//! (in-memory, Kinesis): the binary only wires them.

pub mod flows;
pub mod report;
pub mod sql;
pub mod watch;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The stack outputs, with the seed's CloudFormation output names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// ARN of `cdc-task-1` (tables `a%` of the CDC source).
    #[serde(rename = "cdcTask1")]
    pub cdc_task1: String,
    /// ARN of `cdc-task-2` (`novels` of the CDC source).
    #[serde(rename = "cdcTask2")]
    pub cdc_task2: String,
    /// Secret of the CDC source ("RDS").
    #[serde(rename = "cdcTaskSecret")]
    pub cdc_task_secret: String,
    /// ARN of `full-load-task-1`.
    #[serde(rename = "fullTask1")]
    pub full_task1: String,
    /// ARN of `full-load-task-2`.
    #[serde(rename = "fullTask2")]
    pub full_task2: String,
    /// Secret of the full-load source ("external" MariaDB).
    #[serde(rename = "fullTaskSecret")]
    pub full_task_secret: String,
    /// ARN of the target stream.
    #[serde(rename = "kinesisStream")]
    pub kinesis_stream: String,
}

impl Outputs {
    /// `(name, value)` pairs in the CDK's output order.
    pub fn pairs(&self) -> [(&'static str, &str); 7] {
        [
            ("cdcTask1", &self.cdc_task1),
            ("cdcTask2", &self.cdc_task2),
            ("cdcTaskSecret", &self.cdc_task_secret),
            ("fullTask1", &self.full_task1),
            ("fullTask2", &self.full_task2),
            ("fullTaskSecret", &self.full_task_secret),
            ("kinesisStream", &self.kinesis_stream),
        ]
    }
}

/// What stopped a step.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SeedError {
    /// The replication service refused or timed out.
    #[error(transparent)]
    Dms(#[from] dmsrs_tasks::DmsError),
    /// A database statement failed.
    #[error(transparent)]
    Database(#[from] dmsrs_database::DatabaseError),
    /// Reading the target stream failed.
    #[error("reading the target stream: {0}")]
    Stream(#[from] dmsrs_streams::StreamError),
    /// An expectation did not hold.
    #[error("{0}")]
    Check(String),
}
