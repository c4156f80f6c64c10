//! The DMS operations: input shapes, validation, and the answers.

use crate::fault::Fault;
use crate::operations::DMS_OPERATIONS;
use crate::server::{DmsServer, Instance, lock};
use crate::wire::{
    EndpointExtra, WireAz, WireConnection, WireDate, WireEndpoint, WireFilter, WireInstance,
    WireKinesis, WireMySql, WireSgMembership, WireSubnet, WireSubnetGroup, WireTableStats, WireTag,
    WireTask, engine_display_name, epoch, parse_endpoint_type, parse_migration_type, port,
    tags_from_wire,
};
use dmsrs_tasks::{
    CreateEndpoint, CreateTask, EndpointSettings, EndpointType, ModifyTask, MySqlSettings,
    ReloadOption, ReplicationService, ReplicationTask, SecretString, StartTask, StartType, Tag,
    TaskFilter,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};
use tracing::{debug, info};

/// The operations this server implements.
pub const SUPPORTED_OPERATIONS: &[&str] = &[
    "AddTagsToResource",
    "CreateEndpoint",
    "CreateReplicationInstance",
    "CreateReplicationSubnetGroup",
    "CreateReplicationTask",
    "DeleteConnection",
    "DeleteEndpoint",
    "DeleteReplicationInstance",
    "DeleteReplicationSubnetGroup",
    "DeleteReplicationTask",
    "DescribeConnections",
    "DescribeEndpointTypes",
    "DescribeEndpoints",
    "DescribeReplicationInstances",
    "DescribeReplicationSubnetGroups",
    "DescribeReplicationTasks",
    "DescribeTableStatistics",
    "ListTagsForResource",
    "ModifyReplicationTask",
    "ReloadTables",
    "RemoveTagsFromResource",
    "StartReplicationTask",
    "StopReplicationTask",
    "TestConnection",
];

/// Operations that change state (the state is saved after each).
fn mutates(op: &str) -> bool {
    !(op.starts_with("Describe") || op.starts_with("List"))
}

/// Parses a request body into an operation's input shape.
fn input<T: DeserializeOwned>(body: &Value) -> Result<T, Fault> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            Fault::serialization(format!(
                "the request body does not match the input shape: {inner}"
            ))
        } else {
            Fault::serialization(format!("member {path}: {inner}"))
        }
    })
}

/// A required, non-empty string member.
fn req<'a>(v: &'a Option<String>, member: &str) -> Result<&'a str, Fault> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(Fault::missing(member)),
    }
}

/// The `Tags` member of a create call, checked before anything is created.
fn checked_tags(tags: Option<&Vec<WireTag>>) -> Result<Vec<Tag>, Fault> {
    tags.map(|t| tags_from_wire(t))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// `ResourceIdentifier`: 1-31 letters, digits and hyphens, starting with a letter, with no
/// trailing or double hyphen (it becomes the last part of the ARN).
fn check_resource_identifier(id: &str) -> Result<(), Fault> {
    if id.len() > 31 {
        return Err(Fault::invalid(format!(
            "ResourceIdentifier {id:?} is too long: use at most 31 characters"
        )));
    }
    check_identifier("ResourceIdentifier", id)
}

/// DMS identifier rules ([`dmsrs_tasks::validate_identifier`]).
fn check_identifier(member: &str, id: &str) -> Result<(), Fault> {
    dmsrs_tasks::validate_identifier(member, id).map_err(Fault::from)
}

/// `CdcStartTime` of a create, modify or start call: at most one of it and
/// `CdcStartPosition` may be given.
fn cdc_start_time(
    time: Option<&WireDate>,
    position: &Option<String>,
) -> Result<Option<SystemTime>, Fault> {
    if time.is_some() && position.is_some() {
        return Err(Fault::combination(
            "specify either CdcStartPosition or CdcStartTime, not both",
        ));
    }
    time.map(|d| d.to_time("CdcStartTime")).transpose()
}

/// `Filters` by name, each name checked against those the operation supports.
fn filters(
    given: &Option<Vec<WireFilter>>,
    allowed: &[&str],
) -> Result<BTreeMap<String, Vec<String>>, Fault> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in given.iter().flatten() {
        let name = req(&f.name, "Filters.Name")?;
        if !allowed.contains(&name) {
            return Err(Fault::invalid(format!(
                "filter {name:?} is not valid here; use one of: {}",
                allowed.join(", ")
            )));
        }
        out.entry(name.to_owned())
            .or_default()
            .extend(f.values.iter().cloned());
    }
    Ok(out)
}

/// True when `value` passes the filter `name` (absent filters pass everything).
fn passes(f: &BTreeMap<String, Vec<String>>, name: &str, value: &str) -> bool {
    f.get(name).is_none_or(|vs| vs.iter().any(|v| v == value))
}

/// `MaxRecords` and `Marker` of a `Describe*` call, with the operation's bounds on
/// `MaxRecords`: (min, max, default).
struct Paging<'a> {
    max_records: Option<i64>,
    marker: Option<&'a str>,
    bounds: (i64, i64, i64),
}

/// A `Describe*` answer: under `member`, the page of `items` (sorted by `key`) that starts
/// at the marker, each written by `render`, and `Marker` when more follow. `none_matched`,
/// given for calls with filters, is the `ResourceNotFoundFault` message for an empty result.
fn describe_answer<T>(
    member: &str,
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    render: impl Fn(&T) -> Value,
    paging: Paging<'_>,
    none_matched: Option<&str>,
) -> Result<Value, Fault> {
    if let Some(message) = none_matched.filter(|_| items.is_empty()) {
        return Err(Fault::not_found(message));
    }
    let (items, marker) = page(items, key, paging)?;
    let mut out = serde_json::Map::new();
    out.insert(member.into(), items.iter().map(render).collect());
    if let Some(m) = marker {
        out.insert("Marker".into(), Value::String(m));
    }
    Ok(Value::Object(out))
}

