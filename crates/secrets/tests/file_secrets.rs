//! `FileSecrets`: several instances and several processes on one state folder, file modes,
//! corrupt files, and values kept out of Debug and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use dmsrs_secrets::{
    FileSecrets, SECRETS_FILE_NAME, SECRETS_LOCK_FILE_NAME, SecretSource, SecretStore,
    SecretString, SecretsError, Tag,
};

const CHILD_DIR_VAR: &str = "DMSRS_FILE_SECRETS_CHILD_DIR";
const CHILD_ID_VAR: &str = "DMSRS_FILE_SECRETS_CHILD_ID";
const PER_PROCESS: usize = 25;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn two_instances_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("deploy-state");
    let a = FileSecrets::open(&state, "us-east-1").unwrap();
    let b = FileSecrets::open(&state, "us-east-1").unwrap();
    assert_eq!(mode(&state), 0o700);

    let stack = [Tag::stack("DMsSampleSetupStack")];
    let r = a
        .create(
            "mariadb-access-secret",
            &SecretString::new("{\"password\":\"hunter2\"}"),
            Some("full load"),
            &stack,
        )
        .await
        .unwrap();
    assert!(
        r.arn.starts_with(
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:mariadb-access-secret-"
        ),
        "{}",
        r.arn
    );
    assert_eq!(
        r.arn.len(),
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:mariadb-access-secret-".len() + 6
    );
    assert_eq!(
        b.secret_string(&r.arn).await.unwrap().expose(),
        "{\"password\":\"hunter2\"}"
    );
    assert_eq!(
        b.secret_string("mariadb-access-secret")
            .await
            .unwrap()
            .expose(),
        "{\"password\":\"hunter2\"}"
    );

    // b rotates, a sees it; b's idempotent create reuses the secret.
    b.put_value(&r.arn, &SecretString::new("v2")).await.unwrap();
    assert_eq!(a.secret_string(&r.arn).await.unwrap().expose(), "v2");
    let again = b
        .create(
            "mariadb-access-secret",
            &SecretString::new("v3"),
            None,
            &stack,
        )
        .await
        .unwrap();
    assert_eq!(again, r);
    assert_eq!(a.secret_string(&r.arn).await.unwrap().expose(), "v3");
    let e = b
        .create(
            "mariadb-access-secret",
            &SecretString::new("v4"),
            None,
            &[Tag::stack("other")],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SecretsError::AlreadyExists(_)), "{e:?}");

    let d = a.describe("mariadb-access-secret").await.unwrap();
    assert_eq!(
        (d.arn.as_str(), d.description.as_deref()),
        (r.arn.as_str(), Some("full load"))
    );
    assert_eq!(d.tags, stack.to_vec());

    // File modes: 0600 for the secrets file and its lock file; no temporary files left.
    assert_eq!(mode(&state.join(SECRETS_FILE_NAME)), 0o600);
    assert_eq!(mode(&state.join(SECRETS_LOCK_FILE_NAME)), 0o600);
    let names: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == SECRETS_FILE_NAME || n == SECRETS_LOCK_FILE_NAME),
        "{names:?}"
    );

    // Debug never shows values.
    assert!(!format!("{a:?}").contains("v3") && !format!("{d:?}").contains("v3"));

    b.delete(&r.arn).await.unwrap();
    assert!(a.secret_string(&r.arn).await.unwrap_err().is_not_found());
    assert!(a.delete(&r.arn).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn concurrent_instances_do_not_lose_updates() {
    let dir = tempfile::tempdir().unwrap();
    let a = FileSecrets::open(dir.path(), "us-east-1").unwrap();
    let b = FileSecrets::open(dir.path(), "us-east-1").unwrap();
    let mut handles = Vec::new();
    for (who, store) in [("a", a.clone()), ("b", b.clone())] {
        for i in 0..15 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                store
                    .create(
                        &format!("{who}-{i}"),
                        &SecretString::new(format!("value-{who}-{i}")),
                        None,
                        &[],
                    )
                    .await
            }));
        }
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    for who in ["a", "b"] {
        for i in 0..15 {
            assert_eq!(
                a.secret_string(&format!("{who}-{i}"))
                    .await
                    .unwrap()
                    .expose(),
                format!("value-{who}-{i}")
            );
        }
    }
}

