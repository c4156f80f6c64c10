//! [`AwsNetwork`]: the seed's VPC through aws-sdk-ec2.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, InternetGateway, IpPermission, IpRange, ResourceType,
    RouteTable, SecurityGroup, Subnet, Tag, TagSpecification, Vpc, VpcAttributeName, VpcState,
};

use crate::error::sdk::{NOT_FOUND_CODES, convert, has_code};
use crate::error::{NetworkError, Result};
use crate::spec::{
    DestroyReport, LOGICAL_ID_TAG, NetworkKind, NetworkOutputs, NetworkSpec, STACK_TAG, SubnetKind,
    SubnetSpec, validate_stack,
};

const EC2: &str = "EC2";
const VPC_ID: &str = "vpc";
const IGW_ID: &str = "igw";
const SG_ID: &str = "sg";
const ANY_IPV4: &str = "0.0.0.0/0";
/// Codes meaning "still used by something else, try again later".
const IN_USE_CODES: &[&str] = &["DependencyViolation", "InvalidGroup.InUse", "ResourceInUse"];

/// The seed's VPC on AWS (or an EC2-compatible endpoint such as moto).
///
/// Every resource carries the tags [`STACK_TAG`]`=<stack>` and
/// [`LOGICAL_ID_TAG`]`=<role>` (`vpc`, `igw`, `sg`, the subnet names,
/// `<subnet>RouteTable`), set atomically at creation (`TagSpecifications`),
/// so no untagged orphan is left when a deploy dies half way. `ensure` looks
/// resources up by these tags (subnets also by CIDR, the security group also
/// by name, adopting untagged leftovers), and `destroy` deletes everything
/// tagged with the stack plus whatever else is inside the stack's VPCs.
#[derive(Debug, Clone)]
pub struct AwsNetwork {
    ec2: Client,
    in_use_timeout: Duration,
    poll_interval: Duration,
}

