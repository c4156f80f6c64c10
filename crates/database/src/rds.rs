//! [`RdsDatabase`]: the seed's RDS MariaDB instance through aws-sdk-rds.

use std::time::{Duration, Instant};

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{ApplyMethod, DbInstance, Parameter, Tag};
use dmsrs_secrets::SecretString;

use crate::error::sdk::convert;
use crate::error::{DatabaseError, Result};
use crate::password::generate_password;
use crate::spec::{DatabaseId, DatabaseInstance, DatabaseSpec, DestroyReport, STACK_TAG};

/// Statuses an instance does not leave by itself.
const FAILED_STATES: &[&str] = &[
    "failed",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-restore",
    "incompatible-credentials",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "restore-error",
    "storage-full",
    "insufficient-capacity",
];

/// The seed's RDS MariaDB instance on AWS (or an RDS-compatible endpoint
/// such as moto), with its DB parameter group and DB subnet group.
///
/// Names derive from the [`DatabaseId`]: instance
/// [`identifier()`](DatabaseId::identifier), parameter group
/// `<identifier>-params`, subnet group `<identifier>-subnets`; all three
/// are tagged [`STACK_TAG`]`=<stack>`. `ensure` looks each up by name,
/// creates what is missing and converges the parameters and subnets; it
/// returns as soon as the instance exists (call
/// [`wait_available`](crate::Database::wait_available) next). Polling uses
/// its own loop ([`with_poll_interval`](Self::with_poll_interval)), not the
/// SDK waiter with its 30 s minimum delay.
#[derive(Debug, Clone)]
pub struct RdsDatabase {
    rds: Client,
    poll_interval: Duration,
    delete_timeout: Duration,
}

