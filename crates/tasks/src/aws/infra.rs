//! Replication subnet groups and replication instances (deploy/teardown helpers).

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_databasemigration::types as sdk;

use super::convert::{tags_to_sdk, to_time};
use super::error::{incomplete, map_sdk_error};
use super::{AwsDms, PAGE_SIZE, filter};
use crate::{DmsError, Result, seed};

/// A replication subnet group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetGroup {
    /// `ReplicationSubnetGroupIdentifier` (DMS stores it lower-cased).
    pub identifier: String,
    /// `ReplicationSubnetGroupDescription`.
    pub description: String,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `SubnetGroupStatus` (`Complete`).
    pub status: Option<String>,
    /// Subnet ids.
    pub subnet_ids: Vec<String>,
}

impl SubnetGroup {
    fn from_sdk(g: &sdk::ReplicationSubnetGroup) -> Self {
        SubnetGroup {
            identifier: g
                .replication_subnet_group_identifier()
                .unwrap_or_default()
                .to_owned(),
            description: g
                .replication_subnet_group_description()
                .unwrap_or_default()
                .to_owned(),
            vpc_id: g.vpc_id().map(str::to_owned),
            status: g.subnet_group_status().map(str::to_owned),
            subnet_ids: g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier().map(str::to_owned))
                .collect(),
        }
    }
}

/// `CreateReplicationInstance` input.
///
/// CloudFormation's `AllowMajorVersionUpgrade` (false in the seed) is not a
/// `CreateReplicationInstance` parameter: a new instance never upgrades its major version on
/// its own, so there is nothing to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationInstanceSpec {
    /// `ReplicationInstanceIdentifier`.
    pub identifier: String,
    /// `ReplicationInstanceClass`.
    pub class: String,
    /// `AllocatedStorage` in GB.
    pub allocated_storage_gb: i32,
    /// `PubliclyAccessible`.
    pub publicly_accessible: bool,
    /// `MultiAZ`.
    pub multi_az: bool,
    /// `AutoMinorVersionUpgrade`.
    pub auto_minor_version_upgrade: bool,
    /// `VpcSecurityGroupIds`.
    pub vpc_security_group_ids: Vec<String>,
    /// `AvailabilityZone` (the first public subnet's in the seed).
    pub availability_zone: Option<String>,
    /// `ReplicationSubnetGroupIdentifier`.
    pub subnet_group_identifier: Option<String>,
    /// `EngineVersion` (the seed sets none: DMS's default).
    pub engine_version: Option<String>,
}

impl ReplicationInstanceSpec {
    /// The seed's instance: `dms.t2.micro`, 5 GB, publicly accessible, single-AZ, no automatic
    /// minor version upgrade, no engine version.
    pub fn seed(
        identifier: impl Into<String>,
        subnet_group_identifier: impl Into<String>,
        vpc_security_group_ids: Vec<String>,
        availability_zone: Option<String>,
    ) -> Self {
        ReplicationInstanceSpec {
            identifier: identifier.into(),
            class: seed::REPLICATION_INSTANCE_CLASS.to_owned(),
            allocated_storage_gb: seed::REPLICATION_INSTANCE_STORAGE_GB,
            publicly_accessible: true,
            multi_az: false,
            auto_minor_version_upgrade: false,
            vpc_security_group_ids,
            availability_zone,
            subnet_group_identifier: Some(subnet_group_identifier.into()),
            engine_version: None,
        }
    }
}