impl AwsNetwork {
    /// A network client for the SDK configuration (region, credentials,
    /// endpoint URL).
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self::from_client(Client::new(sdk))
    }

    /// A network client around an existing EC2 client.
    pub fn from_client(ec2: Client) -> Self {
        AwsNetwork {
            ec2,
            in_use_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(10),
        }
    }

    /// How long `destroy` keeps retrying a deletion that fails because the
    /// resource is still in use (e.g. network interfaces of a just-deleted
    /// database that AWS releases after a few minutes). Default: 10 minutes.
    pub fn with_in_use_timeout(mut self, timeout: Duration) -> Self {
        self.in_use_timeout = timeout;
        self
    }

    /// Pause between retries and state polls. Default: 10 s.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The underlying EC2 client.
    pub fn client(&self) -> &Client {
        &self.ec2
    }

    async fn availability_zones(&self, count: usize) -> Result<Vec<String>> {
        let out = self
            .ec2
            .describe_availability_zones()
            .filters(filter("state", ["available"]))
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeAvailabilityZones", e))?;
        let mut zones: Vec<String> = out
            .availability_zones()
            .iter()
            .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
            .filter_map(|z| z.zone_name().map(str::to_owned))
            .collect();
        zones.sort();
        zones.dedup();
        if zones.len() < count {
            return Err(NetworkError::NotEnoughAzs {
                wanted: count,
                found: zones.len(),
            });
        }
        zones.truncate(count);
        Ok(zones)
    }

    async fn stack_vpcs(&self, stack: &str) -> Result<Vec<Vpc>> {
        let out = self
            .ec2
            .describe_vpcs()
            .filters(filter(&format!("tag:{STACK_TAG}"), [stack]))
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeVpcs", e))?;
        Ok(out.vpcs().to_vec())
    }

    /// The stack's VPC, if exactly one is identifiable.
    async fn find_vpc(&self, stack: &str) -> Result<Option<Vpc>> {
        let vpcs = self.stack_vpcs(stack).await?;
        if vpcs.len() <= 1 {
            return Ok(vpcs.into_iter().next());
        }
        let tagged: Vec<&Vpc> = vpcs
            .iter()
            .filter(|v| tag_value(v.tags(), LOGICAL_ID_TAG) == Some(VPC_ID))
            .collect();
        if let [one] = tagged.as_slice() {
            return Ok(Some((*one).clone()));
        }
        Err(NetworkError::Conflict {
            stack: stack.into(),
            what: format!(
                "{} VPCs are tagged {STACK_TAG}={stack}: {}",
                vpcs.len(),
                vpcs.iter()
                    .filter_map(Vpc::vpc_id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    async fn ensure_vpc(&self, spec: &NetworkSpec) -> Result<String> {
        if let Some(vpc) = self.find_vpc(&spec.stack).await? {
            let id = required(vpc.vpc_id(), "DescribeVpcs", "VpcId")?;
            if vpc.cidr_block() != Some(spec.vpc_cidr.as_str()) {
                return Err(NetworkError::Conflict {
                    stack: spec.stack.clone(),
                    what: format!(
                        "VPC {id} has CIDR {} but the spec wants {}",
                        vpc.cidr_block().unwrap_or("?"),
                        spec.vpc_cidr
                    ),
                });
            }
            if tag_value(vpc.tags(), LOGICAL_ID_TAG).is_none() {
                self.tag(&id, vec![tag(LOGICAL_ID_TAG, VPC_ID)]).await?;
            }
            tracing::debug!(vpc = id, "reusing VPC");
            return Ok(id);
        }
        let out = self
            .ec2
            .create_vpc()
            .cidr_block(&spec.vpc_cidr)
            .tag_specifications(tag_spec(
                ResourceType::Vpc,
                stack_tags(&spec.stack, VPC_ID, &spec.vpc_name),
            ))
            .send()
            .await
            .map_err(|e| convert(EC2, "CreateVpc", e))?;
        let vpc = out
            .vpc()
            .ok_or_else(|| NetworkError::unexpected(EC2, "CreateVpc", "no Vpc in the answer"))?;
        let id = required(vpc.vpc_id(), "CreateVpc", "VpcId")?;
        tracing::info!(vpc = id, stack = spec.stack, "created VPC");
        self.wait_vpc_available(&id).await?;
        Ok(id)
    }

    /// Waits (up to a minute) until a new VPC leaves the `pending` state.
    async fn wait_vpc_available(&self, vpc_id: &str) -> Result<()> {
        let t0 = Instant::now();
        loop {
            let out = self
                .ec2
                .describe_vpcs()
                .vpc_ids(vpc_id)
                .send()
                .await
                .map_err(|e| convert(EC2, "DescribeVpcs", e))?;
            let state = out.vpcs().first().and_then(|v| v.state().cloned());
            if state.is_none_or(|s| s == VpcState::Available)
                || t0.elapsed() > Duration::from_secs(60)
            {
                return Ok(());
            }
            tokio::time::sleep(self.poll_interval.min(Duration::from_secs(2))).await;
        }
    }

    async fn ensure_vpc_attributes(&self, spec: &NetworkSpec, vpc_id: &str) -> Result<()> {
        for (attr, wanted) in [
            (VpcAttributeName::EnableDnsSupport, spec.enable_dns_support),
            (
                VpcAttributeName::EnableDnsHostnames,
                spec.enable_dns_hostnames,
            ),
        ] {
            let out = self
                .ec2
                .describe_vpc_attribute()
                .vpc_id(vpc_id)
                .attribute(attr.clone())
                .send()
                .await
                .map_err(|e| convert(EC2, "DescribeVpcAttribute", e))?;
            let current = match attr {
                VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
                _ => out.enable_dns_hostnames(),
            }
            .and_then(AttributeBooleanValue::value);
            if current == Some(wanted) {
                continue;
            }
            let value = AttributeBooleanValue::builder().value(wanted).build();
            let req = self.ec2.modify_vpc_attribute().vpc_id(vpc_id);
            let req = match attr {
                VpcAttributeName::EnableDnsSupport => req.enable_dns_support(value),
                _ => req.enable_dns_hostnames(value),
            };
            req.send()
                .await
                .map_err(|e| convert(EC2, "ModifyVpcAttribute", e))?;
        }
        Ok(())
    }

    async fn stack_igws(&self, stack: &str) -> Result<Vec<InternetGateway>> {
        let out = self
            .ec2
            .describe_internet_gateways()
            .filters(filter(&format!("tag:{STACK_TAG}"), [stack]))
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeInternetGateways", e))?;
        Ok(out.internet_gateways().to_vec())
    }

    async fn ensure_igw(&self, spec: &NetworkSpec, vpc_id: &str) -> Result<String> {
        let igws = self.stack_igws(&spec.stack).await?;
        let attached_here =
            |g: &&InternetGateway| g.attachments().iter().any(|a| a.vpc_id() == Some(vpc_id));
        let chosen = match igws.iter().find(attached_here) {
            Some(g) => Some(g),
            None => {
                let free: Vec<&InternetGateway> =
                    igws.iter().filter(|g| g.attachments().is_empty()).collect();
                free.first().copied()
            }
        };
        let id = match chosen {
            Some(g) => required(
                g.internet_gateway_id(),
                "DescribeInternetGateways",
                "InternetGatewayId",
            )?,
            None => {
                let out = self
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(tag_spec(
                        ResourceType::InternetGateway,
                        stack_tags(&spec.stack, IGW_ID, &spec.vpc_name),
                    ))
                    .send()
                    .await
                    .map_err(|e| convert(EC2, "CreateInternetGateway", e))?;
                let id = required(
                    out.internet_gateway()
                        .and_then(InternetGateway::internet_gateway_id),
                    "CreateInternetGateway",
                    "InternetGatewayId",
                )?;
                tracing::info!(igw = id, "created internet gateway");
                id
            }
        };
        let attached = chosen.is_some_and(|g| attached_here(&g));
        if !attached {
            match self
                .ec2
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(vpc_id)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    let e = convert(EC2, "AttachInternetGateway", e);
                    // Attached meanwhile (a concurrent ensure): fine.
                    if !has_code(&e, &["Resource.AlreadyAssociated"]) {
                        return Err(e);
                    }
                }
            }
        }
        Ok(id)
    }

    async fn vpc_subnets(&self, vpc_id: &str) -> Result<Vec<Subnet>> {
        let out = self
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", [vpc_id]))
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeSubnets", e))?;
        Ok(out.subnets().to_vec())
    }

    async fn ensure_subnet(
        &self,
        spec: &NetworkSpec,
        s: &SubnetSpec,
        vpc_id: &str,
        az: &str,
        existing: &[Subnet],
    ) -> Result<String> {
        let by_tag = existing.iter().find(|x| {
            tag_value(x.tags(), STACK_TAG) == Some(spec.stack.as_str())
                && tag_value(x.tags(), LOGICAL_ID_TAG) == Some(s.name.as_str())
        });
        let by_cidr = existing
            .iter()
            .find(|x| x.cidr_block() == Some(s.cidr.as_str()));
        let found = by_tag.or(by_cidr).cloned();
        let subnet = match found {
            Some(x) => {
                self.check_subnet(spec, s, az, &x)?;
                let id = required(x.subnet_id(), "DescribeSubnets", "SubnetId")?;
                if tag_value(x.tags(), LOGICAL_ID_TAG) != Some(s.name.as_str()) {
                    self.tag(&id, subnet_tags(spec, s)).await?;
                }
                x
            }
            None => match self
                .ec2
                .create_subnet()
                .vpc_id(vpc_id)
                .cidr_block(&s.cidr)
                .availability_zone(az)
                .tag_specifications(tag_spec(ResourceType::Subnet, subnet_tags(spec, s)))
                .send()
                .await
            {
                Ok(out) => {
                    let x = out.subnet().cloned().ok_or_else(|| {
                        NetworkError::unexpected(EC2, "CreateSubnet", "no Subnet in the answer")
                    })?;
                    tracing::info!(subnet = x.subnet_id(), name = s.name, "created subnet");
                    x
                }
                Err(e) => {
                    let e = convert(EC2, "CreateSubnet", e);
                    if !has_code(&e, &["InvalidSubnet.Conflict"]) {
                        return Err(e);
                    }
                    // Made by a concurrent or interrupted run: adopt it.
                    let again = self.vpc_subnets(vpc_id).await?;
                    let x = again
                        .into_iter()
                        .find(|x| x.cidr_block() == Some(s.cidr.as_str()))
                        .ok_or(e)?;
                    self.check_subnet(spec, s, az, &x)?;
                    let id = required(x.subnet_id(), "DescribeSubnets", "SubnetId")?;
                    self.tag(&id, subnet_tags(spec, s)).await?;
                    x
                }
            },
        };
        let id = required(subnet.subnet_id(), "CreateSubnet", "SubnetId")?;
        let public = s.kind == SubnetKind::Public;
        if subnet.map_public_ip_on_launch().unwrap_or(false) != public {
            self.ec2
                .modify_subnet_attribute()
                .subnet_id(&id)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build())
                .send()
                .await
                .map_err(|e| convert(EC2, "ModifySubnetAttribute", e))?;
        }
        Ok(id)
    }

    fn check_subnet(&self, spec: &NetworkSpec, s: &SubnetSpec, az: &str, x: &Subnet) -> Result<()> {
        let id = x.subnet_id().unwrap_or("?");
        if let Some(other) = tag_value(x.tags(), STACK_TAG)
            && other != spec.stack
        {
            return Err(NetworkError::Conflict {
                stack: spec.stack.clone(),
                what: format!("subnet {id} ({}) belongs to stack {other:?}", s.cidr),
            });
        }
        if x.cidr_block() != Some(s.cidr.as_str()) || x.availability_zone() != Some(az) {
            return Err(NetworkError::Conflict {
                stack: spec.stack.clone(),
                what: format!(
                    "subnet {id} ({}) is {} in {} but the spec wants {} in {az}",
                    s.name,
                    x.cidr_block().unwrap_or("?"),
                    x.availability_zone().unwrap_or("?"),
                    s.cidr
                ),
            });
        }
        Ok(())
    }

    async fn vpc_route_tables(&self, vpc_id: &str) -> Result<Vec<RouteTable>> {
        let out = self
            .ec2
            .describe_route_tables()
            .filters(filter("vpc-id", [vpc_id]))
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeRouteTables", e))?;
        Ok(out.route_tables().to_vec())
    }

    async fn ensure_route_table(
        &self,
        spec: &NetworkSpec,
        s: &SubnetSpec,
        subnet_id: &str,
        vpc_id: &str,
        igw_id: &str,
        tables: &[RouteTable],
    ) -> Result<String> {
        let logical = format!("{}RouteTable", s.name);
        let found = tables.iter().find(|t| {
            tag_value(t.tags(), STACK_TAG) == Some(spec.stack.as_str())
                && tag_value(t.tags(), LOGICAL_ID_TAG) == Some(logical.as_str())
        });
        let table = match found {
            Some(t) => t.clone(),
            None => {
                let out = self
                    .ec2
                    .create_route_table()
                    .vpc_id(vpc_id)
                    .tag_specifications(tag_spec(
                        ResourceType::RouteTable,
                        stack_tags(&spec.stack, &logical, &spec.subnet_name_tag(s)),
                    ))
                    .send()
                    .await
                    .map_err(|e| convert(EC2, "CreateRouteTable", e))?;
                let t = out.route_table().cloned().ok_or_else(|| {
                    NetworkError::unexpected(EC2, "CreateRouteTable", "no RouteTable in the answer")
                })?;
                tracing::info!(
                    route_table = t.route_table_id(),
                    name = logical,
                    "created route table"
                );
                t
            }
        };
        let table_id = required(table.route_table_id(), "CreateRouteTable", "RouteTableId")?;

        // Association: this table <-> the subnet.
        let associated = table
            .associations()
            .iter()
            .any(|a| a.subnet_id() == Some(subnet_id));
        if !associated {
            let elsewhere = tables
                .iter()
                .flat_map(|t| t.associations())
                .find(|a| a.subnet_id() == Some(subnet_id) && a.main() != Some(true));
            match elsewhere.and_then(|a| a.route_table_association_id()) {
                Some(assoc) => {
                    self.ec2
                        .replace_route_table_association()
                        .association_id(assoc)
                        .route_table_id(&table_id)
                        .send()
                        .await
                        .map_err(|e| convert(EC2, "ReplaceRouteTableAssociation", e))?;
                }
                None => {
                    self.ec2
                        .associate_route_table()
                        .route_table_id(&table_id)
                        .subnet_id(subnet_id)
                        .send()
                        .await
                        .map_err(|e| convert(EC2, "AssociateRouteTable", e))?;
                }
            }
        }

        // Default route: to the IGW for public subnets, none for isolated ones.
        let default = table
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some(ANY_IPV4));
        match (s.kind, default) {
            (SubnetKind::Public, None) => {
                self.ec2
                    .create_route()
                    .route_table_id(&table_id)
                    .destination_cidr_block(ANY_IPV4)
                    .gateway_id(igw_id)
                    .send()
                    .await
                    .map_err(|e| convert(EC2, "CreateRoute", e))?;
            }
            (SubnetKind::Public, Some(r)) if r.gateway_id() != Some(igw_id) => {
                self.ec2
                    .replace_route()
                    .route_table_id(&table_id)
                    .destination_cidr_block(ANY_IPV4)
                    .gateway_id(igw_id)
                    .send()
                    .await
                    .map_err(|e| convert(EC2, "ReplaceRoute", e))?;
            }
            (SubnetKind::Isolated, Some(_)) => {
                self.ec2
                    .delete_route()
                    .route_table_id(&table_id)
                    .destination_cidr_block(ANY_IPV4)
                    .send()
                    .await
                    .map_err(|e| convert(EC2, "DeleteRoute", e))?;
            }
            _ => {}
        }
        Ok(table_id)
    }

    async fn vpc_security_groups(&self, vpc_ids: &[String]) -> Result<Vec<SecurityGroup>> {
        if vpc_ids.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", vpc_ids.iter().cloned()))
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeSecurityGroups", e))?;
        Ok(out.security_groups().to_vec())
    }

    async fn ensure_security_group(&self, spec: &NetworkSpec, vpc_id: &str) -> Result<String> {
        let name = security_group_name(spec);
        let groups = self.vpc_security_groups(&[vpc_id.to_owned()]).await?;
        let found = groups
            .iter()
            .find(|g| {
                tag_value(g.tags(), STACK_TAG) == Some(spec.stack.as_str())
                    && tag_value(g.tags(), LOGICAL_ID_TAG) == Some(SG_ID)
            })
            .or_else(|| {
                groups
                    .iter()
                    .find(|g| g.group_name() == Some(name.as_str()))
            })
            .cloned();
        let group = match found {
            Some(g) => {
                let id = required(g.group_id(), "DescribeSecurityGroups", "GroupId")?;
                if tag_value(g.tags(), LOGICAL_ID_TAG) != Some(SG_ID) {
                    self.tag(&id, stack_tags(&spec.stack, SG_ID, &name)).await?;
                }
                g
            }
            None => {
                let out = self
                    .ec2
                    .create_security_group()
                    .group_name(&name)
                    .description(&spec.security_group_description)
                    .vpc_id(vpc_id)
                    .tag_specifications(tag_spec(
                        ResourceType::SecurityGroup,
                        stack_tags(&spec.stack, SG_ID, &name),
                    ))
                    .send()
                    .await
                    .map_err(|e| convert(EC2, "CreateSecurityGroup", e))?;
                let id = required(out.group_id(), "CreateSecurityGroup", "GroupId")?;
                tracing::info!(security_group = id, "created security group");
                // Read it back for its default rules.
                let groups = self.vpc_security_groups(&[vpc_id.to_owned()]).await?;
                groups
                    .into_iter()
                    .find(|g| g.group_id() == Some(id.as_str()))
                    .unwrap_or_else(|| SecurityGroup::builder().group_id(&id).build())
            }
        };
        let group_id = required(group.group_id(), "DescribeSecurityGroups", "GroupId")?;
        self.reconcile_rules(spec, &group_id, &group).await?;
        Ok(group_id)
    }

    /// All egress; TCP ingress from anywhere on the database port range, and
    /// no other rule of ours (descriptions `from 0.0.0.0/0:...`).
    async fn reconcile_rules(
        &self,
        spec: &NetworkSpec,
        group_id: &str,
        group: &SecurityGroup,
    ) -> Result<()> {
        let all_egress = group.ip_permissions_egress().iter().any(|p| {
            p.ip_protocol() == Some("-1")
                && p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(ANY_IPV4))
        });
        if !all_egress {
            let perm = IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip(ANY_IPV4)
                        .description("Allow all outbound traffic by default")
                        .build(),
                )
                .build();
            if let Err(e) = self
                .ec2
                .authorize_security_group_egress()
                .group_id(group_id)
                .ip_permissions(perm)
                .send()
                .await
            {
                let e = convert(EC2, "AuthorizeSecurityGroupEgress", e);
                if !has_code(&e, &["InvalidPermission.Duplicate"]) {
                    return Err(e);
                }
            }
        }

        let wanted = spec
            .ingress_range()
            .map(|(a, b)| (i32::from(a), i32::from(b)));
        let mut present = false;
        let mut stale = Vec::new();
        for p in group.ip_permissions() {
            if p.ip_protocol() != Some("tcp") {
                continue;
            }
            for r in p.ip_ranges() {
                if r.cidr_ip() != Some(ANY_IPV4) {
                    continue;
                }
                let range = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
                if Some(range) == wanted {
                    present = true;
                } else if r
                    .description()
                    .is_some_and(|d| d.starts_with("from 0.0.0.0/0:"))
                {
                    stale.push(range);
                }
            }
        }
        for (from, to) in stale {
            self.ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .ip_permissions(tcp_any(from, to, None))
                .send()
                .await
                .map_err(|e| convert(EC2, "RevokeSecurityGroupIngress", e))?;
        }
        if let (Some((from, to)), false) = (wanted, present) {
            let description = if from == to {
                format!("from 0.0.0.0/0:{from}")
            } else {
                format!("from 0.0.0.0/0:{from}-{to}")
            };
            if let Err(e) = self
                .ec2
                .authorize_security_group_ingress()
                .group_id(group_id)
                .ip_permissions(tcp_any(from, to, Some(description)))
                .send()
                .await
            {
                let e = convert(EC2, "AuthorizeSecurityGroupIngress", e);
                if !has_code(&e, &["InvalidPermission.Duplicate"]) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn tag(&self, resource_id: &str, tags: Vec<Tag>) -> Result<()> {
        self.ec2
            .create_tags()
            .resources(resource_id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| convert(EC2, "CreateTags", e))?;
        Ok(())
    }

    /// Runs a deletion, treating "not found" as done and retrying "in use"
    /// until `in_use_timeout`. Returns whether something was deleted.
    async fn delete_with_retry<F, Fut>(
        &self,
        resource: &'static str,
        id: &str,
        mut op: F,
    ) -> Result<bool>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let t0 = Instant::now();
        loop {
            match op().await {
                Ok(()) => return Ok(true),
                Err(e) if has_code(&e, NOT_FOUND_CODES) => return Ok(false),
                Err(e) if has_code(&e, IN_USE_CODES) || e.is_retryable() => {
                    if t0.elapsed() >= self.in_use_timeout {
                        return Err(NetworkError::StillInUse {
                            resource,
                            id: id.to_owned(),
                            waited: t0.elapsed(),
                            detail: e.to_string(),
                        });
                    }
                    tracing::info!(resource, id, "still in use, retrying: {e}");
                    tokio::time::sleep(self.poll_interval).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn outputs_for(&self, stack: &str, vpc: &Vpc) -> Result<NetworkOutputs> {
        let vpc_id = required(vpc.vpc_id(), "DescribeVpcs", "VpcId")?;
        let mut subnets: Vec<Subnet> = self
            .vpc_subnets(&vpc_id)
            .await?
            .into_iter()
            .filter(|s| tag_value(s.tags(), STACK_TAG) == Some(stack))
            .collect();
        subnets.sort_by(|a, b| {
            tag_value(a.tags(), LOGICAL_ID_TAG).cmp(&tag_value(b.tags(), LOGICAL_ID_TAG))
        });
        let of_kind = |kind: SubnetKind| -> Vec<&Subnet> {
            subnets
                .iter()
                .filter(|s| tag_value(s.tags(), "aws-cdk:subnet-type") == Some(kind.as_str()))
                .collect()
        };
        let public = of_kind(SubnetKind::Public);
        let isolated = of_kind(SubnetKind::Isolated);
        let mut azs = Vec::new();
        for s in public.iter().chain(isolated.iter()) {
            if let Some(az) = s.availability_zone()
                && !azs.iter().any(|a| a == az)
            {
                azs.push(az.to_owned());
            }
        }
        let ids = |v: &[&Subnet]| {
            v.iter()
                .filter_map(|s| s.subnet_id().map(str::to_owned))
                .collect()
        };
        let igw = self
            .stack_igws(stack)
            .await?
            .into_iter()
            .find(|g| {
                g.attachments()
                    .iter()
                    .any(|a| a.vpc_id() == Some(vpc_id.as_str()))
            })
            .and_then(|g| g.internet_gateway_id().map(str::to_owned));
        let sg = self
            .vpc_security_groups(std::slice::from_ref(&vpc_id))
            .await?
            .into_iter()
            .find(|g| {
                tag_value(g.tags(), STACK_TAG) == Some(stack)
                    && tag_value(g.tags(), LOGICAL_ID_TAG) == Some(SG_ID)
            })
            .and_then(|g| g.group_id().map(str::to_owned));
        Ok(NetworkOutputs {
            stack: stack.to_owned(),
            kind: NetworkKind::Vpc,
            vpc_id: Some(vpc_id),
            public_subnet_ids: ids(&public),
            isolated_subnet_ids: ids(&isolated),
            security_group_id: sg,
            internet_gateway_id: igw,
            availability_zones: azs,
        })
    }
}

#[async_trait::async_trait]
impl crate::Network for AwsNetwork {
    async fn ensure(&self, spec: &NetworkSpec) -> Result<NetworkOutputs> {
        spec.validate()?;
        let azs = self.availability_zones(spec.az_count).await?;
        let vpc_id = self.ensure_vpc(spec).await?;
        self.ensure_vpc_attributes(spec, &vpc_id).await?;
        let igw_id = self.ensure_igw(spec, &vpc_id).await?;

        let existing = self.vpc_subnets(&vpc_id).await?;
        let mut subnet_ids = Vec::with_capacity(spec.subnets.len());
        for s in &spec.subnets {
            let az = azs.get(s.az_index).ok_or(NetworkError::NotEnoughAzs {
                wanted: s.az_index + 1,
                found: azs.len(),
            })?;
            subnet_ids.push(self.ensure_subnet(spec, s, &vpc_id, az, &existing).await?);
        }

        let tables = self.vpc_route_tables(&vpc_id).await?;
        for (s, subnet_id) in spec.subnets.iter().zip(&subnet_ids) {
            self.ensure_route_table(spec, s, subnet_id, &vpc_id, &igw_id, &tables)
                .await?;
        }

        let sg_id = self.ensure_security_group(spec, &vpc_id).await?;

        let pick = |kind| {
            spec.subnets
                .iter()
                .zip(&subnet_ids)
                .filter(|(s, _)| s.kind == kind)
                .map(|(_, id)| id.clone())
                .collect()
        };
        Ok(NetworkOutputs {
            stack: spec.stack.clone(),
            kind: NetworkKind::Vpc,
            vpc_id: Some(vpc_id),
            public_subnet_ids: pick(SubnetKind::Public),
            isolated_subnet_ids: pick(SubnetKind::Isolated),
            security_group_id: Some(sg_id),
            internet_gateway_id: Some(igw_id),
            availability_zones: azs,
        })
    }

    async fn describe(&self, stack: &str) -> Result<Option<NetworkOutputs>> {
        validate_stack(stack)?;
        match self.find_vpc(stack).await? {
            Some(vpc) => Ok(Some(self.outputs_for(stack, &vpc).await?)),
            None => Ok(None),
        }
    }

    async fn destroy(&self, stack: &str) -> Result<DestroyReport> {
        validate_stack(stack)?;
        let mut report = DestroyReport::default();
        let stack_filter = || filter(&format!("tag:{STACK_TAG}"), [stack]);
        let vpc_ids: Vec<String> = self
            .stack_vpcs(stack)
            .await?
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_owned))
            .collect();

        // 1. Security groups: the stack's, and any non-default one in its VPCs.
        let mut groups: BTreeSet<String> = BTreeSet::new();
        let tagged = self
            .ec2
            .describe_security_groups()
            .filters(stack_filter())
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeSecurityGroups", e))?;
        for g in tagged
            .security_groups()
            .iter()
            .chain(self.vpc_security_groups(&vpc_ids).await?.iter())
        {
            if g.group_name() != Some("default")
                && let Some(id) = g.group_id()
            {
                groups.insert(id.to_owned());
            }
        }
        for id in &groups {
            let deleted = self
                .delete_with_retry("security group", id, || async {
                    self.ec2
                        .delete_security_group()
                        .group_id(id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| convert(EC2, "DeleteSecurityGroup", e))
                })
                .await?;
            if deleted {
                report.push("security-group", id);
            }
        }

        // 2. Route tables (not the VPCs' main ones), after their associations.
        let mut tables: Vec<RouteTable> = Vec::new();
        let tagged = self
            .ec2
            .describe_route_tables()
            .filters(stack_filter())
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeRouteTables", e))?;
        tables.extend(tagged.route_tables().iter().cloned());
        for vpc in &vpc_ids {
            tables.extend(self.vpc_route_tables(vpc).await?);
        }
        let mut seen = BTreeSet::new();
        for t in tables {
            let Some(id) = t.route_table_id().map(str::to_owned) else {
                continue;
            };
            if !seen.insert(id.clone()) || t.associations().iter().any(|a| a.main() == Some(true)) {
                continue;
            }
            for a in t.associations() {
                if let Some(assoc) = a.route_table_association_id() {
                    self.delete_with_retry("route table association", assoc, || async {
                        self.ec2
                            .disassociate_route_table()
                            .association_id(assoc)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| convert(EC2, "DisassociateRouteTable", e))
                    })
                    .await?;
                }
            }
            let deleted = self
                .delete_with_retry("route table", &id, || async {
                    self.ec2
                        .delete_route_table()
                        .route_table_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| convert(EC2, "DeleteRouteTable", e))
                })
                .await?;
            if deleted {
                report.push("route-table", &id);
            }
        }

        // 3. Subnets.
        let mut subnets: BTreeSet<String> = BTreeSet::new();
        let tagged = self
            .ec2
            .describe_subnets()
            .filters(stack_filter())
            .send()
            .await
            .map_err(|e| convert(EC2, "DescribeSubnets", e))?;
        subnets.extend(
            tagged
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_id().map(str::to_owned)),
        );
        for vpc in &vpc_ids {
            subnets.extend(
                self.vpc_subnets(vpc)
                    .await?
                    .iter()
                    .filter_map(|s| s.subnet_id().map(str::to_owned)),
            );
        }
        for id in &subnets {
            let deleted = self
                .delete_with_retry("subnet", id, || async {
                    self.ec2
                        .delete_subnet()
                        .subnet_id(id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| convert(EC2, "DeleteSubnet", e))
                })
                .await?;
            if deleted {
                report.push("subnet", id);
            }
        }

        // 4. Internet gateways: the stack's and any attached to its VPCs.
        let mut igws: Vec<InternetGateway> = self.stack_igws(stack).await?;
        if !vpc_ids.is_empty() {
            let attached = self
                .ec2
                .describe_internet_gateways()
                .filters(filter("attachment.vpc-id", vpc_ids.iter().cloned()))
                .send()
                .await
                .map_err(|e| convert(EC2, "DescribeInternetGateways", e))?;
            igws.extend(attached.internet_gateways().iter().cloned());
        }
        let mut seen = BTreeSet::new();
        for g in igws {
            let Some(id) = g.internet_gateway_id().map(str::to_owned) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                continue;
            }
            for a in g.attachments() {
                if let Some(vpc) = a.vpc_id() {
                    self.delete_with_retry("internet gateway attachment", &id, || async {
                        self.ec2
                            .detach_internet_gateway()
                            .internet_gateway_id(&id)
                            .vpc_id(vpc)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| convert(EC2, "DetachInternetGateway", e))
                    })
                    .await?;
                }
            }
            let deleted = self
                .delete_with_retry("internet gateway", &id, || async {
                    self.ec2
                        .delete_internet_gateway()
                        .internet_gateway_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| convert(EC2, "DeleteInternetGateway", e))
                })
                .await?;
            if deleted {
                report.push("internet-gateway", &id);
            }
        }

        // 5. The VPCs themselves.
        for id in &vpc_ids {
            let deleted = self
                .delete_with_retry("VPC", id, || async {
                    self.ec2
                        .delete_vpc()
                        .vpc_id(id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| convert(EC2, "DeleteVpc", e))
                })
                .await?;
            if deleted {
                report.push("vpc", id);
            }
        }
        if !report.deleted.is_empty() {
            tracing::info!(stack, count = report.deleted.len(), "network destroyed");
        }
        Ok(report)
    }
}

