//! What a network should look like ([`NetworkSpec`]) and what was made
//! ([`NetworkOutputs`]).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::error::{NetworkError, Result};

/// Tag key put on every resource this crate creates; its value is the stack name.
pub const STACK_TAG: &str = "dmsrs:stack";
/// Tag key naming a resource's role inside the stack (like a CloudFormation
/// logical id, e.g. `vpc`, `PublicSubnet1`, `PublicSubnet1RouteTable`).
pub const LOGICAL_ID_TAG: &str = "dmsrs:logical-id";

/// Public (routed to the internet gateway) or isolated (no route out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubnetKind {
    /// `aws-cdk:subnet-type=Public`, `MapPublicIpOnLaunch`, `0.0.0.0/0 -> IGW`.
    Public,
    /// `aws-cdk:subnet-type=Isolated`, no default route.
    Isolated,
}

impl SubnetKind {
    /// `Public` / `Isolated`, as in CDK's subnet tags and names.
    pub fn as_str(self) -> &'static str {
        match self {
            SubnetKind::Public => "Public",
            SubnetKind::Isolated => "Isolated",
        }
    }
}

/// One subnet of the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetSpec {
    /// Logical name, unique in the stack: `PublicSubnet1`, `IsolatedSubnet2`, ...
    pub name: String,
    /// Public or isolated.
    pub kind: SubnetKind,
    /// IPv4 CIDR inside the VPC CIDR, e.g. `10.0.0.0/18`.
    pub cidr: String,
    /// Index into the region's available AZs (sorted by name).
    pub az_index: usize,
}

/// The network of a stack. [`NetworkSpec::new`] gives the seed's layout:
///
/// * VPC `10.0.0.0/16` named `dmsSample`, DNS support and DNS hostnames on;
/// * 2 AZs, each with a public `/18` (`MapPublicIpOnLaunch`) and an isolated
///   `/18`: `10.0.0.0/18`, `10.0.64.0/18` public, `10.0.128.0/18`,
///   `10.0.192.0/18` isolated;
/// * an internet gateway, one route table per subnet, `0.0.0.0/0 -> IGW` in
///   the public ones;
/// * a security group "Security group for DMS sample" allowing all egress and
///   TCP ingress from `0.0.0.0/0` on `min(db_ports)..=max(db_ports)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Stack name: the value of the [`STACK_TAG`] tag and the prefix of the
    /// `Name` tags (`<stack>/dms-sample/PublicSubnet1`).
    pub stack: String,
    /// `Name` tag of the VPC and the internet gateway (seed: `dmsSample`).
    pub vpc_name: String,
    /// Construct id used in subnet and route table `Name` tags (seed: `dms-sample`).
    pub construct_id: String,
    /// VPC IPv4 CIDR (seed: `10.0.0.0/16`).
    pub vpc_cidr: String,
    /// `EnableDnsSupport` (seed: true).
    pub enable_dns_support: bool,
    /// `EnableDnsHostnames` (seed: true).
    pub enable_dns_hostnames: bool,
    /// Number of AZs used (seed: 2).
    pub az_count: usize,
    /// The subnets.
    pub subnets: Vec<SubnetSpec>,
    /// Security group description (seed: `Security group for DMS sample`).
    pub security_group_description: String,
    /// Database ports to open (TCP, from anywhere): one rule covering
    /// `min..=max`. Empty: no ingress rule.
    pub db_ports: Vec<u16>,
}

impl NetworkSpec {
    /// The seed's network for `stack`, opening the MariaDB port 3306.
    pub fn new(stack: impl Into<String>) -> Self {
        let subnet = |name: &str, kind, cidr: &str, az_index| SubnetSpec {
            name: name.into(),
            kind,
            cidr: cidr.into(),
            az_index,
        };
        NetworkSpec {
            stack: stack.into(),
            vpc_name: "dmsSample".into(),
            construct_id: "dms-sample".into(),
            vpc_cidr: "10.0.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            az_count: 2,
            subnets: vec![
                subnet("PublicSubnet1", SubnetKind::Public, "10.0.0.0/18", 0),
                subnet("PublicSubnet2", SubnetKind::Public, "10.0.64.0/18", 1),
                subnet("IsolatedSubnet1", SubnetKind::Isolated, "10.0.128.0/18", 0),
                subnet("IsolatedSubnet2", SubnetKind::Isolated, "10.0.192.0/18", 1),
            ],
            security_group_description: "Security group for DMS sample".into(),
            db_ports: vec![3306],
        }
    }

