//! # dmsrs-network
//!
//! The network of a dmsrs deployment, behind one trait, [`Network`]:
//!
//! * `AwsNetwork` (feature `aws`, aws-sdk-ec2): the VPC of the seed's CDK
//!   stack (VPC, 2 public + 2 isolated subnets, internet gateway, route
//!   tables, the DMS security group), every resource tagged
//!   `dmsrs:stack=<stack>` so that a second `ensure` finds and reuses it and
//!   `destroy` finds and removes it.
//! * [`LoopbackNetwork`]: the embedded twin. Everything runs on this machine
//!   and listens on 127.0.0.1; there is nothing to create.
//!
//! The module `iam` (feature `aws`, aws-sdk-iam) makes the seed's IAM roles
//! (`dms-vpc-role`, the DMS -> Kinesis access role, the per-endpoint
//! Secrets Manager access roles).
//!
//! ```
//! use dmsrs_network::{LoopbackNetwork, Network, NetworkSpec};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let net = LoopbackNetwork::new();
//! let out = net.ensure(&NetworkSpec::new("DMsSampleSetupStack")).await?;
//! assert!(out.is_loopback());
//! # Ok::<(), dmsrs_network::NetworkError>(())
//! # }).unwrap();
//! ```

mod error;
mod loopback;
mod spec;

#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "aws")]
pub mod iam;

pub use error::{ErrorClass, NetworkError, Result};
pub use loopback::LoopbackNetwork;
pub use spec::{
    DeletedResource, DestroyReport, LOGICAL_ID_TAG, NetworkKind, NetworkOutputs, NetworkSpec,
    STACK_TAG, SubnetKind, SubnetSpec, validate_stack,
};

#[cfg(feature = "aws")]
pub use aws::AwsNetwork;

/// The network of a deployment.
///
/// Contract, for every implementation:
///
/// * [`ensure`](Network::ensure) is idempotent: it finds the resources it made
///   earlier for `spec.stack` (by tag) and reuses them, creates what is
///   missing and fixes settings that drifted (DNS attributes, routes, the
///   ingress port range). Running it twice gives the same ids and no
///   duplicates. It may be re-run after a failure half way.
/// * [`describe`](Network::describe) changes nothing; `Ok(None)` means no
///   network exists for the stack. A partially created network is described
///   with what exists.
/// * [`destroy`](Network::destroy) deletes everything the stack's `ensure`
///   made, in reverse dependency order; it tolerates resources that are
///   already gone and stacks that were only partly created, and a second call
///   deletes nothing and succeeds. It fails (retryably) when something outside
///   this crate, e.g. a database, still uses the network.
/// * Errors are [`NetworkError`]s, classified by
///   [`NetworkError::is_retryable`] / [`NetworkError::is_user_error`].
#[async_trait::async_trait]
pub trait Network: Send + Sync + std::fmt::Debug {
    /// Creates or finds the network described by `spec`.
    async fn ensure(&self, spec: &NetworkSpec) -> Result<NetworkOutputs>;

    /// The network of `stack`, if it exists (changes nothing).
    async fn describe(&self, stack: &str) -> Result<Option<NetworkOutputs>>;

    /// Deletes the network of `stack`.
    async fn destroy(&self, stack: &str) -> Result<DestroyReport>;
}