/// One page of `items` (sorted by `key`) after the marker, at most `MaxRecords` long.
fn page<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    Paging {
        max_records,
        marker,
        bounds: (min, max, default),
    }: Paging<'_>,
) -> Result<(Vec<T>, Option<String>), Fault> {
    let n = max_records.unwrap_or(default);
    if !(min..=max).contains(&n) {
        return Err(Fault::invalid(format!(
            "MaxRecords {n} is not valid: use a value from {min} to {max}"
        )));
    }
    items.sort_by_key(&key);
    if let Some(m) = marker.filter(|m| !m.is_empty()) {
        items.retain(|i| key(i).as_str() >= m);
    }
    let n = usize::try_from(n).unwrap_or(100);
    let next = items.get(n).map(&key);
    items.truncate(n);
    Ok((items, next))
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl DmsServer {
    /// Runs one operation: `op` is the part of `X-Amz-Target` after
    /// `AmazonDMSv20160101.`, `body` the request's JSON.
    pub async fn call(&self, op: &str, body: &[u8]) -> Result<Value, Fault> {
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                Fault::serialization(format!("the request body is not valid JSON: {e}"))
            })?
        };
        if !body.is_object() {
            return Err(Fault::serialization(
                "the request body must be a JSON object",
            ));
        }
        let out = self.dispatch(op, &body).await?;
        if mutates(op)
            && let Err(e) = self.save().await
        {
            tracing::error!(error = %e, "could not save the state");
        }
        Ok(out)
    }

    async fn dispatch(&self, op: &str, b: &Value) -> Result<Value, Fault> {
        match op {
            "CreateReplicationSubnetGroup" => self.create_subnet_group(input(b)?),
            "DescribeReplicationSubnetGroups" => self.describe_subnet_groups(input(b)?),
            "DeleteReplicationSubnetGroup" => self.delete_subnet_group(input(b)?),
            "CreateReplicationInstance" => self.create_instance(input(b)?),
            "DescribeReplicationInstances" => self.describe_instances(input(b)?),
            "DeleteReplicationInstance" => self.delete_instance(input(b)?).await,
            "CreateEndpoint" => self.create_endpoint(input(b)?).await,
            "DescribeEndpoints" => self.describe_endpoints(input(b)?).await,
            "DeleteEndpoint" => self.delete_endpoint(input(b)?).await,
            "TestConnection" => self.test_connection(input(b)?).await,
            "DescribeConnections" => self.describe_connections(input(b)?),
            "DeleteConnection" => self.delete_connection(input(b)?),
            "CreateReplicationTask" => self.create_task(input(b)?).await,
            "ModifyReplicationTask" => self.modify_task(input(b)?).await,
            "StartReplicationTask" => self.start_task(input(b)?).await,
            "StopReplicationTask" => self.stop_task(input(b)?).await,
            "DeleteReplicationTask" => self.delete_task(input(b)?).await,
            "DescribeReplicationTasks" => self.describe_tasks(input(b)?).await,
            "DescribeTableStatistics" => self.describe_table_statistics(input(b)?).await,
            "ReloadTables" => self.reload_tables(input(b)?).await,
            "AddTagsToResource" => self.add_tags(input(b)?).await,
            "ListTagsForResource" => self.list_tags(input(b)?).await,
            "RemoveTagsFromResource" => self.remove_tags(input(b)?).await,
            "DescribeEndpointTypes" => self.describe_endpoint_types(input(b)?),
            other if DMS_OPERATIONS.contains(&other) => Err(Fault::new(
                "UnsupportedOperation",
                format!(
                    "{other} is a DMS operation this server does not implement; it implements: {}",
                    SUPPORTED_OPERATIONS.join(", ")
                ),
            )),
            other => Err(Fault::new(
                "UnknownOperationException",
                format!("{other:?} is not an operation of the DMS API (AmazonDMSv20160101)"),
            )),
        }
    }

    /// Stores the tags a create call gave (checked by [`checked_tags`] before creating).
    fn with_tags(&self, arn: &str, tags: Vec<Tag>) {
        if !tags.is_empty() {
            lock(&self.inner.meta).tags.insert(arn.to_owned(), tags);
        }
    }

    // ---- subnet groups ----------------------------------------------------------------

    fn create_subnet_group(&self, i: CreateSubnetGroupIn) -> Result<Value, Fault> {
        let id = req(
            &i.replication_subnet_group_identifier,
            "ReplicationSubnetGroupIdentifier",
        )?;
        let ok = id.len() <= 255
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ' '))
            && !id.eq_ignore_ascii_case("default");
        if !ok {
            return Err(Fault::invalid(format!(
                "ReplicationSubnetGroupIdentifier {id:?} is not valid: up to 255 letters, digits, periods, \
                 underscores, spaces or hyphens, and not \"default\""
            )));
        }
        let description = req(
            &i.replication_subnet_group_description,
            "ReplicationSubnetGroupDescription",
        )?;
        let subnets = i.subnet_ids.unwrap_or_default();
        if subnets.is_empty() {
            return Err(Fault::missing("SubnetIds"));
        }
        let tags = checked_tags(i.tags.as_ref())?;
        let key = id.to_ascii_lowercase();
        let region = self.inner.cfg.region.clone();
        let group = WireSubnetGroup {
            replication_subnet_group_identifier: key.clone(),
            replication_subnet_group_description: description.to_owned(),
            vpc_id: None,
            subnet_group_status: "Complete".into(),
            subnets: subnets
                .iter()
                .enumerate()
                .map(|(n, s)| WireSubnet {
                    subnet_identifier: s.clone(),
                    subnet_availability_zone: WireAz {
                        name: format!("{region}{}", (b'a' + (n % 3) as u8) as char),
                    },
                    subnet_status: "Active".into(),
                })
                .collect(),
            supported_network_types: vec!["IPV4".into()],
        };
        {
            let mut meta = lock(&self.inner.meta);
            if meta.subnet_groups.contains_key(&key) {
                return Err(Fault::exists(format!(
                    "Replication Subnet Group {key} already exists"
                )));
            }
            meta.subnet_groups.insert(key.clone(), group.clone());
        }
        self.with_tags(&self.arn("subgrp", &key), tags);
        Ok(json!({ "ReplicationSubnetGroup": to_json(&group) }))
    }

    fn describe_subnet_groups(&self, i: DescribeIn) -> Result<Value, Fault> {
        let f = filters(&i.filters, &["replication-subnet-group-id"])?;
        let groups: Vec<WireSubnetGroup> = lock(&self.inner.meta)
            .subnet_groups
            .values()
            .filter(|g| {
                f.get("replication-subnet-group-id").is_none_or(|vs| {
                    vs.iter()
                        .any(|v| v.eq_ignore_ascii_case(&g.replication_subnet_group_identifier))
                })
            })
            .cloned()
            .collect();
        describe_answer(
            "ReplicationSubnetGroups",
            groups,
            |g| g.replication_subnet_group_identifier.clone(),
            to_json,
            i.paging((20, 100, 100)),
            (!f.is_empty()).then_some("No Replication Subnet Groups found matching the filters"),
        )
    }

    fn delete_subnet_group(&self, i: DeleteSubnetGroupIn) -> Result<Value, Fault> {
        let id = req(
            &i.replication_subnet_group_identifier,
            "ReplicationSubnetGroupIdentifier",
        )?
        .to_ascii_lowercase();
        let mut meta = lock(&self.inner.meta);
        if !meta.subnet_groups.contains_key(&id) {
            return Err(Fault::not_found(format!(
                "Replication Subnet Group {id} not found"
            )));
        }
        let in_use = meta.instances.values().any(|inst| {
            inst.wire
                .replication_subnet_group
                .as_ref()
                .is_some_and(|g| g.replication_subnet_group_identifier == id)
        });
        if in_use {
            return Err(Fault::state(format!(
                "Replication Subnet Group {id} is in use by a replication instance: delete the instance first"
            )));
        }
        meta.subnet_groups.remove(&id);
        let arn = self.arn("subgrp", &id);
        meta.tags.remove(&arn);
        Ok(json!({}))
    }

    // ---- replication instances --------------------------------------------------------

    fn create_instance(&self, i: CreateInstanceIn) -> Result<Value, Fault> {
        let id = req(
            &i.replication_instance_identifier,
            "ReplicationInstanceIdentifier",
        )?;
        check_identifier("ReplicationInstanceIdentifier", id)?;
        let id = id.to_ascii_lowercase();
        let class = req(&i.replication_instance_class, "ReplicationInstanceClass")?;
        if !class.starts_with("dms.") {
            return Err(Fault::invalid(format!(
                "ReplicationInstanceClass {class:?} is not valid: use a DMS class such as dms.t3.medium"
            )));
        }
        let storage = i.allocated_storage.unwrap_or(50);
        if !(5..=6144).contains(&storage) {
            return Err(Fault::invalid(format!(
                "AllocatedStorage {storage} is not valid: use 5 to 6144 GiB"
            )));
        }
        let tags = checked_tags(i.tags.as_ref())?;
        let resource = match &i.resource_identifier {
            Some(r) => {
                check_resource_identifier(r)?;
                r.clone()
            }
            None => dmsrs_tasks::new_resource_id(),
        };
        let arn = self.arn("rep", &resource);
        let delay = self.inner.cfg.transition_delay;
        let mut meta = lock(&self.inner.meta);
        if meta
            .instances
            .values()
            .any(|inst| inst.wire.replication_instance_identifier == id)
        {
            return Err(Fault::exists(format!(
                "Replication instance {id} already exists"
            )));
        }
        if meta.instances.contains_key(&arn) {
            return Err(Fault::exists(format!(
                "a replication instance with ResourceIdentifier {resource} already exists"
            )));
        }
        let group = match &i.replication_subnet_group_identifier {
            Some(g) => Some(
                meta.subnet_groups
                    .get(&g.to_ascii_lowercase())
                    .cloned()
                    .ok_or_else(|| {
                        Fault::not_found(format!("Replication Subnet Group {g} not found"))
                    })?,
            ),
            None => None,
        };
        let az = i.availability_zone.clone().or_else(|| {
            group
                .as_ref()
                .and_then(|g| g.subnets.first())
                .map(|s| s.subnet_availability_zone.name.clone())
        });
        let wire = WireInstance {
            replication_instance_identifier: id,
            replication_instance_class: class.to_owned(),
            replication_instance_status: "creating".into(),
            allocated_storage: storage,
            instance_create_time: epoch(SystemTime::now()),
            vpc_security_groups: i
                .vpc_security_group_ids
                .unwrap_or_default()
                .into_iter()
                .map(|sg| WireSgMembership {
                    vpc_security_group_id: sg,
                    status: "active".into(),
                })
                .collect(),
            availability_zone: az,
            replication_subnet_group: group,
            preferred_maintenance_window: i
                .preferred_maintenance_window
                .unwrap_or_else(|| "sun:06:00-sun:06:30".into()),
            multi_a_z: i.multi_a_z.unwrap_or(false),
            engine_version: i.engine_version.unwrap_or_else(|| "3.5.3".into()),
            auto_minor_version_upgrade: i.auto_minor_version_upgrade.unwrap_or(true),
            kms_key_id: i.kms_key_id,
            replication_instance_arn: arn.clone(),
            replication_instance_public_ip_addresses: Vec::new(),
            replication_instance_private_ip_addresses: vec!["127.0.0.1".into()],
            publicly_accessible: i.publicly_accessible.unwrap_or(false),
            network_type: i.network_type.unwrap_or_else(|| "IPV4".into()),
        };
        meta.instances.insert(
            arn.clone(),
            Instance {
                wire: wire.clone(),
                available_at: Instant::now() + delay,
            },
        );
        drop(meta);
        self.with_tags(&arn, tags);
        info!(instance = %arn, "replication instance created");
        Ok(json!({ "ReplicationInstance": to_json(&wire) }))
    }

    fn describe_instances(&self, i: DescribeIn) -> Result<Value, Fault> {
        let f = filters(
            &i.filters,
            &[
                "replication-instance-arn",
                "replication-instance-id",
                "replication-instance-class",
                "engine-version",
            ],
        )?;
        let list: Vec<WireInstance> = lock(&self.inner.meta)
            .instances
            .values()
            .map(Instance::view)
            .filter(|w| {
                passes(&f, "replication-instance-arn", &w.replication_instance_arn)
                    && f.get("replication-instance-id").is_none_or(|vs| {
                        vs.iter()
                            .any(|v| v.eq_ignore_ascii_case(&w.replication_instance_identifier))
                    })
                    && passes(
                        &f,
                        "replication-instance-class",
                        &w.replication_instance_class,
                    )
                    && passes(&f, "engine-version", &w.engine_version)
            })
            .collect();
        describe_answer(
            "ReplicationInstances",
            list,
            |w| w.replication_instance_arn.clone(),
            to_json,
            i.paging((20, 100, 100)),
            (!f.is_empty()).then_some("No replication instances found matching the filters"),
        )
    }

    async fn delete_instance(&self, i: ArnIn) -> Result<Value, Fault> {
        let arn = req(&i.replication_instance_arn, "ReplicationInstanceArn")?;
        if !lock(&self.inner.meta).instances.contains_key(arn) {
            return Err(Fault::not_found(format!(
                "Replication instance {arn} not found"
            )));
        }
        let used = self
            .inner
            .engine
            .describe_tasks(&TaskFilter::default())
            .await?
            .iter()
            .any(|t| t.replication_instance_arn == arn);
        if used {
            return Err(Fault::state(format!(
                "Replication instance {arn} has replication tasks: delete them first"
            )));
        }
        let mut meta = lock(&self.inner.meta);
        let inst = meta
            .instances
            .remove(arn)
            .ok_or_else(|| Fault::not_found(format!("Replication instance {arn} not found")))?;
        meta.tags.remove(arn);
        meta.connections.retain(|(_, i), _| i != arn);
        let mut w = inst.view();
        w.replication_instance_status = "deleting".into();
        info!(instance = %arn, "replication instance deleted");
        Ok(json!({ "ReplicationInstance": to_json(&w) }))
    }

    /// The instance with this ARN, which must be `available` (tasks and connection tests
    /// need one).
    fn available_instance(&self, arn: &str) -> Result<WireInstance, Fault> {
        let inst = lock(&self.inner.meta)
            .instances
            .get(arn)
            .map(Instance::view)
            .ok_or_else(|| Fault::not_found(format!("Replication instance {arn} not found")))?;
        if inst.replication_instance_status != "available" {
            return Err(Fault::state(format!(
                "Replication instance {arn} is {}: wait until it is available",
                inst.replication_instance_status
            )));
        }
        Ok(inst)
    }

    // ---- endpoints --------------------------------------------------------------------

    async fn create_endpoint(&self, i: CreateEndpointIn) -> Result<Value, Fault> {
        let id = req(&i.endpoint_identifier, "EndpointIdentifier")?.to_owned();
        check_identifier("EndpointIdentifier", &id)?;
        let endpoint_type = parse_endpoint_type(req(&i.endpoint_type, "EndpointType")?)?;
        let engine = req(&i.engine_name, "EngineName")?.to_ascii_lowercase();
        let tags = checked_tags(i.tags.as_ref())?;
        if let Some(m) = &i.ssl_mode
            && !matches!(m.as_str(), "none" | "require" | "verify-ca" | "verify-full")
        {
            return Err(Fault::invalid(format!(
                "SslMode {m:?} is not valid: use none, require, verify-ca or verify-full"
            )));
        }
        let settings = match (endpoint_type, engine.as_str()) {
            (EndpointType::Source, "mysql" | "mariadb" | "aurora") => {
                let m = i.mysql_settings.clone().unwrap_or_default();
                let password = m.password.clone().or_else(|| i.password.clone());
                let s = MySqlSettings {
                    server_name: m.server_name.clone().or_else(|| i.server_name.clone()),
                    port: port(m.port.or(i.port))?,
                    username: m.username.clone().or_else(|| i.username.clone()),
                    password: password.map(SecretString::new),
                    database_name: m.database_name.clone().or_else(|| i.database_name.clone()),
                    secrets_manager_secret_id: m.secrets_manager_secret_id.clone(),
                    secrets_manager_access_role_arn: m.secrets_manager_access_role_arn.clone(),
                    server_timezone: m.server_timezone.clone(),
                    events_poll_interval: m
                        .events_poll_interval
                        .map(|v| {
                            u32::try_from(v).map_err(|_| {
                                Fault::invalid(format!(
                                    "MySQLSettings.EventsPollInterval {v} is not valid"
                                ))
                            })
                        })
                        .transpose()?,
                };
                if s.secrets_manager_secret_id.is_none() {
                    for (member, present) in [
                        ("ServerName", s.server_name.is_some()),
                        ("Username", s.username.is_some()),
                        ("Password", s.password.is_some()),
                    ] {
                        if !present {
                            return Err(Fault::invalid(format!(
                                "a {engine} source endpoint needs MySQLSettings.SecretsManagerSecretId or {member}"
                            )));
                        }
                    }
                }
                EndpointSettings::MySql(s)
            }
            (EndpointType::Target, "kinesis") => {
                let k = i
                    .kinesis_settings
                    .as_ref()
                    .ok_or_else(|| Fault::missing("KinesisSettings"))?;
                EndpointSettings::Kinesis(k.to_model()?)
            }
            (t, e) => {
                return Err(Fault::invalid(format!(
                    "a {} endpoint with engine {e:?} is not supported: this server replicates mysql, mariadb \
                     and aurora sources to kinesis targets",
                    t.as_str()
                )));
            }
        };
        let ep = self
            .inner
            .engine
            .create_endpoint(CreateEndpoint {
                identifier: id,
                endpoint_type,
                engine_name: engine,
                settings,
            })
            .await?;
        let extra = EndpointExtra {
            extra_connection_attributes: i.extra_connection_attributes,
            kms_key_id: i.kms_key_id,
            certificate_arn: i.certificate_arn,
            ssl_mode: i.ssl_mode,
            service_access_role_arn: i.service_access_role_arn,
        };
        lock(&self.inner.meta)
            .endpoint_extra
            .insert(ep.arn.clone(), extra.clone());
        self.with_tags(&ep.arn, tags);
        info!(endpoint = %ep.arn, identifier = %ep.identifier, "endpoint created");
        Ok(json!({ "Endpoint": to_json(&WireEndpoint::from_model(&ep, &extra)) }))
    }

    fn endpoint_view(&self, ep: &dmsrs_tasks::Endpoint) -> WireEndpoint {
        let extra = lock(&self.inner.meta)
            .endpoint_extra
            .get(&ep.arn)
            .cloned()
            .unwrap_or_default();
        WireEndpoint::from_model(ep, &extra)
    }

    async fn describe_endpoints(&self, i: DescribeIn) -> Result<Value, Fault> {
        let f = filters(
            &i.filters,
            &[
                "endpoint-arn",
                "endpoint-type",
                "endpoint-id",
                "engine-name",
            ],
        )?;
        let list: Vec<WireEndpoint> = self
            .inner
            .engine
            .describe_endpoints(&[])
            .await?
            .iter()
            .map(|e| self.endpoint_view(e))
            .filter(|w| {
                passes(&f, "endpoint-arn", &w.endpoint_arn)
                    && f.get("endpoint-type").is_none_or(|vs| {
                        vs.iter().any(|v| v.eq_ignore_ascii_case(&w.endpoint_type))
                    })
                    && passes(&f, "endpoint-id", &w.endpoint_identifier)
                    && passes(&f, "engine-name", &w.engine_name)
            })
            .collect();
        describe_answer(
            "Endpoints",
            list,
            |w| w.endpoint_arn.clone(),
            to_json,
            i.paging((20, 100, 100)),
            (!f.is_empty()).then_some("No Endpoints found matching the filters"),
        )
    }

    async fn delete_endpoint(&self, i: EndpointArnIn) -> Result<Value, Fault> {
        let arn = req(&i.endpoint_arn, "EndpointArn")?;
        let ep = self.inner.engine.delete_endpoint(arn).await?;
        let view = self.endpoint_view(&ep);
        let mut meta = lock(&self.inner.meta);
        meta.endpoint_extra.remove(arn);
        meta.tags.remove(arn);
        meta.connections.retain(|(e, _), _| e != arn);
        info!(endpoint = %arn, "endpoint deleted");
        Ok(json!({ "Endpoint": to_json(&view) }))
    }

    // ---- connections ------------------------------------------------------------------

    async fn test_connection(&self, i: ConnectionIn) -> Result<Value, Fault> {
        let inst_arn = req(&i.replication_instance_arn, "ReplicationInstanceArn")?.to_owned();
        let ep_arn = req(&i.endpoint_arn, "EndpointArn")?.to_owned();
        let inst = self.available_instance(&inst_arn)?;
        let ep = self
            .inner
            .engine
            .describe_endpoints(std::slice::from_ref(&ep_arn))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Fault::not_found(format!("Endpoint {ep_arn} not found")))?;
        let conn = WireConnection {
            replication_instance_arn: inst_arn.clone(),
            endpoint_arn: ep_arn.clone(),
            status: "testing".into(),
            last_failure_message: None,
            endpoint_identifier: ep.identifier.clone(),
            replication_instance_identifier: inst.replication_instance_identifier.clone(),
        };
        let key = (ep_arn.clone(), inst_arn.clone());
        lock(&self.inner.meta)
            .connections
            .insert(key.clone(), conn.clone());
        let server = self.clone();
        tokio::spawn(async move {
            let result = server.inner.engine.test_endpoint(&ep_arn).await;
            {
                let mut meta = lock(&server.inner.meta);
                if let Some(c) = meta.connections.get_mut(&key) {
                    match &result {
                        Ok(()) => {
                            c.status = "successful".into();
                            c.last_failure_message = None;
                        }
                        Err(e) => {
                            c.status = "failed".into();
                            c.last_failure_message = Some(e.to_string());
                        }
                    }
                }
            }
            debug!(endpoint = %ep_arn, ok = result.is_ok(), "connection tested");
            let _ = server.save().await;
        });
        Ok(json!({ "Connection": to_json(&conn) }))
    }

    fn describe_connections(&self, i: DescribeIn) -> Result<Value, Fault> {
        let f = filters(&i.filters, &["endpoint-arn", "replication-instance-arn"])?;
        let list: Vec<WireConnection> = lock(&self.inner.meta)
            .connections
            .values()
            .filter(|c| {
                passes(&f, "endpoint-arn", &c.endpoint_arn)
                    && passes(&f, "replication-instance-arn", &c.replication_instance_arn)
            })
            .cloned()
            .collect();
        describe_answer(
            "Connections",
            list,
            |c| format!("{} {}", c.endpoint_arn, c.replication_instance_arn),
            to_json,
            i.paging((20, 100, 100)),
            None,
        )
    }

    fn delete_connection(&self, i: ConnectionIn) -> Result<Value, Fault> {
        let inst_arn = req(&i.replication_instance_arn, "ReplicationInstanceArn")?;
        let ep_arn = req(&i.endpoint_arn, "EndpointArn")?;
        let mut c = lock(&self.inner.meta)
            .connections
            .remove(&(ep_arn.to_owned(), inst_arn.to_owned()))
            .ok_or_else(|| {
                Fault::not_found(format!(
                    "no connection between endpoint {ep_arn} and replication instance {inst_arn}"
                ))
            })?;
        c.status = "deleting".into();
        Ok(json!({ "Connection": to_json(&c) }))
    }

    // ---- tasks ------------------------------------------------------------------------

    fn task_json(&self, t: &ReplicationTask, with_settings: bool) -> Value {
        let data = lock(&self.inner.meta).task_data.get(&t.arn).cloned();
        to_json(&WireTask::from_model(t, data.as_deref(), with_settings))
    }

    async fn create_task(&self, i: CreateTaskIn) -> Result<Value, Fault> {
        let id = req(&i.replication_task_identifier, "ReplicationTaskIdentifier")?.to_owned();
        check_identifier("ReplicationTaskIdentifier", &id)?;
        let source = req(&i.source_endpoint_arn, "SourceEndpointArn")?.to_owned();
        let target = req(&i.target_endpoint_arn, "TargetEndpointArn")?.to_owned();
        let inst_arn = req(&i.replication_instance_arn, "ReplicationInstanceArn")?.to_owned();
        let migration_type = parse_migration_type(req(&i.migration_type, "MigrationType")?)?;
        let mappings = req(&i.table_mappings, "TableMappings")?.to_owned();
        let tags = checked_tags(i.tags.as_ref())?;
        if let Some(r) = &i.resource_identifier {
            check_resource_identifier(r)?;
        }
        self.available_instance(&inst_arn)?;
        let cdc_start_time = cdc_start_time(i.cdc_start_time.as_ref(), &i.cdc_start_position)?;
        let task = self
            .inner
            .engine
            .create_task(CreateTask {
                identifier: id,
                source_endpoint_arn: source,
                target_endpoint_arn: target,
                replication_instance_arn: inst_arn,
                migration_type,
                table_mappings: mappings,
                settings: i.replication_task_settings.clone(),
                cdc_start_position: i.cdc_start_position.clone(),
                cdc_start_time,
                cdc_stop_position: i.cdc_stop_position.clone(),
                resource_identifier: i.resource_identifier.clone(),
            })
            .await?;
        {
            let mut meta = lock(&self.inner.meta);
            if let Some(d) = &i.task_data {
                meta.task_data.insert(task.arn.clone(), d.clone());
            }
            meta.task_ready_at.insert(
                task.arn.clone(),
                Instant::now() + self.inner.cfg.transition_delay,
            );
        }
        self.with_tags(&task.arn, tags);
        info!(task = %task.arn, identifier = %task.identifier, "replication task created");
        Ok(json!({ "ReplicationTask": self.task_json(&task, true) }))
    }

    async fn modify_task(&self, i: ModifyTaskIn) -> Result<Value, Fault> {
        let arn = req(&i.replication_task_arn, "ReplicationTaskArn")?.to_owned();
        if let Some(id) = &i.replication_task_identifier {
            check_identifier("ReplicationTaskIdentifier", id)?;
        }
        let cdc_start_time = cdc_start_time(i.cdc_start_time.as_ref(), &i.cdc_start_position)?;
        let task = self
            .inner
            .engine
            .modify_task(ModifyTask {
                arn: arn.clone(),
                identifier: i.replication_task_identifier.clone(),
                migration_type: i
                    .migration_type
                    .as_deref()
                    .map(parse_migration_type)
                    .transpose()?,
                table_mappings: i.table_mappings.clone(),
                settings: i.replication_task_settings.clone(),
                cdc_start_position: i.cdc_start_position.clone(),
                cdc_start_time,
                cdc_stop_position: i.cdc_stop_position.clone(),
            })
            .await?;
        if let Some(d) = &i.task_data {
            lock(&self.inner.meta).task_data.insert(arn, d.clone());
        }
        Ok(json!({ "ReplicationTask": self.task_json(&task, true) }))
    }

    async fn start_task(&self, i: StartTaskIn) -> Result<Value, Fault> {
        let arn = req(&i.replication_task_arn, "ReplicationTaskArn")?.to_owned();
        let kind = req(&i.start_replication_task_type, "StartReplicationTaskType")?;
        let start_type = StartType::parse(kind).ok_or_else(|| {
            Fault::invalid(format!(
                "StartReplicationTaskType {kind:?} is not valid: use start-replication, resume-processing or reload-target"
            ))
        })?;
        let cdc_start_time = cdc_start_time(i.cdc_start_time.as_ref(), &i.cdc_start_position)?;
        let current = self.tasks(&TaskFilter::arn(&arn)).await?;
        let Some(current) = current.first() else {
            return Err(Fault::not_found(format!(
                "Replication task {arn} not found"
            )));
        };
        if current.status == dmsrs_tasks::TaskStatus::Creating {
            return Err(Fault::state(format!(
                "Replication task {arn} is still being created: wait until it is ready"
            )));
        }
        let task = self
            .inner
            .engine
            .start_task(StartTask {
                arn,
                start_type,
                cdc_start_position: i.cdc_start_position.clone(),
                cdc_start_time,
                cdc_stop_position: i.cdc_stop_position.clone(),
            })
            .await?;
        info!(task = %task.arn, start_type = start_type.as_str(), "replication task started");
        Ok(json!({ "ReplicationTask": self.task_json(&task, true) }))
    }

    async fn stop_task(&self, i: TaskArnIn) -> Result<Value, Fault> {
        let arn = req(&i.replication_task_arn, "ReplicationTaskArn")?;
        let task = self.inner.engine.stop_task(arn).await?;
        info!(task = %arn, "replication task stopping");
        Ok(json!({ "ReplicationTask": self.task_json(&task, true) }))
    }

    async fn delete_task(&self, i: TaskArnIn) -> Result<Value, Fault> {
        let arn = req(&i.replication_task_arn, "ReplicationTaskArn")?;
        let task = self.inner.engine.delete_task(arn).await?;
        let json = self.task_json(&task, true);
        let mut meta = lock(&self.inner.meta);
        meta.task_data.remove(arn);
        meta.task_ready_at.remove(arn);
        meta.tags.remove(arn);
        info!(task = %arn, "replication task deleted");
        Ok(json!({ "ReplicationTask": json }))
    }

    async fn describe_tasks(&self, i: DescribeTasksIn) -> Result<Value, Fault> {
        let f = filters(
            &i.filters,
            &[
                "replication-task-arn",
                "replication-task-id",
                "migration-type",
                "endpoint-arn",
                "replication-instance-arn",
            ],
        )?;
        let mut filter = TaskFilter {
            arns: f.get("replication-task-arn").cloned().unwrap_or_default(),
            identifiers: f.get("replication-task-id").cloned().unwrap_or_default(),
            migration_types: Vec::new(),
            endpoint_arns: f.get("endpoint-arn").cloned().unwrap_or_default(),
        };
        for m in f.get("migration-type").into_iter().flatten() {
            filter.migration_types.push(parse_migration_type(m)?);
        }
        let tasks: Vec<ReplicationTask> = self
            .tasks(&filter)
            .await?
            .into_iter()
            .filter(|t| passes(&f, "replication-instance-arn", &t.replication_instance_arn))
            .collect();
        let with_settings = !i.without_settings.unwrap_or(false);
        describe_answer(
            "ReplicationTasks",
            tasks,
            |t| t.arn.clone(),
            |t| self.task_json(t, with_settings),
            Paging {
                max_records: i.max_records,
                marker: i.marker.as_deref(),
                bounds: (20, 100, 100),
            },
            (!f.is_empty()).then_some("No Tasks found matching provided filters"),
        )
    }

    async fn describe_table_statistics(&self, i: TableStatsIn) -> Result<Value, Fault> {
        let arn = req(&i.replication_task_arn, "ReplicationTaskArn")?;
        let f = filters(&i.filters, &["schema-name", "table-name", "table-state"])?;
        let stats: Vec<WireTableStats> = self
            .inner
            .engine
            .describe_table_statistics(arn)
            .await?
            .iter()
            .filter(|s| {
                passes(&f, "schema-name", &s.schema_name)
                    && passes(&f, "table-name", &s.table_name)
                    && passes(&f, "table-state", &s.table_state)
            })
            .map(WireTableStats::from_model)
            .collect();
        let mut out = describe_answer(
            "TableStatistics",
            stats,
            |s| format!("{}\u{1}{}", s.schema_name, s.table_name),
            to_json,
            Paging {
                max_records: i.max_records,
                marker: i.marker.as_deref(),
                bounds: (20, 500, 100),
            },
            None,
        )?;
        if let Some(o) = out.as_object_mut() {
            o.insert("ReplicationTaskArn".into(), Value::String(arn.to_owned()));
        }
        Ok(out)
    }

    async fn reload_tables(&self, i: ReloadIn) -> Result<Value, Fault> {
        let arn = req(&i.replication_task_arn, "ReplicationTaskArn")?;
        let tables = i
            .tables_to_reload
            .as_ref()
            .ok_or_else(|| Fault::missing("TablesToReload"))?;
        let tables = tables
            .iter()
            .map(|t| {
                Ok((
                    req(&t.schema_name, "TablesToReload.SchemaName")?.to_owned(),
                    req(&t.table_name, "TablesToReload.TableName")?.to_owned(),
                ))
            })
            .collect::<Result<Vec<_>, Fault>>()?;
        let option = match i.reload_option.as_deref() {
            None => ReloadOption::DataReload,
            Some(o) => ReloadOption::parse(o).ok_or_else(|| {
                Fault::invalid(format!(
                    "ReloadOption {o:?} is not valid: use data-reload or validate-only"
                ))
            })?,
        };
        self.inner
            .engine
            .reload_tables(arn, &tables, option)
            .await?;
        info!(task = %arn, tables = tables.len(), "tables reloading");
        Ok(json!({ "ReplicationTaskArn": arn }))
    }

    // ---- tags -------------------------------------------------------------------------

    async fn existing(&self, arn: &str) -> Result<(), Fault> {
        if self.resource_exists(arn).await {
            Ok(())
        } else {
            Err(Fault::not_found(format!("resource {arn} not found")))
        }
    }

    async fn add_tags(&self, i: TagsIn) -> Result<Value, Fault> {
        let arn = req(&i.resource_arn, "ResourceArn")?;
        let tags = tags_from_wire(i.tags.as_deref().ok_or_else(|| Fault::missing("Tags"))?)?;
        self.existing(arn).await?;
        let mut meta = lock(&self.inner.meta);
        let list = meta.tags.entry(arn.to_owned()).or_default();
        for t in tags {
            match list.iter_mut().find(|x| x.key == t.key) {
                Some(x) => x.value = t.value,
                None => list.push(t),
            }
        }
        Ok(json!({}))
    }

    async fn list_tags(&self, i: ListTagsIn) -> Result<Value, Fault> {
        let mut arns: Vec<String> = i.resource_arn_list.clone().unwrap_or_default();
        if let Some(a) = &i.resource_arn {
            arns.insert(0, a.clone());
        }
        if arns.iter().any(String::is_empty) {
            return Err(Fault::invalid("ResourceArn must not be empty"));
        }
        if arns.is_empty() {
            return Err(Fault::missing("ResourceArn"));
        }
        let mut out = Vec::new();
        for arn in &arns {
            self.existing(arn).await?;
            let tags: Vec<Tag> = lock(&self.inner.meta)
                .tags
                .get(arn)
                .cloned()
                .unwrap_or_default();
            out.extend(
                tags.iter()
                    .map(|t| json!({"Key": t.key, "Value": t.value, "ResourceArn": arn})),
            );
        }
        Ok(json!({ "TagList": out }))
    }

    async fn remove_tags(&self, i: RemoveTagsIn) -> Result<Value, Fault> {
        let arn = req(&i.resource_arn, "ResourceArn")?;
        let keys = i
            .tag_keys
            .as_ref()
            .ok_or_else(|| Fault::missing("TagKeys"))?;
        self.existing(arn).await?;
        if let Some(list) = lock(&self.inner.meta).tags.get_mut(arn) {
            list.retain(|t| !keys.contains(&t.key));
        }
        Ok(json!({}))
    }

    // ---- endpoint types ---------------------------------------------------------------

    fn describe_endpoint_types(&self, i: DescribeIn) -> Result<Value, Fault> {
        let f = filters(&i.filters, &["engine-name", "endpoint-type"])?;
        let list: Vec<Value> = [
            ("mysql", "source"),
            ("mariadb", "source"),
            ("aurora", "source"),
            ("kinesis", "target"),
        ]
        .iter()
        .filter(|(e, t)| {
            passes(&f, "engine-name", e)
                && f.get("endpoint-type")
                    .is_none_or(|vs| vs.iter().any(|v| v.eq_ignore_ascii_case(t)))
        })
        .map(|(e, t)| {
            json!({
                "EngineName": e,
                "SupportsCDC": true,
                "EndpointType": t,
                "ReplicationInstanceEngineMinimumVersion": "3.4.7",
                "EngineDisplayName": engine_display_name(e),
            })
        })
        .collect();
        describe_answer(
            "SupportedEndpointTypes",
            list,
            |v| format!("{}{}", v["EndpointType"], v["EngineName"]),
            Value::clone,
            i.paging((20, 100, 100)),
            None,
        )
    }
}

