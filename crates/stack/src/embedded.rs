//! The embedded stack: everything on this machine, nothing to pay for.

use crate::StackError;
use dmsrs_database::{Database, DatabaseId, DatabaseInstance, DatabaseSpec, EmbeddedMariaDb};
use dmsrs_engine::{EmbeddedEngine, EngineConfig, FileCheckpoints, StreamTargets};
use dmsrs_secrets::{FileSecrets, SecretStore, Tag};
use dmsrs_seed::Outputs;
use dmsrs_streams::MemoryStream;
use dmsrs_tasks::seed::{self, SeedSource};
use dmsrs_tasks::{
    CreateEndpoint, EndpointSettings, EndpointType, MySqlSettings, ReplicationService,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Logical name of the CDC source ("RDS" in the seed).
pub const CDC_DATABASE: &str = "rds-instance";
/// Logical name of the full-load source (the seed's external MariaDB container).
pub const FULL_LOAD_DATABASE: &str = "full-load-instance";
/// Region and account used in the embedded ARNs.
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "000000000000";

/// Progress of deploy and destroy, one event per resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceEvent {
    /// Work on a resource starts.
    Working {
        /// Kind (`database`, `secret`, `stream`, `endpoint`, `task`).
        kind: &'static str,
        /// Name.
        name: String,
    },
    /// The resource was created (or started).
    Created {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// Detail (address, ARN).
        detail: String,
    },
    /// The resource existed and is reused.
    Reused {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// Detail.
        detail: String,
    },
    /// The resource was deleted.
    Deleted {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
    },
}

/// A deployed embedded stack, ready to run the scenario in this process.
#[derive(Debug)]
pub struct Deployment {
    /// The outputs, with the seed's names.
    pub outputs: Outputs,
    /// The in-process replication engine, with the seed's endpoints and tasks.
    pub engine: EmbeddedEngine,
    /// The target stream.
    pub stream: MemoryStream,
    /// The full-load source.
    pub full_db: DatabaseInstance,
    /// The CDC source.
    pub cdc_db: DatabaseInstance,
}

/// The seed's stack as embedded twins under a state folder.
#[derive(Debug, Clone)]
pub struct EmbeddedStack {
    stack: String,
    dir: PathBuf,
}

impl EmbeddedStack {
    /// The stack `stack` under `state_root/<stack>`.
    pub fn new(state_root: impl AsRef<Path>, stack: impl Into<String>) -> Self {
        let stack = stack.into();
        EmbeddedStack {
            dir: state_root.as_ref().join(&stack),
            stack,
        }
    }

    /// The stack's state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where deploy writes the outputs.
    pub fn outputs_path(&self) -> PathBuf {
        self.dir.join("outputs.json")
    }

    /// The outputs of the last deploy, if any.
    pub fn read_outputs(&self) -> Result<Option<Outputs>, StackError> {
        match std::fs::read(self.outputs_path()) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                StackError::State(format!(
                    "{} is not valid: {e}; run `scenario destroy` and deploy again",
                    self.outputs_path().display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StackError::State(format!(
                "cannot read {}: {e}",
                self.outputs_path().display()
            ))),
        }
    }

    fn databases(&self) -> EmbeddedMariaDb {
        EmbeddedMariaDb::new(&self.dir).with_startup_timeout(Duration::from_secs(60))
    }

    fn secrets(&self) -> Result<FileSecrets, StackError> {
        FileSecrets::open(&self.dir, REGION)
            .map_err(|source| StackError::secret("secrets.json", source))
    }

    fn stream_name(&self) -> String {
        format!("{}-TargetStream", self.stack)
    }

