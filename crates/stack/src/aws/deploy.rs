//! `AwsStack::deploy`: every resource in dependency order, each found and reused when it
//! exists.
//!
//! Slow resources overlap: the RDS instances and the replication instance are created first
//! and waited for together (each takes 5-15 minutes on AWS).

use super::{
    AwsDeployment, AwsStack, DatabaseMode, DeployPhase, DmsMode, ExternalMariaDb, KinesisTargets,
    mariadb_access_secret, password_of, write_json,
};
use crate::embedded::{CDC_DATABASE, FULL_LOAD_DATABASE, resource_id};
use crate::{ResourceEvent, StackError};
use dmsrs_database::{Database, DatabaseId, DatabaseInstance, DatabaseSpec};
use dmsrs_engine::{EmbeddedEngine, EngineConfig, FileCheckpoints};
use dmsrs_network::{Network, NetworkOutputs, NetworkSpec};
use dmsrs_secrets::{SecretSource, SecretStore, SecretString, Tag};
use dmsrs_seed::Outputs;
use dmsrs_streams::{KinesisStream, StreamDescription, StreamError};
use dmsrs_tasks::aws::{ReplicationInstance, ReplicationInstanceSpec};
use dmsrs_tasks::seed::{self, SeedSource};
use dmsrs_tasks::wait::wait_for_status;
use dmsrs_tasks::{
    CreateEndpoint, DmsError, Endpoint, EndpointSettings, EndpointType, ReplicationService,
    TaskStatus,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

type On<'a> = &'a (dyn Fn(ResourceEvent) + Sync);

/// A source database on its way: created (or found), maybe not available yet.
enum Pending {
    /// An RDS instance and its master password; `secret_stored`: its secret was written
    /// in this deploy already.
    Rds {
        id: DatabaseId,
        password: SecretString,
        created: bool,
        secret_stored: bool,
    },
    /// An embedded server, running.
    Embedded(DatabaseInstance),
    /// The external full-load MariaDB.
    External(ExternalMariaDb),
}

/// A source ready for its secret.
struct Ready {
    which: SeedSource,
    name: &'static str,
    /// The secret was written earlier in this deploy (a new RDS instance's password).
    secret_stored: bool,
    secret_name: String,
    value: SecretString,
    /// `host:port` for messages.
    address: String,
}

/// The endpoints' access roles (AWS DMS with IAM).
#[derive(Default)]
struct Roles {
    kinesis: Option<String>,
    cdc_secret: Option<String>,
    full_secret: Option<String>,
}

impl AwsStack {
    /// Deploys (or finds) every resource and returns the deployment. Idempotent: a re-run
    /// reuses what exists and creates what is missing, also after a deploy that failed half
    /// way. Emits one [`ResourceEvent`] per resource.
    pub async fn deploy(&self, on: On<'_>) -> Result<AwsDeployment, StackError> {
        // The state machine is large (many SDK calls in flight): keep it on the heap.
        Box::pin(self.deploy_inner(on)).await
    }

    async fn deploy_inner(&self, on: On<'_>) -> Result<AwsDeployment, StackError> {
        self.prepare_state()?;
        if self.opts.dms == DmsMode::Aws && self.opts.database == DatabaseMode::Embedded {
            tracing::warn!(
                "AWS DMS cannot reach embedded databases on 127.0.0.1 of this machine: its tasks will fail to connect; use --dms embedded or --databases rds"
            );
        }

        // 1. Network and the account-wide DMS role.
        let needs_vpc =
            self.opts.network && (self.opts.database.uses_rds() || self.opts.dms == DmsMode::Aws);
        let net = if needs_vpc {
            Some(self.deploy_network(on).await?)
        } else {
            None
        };
        self.fail_after(DeployPhase::Network)?;
        let iam = self.opts.network && self.opts.dms == DmsMode::Aws;
        if iam {
            on(ResourceEvent::Working {
                kind: "role",
                name: dmsrs_network::iam::DMS_VPC_ROLE_NAME.into(),
            });
            let r = self
                .iam
                .ensure_dms_vpc_role(&self.stack)
                .await
                .map_err(|e| StackError::network(dmsrs_network::iam::DMS_VPC_ROLE_NAME, e))?;
            Self::emit(on, r.created, "role", r.name, r.arn);
        }
        self.fail_after(DeployPhase::Iam)?;

        // 2. Start everything slow: the databases, the stream, the replication instance.
        let (full, cdc) = tokio::try_join!(
            self.start_source(SeedSource::FullLoad, net.as_ref(), on),
            self.start_source(SeedSource::Cdc, net.as_ref(), on)
        )?;
        let stream = self.deploy_stream(on).await?;
        let instance = if self.opts.dms == DmsMode::Aws {
            Some(self.start_replication_instance(net.as_ref(), on).await?)
        } else {
            None
        };

        // 3. Wait for them together.
        let wait_instance = async {
            match &instance {
                Some((ri, existed)) => {
                    let ri = self
                        .dms
                        .wait_replication_instance_available(
                            &ri.arn,
                            self.opts.timeouts.replication_instance,
                            self.opts.timeouts.poll,
                        )
                        .await
                        .map_err(|source| {
                            StackError::dms(
                                &format!("replication instance {}", ri.identifier),
                                source,
                            )
                        })?;
                    Self::emit(
                        on,
                        !existed,
                        "instance",
                        ri.identifier.clone(),
                        format!("{} ({})", ri.arn, ri.class),
                    );
                    Ok::<_, StackError>(Some(ri))
                }
                None => Ok(None),
            }
        };
        let (full, cdc, instance) = tokio::try_join!(
            self.finish_source(SeedSource::FullLoad, full, on),
            self.finish_source(SeedSource::Cdc, cdc, on),
            wait_instance
        )?;
        self.fail_after(DeployPhase::Databases)?;

        // 4. The secrets, with the final addresses.
        let full_secret = self.store_source_secret(&full, on).await?;
        let cdc_secret = self.store_source_secret(&cdc, on).await?;
        self.fail_after(DeployPhase::Secrets)?;
        self.fail_after(DeployPhase::Stream)?;
        self.fail_after(DeployPhase::ReplicationInstance)?;

        let mut outputs = Outputs {
            cdc_task_secret: cdc_secret,
            full_task_secret: full_secret,
            kinesis_stream: stream.arn.clone(),
            ..Default::default()
        };

        // 5. Endpoints and tasks.
        let (service, engine): (Arc<dyn ReplicationService>, Option<EmbeddedEngine>) =
            match &instance {
                Some(ri) => {
                    let roles = if iam {
                        self.deploy_roles(&outputs, on).await?
                    } else {
                        Roles::default()
                    };
                    let eps = self.deploy_aws_endpoints(&outputs, &roles, on).await?;
                    self.fail_after(DeployPhase::Endpoints)?;
                    self.deploy_aws_tasks(&eps, &ri.arn, &mut outputs, on)
                        .await?;
                    (Arc::new(self.dms.clone()), None)
                }
                None => {
                    let engine = self.deploy_embedded_engine(&mut outputs, on).await?;
                    (Arc::new(engine.clone()), Some(engine))
                }
            };
        self.fail_after(DeployPhase::Tasks)?;

        write_json(&self.outputs_path(), &outputs)?;
        Ok(AwsDeployment {
            outputs,
            service,
            engine,
            stream: self.stream(),
            network: net,
            replication_instance: instance,
            secrets: self.secrets.clone(),
            host_rewrites: self.opts.host_rewrites.clone(),
            read_interval: self.opts.read_interval,
        })
    }

    /// Creates the state folder and records how the stack is deployed; refuses to mix with
    /// an embedded stack or another mode under the same name.
    fn prepare_state(&self) -> Result<(), StackError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            StackError::State(format!(
                "cannot create the state folder {}: {e}",
                self.dir.display()
            ))
        })?;
        let wanted = self.record();
        match self.read_record()? {
            Some(r) if r != wanted => Err(StackError::Conflict(format!(
                "stack {} was deployed in {} with --databases {} --dms {}{}; deploy it with the same options, or run `scenario destroy` first",
                self.stack,
                r.region,
                r.database,
                r.dms,
                if r.network { "" } else { " --no-network" }
            ))),
            Some(_) => Ok(()),
            None if self.outputs_path().exists() => Err(StackError::Conflict(format!(
                "stack {} is deployed as the embedded stack in {}: run `scenario destroy` without --aws/--endpoint-url first, or pick another --stack",
                self.stack,
                self.dir.display()
            ))),
            None => write_json(&self.dir.join(super::RECORD_FILE), &wanted),
        }
    }

    async fn deploy_network(&self, on: On<'_>) -> Result<NetworkOutputs, StackError> {
        on(ResourceEvent::Working {
            kind: "vpc",
            name: "dmsSample".into(),
        });
        let before = self
            .network
            .describe(&self.stack)
            .await
            .map_err(|e| StackError::network("network", e))?;
        let spec = NetworkSpec::new(&self.stack).with_db_ports([3306]);
        let out = self
            .network
            .ensure(&spec)
            .await
            .map_err(|e| StackError::network("network", e))?;
        let had = |id: &Option<String>, pick: fn(&NetworkOutputs) -> &Option<String>| {
            before
                .as_ref()
                .is_some_and(|b| pick(b) == id && id.is_some())
        };
        let vpc = out.vpc_id.clone().unwrap_or_default();
        Self::emit(
            on,
            !had(&out.vpc_id, |n| &n.vpc_id),
            "vpc",
            "dmsSample",
            format!("{vpc} (10.0.0.0/16)"),
        );
        let subnets: Vec<&String> = out
            .public_subnet_ids
            .iter()
            .chain(&out.isolated_subnet_ids)
            .collect();
        let old_subnets = before
            .as_ref()
            .map(|b| b.public_subnet_ids.len() + b.isolated_subnet_ids.len())
            .unwrap_or(0);
        Self::emit(
            on,
            old_subnets < subnets.len(),
            "subnets",
            "2 public, 2 isolated",
            subnets
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
        Self::emit(
            on,
            !had(&out.internet_gateway_id, |n| &n.internet_gateway_id),
            "gateway",
            "internet gateway",
            out.internet_gateway_id.clone().unwrap_or_default(),
        );
        Self::emit(
            on,
            !had(&out.security_group_id, |n| &n.security_group_id),
            "sg",
            "Security group for DMS sample",
            format!(
                "{} (tcp 3306 from 0.0.0.0/0)",
                out.security_group_id.clone().unwrap_or_default()
            ),
        );
        Ok(out)
    }

    /// Creates or finds one source. A new RDS instance's generated password is stored in its
    /// secret at once: RDS returns it only now.
    async fn start_source(
        &self,
        which: SeedSource,
        net: Option<&NetworkOutputs>,
        on: On<'_>,
    ) -> Result<Pending, StackError> {
        let (name, secret_name) = match which {
            SeedSource::Cdc => (CDC_DATABASE, self.cdc_secret_name()),
            SeedSource::FullLoad => (
                FULL_LOAD_DATABASE,
                self.full_secret_name(&self.opts.database),
            ),
        };
        match (&self.opts.database, which) {
            (DatabaseMode::Embedded, _) => {
                on(ResourceEvent::Working {
                    kind: "database",
                    name: name.into(),
                });
                let dbs = self.embedded_databases();
                let spec = DatabaseSpec::new(&self.stack, name);
                let inst = dbs
                    .ensure(&spec)
                    .await
                    .map_err(|source| StackError::database(name, source))?;
                let ready = dbs
                    .wait_available(&spec.id, Duration::from_secs(60))
                    .await
                    .map_err(|source| StackError::database(name, source))?;
                Ok(Pending::Embedded(DatabaseInstance {
                    created: inst.created,
                    ..ready
                }))
            }
            (DatabaseMode::External(ext), SeedSource::FullLoad)
            | (DatabaseMode::Existing { full_load: ext, .. }, SeedSource::FullLoad)
            | (DatabaseMode::Existing { cdc: ext, .. }, SeedSource::Cdc) => {
                Ok(Pending::External(ext.clone()))
            }
            _ => {
                on(ResourceEvent::Working {
                    kind: "database",
                    name: name.into(),
                });
                let mut spec = DatabaseSpec::new(&self.stack, name)
                    .with_engine_version(&self.opts.rds_engine_version);
                spec.instance_class
                    .clone_from(&self.opts.rds_instance_class);
                if let Some(net) = net {
                    spec = spec
                        .with_network(net.public_subnet_ids.clone(), net.security_group_id.clone());
                }
                let inst = self
                    .rds
                    .ensure(&spec)
                    .await
                    .map_err(|source| StackError::database(name, source))?;
                if inst.created {
                    let password = inst.password.clone().ok_or_else(|| {
                        StackError::State(format!(
                            "RDS created {} without returning its password",
                            inst.identifier
                        ))
                    })?;
                    let value = self.rds_secret_value(&inst, &password);
                    let (_, new) = self.put_secret(&secret_name, &value, which).await?;
                    return Ok(Pending::Rds {
                        id: spec.id,
                        password,
                        created: true,
                        secret_stored: new,
                    });
                }
                let existing = match self.secrets.secret_string(&secret_name).await {
                    Ok(v) => password_of(&v),
                    Err(e) if e.is_not_found() => None,
                    Err(source) => return Err(StackError::secret(&secret_name, source)),
                };
                let mut secret_stored = false;
                let password = match existing {
                    Some(p) => p,
                    None => {
                        tracing::warn!(
                            instance = inst.identifier,
                            secret = secret_name,
                            "the instance's password is not in its secret: resetting the master password"
                        );
                        let p = self
                            .rds
                            .reset_master_password(&spec.id)
                            .await
                            .map_err(|source| StackError::database(name, source))?;
                        secret_stored = self
                            .put_secret(&secret_name, &self.rds_secret_value(&inst, &p), which)
                            .await?
                            .1;
                        p
                    }
                };
                Ok(Pending::Rds {
                    id: spec.id,
                    password,
                    created: false,
                    secret_stored,
                })
            }
        }
    }

    /// Waits until a source is available and builds its secret's value.
    async fn finish_source(
        &self,
        which: SeedSource,
        pending: Pending,
        on: On<'_>,
    ) -> Result<Ready, StackError> {
        let (name, secret_name) = match which {
            SeedSource::Cdc => (CDC_DATABASE, self.cdc_secret_name()),
            SeedSource::FullLoad => (
                FULL_LOAD_DATABASE,
                self.full_secret_name(&self.opts.database),
            ),
        };
        let (inst, created, secret_stored) = match pending {
            Pending::External(ext) => {
                let existing = matches!(self.opts.database, DatabaseMode::Existing { .. });
                let (value, address) = if ext.host.is_empty() {
                    // Not described this time: keep what an earlier deploy stored.
                    let value = match self.secrets.secret_string(&secret_name).await {
                        Ok(v) => v,
                        Err(e) if e.is_not_found() => {
                            return Err(StackError::State(format!(
                                "secret {secret_name} does not exist yet: describe the {} MariaDB with {}",
                                if which == SeedSource::Cdc {
                                    "CDC"
                                } else {
                                    "full-load"
                                },
                                if which == SeedSource::Cdc {
                                    "--cdc-mariadb HOST:PORT and DMSRS_CDC_PASSWORD"
                                } else {
                                    "--external-mariadb HOST:PORT and DMSRS_EXTERNAL_PASSWORD"
                                }
                            )));
                        }
                        Err(source) => return Err(StackError::secret(&secret_name, source)),
                    };
                    let known = super::SourceEndpoint::from_secret(&secret_name, &value, &[])?;
                    (value, format!("{}:{}", known.host, known.port))
                } else {
                    let value = if which == SeedSource::Cdc {
                        SecretString::new(dmsrs_secrets::dms_secret_json(
                            &ext.host,
                            ext.port,
                            &ext.username,
                            &ext.password,
                            &ext.dbname,
                        ))
                    } else {
                        mariadb_access_secret(
                            &ext.host,
                            ext.port,
                            &ext.username,
                            &ext.password,
                            &ext.dbname,
                        )
                    };
                    (value, format!("{}:{}", ext.host, ext.port))
                };
                let shown = if existing { name } else { "external" };
                Self::emit(
                    on,
                    false,
                    "database",
                    shown,
                    format!("{address} (given; DMS reaches it there)"),
                );
                return Ok(Ready {
                    which,
                    name: shown,
                    secret_stored: false,
                    secret_name,
                    value,
                    address,
                });
            }
            Pending::Embedded(inst) => {
                let created = inst.created;
                (inst, created, false)
            }
            Pending::Rds {
                id,
                password,
                created,
                secret_stored,
            } => {
                let inst = self
                    .rds
                    .wait_available(&id, self.opts.timeouts.database)
                    .await
                    .map_err(|source| StackError::database(name, source))?;
                (
                    DatabaseInstance {
                        password: Some(password),
                        ..inst
                    },
                    created,
                    secret_stored,
                )
            }
        };
        let address = format!("{}:{}", inst.host, inst.port);
        Self::emit(
            on,
            created,
            "database",
            name,
            format!("{address} (MariaDB {})", inst.engine_version),
        );
        let password = inst.password.clone().ok_or_else(|| {
            StackError::State(format!(
                "the password of database {} is unknown: run `scenario destroy` and deploy again",
                inst.identifier
            ))
        })?;
        let value = match (which, &self.opts.database) {
            // The seed's LocalStack mode keeps its hand-made secret shape for the full-load source.
            (SeedSource::FullLoad, DatabaseMode::Embedded) => mariadb_access_secret(
                &inst.host,
                inst.port,
                &inst.master_username,
                &password,
                &inst.db_name,
            ),
            _ => self.rds_secret_value(&inst, &password),
        };
        Ok(Ready {
            which,
            name,
            secret_stored,
            secret_name,
            value,
            address,
        })
    }

    fn rds_secret_value(&self, inst: &DatabaseInstance, password: &SecretString) -> SecretString {
        SecretString::new(dmsrs_secrets::dms_secret_json(
            &inst.host,
            inst.port,
            &inst.master_username,
            password,
            &inst.db_name,
        ))
    }

    /// Stores (or updates) a source secret; returns its ARN and whether it is new.
    async fn put_secret(
        &self,
        name: &str,
        value: &SecretString,
        which: SeedSource,
    ) -> Result<(String, bool), StackError> {
        let existed = match self.secrets.describe(name).await {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(source) => return Err(StackError::secret(name, source)),
        };
        let description = match which {
            SeedSource::Cdc => format!("Generated by dmsrs for stack: {}", self.stack),
            SeedSource::FullLoad => {
                format!("Access to the full-load MariaDB of stack {}", self.stack)
            }
        };
        let r = self
            .secrets
            .create(name, value, Some(&description), &[Tag::stack(&self.stack)])
            .await
            .map_err(|source| StackError::secret(name, source))?;
        Ok((r.arn, !existed))
    }

    async fn store_source_secret(&self, ready: &Ready, on: On<'_>) -> Result<String, StackError> {
        on(ResourceEvent::Working {
            kind: "secret",
            name: ready.secret_name.clone(),
        });
        let (arn, created) = self
            .put_secret(&ready.secret_name, &ready.value, ready.which)
            .await?;
        Self::emit(
            on,
            created || ready.secret_stored,
            "secret",
            ready.secret_name.clone(),
            format!("{arn} ({} at {})", ready.name, ready.address),
        );
        Ok(arn)
    }

    async fn deploy_stream(&self, on: On<'_>) -> Result<StreamDescription, StackError> {
        let name = self.stream_name();
        let ks: KinesisStream = self.stream();
        let err = |e| StackError::stream(&name, e);
        on(ResourceEvent::Working {
            kind: "stream",
            name: name.clone(),
        });
        let exists = ks.exists().await.map_err(err)?;
        let t = self.opts.timeouts.stream;
        let desc = if exists {
            ks.wait_active(t).await
        } else {
            match ks.create_stream(1, t).await {
                Ok(d) => {
                    // Tags are a convenience (the stream is found by name): not every emulator has them.
                    let tagged = ks
                        .client()
                        .add_tags_to_stream()
                        .stream_name(&name)
                        .tags(dmsrs_secrets::STACK_TAG_KEY, &self.stack)
                        .send()
                        .await;
                    if let Err(e) = tagged {
                        tracing::warn!(
                            stream = name,
                            "could not tag the stream: {}",
                            super::error_chain(&e)
                        );
                    }
                    Ok(d)
                }
                Err(StreamError::ResourceInUse { .. }) => ks.wait_active(t).await,
                Err(e) => Err(e),
            }
        }
        .map_err(err)?;
        if desc.open_shard_count != 1 || desc.retention_hours != 24 {
            tracing::warn!(
                stream = name,
                shards = desc.open_shard_count,
                retention_hours = desc.retention_hours,
                "the stream differs from the seed's (1 shard, 24 h retention)"
            );
        }
        Self::emit(
            on,
            !exists,
            "stream",
            name.clone(),
            format!(
                "{} ({} shard, {} h retention)",
                desc.arn, desc.open_shard_count, desc.retention_hours
            ),
        );
        Ok(desc)
    }

    /// The replication subnet group (public subnets) and the instance, created and not waited
    /// for. Returns the instance and whether it existed.
    async fn start_replication_instance(
        &self,
        net: Option<&NetworkOutputs>,
        on: On<'_>,
    ) -> Result<(ReplicationInstance, bool), StackError> {
        let dms_err = |what: String| move |source| StackError::dms(&what, source);
        let (group, groups, az) = match net {
            Some(net) => {
                let id = self.subnet_group_id();
                on(ResourceEvent::Working {
                    kind: "subnets",
                    name: id.clone(),
                });
                let existed = self
                    .dms
                    .find_subnet_group(&id)
                    .await
                    .map_err(dms_err(format!("subnet group {id}")))?;
                let g = self
                    .dms
                    .ensure_subnet_group(
                        &id,
                        seed::SUBNET_GROUP_DESCRIPTION,
                        &net.public_subnet_ids,
                    )
                    .await
                    .map_err(dms_err(format!("subnet group {id}")))?;
                Self::emit(
                    on,
                    existed.is_none(),
                    "subnets",
                    g.identifier.clone(),
                    format!("DMS: {}", g.subnet_ids.join(", ")),
                );
                (
                    Some(g.identifier),
                    net.security_group_id.iter().cloned().collect(),
                    net.availability_zones.first().cloned(),
                )
            }
            None => (None, Vec::new(), None),
        };
        let id = self.replication_instance_id();
        let mut spec =
            ReplicationInstanceSpec::seed(&id, group.clone().unwrap_or_default(), groups, az);
        spec.subnet_group_identifier = group;
        on(ResourceEvent::Working {
            kind: "instance",
            name: id.clone(),
        });
        let existed = self
            .dms
            .find_replication_instance(&id)
            .await
            .map_err(dms_err(format!("replication instance {id}")))?
            .is_some();
        let ri = self
            .dms
            .ensure_replication_instance(&spec)
            .await
            .map_err(dms_err(format!("replication instance {id}")))?;
        Ok((ri, existed))
    }

    async fn deploy_roles(&self, outputs: &Outputs, on: On<'_>) -> Result<Roles, StackError> {
        let net_err = |what: String| move |e| StackError::network(&what, e);
        let name = dmsrs_network::iam::kinesis_access_role_name(&self.stack);
        on(ResourceEvent::Working {
            kind: "role",
            name: name.clone(),
        });
        let k = self
            .iam
            .ensure_kinesis_access_role(&self.stack, &outputs.kinesis_stream)
            .await
            .map_err(net_err(format!("role {name}")))?;
        Self::emit(on, k.created, "role", k.name, k.arn.clone());
        let mut arns = Vec::new();
        for (endpoint, secret) in [
            ("cdc-endpoint", &outputs.cdc_task_secret),
            ("full-endpoint", &outputs.full_task_secret),
        ] {
            on(ResourceEvent::Working {
                kind: "role",
                name: format!("{endpoint}-secret-access-role"),
            });
            let r = self
                .iam
                .ensure_secret_access_role(&self.stack, endpoint, &self.region, secret)
                .await
                .map_err(net_err(format!("the secret access role of {endpoint}")))?;
            Self::emit(on, r.created, "role", r.name, r.arn.clone());
            arns.push(r.arn);
        }
        let full = arns.pop();
        let cdc = arns.pop();
        Ok(Roles {
            kinesis: Some(k.arn),
            cdc_secret: cdc,
            full_secret: full,
        })
    }

    /// The three endpoints: `[cdc-endpoint, full-endpoint, target]`.
    async fn deploy_aws_endpoints(
        &self,
        outputs: &Outputs,
        roles: &Roles,
        on: On<'_>,
    ) -> Result<[Endpoint; 3], StackError> {
        let wanted = seed_endpoints(outputs, roles);
        let mut out = Vec::with_capacity(3);
        for input in wanted {
            out.push(self.ensure_aws_endpoint(input, on).await?);
        }
        out.try_into()
            .map_err(|_| StackError::State("expected three endpoints".into()))
    }

    async fn ensure_aws_endpoint(
        &self,
        input: CreateEndpoint,
        on: On<'_>,
    ) -> Result<Endpoint, StackError> {
        let id = input.identifier.clone();
        let what = format!("endpoint {id}");
        on(ResourceEvent::Working {
            kind: "endpoint",
            name: id.clone(),
        });
        if let Some(existing) = self
            .dms
            .find_endpoint(&id)
            .await
            .map_err(|source| StackError::dms(&what, source))?
        {
            if let Some(why) = endpoint_mismatch(&existing, &input) {
                // E.g. a secret deleted by hand and made again (new ARN): DMS endpoints are
                // not changed in place, so that the tasks using them stay as they are.
                return Err(StackError::Conflict(format!(
                    "DMS endpoint {id} exists but {why} (was a secret or the stream deleted and made again?): run `scenario destroy` and deploy again"
                )));
            }
            Self::emit(on, false, "endpoint", id, existing.arn.clone());
            return Ok(existing);
        }
        // A role created moments ago may not be usable by DMS yet: retry while IAM propagates.
        let deadline = Instant::now() + self.opts.timeouts.iam_propagation;
        loop {
            match self.dms.create_endpoint(input.clone()).await {
                Ok(e) => {
                    Self::emit(on, true, "endpoint", id, e.arn.clone());
                    return Ok(e);
                }
                Err(e) if role_not_ready(&e) && Instant::now() < deadline => {
                    tracing::info!(endpoint = id, "waiting for the IAM role to propagate: {e}");
                    tokio::time::sleep(self.opts.timeouts.poll.max(Duration::from_millis(100)))
                        .await;
                }
                Err(source) => return Err(StackError::dms(&what, source)),
            }
        }
    }

    async fn deploy_aws_tasks(
        &self,
        eps: &[Endpoint; 3],
        instance_arn: &str,
        outputs: &mut Outputs,
        on: On<'_>,
    ) -> Result<(), StackError> {
        let [cdc_ep, full_ep, target] = eps;
        let mut waiting = Vec::new();
        for t in seed::tasks() {
            let src = match t.source {
                SeedSource::Cdc => &cdc_ep.arn,
                SeedSource::FullLoad => &full_ep.arn,
            };
            let input = t.create_input(seed::SCHEMA, src.clone(), target.arn.clone(), instance_arn);
            let what = format!("task {}", t.identifier);
            on(ResourceEvent::Working {
                kind: "task",
                name: t.identifier.into(),
            });
            let task = match self
                .dms
                .find_task(t.identifier)
                .await
                .map_err(|source| StackError::dms(&what, source))?
            {
                Some(existing) => {
                    let same = existing.source_endpoint_arn == input.source_endpoint_arn
                        && existing.target_endpoint_arn == input.target_endpoint_arn
                        && existing.replication_instance_arn == input.replication_instance_arn
                        && existing.migration_type == input.migration_type;
                    if !same {
                        return Err(StackError::Conflict(format!(
                            "DMS task {} exists with other endpoints, instance or migration type: run `scenario destroy` (or delete the task) and deploy again",
                            t.identifier
                        )));
                    }
                    Self::emit(
                        on,
                        false,
                        "task",
                        t.identifier,
                        format!("{} ({})", existing.arn, existing.status),
                    );
                    existing
                }
                None => {
                    let task = self
                        .dms
                        .create_task(input)
                        .await
                        .map_err(|source| StackError::dms(&what, source))?;
                    Self::emit(
                        on,
                        true,
                        "task",
                        t.identifier,
                        format!("{} ({})", task.arn, task.status),
                    );
                    task
                }
            };
            if task.status == TaskStatus::Creating {
                waiting.push(task.arn.clone());
            }
            set_output(outputs, t.output_key, task.arn);
        }
        if let Some(timeout) = self.opts.timeouts.task_ready {
            for arn in waiting {
                on(ResourceEvent::Working {
                    kind: "task",
                    name: format!("{arn} (waiting for ready)"),
                });
                wait_for_status(
                    &self.dms,
                    &arn,
                    TaskStatus::Ready,
                    timeout,
                    self.opts.timeouts.poll,
                )
                .await
                .map_err(|source| StackError::dms(&format!("task {arn}"), source))?;
            }
        }
        Ok(())
    }

    /// The embedded engine with the seed's endpoints and tasks, reading the secrets from
    /// Secrets Manager and writing to the Kinesis stream.
    async fn deploy_embedded_engine(
        &self,
        outputs: &mut Outputs,
        on: On<'_>,
    ) -> Result<EmbeddedEngine, StackError> {
        let checkpoints = FileCheckpoints::new(self.dir.join("checkpoints"))
            .map_err(|e| StackError::State(format!("checkpoints: {e}")))?;
        let cfg = EngineConfig {
            region: self.region.clone(),
            host_rewrites: self.opts.host_rewrites.clone(),
            ..EngineConfig::default()
        };
        let engine = EmbeddedEngine::with_checkpoints(
            cfg.clone(),
            Arc::new(self.secrets.clone()),
            Arc::new(KinesisTargets::new(&self.kinesis_sdk)),
            Arc::new(checkpoints),
        );
        let mut arns = Vec::new();
        for input in seed_endpoints(outputs, &Roles::default()) {
            let id = input.identifier.clone();
            let e = engine
                .create_endpoint(input)
                .await
                .map_err(|source| StackError::dms(&format!("endpoint {id}"), source))?;
            Self::emit(
                on,
                true,
                "endpoint",
                id,
                format!("{} (embedded engine)", e.arn),
            );
            arns.push(e.arn);
        }
        let instance_arn = format!("arn:aws:dms:{}:{}:rep:EMBEDDED", cfg.region, cfg.account);
        for t in seed::tasks() {
            let src = match t.source {
                SeedSource::Cdc => &arns[0],
                SeedSource::FullLoad => &arns[1],
            };
            let mut input = t.create_input(
                seed::SCHEMA,
                src.clone(),
                arns[2].clone(),
                instance_arn.clone(),
            );
            input.resource_identifier = Some(resource_id(&self.stack, t.identifier));
            let task = engine
                .create_task(input)
                .await
                .map_err(|source| StackError::dms(&format!("task {}", t.identifier), source))?;
            Self::emit(
                on,
                true,
                "task",
                t.identifier,
                format!("{} (embedded engine)", task.arn),
            );
            set_output(outputs, t.output_key, task.arn);
        }
        Ok(engine)
    }
}

