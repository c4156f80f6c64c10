//! [`FileSecrets`]: the embedded twin of Secrets Manager, one JSON file per deployment.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::password::random_alnum;
use crate::table::{Change, SecretTable};
use crate::{
    SecretDescription, SecretRef, SecretSource, SecretStore, SecretString, SecretsError, Tag,
};

/// The file that holds the secrets, inside the state folder.
pub const SECRETS_FILE_NAME: &str = "secrets.json";
/// The lock file next to it.
pub const SECRETS_LOCK_FILE_NAME: &str = "secrets.json.lock";

/// Secrets kept in `<state dir>/secrets.json`, shared by the processes of one deployment.
///
/// * The file is mode `0600` (the values are stored in clear, like any local credentials
///   file); the state folder is created `0700` when missing.
/// * Every change takes an exclusive advisory lock on `secrets.json.lock` (`flock`), reads
///   the file, applies the change and replaces the file atomically (temporary file in the
///   same folder, `fsync`, `rename`), so concurrent processes never lose each other's
///   updates and readers never see a half-written file. Reads take a shared lock.
/// * ARNs look like `arn:aws:secretsmanager:<region>:000000000000:secret:<name>-<6 chars>`.
/// * File work runs on Tokio's blocking pool: call it from inside a Tokio runtime.
///
/// Several `FileSecrets` values (in one process or many) on the same folder see the same
/// secrets.
#[derive(Clone)]
pub struct FileSecrets {
    dir: PathBuf,
    region: String,
}

impl fmt::Debug for FileSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSecrets")
            .field("file", &self.path())
            .field("region", &self.region)
            .finish()
    }
}

impl FileSecrets {
    /// A store in `state_dir` (created, mode `0700`, if missing) whose ARNs name `region`.
    /// The secrets file itself is created by the first change.
    pub fn open(
        state_dir: impl Into<PathBuf>,
        region: impl Into<String>,
    ) -> Result<Self, SecretsError> {
        let dir = state_dir.into();
        if !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| {
                    SecretsError::Store(format!(
                        "cannot create the state folder {}: {e}; check its parent's permissions",
                        dir.display()
                    ))
                })?;
        }
        Ok(FileSecrets {
            dir,
            region: region.into(),
        })
    }

    /// The secrets file (`<state dir>/secrets.json`).
    pub fn path(&self) -> PathBuf {
        self.dir.join(SECRETS_FILE_NAME)
    }

    /// The region in the ARNs.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path, &str) -> Result<T, SecretsError> + Send + 'static,
    ) -> Result<T, SecretsError> {
        let dir = self.dir.clone();
        let region = self.region.clone();
        tokio::task::spawn_blocking(move || f(&dir, &region))
            .await
            .map_err(|e| SecretsError::Internal(format!("secret file task failed: {e}")))?
    }

    /// Reads the table under a shared lock.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SecretTable) -> Result<T, SecretsError> + Send + 'static,
    ) -> Result<T, SecretsError> {
        self.blocking(move |dir, _| {
            let lock = open_lock(dir)?;
            lock.lock_shared().map_err(|e| lock_err(dir, e))?;
            let table = load(dir)?;
            f(&table)
        })
        .await
    }

    /// Read-modify-write under an exclusive lock; writes only when `f` changed something.
    async fn modify<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SecretTable, &str) -> Result<(T, Change), SecretsError> + Send + 'static,
    ) -> Result<(T, Change), SecretsError> {
        self.blocking(move |dir, region| {
            let lock = open_lock(dir)?;
            lock.lock().map_err(|e| lock_err(dir, e))?;
            let mut table = load(dir)?;
            let (out, change) = f(&mut table, region)?;
            if change != Change::Unchanged {
                save(dir, &table)?;
            }
            Ok((out, change))
        })
        .await
    }
}

fn store_err(what: &str, path: &Path, e: std::io::Error) -> SecretsError {
    SecretsError::Store(format!(
        "cannot {what} {}: {e}; check the state folder's permissions and free space",
        path.display()
    ))
}