// ---- input shapes (members the server reads; others are ignored, as DMS ignores them) ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeIn {
    filters: Option<Vec<WireFilter>>,
    max_records: Option<i64>,
    marker: Option<String>,
}

impl DescribeIn {
    fn paging(&self, bounds: (i64, i64, i64)) -> Paging<'_> {
        Paging {
            max_records: self.max_records,
            marker: self.marker.as_deref(),
            bounds,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeTasksIn {
    filters: Option<Vec<WireFilter>>,
    max_records: Option<i64>,
    marker: Option<String>,
    without_settings: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSubnetGroupIn {
    replication_subnet_group_identifier: Option<String>,
    replication_subnet_group_description: Option<String>,
    subnet_ids: Option<Vec<String>>,
    tags: Option<Vec<WireTag>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteSubnetGroupIn {
    replication_subnet_group_identifier: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateInstanceIn {
    replication_instance_identifier: Option<String>,
    replication_instance_class: Option<String>,
    allocated_storage: Option<i64>,
    vpc_security_group_ids: Option<Vec<String>>,
    availability_zone: Option<String>,
    replication_subnet_group_identifier: Option<String>,
    preferred_maintenance_window: Option<String>,
    #[serde(rename = "MultiAZ")]
    multi_a_z: Option<bool>,
    engine_version: Option<String>,
    auto_minor_version_upgrade: Option<bool>,
    tags: Option<Vec<WireTag>>,
    kms_key_id: Option<String>,
    publicly_accessible: Option<bool>,
    network_type: Option<String>,
    resource_identifier: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArnIn {
    replication_instance_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateEndpointIn {
    endpoint_identifier: Option<String>,
    endpoint_type: Option<String>,
    engine_name: Option<String>,
    username: Option<String>,
    password: Option<String>,
    server_name: Option<String>,
    port: Option<i64>,
    database_name: Option<String>,
    extra_connection_attributes: Option<String>,
    kms_key_id: Option<String>,
    tags: Option<Vec<WireTag>>,
    certificate_arn: Option<String>,
    ssl_mode: Option<String>,
    service_access_role_arn: Option<String>,
    #[serde(rename = "MySQLSettings")]
    mysql_settings: Option<WireMySql>,
    kinesis_settings: Option<WireKinesis>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointArnIn {
    endpoint_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConnectionIn {
    replication_instance_arn: Option<String>,
    endpoint_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTaskIn {
    replication_task_identifier: Option<String>,
    source_endpoint_arn: Option<String>,
    target_endpoint_arn: Option<String>,
    replication_instance_arn: Option<String>,
    migration_type: Option<String>,
    table_mappings: Option<String>,
    replication_task_settings: Option<String>,
    cdc_start_time: Option<WireDate>,
    cdc_start_position: Option<String>,
    cdc_stop_position: Option<String>,
    tags: Option<Vec<WireTag>>,
    task_data: Option<String>,
    resource_identifier: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModifyTaskIn {
    replication_task_arn: Option<String>,
    replication_task_identifier: Option<String>,
    migration_type: Option<String>,
    table_mappings: Option<String>,
    replication_task_settings: Option<String>,
    cdc_start_time: Option<WireDate>,
    cdc_start_position: Option<String>,
    cdc_stop_position: Option<String>,
    task_data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartTaskIn {
    replication_task_arn: Option<String>,
    start_replication_task_type: Option<String>,
    cdc_start_time: Option<WireDate>,
    cdc_start_position: Option<String>,
    cdc_stop_position: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TaskArnIn {
    replication_task_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableStatsIn {
    replication_task_arn: Option<String>,
    max_records: Option<i64>,
    marker: Option<String>,
    filters: Option<Vec<WireFilter>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableToReload {
    schema_name: Option<String>,
    table_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReloadIn {
    replication_task_arn: Option<String>,
    tables_to_reload: Option<Vec<TableToReload>>,
    reload_option: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsIn {
    resource_arn: Option<String>,
    tags: Option<Vec<WireTag>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsIn {
    resource_arn: Option<String>,
    resource_arn_list: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemoveTagsIn {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}
