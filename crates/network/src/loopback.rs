//! The embedded twin: the loopback interface.

use crate::error::Result;
use crate::spec::{DestroyReport, NetworkOutputs, NetworkSpec, validate_stack};

/// The embedded network: every component of the deployment runs on this
/// machine and listens on 127.0.0.1 only. Nothing is created, so
/// [`ensure`](crate::Network::ensure) only validates the spec and returns
/// [`NetworkOutputs::loopback`], [`describe`](crate::Network::describe)
/// always answers the loopback outputs and
/// [`destroy`](crate::Network::destroy) deletes nothing.
#[derive(Debug, Clone, Default)]
pub struct LoopbackNetwork {}

impl LoopbackNetwork {
    /// The loopback network.
    pub fn new() -> Self {
        LoopbackNetwork {}
    }
}

#[async_trait::async_trait]
impl crate::Network for LoopbackNetwork {
    async fn ensure(&self, spec: &NetworkSpec) -> Result<NetworkOutputs> {
        spec.validate()?;
        Ok(NetworkOutputs::loopback(spec.stack.clone()))
    }

    async fn describe(&self, stack: &str) -> Result<Option<NetworkOutputs>> {
        validate_stack(stack)?;
        Ok(Some(NetworkOutputs::loopback(stack)))
    }

    async fn destroy(&self, stack: &str) -> Result<DestroyReport> {
        validate_stack(stack)?;
        Ok(DestroyReport::default())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Network, NetworkKind};

    #[tokio::test]
    async fn loopback_is_trivial_and_idempotent() {
        let net: Box<dyn Network> = Box::new(LoopbackNetwork::new());
        let spec = NetworkSpec::new("stack-1");
        let a = net.ensure(&spec).await.unwrap();
        let b = net.ensure(&spec).await.unwrap();
        assert_eq!(a, b);
        assert!(matches!(a.kind, NetworkKind::Loopback { address } if address.is_loopback()));
        assert!(a.public_subnet_ids.is_empty() && a.vpc_id.is_none());
        assert_eq!(net.describe("stack-1").await.unwrap(), Some(a));
        assert!(net.destroy("stack-1").await.unwrap().deleted.is_empty());
        assert!(
            net.ensure(&NetworkSpec::new("bad stack"))
                .await
                .unwrap_err()
                .is_user_error()
        );
    }
}