/// The seed's endpoints `[cdc-endpoint, full-endpoint, target]`.
fn seed_endpoints(outputs: &Outputs, roles: &Roles) -> [CreateEndpoint; 3] {
    let source = |id: &str, secret: &str, role: &Option<String>| CreateEndpoint {
        identifier: id.into(),
        endpoint_type: EndpointType::Source,
        engine_name: seed::SOURCE_ENGINE.into(),
        settings: EndpointSettings::MySql(seed::source_settings(secret, role.as_deref())),
    };
    [
        source("cdc-endpoint", &outputs.cdc_task_secret, &roles.cdc_secret),
        source(
            "full-endpoint",
            &outputs.full_task_secret,
            &roles.full_secret,
        ),
        CreateEndpoint {
            identifier: "target".into(),
            endpoint_type: EndpointType::Target,
            engine_name: seed::TARGET_ENGINE.into(),
            settings: EndpointSettings::Kinesis(seed::kinesis_settings(
                &outputs.kinesis_stream,
                roles.kinesis.as_deref(),
            )),
        },
    ]
}

fn set_output(outputs: &mut Outputs, key: &str, arn: String) {
    match key {
        "cdcTask1" => outputs.cdc_task1 = arn,
        "cdcTask2" => outputs.cdc_task2 = arn,
        "fullTask1" => outputs.full_task1 = arn,
        _ => outputs.full_task2 = arn,
    }
}

