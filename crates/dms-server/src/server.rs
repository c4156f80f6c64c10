//! The server's state: the engine (endpoints, tasks, checkpoints) plus what DMS has and the
//! engine does not (subnet groups, replication instances, connections, tags, task data),
//! saved to a state folder so everything survives a restart.

use crate::fault::Fault;
use crate::wire::{
    EndpointExtra, WireConnection, WireEndpoint, WireInstance, WireSubnetGroup, WireTableStats,
    WireTag, WireTask, epoch, tags_from_wire, tags_to_wire,
};
use dmsrs_engine::{
    CheckpointStore, EmbeddedEngine, EngineConfig, FileCheckpoints, MemoryCheckpoints,
    TargetFactory, TaskRecord,
};
use dmsrs_secrets::SecretSource;
use dmsrs_tasks::{
    ReplicationService, SecretString, StartTask, StartType, Tag, TaskFilter, TaskStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Region in ARNs.
    pub region: String,
    /// Account in ARNs.
    pub account: String,
    /// Folder for the saved state (`state.json`) and CDC checkpoints (`checkpoints/`);
    /// `None` keeps everything in memory.
    pub state_dir: Option<PathBuf>,
    /// How long replication instances stay `creating` and tasks `creating` before they are
    /// `available` / `ready` (0: at once, on the next describe).
    pub transition_delay: Duration,
    /// Start tasks that were running when the server stopped again (`resume-processing`)
    /// when it starts, as DMS does after a replication instance restarts.
    pub resume_running: bool,
    /// Host names to replace when the engine connects to sources (FROM, TO).
    pub host_rewrites: Vec<(String, String)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            region: "us-east-1".into(),
            account: "000000000000".into(),
            state_dir: None,
            transition_delay: Duration::ZERO,
            resume_running: true,
            host_rewrites: Vec::new(),
        }
    }
}

/// A replication instance: DMS's compute, here a record (the engine runs in this process).
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub wire: WireInstance,
    pub available_at: Instant,
}

impl Instance {
    pub(crate) fn view(&self) -> WireInstance {
        let mut w = self.wire.clone();
        w.replication_instance_status = if Instant::now() < self.available_at {
            "creating".into()
        } else {
            "available".into()
        };
        w
    }
}

/// What the server keeps beside the engine.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    /// By lower-case identifier.
    pub subnet_groups: BTreeMap<String, WireSubnetGroup>,
    /// By ARN.
    pub instances: BTreeMap<String, Instance>,
    /// By endpoint ARN.
    pub endpoint_extra: BTreeMap<String, EndpointExtra>,
    /// `TaskData` by task ARN.
    pub task_data: BTreeMap<String, String>,
    /// When each task may leave `creating` (by task ARN; not saved).
    pub task_ready_at: BTreeMap<String, Instant>,
    /// Tags by resource ARN.
    pub tags: BTreeMap<String, Vec<Tag>>,
    /// By (endpoint ARN, instance ARN).
    pub connections: BTreeMap<(String, String), WireConnection>,
    /// Tasks to resume at the next start (running when the server stopped).
    pub resume: Vec<String>,
}

/// The saved state (`state.json`). Passwords of endpoints with inline credentials are in it:
/// the file is created readable by its owner only.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    version: u32,
    #[serde(default)]
    subnet_groups: Vec<WireSubnetGroup>,
    #[serde(default)]
    instances: Vec<WireInstance>,
    #[serde(default)]
    endpoints: Vec<SavedEndpoint>,
    #[serde(default)]
    tasks: Vec<SavedTask>,
    #[serde(default)]
    tags: BTreeMap<String, Vec<WireTag>>,
    #[serde(default)]
    connections: Vec<WireConnection>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedEndpoint {
    endpoint: WireEndpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(default)]
    extra: EndpointExtra,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedTask {
    task: WireTask,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cdc_start_time: Option<f64>,
    #[serde(default)]
    tables: Vec<WireTableStats>,
    #[serde(default)]
    resume: bool,
}

const STATE_VERSION: u32 = 1;

/// The local DMS: the DMS API over the embedded engine. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DmsServer {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub cfg: ServerConfig,
    pub engine: EmbeddedEngine,
    pub meta: Mutex<Meta>,
    /// Serialises writes of `state.json` and holds what was last written, so that an
    /// unchanged state is not written again.
    last_saved: tokio::sync::Mutex<Vec<u8>>,
}

