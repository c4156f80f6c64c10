//! `AwsStack::destroy`: everything `deploy` made, in reverse dependency order.

use super::{AwsStack, DatabaseMode, DmsMode, RECORD_FILE};
use crate::embedded::{CDC_DATABASE, FULL_LOAD_DATABASE};
use crate::{ResourceEvent, StackError};
use dmsrs_database::{Database, DatabaseId};
use dmsrs_network::Network;
use dmsrs_network::iam::RoleDeletion;
use dmsrs_secrets::SecretStore;
use dmsrs_streams::StreamError;
use dmsrs_tasks::seed;
use dmsrs_tasks::wait::wait_for_status;
use dmsrs_tasks::{DmsError, ReplicationService, Result as DmsResult, TaskStatus};
use std::future::Future;
use std::time::Instant;

type On<'a> = &'a (dyn Fn(ResourceEvent) + Sync);

/// What a stack has, as recorded at deploy time (or as the options say when nothing was
/// recorded).
struct Parts {
    database: String,
    dms: String,
    network: bool,
}

impl AwsStack {
    /// Removes everything `deploy` made, in reverse order: the DMS tasks (stopped first),
    /// endpoints, replication instance and subnet group; the IAM roles; the stream; the
    /// secrets; the databases; the network; the local state. Resources already gone are
    /// skipped, so this also cleans up after a deploy that failed half way, and a second call
    /// does nothing. DMS resources tagged with another stack are left alone.
    ///
    /// What to look for comes from `<state>/<stack>/aws-stack.json` (the modes the stack was
    /// deployed with), or from the options when that file is missing.
    pub async fn destroy(&self, on: On<'_>) -> Result<(), StackError> {
        Box::pin(self.destroy_inner(on)).await
    }

    async fn destroy_inner(&self, on: On<'_>) -> Result<(), StackError> {
        let parts = match self.read_record()? {
            Some(r) => Parts {
                database: r.database,
                dms: r.dms,
                network: r.network,
            },
            None => Parts {
                database: self.opts.database.as_str().into(),
                dms: self.opts.dms.as_str().into(),
                network: self.opts.network,
            },
        };
        let dms_aws = parts.dms == DmsMode::Aws.as_str();
        let embedded_dbs = parts.database == DatabaseMode::Embedded.as_str();
        if dms_aws {
            self.destroy_dms(on).await?;
        }
        if parts.network && dms_aws {
            on(ResourceEvent::Working {
                kind: "role",
                name: format!("/dmsrs/{}/*", self.stack),
            });
            let deleted = self
                .iam
                .delete_stack_roles(&self.stack)
                .await
                .map_err(|e| StackError::network("IAM roles", e))?;
            for name in deleted {
                on(ResourceEvent::Deleted { kind: "role", name });
            }
        }
        self.destroy_stream(on).await?;
        for name in [
            self.cdc_secret_name(),
            self.full_secret_name(&DatabaseMode::Rds),
            self.full_secret_name(&DatabaseMode::Embedded),
        ] {
            on(ResourceEvent::Working {
                kind: "secret",
                name: name.clone(),
            });
            match self.secrets.delete(&name).await {
                Ok(_) => on(ResourceEvent::Deleted {
                    kind: "secret",
                    name,
                }),
                Err(e) if e.is_not_found() => {}
                Err(source) => return Err(StackError::secret(&name, source)),
            }
        }
        // Existing databases are the user's: never deleted.
        if parts.database != "existing" {
            self.destroy_databases(&parts.database, embedded_dbs, on)
                .await?;
        }
        if parts.network && dms_aws {
            let name = dmsrs_network::iam::DMS_VPC_ROLE_NAME;
            on(ResourceEvent::Working {
                kind: "role",
                name: name.into(),
            });
            match self
                .iam
                .delete_dms_vpc_role(&self.stack)
                .await
                .map_err(|e| StackError::network(name, e))?
            {
                RoleDeletion::Deleted => on(ResourceEvent::Deleted {
                    kind: "role",
                    name: name.into(),
                }),
                RoleDeletion::KeptNotOwned => {
                    tracing::info!("{name} was not created by stack {}: kept", self.stack)
                }
                RoleDeletion::AlreadyGone => {}
            }
        }
        if parts.network && (!embedded_dbs || dms_aws) {
            on(ResourceEvent::Working {
                kind: "vpc",
                name: "dmsSample".into(),
            });
            let report = self
                .network
                .destroy(&self.stack)
                .await
                .map_err(|e| StackError::network("network", e))?;
            for d in report.deleted {
                on(ResourceEvent::Deleted {
                    kind: short_kind(&d.kind),
                    name: d.id,
                });
            }
        }
        self.remove_state()
    }

