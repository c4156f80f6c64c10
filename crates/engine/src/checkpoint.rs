//! CDC checkpoints: where a task resumes after a stop, a crash or a restart.
//!
//! The position saved is the end of the last transaction whose records the target
//! acknowledged (binlog `file:position`, plus the MariaDB GTID when known). Resuming there
//! loses nothing; records of a transaction that was being written when the task died may
//! arrive again (at-least-once).

use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// A resume point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Binlog file of the resume position.
    pub file: String,
    /// Byte position in that file (the end of the last acknowledged transaction).
    pub pos: u64,
    /// MariaDB GTID (`domain-server-seq`) of that transaction, when known.
    pub gtid: Option<String>,
    /// The last transaction id written (`transaction-id` of its records).
    pub transaction_id: u64,
    /// `transaction-record-id` of that transaction's last record.
    pub last_record_id: u64,
}

impl Checkpoint {
    /// The DMS-style `RecoveryCheckpoint` string; it can be fed back as `CdcStartPosition`.
    pub fn to_recovery_string(&self) -> String {
        format!(
            "checkpoint:V1#1#{f}:{p}:-1:{p}:{t}:{f}:{p}#0#0#*#0#{r}",
            f = self.file,
            p = self.pos,
            t = self.transaction_id,
            r = self.last_record_id
        )
    }
}

/// Parses a `CdcStartPosition`: the native `file:position` form
/// (`mysql-bin-changelog.000024:373`) or a `checkpoint:V1#...` string. Returns (file, pos).
pub fn parse_start_position(s: &str) -> Result<(String, u64)> {
    dmsrs_tasks::binlog_file_position(s).ok_or_else(|| {
        EngineError::InvalidParameter(format!(
            "CdcStartPosition {s:?} is not `file:position` (e.g. mysql-bin.000003:1520) or a checkpoint:V1#... string"
        ))
    })
}

/// Stores checkpoints per task (by task resource id).
///
/// Contract: `save` is durable when it returns (a crash right after keeps it); `load` returns
/// the last saved checkpoint.
#[async_trait::async_trait]
pub trait CheckpointStore: Send + Sync + std::fmt::Debug {
    /// The task's last checkpoint.
    async fn load(&self, task_id: &str) -> Result<Option<Checkpoint>>;
    /// Replaces the task's checkpoint.
    async fn save(&self, task_id: &str, checkpoint: &Checkpoint) -> Result<()>;
    /// Forgets the task's checkpoint (reload-target, delete).
    async fn clear(&self, task_id: &str) -> Result<()>;
}

/// Checkpoints in memory (tests; lost with the process).
#[derive(Debug, Default)]
pub struct MemoryCheckpoints {
    inner: Mutex<BTreeMap<String, Checkpoint>>,
}

#[async_trait::async_trait]
impl CheckpointStore for MemoryCheckpoints {
    async fn load(&self, task_id: &str) -> Result<Option<Checkpoint>> {
        Ok(crate::runtime::lock(&self.inner).get(task_id).cloned())
    }
    async fn save(&self, task_id: &str, checkpoint: &Checkpoint) -> Result<()> {
        crate::runtime::lock(&self.inner).insert(task_id.to_owned(), checkpoint.clone());
        Ok(())
    }
    async fn clear(&self, task_id: &str) -> Result<()> {
        crate::runtime::lock(&self.inner).remove(task_id);
        Ok(())
    }
}

/// Checkpoints as small JSON files in a folder, written atomically (temp file, fsync,
/// rename), one file per task.
#[derive(Debug, Clone)]
pub struct FileCheckpoints {
    dir: PathBuf,
}

impl FileCheckpoints {
    /// A store in `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        Ok(FileCheckpoints { dir })
    }

    fn path(&self, task_id: &str) -> PathBuf {
        let safe: String = task_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.checkpoint.json"))
    }
}

fn io_err(path: &std::path::Path, e: std::io::Error) -> EngineError {
    EngineError::Internal(format!("checkpoint file {}: {e}", path.display()))
}

#[async_trait::async_trait]
impl CheckpointStore for FileCheckpoints {
    async fn load(&self, task_id: &str) -> Result<Option<Checkpoint>> {
        let path = self.path(task_id);
        match tokio::fs::read(&path).await {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                EngineError::Internal(format!(
                    "checkpoint file {} is corrupt: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    async fn save(&self, task_id: &str, checkpoint: &Checkpoint) -> Result<()> {
        let path = self.path(task_id);
        let tmp = path.with_extension("tmp");
        let body = serde_json::to_vec_pretty(checkpoint)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let (p2, t2) = (path.clone(), tmp.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&t2)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&t2, &p2)?;
            if let Some(dir) = p2.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(|e| io_err(&path, e))
    }

    async fn clear(&self, task_id: &str) -> Result<()> {
        let path = self.path(task_id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path, e)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn start_positions() {
        assert_eq!(
            parse_start_position("mysql-bin-changelog.000024:373").unwrap(),
            ("mysql-bin-changelog.000024".into(), 373)
        );
        let cp = Checkpoint {
            file: "mysql-bin.000002".into(),
            pos: 1876,
            gtid: None,
            transaction_id: 9,
            last_record_id: 3,
        };
        assert_eq!(
            parse_start_position(&cp.to_recovery_string()).unwrap(),
            ("mysql-bin.000002".into(), 1876)
        );
        assert_eq!(
            parse_start_position("checkpoint:V1#27#mysql-bin-changelog.157832:1975:-1:2002:677883278264080:mysql-bin-changelog.157832:1876#0#0#*#0#93").unwrap(),
            ("mysql-bin-changelog.157832".into(), 1975)
        );
        assert!(parse_start_position("nonsense").is_err());
        assert!(parse_start_position(":12").is_err());
    }

    #[tokio::test]
    async fn file_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileCheckpoints::new(dir.path()).unwrap();
        assert_eq!(s.load("T1").await.unwrap(), None);
        let cp = Checkpoint {
            file: "f".into(),
            pos: 4,
            gtid: Some("0-1-2".into()),
            transaction_id: 1,
            last_record_id: 1,
        };
        s.save("T1", &cp).await.unwrap();
        let again = FileCheckpoints::new(dir.path()).unwrap();
        assert_eq!(again.load("T1").await.unwrap(), Some(cp));
        again.clear("T1").await.unwrap();
        assert_eq!(s.load("T1").await.unwrap(), None);
    }
}
