//! # dmsrs-engine
//!
//! An embedded, AWS DMS-compatible replication engine: it runs DMS replication tasks
//! (full load and binlog CDC from MariaDB/MySQL) in-process and writes the records DMS
//! writes to a Kinesis-like stream, so the seed pipeline runs with no AWS account and no
//! LocalStack licence.
//!
//! Data flows one way: source ([`source`], [`binlog`]) -> engine (full load, CDC) ->
//! codec ([`encoder`] on top of `dmsrs-codec`) -> target (`dmsrs-streams`).
//! [`EmbeddedEngine`] implements `dmsrs_tasks::ReplicationService`, the same trait as the
//! AWS DMS client, so a scenario runs unchanged on either.

pub mod binlog;
mod cdc;
pub mod checkpoint;
pub mod columns;
pub mod encoder;
mod engine;
mod error;
mod fullload;
pub mod mapping;
mod pool;
pub mod row;
mod runtime;
pub mod settings;
mod sink;
pub mod source;
mod targets;
pub mod tasklog;

pub use checkpoint::{Checkpoint, CheckpointStore, FileCheckpoints, MemoryCheckpoints};
pub use engine::{EmbeddedEngine, EngineConfig, TaskRecord};
pub use error::{EngineError, Result};
#[cfg(feature = "kinesis")]
pub use targets::KinesisTargets;
pub use targets::{StreamTargets, TargetFactory};