    async fn destroy_dms(&self, on: On<'_>) -> Result<(), StackError> {
        let t = self.opts.timeouts;
        let err = |what: String| move |source| StackError::dms(&what, source);

        // Tasks: stop the running ones, delete, wait until gone.
        let mut deleting = Vec::new();
        for task in seed::tasks() {
            let what = format!("task {}", task.identifier);
            let Some(found) = self
                .dms
                .find_task(task.identifier)
                .await
                .map_err(err(what.clone()))?
            else {
                continue;
            };
            if !self.owned(&found.arn).await {
                continue;
            }
            on(ResourceEvent::Working {
                kind: "task",
                name: task.identifier.into(),
            });
            if matches!(found.status, TaskStatus::Running | TaskStatus::Starting) {
                match self.dms.stop_task(&found.arn).await {
                    Ok(_) | Err(DmsError::InvalidResourceState(_)) => {}
                    Err(source) => return Err(StackError::dms(&what, source)),
                }
            }
            if matches!(
                found.status,
                TaskStatus::Running | TaskStatus::Starting | TaskStatus::Stopping
            ) {
                wait_for_status(&self.dms, &found.arn, TaskStatus::Stopped, t.delete, t.poll)
                    .await
                    .map_err(err(what.clone()))?;
            }
            let deleted = self
                .retry_in_use(|| async { self.dms.delete_task(&found.arn).await.map(|_| true) })
                .await
                .map_err(err(what.clone()))?;
            if deleted {
                deleting.push((task.identifier, found.arn));
            }
        }
        for (identifier, arn) in deleting {
            self.wait_gone(|| async { self.dms.find_task(identifier).await.map(|t| t.is_some()) })
                .await
                .map_err(err(format!("task {arn}")))?;
            on(ResourceEvent::Deleted {
                kind: "task",
                name: identifier.into(),
            });
        }

        // Endpoints.
        for id in ["cdc-endpoint", "full-endpoint", "target"] {
            let what = format!("endpoint {id}");
            let Some(e) = self
                .dms
                .find_endpoint(id)
                .await
                .map_err(err(what.clone()))?
            else {
                continue;
            };
            if !self.owned(&e.arn).await {
                continue;
            }
            on(ResourceEvent::Working {
                kind: "endpoint",
                name: id.into(),
            });
            let deleted = self
                .retry_in_use(|| async { self.dms.delete_endpoint(&e.arn).await.map(|_| true) })
                .await
                .map_err(err(what.clone()))?;
            if deleted {
                self.wait_gone(|| async { self.dms.find_endpoint(id).await.map(|e| e.is_some()) })
                    .await
                    .map_err(err(what.clone()))?;
                on(ResourceEvent::Deleted {
                    kind: "endpoint",
                    name: id.into(),
                });
            }
        }

        // The replication instance, then its subnet group.
        let id = self.replication_instance_id();
        let what = format!("replication instance {id}");
        if let Some(ri) = self
            .dms
            .find_replication_instance(&id)
            .await
            .map_err(err(what.clone()))?
            && self.owned(&ri.arn).await
        {
            on(ResourceEvent::Working {
                kind: "instance",
                name: id.clone(),
            });
            let deleted = if ri.status == "deleting" {
                true
            } else {
                self.retry_in_use(|| async {
                    self.dms
                        .delete_replication_instance(&ri.arn)
                        .await
                        .map(|r| r.map(|_| ()))
                })
                .await
                .map_err(err(what.clone()))?
                .is_some()
            };
            if deleted {
                self.dms
                    .wait_replication_instance_deleted(&ri.arn, t.delete, t.poll)
                    .await
                    .map_err(err(what.clone()))?;
                on(ResourceEvent::Deleted {
                    kind: "instance",
                    name: id,
                });
            }
        }
        let group = self.subnet_group_id();
        on(ResourceEvent::Working {
            kind: "subnets",
            name: group.clone(),
        });
        let deleted = self
            .retry_in_use(|| async { self.dms.delete_subnet_group(&group).await })
            .await
            .map_err(err(format!("subnet group {group}")))?;
        if deleted {
            on(ResourceEvent::Deleted {
                kind: "subnets",
                name: group,
            });
        }
        Ok(())
    }

    /// False when the resource carries the stack tag of another stack (kept). Resources
    /// without tags, or whose tags cannot be read (emulators), count as this stack's: their
    /// identifiers are the stack's.
    async fn owned(&self, arn: &str) -> bool {
        match self.dms.list_tags(arn).await {
            Ok(tags) => {
                let other = tags
                    .iter()
                    .find(|t| t.key == dmsrs_secrets::STACK_TAG_KEY && t.value != self.stack);
                if let Some(t) = other {
                    tracing::warn!(arn, owner = t.value, "belongs to another stack: kept");
                    return false;
                }
                true
            }
            Err(e) => {
                tracing::debug!(arn, "cannot read the tags ({e}): treated as this stack's");
                true
            }
        }
    }