    /// Deploys (or finds) every resource and returns the running deployment. Idempotent.
    pub async fn deploy(
        &self,
        on: &(dyn Fn(ResourceEvent) + Sync),
    ) -> Result<Deployment, StackError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            StackError::State(format!(
                "cannot create the state folder {}: {e}",
                self.dir.display()
            ))
        })?;

        // Both sources start at once.
        let dbs = self.databases();
        let ensure = |name: &'static str| {
            let dbs = dbs.clone();
            let spec = DatabaseSpec::new(&self.stack, name);
            on(ResourceEvent::Working {
                kind: "database",
                name: name.into(),
            });
            async move {
                let inst = dbs
                    .ensure(&spec)
                    .await
                    .map_err(|source| StackError::database(name, source))?;
                let inst = dbs
                    .wait_available(&spec.id, Duration::from_secs(60))
                    .await
                    .map(|i| DatabaseInstance {
                        created: inst.created,
                        ..i
                    })
                    .map_err(|source| StackError::database(name, source))?;
                Ok::<_, StackError>(inst)
            }
        };
        let (full_db, cdc_db) = tokio::join!(ensure(FULL_LOAD_DATABASE), ensure(CDC_DATABASE));
        let (full_db, cdc_db) = (full_db?, cdc_db?);
        for (name, db) in [(FULL_LOAD_DATABASE, &full_db), (CDC_DATABASE, &cdc_db)] {
            let detail = format!("{}:{} (MariaDB {})", db.host, db.port, db.engine_version);
            on(if db.created {
                ResourceEvent::Created {
                    kind: "database",
                    name: name.into(),
                    detail,
                }
            } else {
                ResourceEvent::Reused {
                    kind: "database",
                    name: name.into(),
                    detail,
                }
            });
        }

        // Secrets of the DMS shape. The full-load one keeps the seed's string port.
        let secrets = self.secrets()?;
        let tags = [Tag::stack(&self.stack)];
        let unknown_password = |db: &DatabaseInstance| {
            StackError::State(format!(
                "the password of database {} is unknown: run `scenario destroy` and deploy again",
                db.identifier
            ))
        };
        let cdc_value = cdc_db
            .dms_secret_json()
            .ok_or_else(|| unknown_password(&cdc_db))?;
        let full_password = full_db
            .password
            .clone()
            .ok_or_else(|| unknown_password(&full_db))?;
        let full_value = crate::mariadb_access_secret(
            &full_db.host,
            full_db.port,
            &full_db.master_username,
            &full_password,
            &full_db.db_name,
        );
        let mut secret_arns = Vec::new();
        for (name, value, description) in [
            (
                format!("{}-rdsinstanceSecret", self.stack),
                cdc_value,
                format!("Generated for stack: {}", self.stack),
            ),
            (
                format!("{}-mariadbaccesssecret", self.stack),
                full_value,
                "Access to the full-load MariaDB".to_owned(),
            ),
        ] {
            on(ResourceEvent::Working {
                kind: "secret",
                name: name.clone(),
            });
            let r = secrets
                .create(&name, &value, Some(&description), &tags)
                .await
                .map_err(|source| StackError::secret(&name, source))?;
            on(ResourceEvent::Reused {
                kind: "secret",
                name,
                detail: r.arn.clone(),
            });
            secret_arns.push(r.arn);
        }
        let (cdc_secret, full_secret) = (secret_arns[0].clone(), secret_arns[1].clone());

        // The stream and the engine with the seed's endpoints and tasks.
        let stream = MemoryStream::new(self.stream_name());
        let stream_arn = format!(
            "arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{}",
            self.stream_name()
        );
        on(ResourceEvent::Created {
            kind: "stream",
            name: self.stream_name(),
            detail: "in-memory, 1 shard".into(),
        });
        let targets = StreamTargets::new();
        targets.register(stream_arn.clone(), Arc::new(stream.writer()));
        let checkpoints = FileCheckpoints::new(self.dir.join("checkpoints"))
            .map_err(|e| StackError::State(format!("checkpoints: {e}")))?;
        let engine = EmbeddedEngine::with_checkpoints(
            EngineConfig::default(),
            Arc::new(secrets.clone()),
            Arc::new(targets),
            Arc::new(checkpoints),
        );
        let endpoint = |id: &str,
                        t: EndpointType,
                        engine_name: &str,
                        settings: EndpointSettings| CreateEndpoint {
            identifier: id.into(),
            endpoint_type: t,
            engine_name: engine_name.into(),
            settings,
        };
        let dms = |what: String| move |source| StackError::dms(&what, source);
        let mut arns = Vec::new();
        for ep in [
            endpoint(
                "cdc-endpoint",
                EndpointType::Source,
                seed::SOURCE_ENGINE,
                source(&cdc_secret),
            ),
            endpoint(
                "full-endpoint",
                EndpointType::Source,
                seed::SOURCE_ENGINE,
                source(&full_secret),
            ),
            endpoint(
                "target",
                EndpointType::Target,
                seed::TARGET_ENGINE,
                EndpointSettings::Kinesis(seed::kinesis_settings(&stream_arn, None)),
            ),
        ] {
            let id = ep.identifier.clone();
            let e = engine
                .create_endpoint(ep)
                .await
                .map_err(dms(format!("endpoint {id}")))?;
            arns.push(e.arn);
        }
        let (cdc_ep, full_ep, target_ep) = (arns[0].clone(), arns[1].clone(), arns[2].clone());
        let mut outputs = Outputs {
            cdc_task_secret: cdc_secret,
            full_task_secret: full_secret,
            kinesis_stream: stream_arn,
            ..Default::default()
        };
        for t in seed::tasks() {
            let src = match t.source {
                SeedSource::Cdc => &cdc_ep,
                SeedSource::FullLoad => &full_ep,
            };
            let mut input = t.create_input(
                seed::SCHEMA,
                src.clone(),
                target_ep.clone(),
                format!("arn:aws:dms:{REGION}:{ACCOUNT}:rep:EMBEDDED"),
            );
            input.resource_identifier = Some(resource_id(&self.stack, t.identifier));
            let task = engine
                .create_task(input)
                .await
                .map_err(dms(format!("task {}", t.identifier)))?;
            on(ResourceEvent::Created {
                kind: "task",
                name: t.identifier.into(),
                detail: task.arn.clone(),
            });
            match t.output_key {
                "cdcTask1" => outputs.cdc_task1 = task.arn,
                "cdcTask2" => outputs.cdc_task2 = task.arn,
                "fullTask1" => outputs.full_task1 = task.arn,
                _ => outputs.full_task2 = task.arn,
            }
        }
        let body =
            serde_json::to_vec_pretty(&outputs).map_err(|e| StackError::State(e.to_string()))?;
        std::fs::write(self.outputs_path(), body).map_err(|e| {
            StackError::State(format!(
                "cannot write {}: {e}",
                self.outputs_path().display()
            ))
        })?;
        Ok(Deployment {
            outputs,
            engine,
            stream,
            full_db,
            cdc_db,
        })
    }

    /// Removes everything deploy made (also after a deploy that failed half way): stops and
    /// deletes the databases, deletes the secrets, the checkpoints and the outputs.
    pub async fn destroy(&self, on: &(dyn Fn(ResourceEvent) + Sync)) -> Result<(), StackError> {
        if !self.dir.exists() {
            return Ok(());
        }
        let dbs = self.databases();
        for name in [CDC_DATABASE, FULL_LOAD_DATABASE] {
            on(ResourceEvent::Working {
                kind: "database",
                name: name.into(),
            });
            let id = DatabaseId::new(&self.stack, name);
            dbs.destroy(&id)
                .await
                .map_err(|source| StackError::database(name, source))?;
            on(ResourceEvent::Deleted {
                kind: "database",
                name: name.into(),
            });
        }
        let secrets = self.secrets()?;
        for name in [
            format!("{}-rdsinstanceSecret", self.stack),
            format!("{}-mariadbaccesssecret", self.stack),
        ] {
            on(ResourceEvent::Working {
                kind: "secret",
                name: name.clone(),
            });
            match secrets.delete(&name).await {
                Ok(_) => on(ResourceEvent::Deleted {
                    kind: "secret",
                    name,
                }),
                Err(e) if e.is_not_found() => {}
                Err(source) => return Err(StackError::secret(&name, source)),
            }
        }
        for path in [
            self.dir.join("checkpoints"),
            self.outputs_path(),
            self.dir.join("last-run.json"),
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
        // Whatever is left (secrets file, lock files, empty folders) belongs to this stack.
        std::fs::remove_dir_all(&self.dir)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| StackError::State(format!("cannot remove {}: {e}", self.dir.display())))?;
        Ok(())
    }

    /// The databases' current state (without starting anything).
    pub async fn databases_status(&self) -> Vec<(String, Option<DatabaseInstance>)> {
        let dbs = self.databases();
        let mut out = Vec::new();
        for name in [FULL_LOAD_DATABASE, CDC_DATABASE] {
            let d = dbs
                .describe(&DatabaseId::new(&self.stack, name))
                .await
                .ok()
                .flatten();
            out.push((name.to_owned(), d));
        }
        out
    }
}

fn source(secret_arn: &str) -> EndpointSettings {
    EndpointSettings::MySql(MySqlSettings {
        secrets_manager_secret_id: Some(secret_arn.to_owned()),
        ..Default::default()
    })
}

/// A stable 26-character DMS-style resource id for a task of a stack.
pub(crate) fn resource_id(stack: &str, task: &str) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in stack.bytes().chain([b'/']).chain(task.bytes()) {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..26)
        .map(|i| ALPHABET[((h >> (i * 5)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_are_stable_and_distinct() {
        let a = resource_id("DMsSampleSetupStack", "cdc-task-1");
        assert_eq!(a, resource_id("DMsSampleSetupStack", "cdc-task-1"));
        assert_ne!(a, resource_id("DMsSampleSetupStack", "cdc-task-2"));
        assert_eq!(a.len(), 26);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
    }
}