fn lock_err(dir: &Path, e: std::io::Error) -> SecretsError {
    store_err("lock", &dir.join(SECRETS_LOCK_FILE_NAME), e)
}

fn open_lock(dir: &Path) -> Result<File, SecretsError> {
    let path = dir.join(SECRETS_LOCK_FILE_NAME);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| store_err("open", &path, e))
}

/// Reads the table; a missing file is an empty table.
fn load(dir: &Path) -> Result<SecretTable, SecretsError> {
    let path = dir.join(SECRETS_FILE_NAME);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(SecretTable::new()),
        Err(e) => return Err(store_err("open", &path, e)),
    };
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "secrets file is readable by other users; it will be rewritten with mode 0600 on the next change");
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| store_err("read", &path, e))?;
    // serde_json's messages give a line and column, never the text around them.
    let table: SecretTable = serde_json::from_str(&text).map_err(|e| {
        SecretsError::Store(format!(
            "{} is not a valid secrets file ({e}): restore it from a backup, or delete it and run `scenario deploy` again",
            path.display()
        ))
    })?;
    if table.version() != 1 {
        return Err(SecretsError::Store(format!(
            "{} has format version {}, this build reads version 1: use a matching dmsrs build",
            path.display(),
            table.version()
        )));
    }
    Ok(table)
}

/// Replaces the file atomically: temporary file (mode 0600, same folder), fsync, rename,
/// fsync of the folder.
fn save(dir: &Path, table: &SecretTable) -> Result<(), SecretsError> {
    let path = dir.join(SECRETS_FILE_NAME);
    let json = serde_json::to_vec_pretty(table)
        .map_err(|e| SecretsError::Internal(format!("cannot serialise the secrets table: {e}")))?;
    let tmp = dir.join(format!(
        ".{SECRETS_FILE_NAME}.{}.{}.tmp",
        std::process::id(),
        random_alnum(8)?
    ));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // `mode` is filtered by the umask; make sure of 0600 whatever the umask.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(&json)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        store_err("write", &path, e)
    })
}

#[async_trait::async_trait]
impl SecretSource for FileSecrets {
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, SecretsError> {
        let id = secret_id.to_owned();
        self.read(move |t| t.get(&id)).await
    }
}

#[async_trait::async_trait]
impl SecretStore for FileSecrets {
    async fn create(
        &self,
        name: &str,
        value: &SecretString,
        description: Option<&str>,
        tags: &[Tag],
    ) -> Result<SecretRef, SecretsError> {
        let (name, value, description, tags) = (
            name.to_owned(),
            value.clone(),
            description.map(str::to_owned),
            tags.to_vec(),
        );
        let (r, change) = self
            .modify(move |t, region| {
                t.create(
                    region,
                    &name,
                    &value,
                    description.as_deref(),
                    &tags,
                    SystemTime::now(),
                )
            })
            .await?;
        tracing::debug!(secret = %r.arn, ?change, "file secret created");
        Ok(r)
    }

    async fn put_value(
        &self,
        secret_id: &str,
        value: &SecretString,
    ) -> Result<SecretRef, SecretsError> {
        let (id, value) = (secret_id.to_owned(), value.clone());
        let (r, change) = self
            .modify(move |t, _| t.put_value(&id, &value, SystemTime::now()))
            .await?;
        tracing::debug!(secret = %r.arn, ?change, "file secret value put");
        Ok(r)
    }

    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, SecretsError> {
        let id = secret_id.to_owned();
        self.read(move |t| t.describe(&id)).await
    }

    async fn delete(&self, secret_id: &str) -> Result<SecretRef, SecretsError> {
        let id = secret_id.to_owned();
        let (r, _) = self.modify(move |t, _| t.delete(&id)).await?;
        tracing::debug!(secret = %r.arn, "file secret deleted");
        Ok(r)
    }
}
