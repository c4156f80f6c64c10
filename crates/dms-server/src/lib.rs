//! # dmsrs-dms-server
//!
//! A local AWS DMS endpoint: the DMS control plane (AWS JSON 1.1 over HTTP, `X-Amz-Target:
//! AmazonDMSv20160101.<Operation>`) served by the embedded engine, so any AWS client (the
//! Rust SDK, boto3, the aws CLI, Terraform) creates and runs real replication tasks against
//! `http://127.0.0.1:<port>` with no AWS account and no LocalStack licence.
//!
//! * Operations: subnet groups, replication instances (records: the engine runs in this
//!   process), endpoints (MySQL/MariaDB/Aurora sources, Kinesis targets), connections
//!   (`TestConnection` really connects), replication tasks (create, modify, start, stop,
//!   delete, describe with filters and `Marker` paging, table statistics, `ReloadTables`),
//!   tags and `DescribeEndpointTypes`. Other DMS operations answer `UnsupportedOperation`
//!   naming them ([`SUPPORTED_OPERATIONS`] lists the implemented ones).
//! * Faults are DMS's: `{"__type": "ResourceNotFoundFault", "message": ...}` and friends,
//!   HTTP 400; bodies that are not JSON of the input shape get `SerializationException`;
//!   missing or invalid members `InvalidParameterValueException`.
//! * With a state folder, endpoints, tasks (statistics, `RecoveryCheckpoint`), instances,
//!   tags and CDC checkpoints survive a restart; tasks running at shutdown are resumed.
//!
//! Sources read secrets through any [`dmsrs_secrets::SecretSource`] (Secrets Manager on AWS,
//! moto or LocalStack) and targets open streams through any [`dmsrs_engine::TargetFactory`]
//! (`dmsrs_engine::KinesisTargets` for Kinesis). The `dms-server` binary wires both from the
//! AWS SDK configuration.

pub mod fault;
mod http;
mod operations;
mod ops;
mod server;
mod wire;

pub use fault::Fault;
pub use http::TARGET_PREFIX;
pub use ops::SUPPORTED_OPERATIONS;
pub use server::{DmsServer, ServerConfig, ServerError};