    /// Replaces the database ports to open.
    pub fn with_db_ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        self.db_ports = ports.into_iter().collect();
        self
    }

    /// The ingress port range `(min, max)`, if any port is given. (The seed's
    /// CDK code computes `min`/`max` over unresolved tokens and can end up with
    /// FromPort > ToPort; this uses the real ports.)
    pub fn ingress_range(&self) -> Option<(u16, u16)> {
        let min = self.db_ports.iter().min()?;
        let max = self.db_ports.iter().max()?;
        Some((*min, *max))
    }

    /// `<stack>/<construct_id>/<name>`, the CDK-style `Name` tag of a subnet.
    pub fn subnet_name_tag(&self, subnet: &SubnetSpec) -> String {
        format!("{}/{}/{}", self.stack, self.construct_id, subnet.name)
    }

    /// Checks the spec; the error names the field and what is expected.
    pub fn validate(&self) -> Result<()> {
        validate_stack(&self.stack)?;
        if self.vpc_name.trim().is_empty() {
            return Err(NetworkError::invalid("vpc_name", "must not be empty"));
        }
        let vpc = parse_cidr(&self.vpc_cidr).ok_or_else(|| {
            NetworkError::invalid(
                "vpc_cidr",
                format!("{:?} is not an IPv4 CIDR like 10.0.0.0/16", self.vpc_cidr),
            )
        })?;
        if !(16..=28).contains(&vpc.1) {
            return Err(NetworkError::invalid(
                "vpc_cidr",
                format!("prefix /{} is outside the /16../28 AWS allows", vpc.1),
            ));
        }
        if self.az_count == 0 {
            return Err(NetworkError::invalid("az_count", "must be at least 1"));
        }
        let mut names = std::collections::HashSet::new();
        let mut nets: Vec<(u32, u8, &str)> = Vec::new();
        for s in &self.subnets {
            if s.name.is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(NetworkError::invalid(
                    "subnets.name",
                    format!("{:?}: use letters, digits, '-' or '_'", s.name),
                ));
            }
            if !names.insert(s.name.as_str()) {
                return Err(NetworkError::invalid(
                    "subnets.name",
                    format!("{:?} appears twice", s.name),
                ));
            }
            if s.az_index >= self.az_count {
                return Err(NetworkError::invalid(
                    "subnets.az_index",
                    format!(
                        "{} of {} is not below az_count {}",
                        s.az_index, s.name, self.az_count
                    ),
                ));
            }
            let net = parse_cidr(&s.cidr).ok_or_else(|| {
                NetworkError::invalid(
                    "subnets.cidr",
                    format!("{:?} of {} is not an IPv4 CIDR", s.cidr, s.name),
                )
            })?;
            if net.1 < vpc.1 || net.1 > 28 || !contains(vpc, net.0) {
                return Err(NetworkError::invalid(
                    "subnets.cidr",
                    format!(
                        "{} of {} is not a /{}../28 inside {}",
                        s.cidr, s.name, vpc.1, self.vpc_cidr
                    ),
                ));
            }
            if let Some(other) = nets
                .iter()
                .find(|(a, p, _)| contains((*a, *p), net.0) || contains(net, *a))
            {
                return Err(NetworkError::invalid(
                    "subnets.cidr",
                    format!("{} of {} overlaps subnet {}", s.cidr, s.name, other.2),
                ));
            }
            nets.push((net.0, net.1, &s.name));
        }
        if self.db_ports.contains(&0) {
            return Err(NetworkError::invalid(
                "db_ports",
                "port 0 is not a valid port",
            ));
        }
        Ok(())
    }
}

/// Checks a stack name: 1..=128 characters, a letter first, then letters,
/// digits and `-` (CloudFormation's rule, also safe in tags, names and paths).
pub fn validate_stack(stack: &str) -> Result<()> {
    let ok = !stack.is_empty()
        && stack.len() <= 128
        && stack.starts_with(|c: char| c.is_ascii_alphabetic())
        && stack.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(NetworkError::invalid(
            "stack",
            format!("{stack:?}: use 1-128 letters, digits and '-', starting with a letter"),
        ))
    }
}

/// `a.b.c.d/p` -> (address as u32 masked, prefix).
fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (addr, prefix) = s.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    if prefix > 32 {
        return None;
    }
    let bits = u32::from(addr);
    if bits & !mask(prefix) != 0 {
        return None; // host bits set
    }
    Some((bits, prefix))
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn contains(net: (u32, u8), addr: u32) -> bool {
    addr & mask(net.1) == net.0
}