/// Why an existing endpoint cannot stand for `wanted`, if it cannot. Fields the service does
/// not report back are not compared.
fn endpoint_mismatch(existing: &Endpoint, wanted: &CreateEndpoint) -> Option<String> {
    if existing.endpoint_type != wanted.endpoint_type || existing.engine_name != wanted.engine_name
    {
        return Some(format!(
            "is a {} {} endpoint, not {} {}",
            existing.engine_name,
            existing.endpoint_type.as_str(),
            wanted.engine_name,
            wanted.endpoint_type.as_str()
        ));
    }
    let differs =
        |have: Option<&str>, want: Option<&str>| have.is_some() && want.is_some() && have != want;
    match (&existing.settings, &wanted.settings) {
        (EndpointSettings::MySql(a), EndpointSettings::MySql(b)) => {
            if differs(
                a.secrets_manager_secret_id.as_deref(),
                b.secrets_manager_secret_id.as_deref(),
            ) {
                return Some(format!(
                    "reads secret {} instead of {}",
                    a.secrets_manager_secret_id.as_deref().unwrap_or(""),
                    b.secrets_manager_secret_id.as_deref().unwrap_or("")
                ));
            }
            if differs(
                a.secrets_manager_access_role_arn.as_deref(),
                b.secrets_manager_access_role_arn.as_deref(),
            ) {
                return Some("uses another secret access role".into());
            }
            None
        }
        (EndpointSettings::Kinesis(a), EndpointSettings::Kinesis(b)) => {
            if differs(
                Some(a.stream_arn.as_str()).filter(|s| !s.is_empty()),
                Some(b.stream_arn.as_str()),
            ) {
                return Some(format!(
                    "writes to {} instead of {}",
                    a.stream_arn, b.stream_arn
                ));
            }
            if differs(
                a.service_access_role_arn.as_deref(),
                b.service_access_role_arn.as_deref(),
            ) {
                return Some("uses another Kinesis access role".into());
            }
            None
        }
        _ => Some("has settings of another engine".into()),
    }
}