/// Runs only as a child process of `two_processes_do_not_lose_updates` (hence ignored).
#[tokio::test]
#[ignore = "child process of two_processes_do_not_lose_updates"]
async fn child_worker() {
    let (Ok(dir), Ok(id)) = (std::env::var(CHILD_DIR_VAR), std::env::var(CHILD_ID_VAR)) else {
        return;
    };
    let store = FileSecrets::open(&dir, "eu-west-1").unwrap();
    for i in 0..PER_PROCESS {
        store
            .create(
                &format!("proc{id}-{i}"),
                &SecretString::new(format!("{id}:{i}")),
                None,
                &[],
            )
            .await
            .unwrap();
        // Both processes also rotate one shared secret.
        store
            .put_value("shared", &SecretString::new(format!("{id}:{i}")))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn two_processes_do_not_lose_updates() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecrets::open(dir.path(), "eu-west-1").unwrap();
    store
        .create("shared", &SecretString::new("initial"), None, &[])
        .await
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["1", "2"]
        .iter()
        .map(|id| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child_worker",
                    "--ignored",
                    "--test-threads=1",
                    "--quiet",
                ])
                .env(CHILD_DIR_VAR, dir.path())
                .env(CHILD_ID_VAR, id)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a child process failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for id in ["1", "2"] {
        for i in 0..PER_PROCESS {
            let v = store.secret_string(&format!("proc{id}-{i}")).await.unwrap();
            assert_eq!(v.expose(), format!("{id}:{i}"));
        }
    }
    let shared = store.secret_string("shared").await.unwrap();
    assert!(
        shared.expose().ends_with(&format!(":{}", PER_PROCESS - 1)),
        "{:?}",
        shared.expose()
    );
    assert_eq!(mode(&dir.path().join(SECRETS_FILE_NAME)), 0o600);
}

#[tokio::test]
async fn corrupt_or_foreign_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecrets::open(dir.path(), "us-east-1").unwrap();
    // Missing file: just not found.
    assert!(store.secret_string("x").await.unwrap_err().is_not_found());

    std::fs::write(
        dir.path().join(SECRETS_FILE_NAME),
        "{\"secrets\": [ {\"value\": \"hunter2\"",
    )
    .unwrap();
    let e = store.secret_string("x").await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SecretsError::Store(_)), "{e:?}");
    assert!(
        msg.contains("not a valid secrets file") && msg.contains("scenario deploy"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"), "{msg}");
    // A failed write leaves the corrupt file untouched for the user to inspect.
    assert!(
        store
            .create("y", &SecretString::new("v"), None, &[])
            .await
            .is_err()
    );

    std::fs::write(
        dir.path().join(SECRETS_FILE_NAME),
        "{\"version\": 2, \"secrets\": []}",
    )
    .unwrap();
    let msg = store.secret_string("x").await.unwrap_err().to_string();
    assert!(msg.contains("format version 2"), "{msg}");
}

#[tokio::test]
async fn a_loose_file_mode_is_repaired_on_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecrets::open(dir.path(), "us-east-1").unwrap();
    store
        .create("a", &SecretString::new("v"), None, &[])
        .await
        .unwrap();
    let path = dir.path().join(SECRETS_FILE_NAME);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(store.secret_string("a").await.unwrap().expose(), "v");
    store.put_value("a", &SecretString::new("w")).await.unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[tokio::test]
async fn invalid_input_is_refused_without_echoing_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecrets::open(dir.path(), "us-east-1").unwrap();
    let e = store
        .create("bad name!", &SecretString::new("hunter2"), None, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(e, SecretsError::InvalidRequest(_)) && e.is_user_error(),
        "{e:?}"
    );
    assert!(!e.to_string().contains("hunter2"));
    let big = SecretString::new("z".repeat(70_000));
    let e = store.create("ok", &big, None, &[]).await.unwrap_err();
    assert!(!e.to_string().contains("zzzz"), "{e}");
    let e = store
        .create(
            "ok",
            &SecretString::new("v"),
            None,
            &[Tag::new("aws:x", "y")],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SecretsError::InvalidRequest(_)), "{e:?}");
}