/// How a deployment's components reach each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetworkKind {
    /// An AWS VPC.
    Vpc,
    /// Everything runs on this machine and listens on `address` only.
    Loopback {
        /// The loopback address (127.0.0.1).
        address: IpAddr,
    },
}

/// What [`Network::ensure`](crate::Network::ensure) made (or found).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkOutputs {
    /// The stack.
    pub stack: String,
    /// VPC or loopback.
    pub kind: NetworkKind,
    /// VPC id (`None` for loopback).
    pub vpc_id: Option<String>,
    /// Public subnet ids, in spec order (AZ order for the seed's layout).
    pub public_subnet_ids: Vec<String>,
    /// Isolated subnet ids, in spec order.
    pub isolated_subnet_ids: Vec<String>,
    /// The security group id (`None` for loopback).
    pub security_group_id: Option<String>,
    /// The internet gateway id (`None` for loopback).
    pub internet_gateway_id: Option<String>,
    /// The AZs used, in index order.
    pub availability_zones: Vec<String>,
}

impl NetworkOutputs {
    /// The loopback outputs of `stack`: address 127.0.0.1, no VPC, no subnets.
    pub fn loopback(stack: impl Into<String>) -> Self {
        NetworkOutputs {
            stack: stack.into(),
            kind: NetworkKind::Loopback {
                address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            },
            vpc_id: None,
            public_subnet_ids: Vec::new(),
            isolated_subnet_ids: Vec::new(),
            security_group_id: None,
            internet_gateway_id: None,
            availability_zones: Vec::new(),
        }
    }

    /// True for [`NetworkKind::Loopback`].
    pub fn is_loopback(&self) -> bool {
        matches!(self.kind, NetworkKind::Loopback { .. })
    }
}

/// One resource deleted by [`Network::destroy`](crate::Network::destroy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedResource {
    /// Resource kind, e.g. `vpc`, `subnet`, `route-table`, `internet-gateway`,
    /// `security-group`.
    pub kind: String,
    /// Its id.
    pub id: String,
}

/// What [`Network::destroy`](crate::Network::destroy) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyReport {
    /// Deleted resources, in deletion order. Empty when nothing was left.
    pub deleted: Vec<DeletedResource>,
}

impl DestroyReport {
    #[cfg(feature = "aws")]
    pub(crate) fn push(&mut self, kind: &str, id: impl Into<String>) {
        self.deleted.push(DeletedResource {
            kind: kind.into(),
            id: id.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_spec_is_valid() {
        let spec = NetworkSpec::new("DMsSampleSetupStack");
        assert!(spec.validate().is_ok());
        assert_eq!(spec.ingress_range(), Some((3306, 3306)));
        assert_eq!(
            spec.subnet_name_tag(&spec.subnets[0]),
            "DMsSampleSetupStack/dms-sample/PublicSubnet1"
        );
    }

    #[test]
    fn ingress_range_is_min_max() {
        let spec = NetworkSpec::new("s").with_db_ports([4510, 3306]);
        assert_eq!(spec.ingress_range(), Some((3306, 4510)));
        assert_eq!(
            NetworkSpec::new("s").with_db_ports([]).ingress_range(),
            None
        );
    }

    #[test]
    fn invalid_specs_are_rejected() {
        let bad = |f: fn(&mut NetworkSpec)| {
            let mut s = NetworkSpec::new("s");
            f(&mut s);
            s.validate().err()
        };
        assert!(bad(|s| s.stack = "1abc".into()).is_some());
        assert!(bad(|s| s.stack = "a_b".into()).is_some());
        assert!(bad(|s| s.vpc_cidr = "10.0.0.1/16".into()).is_some());
        assert!(bad(|s| s.vpc_cidr = "10.0.0.0/8".into()).is_some());
        assert!(bad(|s| s.subnets[1].cidr = "10.0.0.0/18".into()).is_some());
        assert!(bad(|s| s.subnets[1].cidr = "10.1.0.0/18".into()).is_some());
        assert!(bad(|s| s.subnets[1].name = "PublicSubnet1".into()).is_some());
        assert!(bad(|s| s.subnets[1].az_index = 2).is_some());
        assert!(bad(|s| s.db_ports = vec![0]).is_some());
        let e = bad(|s| s.stack = String::new()).map(|e| e.is_user_error());
        assert_eq!(e, Some(true));
    }
}