fn filter<I, S>(name: &str, values: I) -> Filter
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn tag_spec(resource: ResourceType, tags: Vec<Tag>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(tags))
        .build()
}

fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(Tag::value)
}

fn stack_tags(stack: &str, logical_id: &str, name: &str) -> Vec<Tag> {
    vec![
        tag("Name", name),
        tag(STACK_TAG, stack),
        tag(LOGICAL_ID_TAG, logical_id),
    ]
}

fn subnet_tags(spec: &NetworkSpec, s: &SubnetSpec) -> Vec<Tag> {
    let mut tags = stack_tags(&spec.stack, &s.name, &spec.subnet_name_tag(s));
    tags.push(tag("aws-cdk:subnet-name", s.kind.as_str()));
    tags.push(tag("aws-cdk:subnet-type", s.kind.as_str()));
    tags
}

/// `<stack>-<construct_id>-sg`: unique per VPC, as security group names must be.
fn security_group_name(spec: &NetworkSpec) -> String {
    format!("{}-{}-sg", spec.stack, spec.construct_id)
}

fn tcp_any(from: i32, to: i32, description: Option<String>) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .ip_ranges(
            IpRange::builder()
                .cidr_ip(ANY_IPV4)
                .set_description(description)
                .build(),
        )
        .build()
}

fn required(value: Option<&str>, operation: &'static str, field: &str) -> Result<String> {
    value.map(str::to_owned).ok_or_else(|| {
        NetworkError::unexpected(EC2, operation, format!("no {field} in the answer"))
    })
}