impl RdsDatabase {
    /// RDS access for the SDK configuration (region, credentials, endpoint URL).
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self::from_client(Client::new(sdk))
    }

    /// RDS access through an existing client.
    pub fn from_client(rds: Client) -> Self {
        RdsDatabase {
            rds,
            poll_interval: Duration::from_secs(15),
            delete_timeout: Duration::from_secs(30 * 60),
        }
    }

    /// Pause between status polls. Default: 15 s.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long `destroy` waits for the instance to disappear (and for the
    /// groups to be released). Default: 30 minutes.
    pub fn with_delete_timeout(mut self, timeout: Duration) -> Self {
        self.delete_timeout = timeout;
        self
    }

    /// The underlying RDS client.
    pub fn client(&self) -> &Client {
        &self.rds
    }

    /// Sets a new generated master password on the instance (applied
    /// immediately) and returns it: the way back when the password returned
    /// at creation was lost.
    pub async fn reset_master_password(&self, id: &DatabaseId) -> Result<SecretString> {
        id.validate()?;
        let password = generate_password()?;
        self.rds
            .modify_db_instance()
            .db_instance_identifier(id.identifier())
            .master_user_password(password.expose())
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| convert("ModifyDBInstance", e))?;
        Ok(password)
    }

    async fn find_instance(&self, identifier: &str) -> Result<Option<DbInstance>> {
        match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_instances().first().cloned()),
            Err(e) => {
                let e = convert("DescribeDBInstances", e);
                if e.aws_code() == Some("DBInstanceNotFound") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn ensure_parameter_group(&self, spec: &DatabaseSpec) -> Result<String> {
        let name = spec.id.parameter_group_name();
        let family = spec.family();
        // AWS answers DBParameterGroupNotFound; some emulators an empty list.
        let existing: Option<Option<String>> = match self
            .rds
            .describe_db_parameter_groups()
            .db_parameter_group_name(&name)
            .send()
            .await
        {
            Ok(out) => out
                .db_parameter_groups()
                .iter()
                .find(|g| g.db_parameter_group_name() == Some(name.as_str()))
                .map(|g| g.db_parameter_group_family().map(str::to_owned)),
            Err(e) => {
                let e = convert("DescribeDBParameterGroups", e);
                if e.aws_code() != Some("DBParameterGroupNotFound") {
                    return Err(e);
                }
                None
            }
        };
        match existing {
            Some(Some(f)) if f != family => {
                return Err(DatabaseError::Conflict {
                    what: format!(
                        "DB parameter group {name} has family {f} but the engine version {} needs {family}",
                        spec.engine_version
                    ),
                });
            }
            Some(_) => {}
            None => {
                let created = self
                    .rds
                    .create_db_parameter_group()
                    .db_parameter_group_name(&name)
                    .db_parameter_group_family(&family)
                    .description(format!("Parameter group for {family}"))
                    .tags(stack_tag(&spec.id.stack))
                    .send()
                    .await;
                if let Err(e) = created {
                    let e = convert("CreateDBParameterGroup", e);
                    if e.aws_code() != Some("DBParameterGroupAlreadyExists") {
                        return Err(e);
                    }
                }
                tracing::info!(parameter_group = name, "created DB parameter group");
            }
        }
        if spec.parameters.is_empty() {
            return Ok(name);
        }
        // Only write what differs (a write marks attached instances as applying).
        let current = self
            .rds
            .describe_db_parameters()
            .db_parameter_group_name(&name)
            .source("user")
            .send()
            .await
            .map_err(|e| convert("DescribeDBParameters", e))?;
        let differs: Vec<Parameter> = spec
            .parameters
            .iter()
            .filter(|(k, v)| {
                !current.parameters().iter().any(|p| {
                    p.parameter_name() == Some(k.as_str())
                        && p.parameter_value()
                            .is_some_and(|cur| cur.eq_ignore_ascii_case(v))
                })
            })
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_name(k)
                    .parameter_value(v)
                    .apply_method(ApplyMethod::Immediate)
                    .build()
            })
            .collect();
        for chunk in differs.chunks(20) {
            self.rds
                .modify_db_parameter_group()
                .db_parameter_group_name(&name)
                .set_parameters(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| convert("ModifyDBParameterGroup", e))?;
        }
        Ok(name)
    }

    async fn ensure_subnet_group(&self, spec: &DatabaseSpec) -> Result<Option<String>> {
        if spec.subnet_ids.is_empty() {
            return Ok(None);
        }
        let name = spec.id.subnet_group_name();
        let description = format!("Subnet group for {} database", spec.id.name);
        let existing: Option<Vec<String>> = match self
            .rds
            .describe_db_subnet_groups()
            .db_subnet_group_name(&name)
            .send()
            .await
        {
            Ok(out) => out
                .db_subnet_groups()
                .iter()
                .find(|g| g.db_subnet_group_name() == Some(name.as_str()))
                .map(|g| {
                    g.subnets()
                        .iter()
                        .filter_map(|s| s.subnet_identifier().map(str::to_owned))
                        .collect()
                }),
            Err(e) => {
                let e = convert("DescribeDBSubnetGroups", e);
                if e.aws_code() != Some("DBSubnetGroupNotFoundFault") {
                    return Err(e);
                }
                None
            }
        };
        match existing {
            Some(mut current) => {
                let mut wanted = spec.subnet_ids.clone();
                current.sort_unstable();
                wanted.sort_unstable();
                if current != wanted {
                    self.rds
                        .modify_db_subnet_group()
                        .db_subnet_group_name(&name)
                        .db_subnet_group_description(&description)
                        .set_subnet_ids(Some(spec.subnet_ids.clone()))
                        .send()
                        .await
                        .map_err(|e| convert("ModifyDBSubnetGroup", e))?;
                }
            }
            None => {
                let created = self
                    .rds
                    .create_db_subnet_group()
                    .db_subnet_group_name(&name)
                    .db_subnet_group_description(&description)
                    .set_subnet_ids(Some(spec.subnet_ids.clone()))
                    .tags(stack_tag(&spec.id.stack))
                    .send()
                    .await;
                if let Err(e) = created {
                    let e = convert("CreateDBSubnetGroup", e);
                    if e.aws_code() != Some("DBSubnetGroupAlreadyExists") {
                        return Err(e);
                    }
                }
                tracing::info!(subnet_group = name, "created DB subnet group");
            }
        }
        Ok(Some(name))
    }

    /// Retries a group deletion while the group is still in use.
    async fn delete_group(
        &self,
        what: &str,
        name: &str,
        not_found: &str,
        in_use: &str,
    ) -> Result<bool> {
        let t0 = Instant::now();
        loop {
            let result = if what == "db-subnet-group" {
                self.rds
                    .delete_db_subnet_group()
                    .db_subnet_group_name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| convert("DeleteDBSubnetGroup", e))
            } else {
                self.rds
                    .delete_db_parameter_group()
                    .db_parameter_group_name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| convert("DeleteDBParameterGroup", e))
            };
            match result {
                Ok(()) => return Ok(true),
                Err(e) if e.aws_code() == Some(not_found) => return Ok(false),
                Err(e)
                    if (e.aws_code() == Some(in_use) || e.is_retryable())
                        && t0.elapsed() < self.delete_timeout =>
                {
                    tracing::info!(group = name, "still in use, retrying: {e}");
                    tokio::time::sleep(self.poll_interval).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[async_trait::async_trait]
impl crate::Database for RdsDatabase {
    async fn ensure(&self, spec: &DatabaseSpec) -> Result<DatabaseInstance> {
        spec.validate()?;
        let identifier = spec.id.identifier();
        let parameter_group = self.ensure_parameter_group(spec).await?;
        let subnet_group = self.ensure_subnet_group(spec).await?;

        if let Some(db) = self.find_instance(&identifier).await? {
            if db.engine().is_some_and(|e| e != "mariadb") {
                return Err(DatabaseError::Conflict {
                    what: format!(
                        "DB instance {identifier} runs {}, not mariadb",
                        db.engine().unwrap_or("?")
                    ),
                });
            }
            if db.db_instance_status() == Some("deleting") {
                return Err(DatabaseError::Failed {
                    identifier,
                    status: "deleting".into(),
                });
            }
            tracing::debug!(identifier, "reusing DB instance");
            return Ok(to_instance(&db, spec.master_password.clone(), false));
        }

        let password = match &spec.master_password {
            Some(p) => p.clone(),
            None => generate_password()?,
        };
        let created = self
            .rds
            .create_db_instance()
            .db_instance_identifier(&identifier)
            .engine("mariadb")
            .engine_version(&spec.engine_version)
            .db_instance_class(&spec.instance_class)
            .allocated_storage(i32::try_from(spec.allocated_storage_gb).unwrap_or(i32::MAX))
            .storage_type(&spec.storage_type)
            .copy_tags_to_snapshot(true)
            .db_name(&spec.db_name)
            .master_username(&spec.master_username)
            .master_user_password(password.expose())
            .publicly_accessible(spec.publicly_accessible)
            .multi_az(false)
            .deletion_protection(false)
            .set_vpc_security_group_ids(
                (!spec.security_group_ids.is_empty()).then(|| spec.security_group_ids.clone()),
            )
            .db_parameter_group_name(&parameter_group)
            .set_db_subnet_group_name(subnet_group)
            .set_port(spec.port.map(i32::from))
            .tags(stack_tag(&spec.id.stack))
            .send()
            .await;
        match created {
            Ok(out) => {
                let db = out.db_instance().ok_or_else(|| DatabaseError::Unexpected {
                    service: "RDS",
                    operation: "CreateDBInstance",
                    detail: "no DBInstance in the answer".into(),
                })?;
                tracing::info!(identifier, "created DB instance");
                Ok(to_instance(db, Some(password), true))
            }
            Err(e) => {
                let e = convert("CreateDBInstance", e);
                if e.aws_code() != Some("DBInstanceAlreadyExists") {
                    return Err(e);
                }
                // Created concurrently: the generated password was not used.
                let db = self.find_instance(&identifier).await?.ok_or(e)?;
                Ok(to_instance(&db, spec.master_password.clone(), false))
            }
        }
    }

    async fn wait_available(&self, id: &DatabaseId, timeout: Duration) -> Result<DatabaseInstance> {
        id.validate()?;
        let identifier = id.identifier();
        let t0 = Instant::now();
        let mut last_status = String::from("unknown");
        loop {
            match self.find_instance(&identifier).await {
                Ok(Some(db)) => {
                    let status = db.db_instance_status().unwrap_or("unknown").to_owned();
                    if status == "available" {
                        return Ok(to_instance(&db, None, false));
                    }
                    if FAILED_STATES.contains(&status.as_str()) {
                        return Err(DatabaseError::Failed { identifier, status });
                    }
                    last_status = status;
                }
                Ok(None) => return Err(DatabaseError::NotFound { identifier }),
                // Throttling and network hiccups do not end the wait.
                Err(e) if e.is_retryable() => {
                    last_status = format!("{last_status} (last poll failed: {e})")
                }
                Err(e) => return Err(e),
            }
            if t0.elapsed() >= timeout {
                return Err(DatabaseError::Timeout {
                    identifier,
                    waited: t0.elapsed(),
                    last_status,
                });
            }
            tokio::time::sleep(self.poll_interval.min(timeout.saturating_sub(t0.elapsed()))).await;
        }
    }

    async fn describe(&self, id: &DatabaseId) -> Result<Option<DatabaseInstance>> {
        id.validate()?;
        Ok(self
            .find_instance(&id.identifier())
            .await?
            .map(|db| to_instance(&db, None, false)))
    }

    async fn destroy(&self, id: &DatabaseId) -> Result<DestroyReport> {
        id.validate()?;
        let identifier = id.identifier();
        let mut report = DestroyReport::default();

        let deleted = self
            .rds
            .delete_db_instance()
            .db_instance_identifier(&identifier)
            .skip_final_snapshot(true)
            .delete_automated_backups(true)
            .send()
            .await;
        let mut existed = true;
        if let Err(e) = deleted {
            let e = convert("DeleteDBInstance", e);
            match e.aws_code() {
                Some("DBInstanceNotFound") => existed = false,
                // Already being deleted: wait below.
                Some("InvalidDBInstanceState" | "InvalidDBInstanceStateFault") => {}
                _ => return Err(e),
            }
        }
        if existed {
            let t0 = Instant::now();
            loop {
                match self.find_instance(&identifier).await? {
                    None => break,
                    Some(db) if t0.elapsed() >= self.delete_timeout => {
                        return Err(DatabaseError::Timeout {
                            identifier,
                            waited: t0.elapsed(),
                            last_status: db.db_instance_status().unwrap_or("unknown").to_owned(),
                        });
                    }
                    Some(_) => tokio::time::sleep(self.poll_interval).await,
                }
            }
            report.push("db-instance", &identifier);
        }
        let subnet_group = id.subnet_group_name();
        if self
            .delete_group(
                "db-subnet-group",
                &subnet_group,
                "DBSubnetGroupNotFoundFault",
                "InvalidDBSubnetGroupStateFault",
            )
            .await?
        {
            report.push("db-subnet-group", subnet_group);
        }
        let parameter_group = id.parameter_group_name();
        if self
            .delete_group(
                "db-parameter-group",
                &parameter_group,
                "DBParameterGroupNotFound",
                "InvalidDBParameterGroupState",
            )
            .await?
        {
            report.push("db-parameter-group", parameter_group);
        }
        Ok(report)
    }
}

fn stack_tag(stack: &str) -> Tag {
    Tag::builder().key(STACK_TAG).value(stack).build()
}

fn to_instance(db: &DbInstance, password: Option<SecretString>, created: bool) -> DatabaseInstance {
    let endpoint = db.endpoint();
    DatabaseInstance {
        identifier: db.db_instance_identifier().unwrap_or_default().to_owned(),
        host: endpoint
            .and_then(|e| e.address())
            .unwrap_or_default()
            .to_owned(),
        port: endpoint
            .and_then(|e| e.port())
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
        master_username: db.master_username().unwrap_or_default().to_owned(),
        password,
        db_name: db.db_name().unwrap_or_default().to_owned(),
        engine: db.engine().unwrap_or("mariadb").to_owned(),
        engine_version: db.engine_version().unwrap_or_default().to_owned(),
        status: db.db_instance_status().unwrap_or("unknown").to_owned(),
        arn: db.db_instance_arn().map(str::to_owned),
        created,
    }
}