/// Locks a mutex, recovering from poisoning (the state stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The state folder cannot be used.
    #[error("state folder {path}: {reason}")]
    State {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl DmsServer {
    /// A server whose tasks read sources with secrets from `secrets` and write to streams
    /// from `targets`. With a state folder, the saved state is loaded (and tasks that were
    /// running are started again when `resume_running`).
    pub async fn new(
        cfg: ServerConfig,
        secrets: Arc<dyn SecretSource>,
        targets: Arc<dyn TargetFactory>,
    ) -> Result<Self, ServerError> {
        let checkpoints: Arc<dyn CheckpointStore> = match &cfg.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| ServerError::State {
                    path: dir.clone(),
                    reason: format!("cannot create it: {e}"),
                })?;
                Arc::new(FileCheckpoints::new(dir.join("checkpoints")).map_err(|e| {
                    ServerError::State {
                        path: dir.join("checkpoints"),
                        reason: e.to_string(),
                    }
                })?)
            }
            None => Arc::new(MemoryCheckpoints::default()),
        };
        let engine_cfg = EngineConfig {
            region: cfg.region.clone(),
            account: cfg.account.clone(),
            host_rewrites: cfg.host_rewrites.clone(),
            ..EngineConfig::default()
        };
        let engine = EmbeddedEngine::with_checkpoints(engine_cfg, secrets, targets, checkpoints);
        let server = DmsServer {
            inner: Arc::new(Inner {
                cfg,
                engine,
                meta: Mutex::new(Meta::default()),
                last_saved: tokio::sync::Mutex::new(Vec::new()),
            }),
        };
        if let Some(dir) = server.inner.cfg.state_dir.clone() {
            server.load(&dir.join("state.json")).await?;
        }
        Ok(server)
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.cfg
    }

    /// The engine behind the API.
    pub fn engine(&self) -> &EmbeddedEngine {
        &self.inner.engine
    }

    pub(crate) fn arn(&self, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:dms:{}:{}:{kind}:{id}",
            self.inner.cfg.region, self.inner.cfg.account
        )
    }

    /// Stops every running task (each writes what it read and saves its checkpoint) and
    /// saves the state; tasks that were running are resumed at the next start.
    pub async fn shutdown(&self) {
        let running: Vec<String> = self
            .inner
            .engine
            .task_records()
            .into_iter()
            .filter(|r| matches!(r.task.status, TaskStatus::Running | TaskStatus::Starting))
            .map(|r| r.task.arn)
            .collect();
        lock(&self.inner.meta).resume = running;
        self.inner.engine.shutdown().await;
        if let Err(e) = self.save().await {
            warn!(error = %e, "could not save the state at shutdown");
        }
    }

    /// Writes `state.json` unless it already holds this state (no-op without a state
    /// folder).
    pub async fn save(&self) -> Result<(), ServerError> {
        let Some(dir) = self.inner.cfg.state_dir.clone() else {
            return Ok(());
        };
        let mut last = self.inner.last_saved.lock().await;
        let bytes = self.snapshot()?;
        if *last == bytes {
            return Ok(());
        }
        let path = dir.join("state.json");
        let tmp = dir.join("state.json.tmp");
        let written =
            tokio::task::spawn_blocking(move || write_private(&tmp, &path, &bytes).map(|()| bytes))
                .await
                .map_err(|e| ServerError::Io(std::io::Error::other(e)))??;
        *last = written;
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>, ServerError> {
        let records = self.inner.engine.task_records();
        let meta = lock(&self.inner.meta);
        let endpoints = self.inner.engine.endpoints();
        let saved = Saved {
            version: STATE_VERSION,
            subnet_groups: meta.subnet_groups.values().cloned().collect(),
            instances: meta.instances.values().map(Instance::view).collect(),
            endpoints: endpoints
                .into_iter()
                .map(|e| {
                    let extra = meta.endpoint_extra.get(&e.arn).cloned().unwrap_or_default();
                    let password = match &e.settings {
                        dmsrs_tasks::EndpointSettings::MySql(m) => {
                            m.password.as_ref().map(|p| p.expose().to_owned())
                        }
                        dmsrs_tasks::EndpointSettings::Kinesis(_) => None,
                    };
                    SavedEndpoint {
                        endpoint: WireEndpoint::from_model(&e, &extra),
                        password,
                        extra,
                    }
                })
                .collect(),
            tasks: records
                .into_iter()
                .map(|r| SavedTask {
                    resume: meta.resume.contains(&r.task.arn),
                    task: WireTask::from_model(
                        &r.task,
                        meta.task_data.get(&r.task.arn).map(String::as_str),
                        true,
                    ),
                    cdc_start_time: r.cdc_start_time.map(epoch),
                    tables: r.tables.iter().map(WireTableStats::from_model).collect(),
                })
                .collect(),
            tags: meta
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), tags_to_wire(v)))
                .collect(),
            connections: meta.connections.values().cloned().collect(),
        };
        serde_json::to_vec_pretty(&saved).map_err(|e| ServerError::Io(std::io::Error::other(e)))
    }

    async fn load(&self, path: &Path) -> Result<(), ServerError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(ServerError::State {
                    path: path.to_owned(),
                    reason: format!("cannot read it: {e}"),
                });
            }
        };
        let bad = |reason: String| ServerError::State {
            path: path.to_owned(),
            reason: format!(
                "{reason}; move the file away to start with an empty server (tasks and endpoints are then lost)"
            ),
        };
        let saved: Saved =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a saved state: {e}")))?;
        if saved.version != STATE_VERSION {
            return Err(bad(format!(
                "saved by state version {}, this server reads version {STATE_VERSION}",
                saved.version
            )));
        }
        let now = Instant::now();
        {
            let mut meta = lock(&self.inner.meta);
            for g in saved.subnet_groups {
                meta.subnet_groups.insert(
                    g.replication_subnet_group_identifier.to_ascii_lowercase(),
                    g,
                );
            }
            for i in saved.instances {
                meta.instances.insert(
                    i.replication_instance_arn.clone(),
                    Instance {
                        wire: i,
                        available_at: now,
                    },
                );
            }
            for (arn, tags) in &saved.tags {
                meta.tags.insert(
                    arn.clone(),
                    tags_from_wire(tags).map_err(|e| bad(e.message))?,
                );
            }
            for c in saved.connections {
                meta.connections.insert(
                    (c.endpoint_arn.clone(), c.replication_instance_arn.clone()),
                    c,
                );
            }
        }
        for e in saved.endpoints {
            let ep = e
                .endpoint
                .to_model(e.password.map(SecretString::new))
                .map_err(|f| bad(f.message))?;
            let arn = ep.arn.clone();
            self.inner
                .engine
                .restore_endpoint(ep)
                .map_err(|f| bad(f.to_string()))?;
            lock(&self.inner.meta).endpoint_extra.insert(arn, e.extra);
        }
        let mut resume = Vec::new();
        for t in saved.tasks {
            let task = t.task.to_model().map_err(|f| bad(f.message))?;
            let was_running =
                t.resume || matches!(task.status, TaskStatus::Running | TaskStatus::Starting);
            let arn = task.arn.clone();
            if task.status == TaskStatus::Deleting {
                continue;
            }
            self.inner
                .engine
                .restore_task(TaskRecord {
                    task,
                    cdc_start_time: t.cdc_start_time.and_then(dmsrs_tasks::from_epoch_secs),
                    tables: t.tables.iter().map(WireTableStats::to_model).collect(),
                })
                .map_err(|f| bad(f.to_string()))?;
            if let Some(d) = t.task.task_data {
                lock(&self.inner.meta).task_data.insert(arn.clone(), d);
            }
            if was_running {
                resume.push(arn);
            }
        }
        info!(path = %path.display(), "state loaded");
        if self.inner.cfg.resume_running {
            for arn in resume {
                match self
                    .inner
                    .engine
                    .start_task(StartTask::new(&arn, StartType::ResumeProcessing))
                    .await
                {
                    Ok(_) => info!(task = %arn, "task resumed after the restart"),
                    Err(e) => warn!(task = %arn, error = %e, "could not resume the task"),
                }
            }
        }
        Ok(())
    }

    /// Every resource ARN the server knows, with whether it exists.
    pub(crate) async fn resource_exists(&self, arn: &str) -> bool {
        let kind = arn.split(':').nth(5).unwrap_or_default();
        match kind {
            "task" => self.inner.engine.describe_task(arn).await.is_ok(),
            "endpoint" => self
                .inner
                .engine
                .describe_endpoints(&[arn.to_owned()])
                .await
                .map(|v| !v.is_empty())
                .unwrap_or(false),
            "rep" => lock(&self.inner.meta).instances.contains_key(arn),
            "subgrp" => {
                let id = arn
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                lock(&self.inner.meta).subnet_groups.contains_key(&id)
            }
            _ => false,
        }
    }

    /// The tasks, with the server's `creating` delay applied.
    pub(crate) async fn tasks(
        &self,
        filter: &TaskFilter,
    ) -> Result<Vec<dmsrs_tasks::ReplicationTask>, Fault> {
        let mut tasks = self.inner.engine.describe_tasks(filter).await?;
        let meta = lock(&self.inner.meta);
        let now = Instant::now();
        for t in &mut tasks {
            if t.status == TaskStatus::Ready
                && meta.task_ready_at.get(&t.arn).is_some_and(|at| now < *at)
            {
                t.status = TaskStatus::Creating;
            }
        }
        Ok(tasks)
    }
}

/// Writes `bytes` to `tmp` (mode 0600 on Unix), then renames it over `path`.
fn write_private(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(tmp, path)
}