/// A replication instance as DescribeReplicationInstances reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationInstance {
    /// `ReplicationInstanceArn`.
    pub arn: String,
    /// `ReplicationInstanceIdentifier` (DMS stores it lower-cased).
    pub identifier: String,
    /// `ReplicationInstanceClass`.
    pub class: String,
    /// `ReplicationInstanceStatus`: `creating`, `available`, `modifying`, `deleting`, `failed`, ...
    pub status: String,
    /// `AllocatedStorage` in GB.
    pub allocated_storage_gb: i32,
    /// `PubliclyAccessible`.
    pub publicly_accessible: bool,
    /// `MultiAZ`.
    pub multi_az: bool,
    /// `AutoMinorVersionUpgrade`.
    pub auto_minor_version_upgrade: bool,
    /// `AvailabilityZone`.
    pub availability_zone: Option<String>,
    /// `EngineVersion`.
    pub engine_version: Option<String>,
    /// Security group ids.
    pub vpc_security_group_ids: Vec<String>,
    /// Subnet group identifier.
    pub subnet_group_identifier: Option<String>,
    /// First of `ReplicationInstancePublicIpAddresses`.
    pub public_ip: Option<String>,
    /// First of `ReplicationInstancePrivateIpAddresses`.
    pub private_ip: Option<String>,
    /// `InstanceCreateTime`.
    pub create_time: Option<SystemTime>,
}

/// Instance statuses that will not turn `available` by waiting.
const INSTANCE_DEAD_ENDS: &[&str] = &[
    "failed",
    "incompatible-network",
    "inaccessible-encryption-credentials",
    "deleting",
    "deleted",
];

impl ReplicationInstance {
    fn from_sdk(op: &str, r: &sdk::ReplicationInstance) -> Result<Self> {
        Ok(ReplicationInstance {
            arn: r
                .replication_instance_arn()
                .ok_or_else(|| incomplete(op, "ReplicationInstanceArn"))?
                .to_owned(),
            identifier: r
                .replication_instance_identifier()
                .unwrap_or_default()
                .to_owned(),
            class: r
                .replication_instance_class()
                .unwrap_or_default()
                .to_owned(),
            status: r
                .replication_instance_status()
                .unwrap_or_default()
                .to_owned(),
            allocated_storage_gb: r.allocated_storage(),
            publicly_accessible: r.publicly_accessible(),
            multi_az: r.multi_az(),
            auto_minor_version_upgrade: r.auto_minor_version_upgrade(),
            availability_zone: r.availability_zone().map(str::to_owned),
            engine_version: r.engine_version().map(str::to_owned),
            vpc_security_group_ids: r
                .vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
                .collect(),
            subnet_group_identifier: r
                .replication_subnet_group()
                .and_then(|g| g.replication_subnet_group_identifier())
                .map(str::to_owned),
            public_ip: r
                .replication_instance_public_ip_addresses()
                .first()
                .cloned(),
            private_ip: r
                .replication_instance_private_ip_addresses()
                .first()
                .cloned(),
            create_time: to_time(r.instance_create_time()),
        })
    }
}

impl AwsDms {
    /// The subnet group with this identifier, if any (identifiers are case-insensitive).
    pub async fn find_subnet_group(&self, identifier: &str) -> Result<Option<SubnetGroup>> {
        const OP: &str = "DescribeReplicationSubnetGroups";
        let wanted = identifier.to_ascii_lowercase();
        let out = self
            .client
            .describe_replication_subnet_groups()
            .filters(filter(
                "replication-subnet-group-id",
                [identifier, wanted.as_str()],
            )?)
            .max_records(PAGE_SIZE)
            .send()
            .await;
        let out = match out.map_err(|e| map_sdk_error(OP, identifier, e)) {
            Ok(o) => o,
            Err(DmsError::ResourceNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(out
            .replication_subnet_groups()
            .iter()
            .map(SubnetGroup::from_sdk)
            .find(|g| g.identifier.eq_ignore_ascii_case(identifier)))
    }

    /// Creates the replication subnet group unless it exists (an existing group is returned
    /// as is, whatever its subnets). The seed's description is
    /// [`seed::SUBNET_GROUP_DESCRIPTION`].
    pub async fn ensure_subnet_group(
        &self,
        identifier: &str,
        description: &str,
        subnet_ids: &[String],
    ) -> Result<SubnetGroup> {
        const OP: &str = "CreateReplicationSubnetGroup";
        if let Some(g) = self.find_subnet_group(identifier).await? {
            tracing::debug!(subnet_group = %g.identifier, "replication subnet group exists, reused");
            return Ok(g);
        }
        let out = self
            .client
            .create_replication_subnet_group()
            .replication_subnet_group_identifier(identifier)
            .replication_subnet_group_description(description)
            .set_subnet_ids(Some(subnet_ids.to_vec()))
            .set_tags(tags_to_sdk(&self.default_tags))
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, identifier, e))?;
        let g = out
            .replication_subnet_group()
            .ok_or_else(|| incomplete(OP, "ReplicationSubnetGroup"))?;
        Ok(SubnetGroup::from_sdk(g))
    }