/// True for the errors DMS gives while a just-created IAM role is not usable yet.
fn role_not_ready(e: &DmsError) -> bool {
    match e {
        DmsError::AccessDenied(_) => true,
        DmsError::InvalidParameterValue(m) => {
            let m = m.to_ascii_lowercase();
            m.contains("role") || m.contains("assume")
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn outputs() -> Outputs {
        Outputs {
            cdc_task_secret: "arn:aws:secretsmanager:us-east-1:1:secret:cdc".into(),
            full_task_secret: "arn:aws:secretsmanager:us-east-1:1:secret:full".into(),
            kinesis_stream: "arn:aws:kinesis:us-east-1:1:stream/s".into(),
            ..Default::default()
        }
    }

    fn as_endpoint(c: &CreateEndpoint) -> Endpoint {
        Endpoint {
            arn: format!("arn:aws:dms:us-east-1:1:endpoint:{}", c.identifier),
            identifier: c.identifier.clone(),
            endpoint_type: c.endpoint_type,
            engine_name: c.engine_name.clone(),
            status: "active".into(),
            settings: c.settings.clone(),
        }
    }

    #[test]
    fn seed_endpoints_have_the_seed_settings() {
        let roles = Roles {
            kinesis: Some("arn:k".into()),
            cdc_secret: Some("arn:c".into()),
            full_secret: Some("arn:f".into()),
        };
        let [cdc, full, target] = seed_endpoints(&outputs(), &roles);
        assert_eq!(
            (cdc.identifier.as_str(), cdc.engine_name.as_str()),
            ("cdc-endpoint", "mariadb")
        );
        assert_eq!(
            cdc.settings,
            EndpointSettings::MySql(seed::source_settings(
                "arn:aws:secretsmanager:us-east-1:1:secret:cdc",
                Some("arn:c")
            ))
        );
        assert_eq!(
            full.settings,
            EndpointSettings::MySql(seed::source_settings(
                "arn:aws:secretsmanager:us-east-1:1:secret:full",
                Some("arn:f")
            ))
        );
        assert_eq!(
            target.settings,
            EndpointSettings::Kinesis(seed::kinesis_settings(
                "arn:aws:kinesis:us-east-1:1:stream/s",
                Some("arn:k")
            ))
        );
        assert_eq!(target.endpoint_type, EndpointType::Target);
    }

    #[test]
    fn endpoint_mismatches() {
        let [cdc, full, target] = seed_endpoints(&outputs(), &Roles::default());
        assert_eq!(endpoint_mismatch(&as_endpoint(&cdc), &cdc), None);
        assert_eq!(endpoint_mismatch(&as_endpoint(&target), &target), None);
        let e = endpoint_mismatch(&as_endpoint(&full), &cdc).unwrap();
        assert!(e.contains("reads secret"), "{e}");
        assert!(
            endpoint_mismatch(&as_endpoint(&target), &cdc)
                .unwrap()
                .contains("kinesis target")
        );
        // A service that does not echo the secret id is not contradicted.
        let mut quiet = as_endpoint(&cdc);
        quiet.settings = EndpointSettings::MySql(Default::default());
        assert_eq!(endpoint_mismatch(&quiet, &cdc), None);
    }

    #[test]
    fn role_propagation_errors() {
        assert!(role_not_ready(&DmsError::AccessDenied("x".into())));
        assert!(role_not_ready(&DmsError::InvalidParameterValue(
            "The IAM Role arn:... is not configured properly".into()
        )));
        assert!(!role_not_ready(&DmsError::InvalidParameterValue(
            "bad engine".into()
        )));
        assert!(!role_not_ready(&DmsError::ResourceNotFound("x".into())));
    }
}