    /// Runs a deletion, retrying while the service says the resource is in use or in a
    /// transitional state; a `ResourceNotFound` error gives [`Gone::gone`] (already gone).
    async fn retry_in_use<T, F, Fut>(&self, op: F) -> DmsResult<T>
    where
        T: Gone,
        F: Fn() -> Fut,
        Fut: Future<Output = DmsResult<T>>,
    {
        let started = Instant::now();
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(DmsError::ResourceNotFound(_)) => return Ok(T::gone()),
                Err(e)
                    if (matches!(e, DmsError::InvalidResourceState(_)) || e.is_retryable())
                        && started.elapsed() < self.opts.timeouts.delete =>
                {
                    tracing::info!("still in use, retrying: {e}");
                    tokio::time::sleep(self.opts.timeouts.poll).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Polls `exists` until it says false.
    async fn wait_gone<F, Fut>(&self, exists: F) -> DmsResult<()>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = DmsResult<bool>>,
    {
        let started = Instant::now();
        loop {
            if !exists().await? {
                return Ok(());
            }
            if started.elapsed() >= self.opts.timeouts.delete {
                return Err(DmsError::WaitTimeout {
                    what: "a deleted DMS resource".into(),
                    expected: "gone".into(),
                    last_status: "deleting".into(),
                    waited_secs: started.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(self.opts.timeouts.poll).await;
        }
    }

    async fn destroy_stream(&self, on: On<'_>) -> Result<(), StackError> {
        let name = self.stream_name();
        on(ResourceEvent::Working {
            kind: "stream",
            name: name.clone(),
        });
        match self
            .stream()
            .delete_stream(Some(self.opts.timeouts.stream))
            .await
        {
            Ok(()) => on(ResourceEvent::Deleted {
                kind: "stream",
                name,
            }),
            Err(StreamError::StreamNotFound { .. }) => {}
            Err(e) => return Err(StackError::stream(&name, e)),
        }
        Ok(())
    }

    async fn destroy_databases(
        &self,
        mode: &str,
        embedded: bool,
        on: On<'_>,
    ) -> Result<(), StackError> {
        let names: &[&str] = if mode == DatabaseMode::Rds.as_str() || embedded {
            &[CDC_DATABASE, FULL_LOAD_DATABASE]
        } else {
            &[CDC_DATABASE]
        };
        let destroy_one = |name: &'static str| async move {
            on(ResourceEvent::Working {
                kind: "database",
                name: name.into(),
            });
            let id = DatabaseId::new(&self.stack, name);
            let report = if embedded {
                self.embedded_databases().destroy(&id).await
            } else {
                self.rds.destroy(&id).await
            }
            .map_err(|source| StackError::database(name, source))?;
            if embedded {
                if !report.deleted.is_empty() {
                    on(ResourceEvent::Deleted {
                        kind: "database",
                        name: name.into(),
                    });
                }
            } else {
                for d in report.deleted {
                    on(ResourceEvent::Deleted {
                        kind: short_kind(&d.kind),
                        name: d.id,
                    });
                }
            }
            Ok::<_, StackError>(())
        };
        // The RDS instances are deleted together (each takes minutes on AWS).
        match names {
            [one] => destroy_one(one).await,
            [a, b, ..] => {
                let (a, b) = tokio::join!(destroy_one(a), destroy_one(b));
                a.and(b)
            }
            [] => Ok(()),
        }
    }

    fn remove_state(&self) -> Result<(), StackError> {
        for path in [
            self.dir.join("checkpoints"),
            self.outputs_path(),
            self.dir.join("last-run.json"),
            self.dir.join(RECORD_FILE),
        ] {
            let r = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if let Err(e) = r
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(StackError::State(format!(
                    "cannot remove {}: {e}",
                    path.display()
                )));
            }
        }
        std::fs::remove_dir_all(&self.dir)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| StackError::State(format!("cannot remove {}: {e}", self.dir.display())))
    }
}

/// What a deletion returns when the resource was already gone.
trait Gone {
    fn gone() -> Self;
}

impl Gone for bool {
    fn gone() -> Self {
        false
    }
}

impl<T> Gone for Option<T> {
    fn gone() -> Self {
        None
    }
}

/// Event kinds fit the progress column (8 characters).
fn short_kind(kind: &str) -> &'static str {
    match kind {
        "security-group" => "sg",
        "route-table" => "routes",
        "internet-gateway" => "gateway",
        "subnet" => "subnet",
        "vpc" => "vpc",
        "db-instance" => "database",
        "db-subnet-group" => "subnets",
        "db-parameter-group" => "params",
        _ => "resource",
    }
}