    /// Deletes the subnet group; `Ok(false)` when it did not exist. Fails with
    /// `InvalidResourceState` while a replication instance still uses it.
    pub async fn delete_subnet_group(&self, identifier: &str) -> Result<bool> {
        let r = self
            .client
            .delete_replication_subnet_group()
            .replication_subnet_group_identifier(identifier)
            .send()
            .await
            .map_err(|e| map_sdk_error("DeleteReplicationSubnetGroup", identifier, e));
        match r {
            Ok(_) => Ok(true),
            Err(DmsError::ResourceNotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn describe_instances(
        &self,
        name: &str,
        value: &str,
    ) -> Result<Vec<ReplicationInstance>> {
        const OP: &str = "DescribeReplicationInstances";
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_replication_instances()
                .filters(filter(name, [value])?)
                .max_records(PAGE_SIZE)
                .set_marker(marker.take())
                .send()
                .await;
            let page = match page.map_err(|e| map_sdk_error(OP, value, e)) {
                Ok(p) => p,
                Err(DmsError::ResourceNotFound(_)) => break,
                Err(e) => return Err(e),
            };
            for r in page.replication_instances() {
                out.push(ReplicationInstance::from_sdk(OP, r)?);
            }
            match page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The replication instance with this identifier, if any (case-insensitive).
    pub async fn find_replication_instance(
        &self,
        identifier: &str,
    ) -> Result<Option<ReplicationInstance>> {
        let found = self
            .describe_instances("replication-instance-id", identifier)
            .await?;
        let found = if found.is_empty() && identifier != identifier.to_ascii_lowercase() {
            self.describe_instances("replication-instance-id", &identifier.to_ascii_lowercase())
                .await?
        } else {
            found
        };
        Ok(found
            .into_iter()
            .find(|r| r.identifier.eq_ignore_ascii_case(identifier)))
    }

    /// The replication instance with this ARN (`ResourceNotFound` when absent).
    pub async fn describe_replication_instance(&self, arn: &str) -> Result<ReplicationInstance> {
        self.describe_instances("replication-instance-arn", arn)
            .await?
            .into_iter()
            .find(|r| r.arn == arn)
            .ok_or_else(|| {
                DmsError::ResourceNotFound(format!("replication instance {arn} not found"))
            })
    }

    /// Creates the replication instance unless one with the same identifier exists (then it
    /// is returned as is; one being deleted is `InvalidResourceState`). Does not wait: see
    /// [`wait_replication_instance_available`](Self::wait_replication_instance_available).
    pub async fn ensure_replication_instance(
        &self,
        spec: &ReplicationInstanceSpec,
    ) -> Result<ReplicationInstance> {
        const OP: &str = "CreateReplicationInstance";
        if let Some(existing) = self.find_replication_instance(&spec.identifier).await? {
            if existing.status == "deleting" {
                return Err(DmsError::InvalidResourceState(format!(
                    "replication instance {} is being deleted: wait until it is gone, then deploy again",
                    spec.identifier
                )));
            }
            tracing::debug!(instance = %existing.arn, status = %existing.status, "replication instance exists, reused");
            return Ok(existing);
        }
        let out = self
            .client
            .create_replication_instance()
            .replication_instance_identifier(&spec.identifier)
            .replication_instance_class(&spec.class)
            .allocated_storage(spec.allocated_storage_gb)
            .publicly_accessible(spec.publicly_accessible)
            .multi_az(spec.multi_az)
            .auto_minor_version_upgrade(spec.auto_minor_version_upgrade)
            .set_vpc_security_group_ids(if spec.vpc_security_group_ids.is_empty() {
                None
            } else {
                Some(spec.vpc_security_group_ids.clone())
            })
            .set_availability_zone(spec.availability_zone.clone())
            .set_replication_subnet_group_identifier(spec.subnet_group_identifier.clone())
            .set_engine_version(spec.engine_version.clone())
            .set_tags(tags_to_sdk(&self.default_tags))
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, &spec.identifier, e))?;
        let r = out
            .replication_instance()
            .ok_or_else(|| incomplete(OP, "ReplicationInstance"))?;
        let instance = ReplicationInstance::from_sdk(OP, r)?;
        tracing::debug!(instance = %instance.arn, status = %instance.status, "replication instance created");
        Ok(instance)
    }

    /// Polls the instance every `interval` until it is `available`, for at most `timeout`
    /// (the SDK waiter polls every 60 s at least; this loop suits emulators too).
    ///
    /// Fails early on a dead-end status (`failed`, `incompatible-network`,
    /// `inaccessible-encryption-credentials`, `deleting`) with `InvalidResourceState`; on
    /// timeout the [`DmsError::WaitTimeout`] carries the last status seen.
    pub async fn wait_replication_instance_available(
        &self,
        arn: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<ReplicationInstance> {
        let start = Instant::now();
        loop {
            let r = self.describe_replication_instance(arn).await?;
            if r.status == "available" {
                return Ok(r);
            }
            if INSTANCE_DEAD_ENDS.contains(&r.status.as_str()) {
                return Err(DmsError::InvalidResourceState(format!(
                    "replication instance {arn} is {} and will not become available: check it in the DMS console, delete it and deploy again",
                    r.status
                )));
            }
            if start.elapsed() >= timeout {
                return Err(DmsError::WaitTimeout {
                    what: format!("replication instance {arn}"),
                    expected: "available".into(),
                    last_status: r.status,
                    waited_secs: start.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Deletes the replication instance; `Ok(None)` when it did not exist. Tasks on it must
    /// be deleted first (else `InvalidResourceState`).
    pub async fn delete_replication_instance(
        &self,
        arn: &str,
    ) -> Result<Option<ReplicationInstance>> {
        const OP: &str = "DeleteReplicationInstance";
        let r = self
            .client
            .delete_replication_instance()
            .replication_instance_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, arn, e));
        match r {
            Ok(out) => match out.replication_instance() {
                Some(r) => Ok(Some(ReplicationInstance::from_sdk(OP, r)?)),
                None => Err(incomplete(OP, "ReplicationInstance")),
            },
            Err(DmsError::ResourceNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls until the instance is gone, for at most `timeout`; the timeout error carries the
    /// last status seen.
    pub async fn wait_replication_instance_deleted(
        &self,
        arn: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            let status = match self.describe_replication_instance(arn).await {
                Ok(r) => r.status,
                Err(DmsError::ResourceNotFound(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            if start.elapsed() >= timeout {
                return Err(DmsError::WaitTimeout {
                    what: format!("replication instance {arn}"),
                    expected: "deleted".into(),
                    last_status: status,
                    waited_secs: start.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_instance_spec() {
        let s = ReplicationInstanceSpec::seed(
            "ri",
            "sg",
            vec!["sg-1".into()],
            Some("us-east-1a".into()),
        );
        assert_eq!(s.class, "dms.t2.micro");
        assert_eq!(s.allocated_storage_gb, 5);
        assert!(s.publicly_accessible && !s.multi_az && !s.auto_minor_version_upgrade);
        assert_eq!(s.subnet_group_identifier.as_deref(), Some("sg"));
        assert!(s.engine_version.is_none());
    }
}
