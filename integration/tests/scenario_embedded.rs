//! The user-facing main job end to end: `scenario deploy`, `run`, `status`, `destroy` on the
//! embedded default, through the real binary, with a private state folder.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

fn scenario_bin() -> std::path::PathBuf {
    // The binary of the workspace's scenario package, built by `cargo test --workspace`
    // (or nextest) before the integration tests run.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf);
    let candidates = [
        profile_dir.map(|d| d.join("scenario")),
        Some(target.join("debug/scenario")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("the scenario binary is not built: run `cargo build -p dmsrs-scenario` first")
        })
}

fn scenario(state: &Path, args: &[&str]) -> Output {
    Command::new(scenario_bin())
        .arg("--state-dir")
        .arg(state)
        .args(["--stack", "ItStack"])
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap()
}

#[test]
fn embedded_scenario_deploy_run_status_destroy() {
    let state = tempfile::tempdir().unwrap();

    // deploy prints the seed's outputs and is idempotent.
    let d1 = scenario(state.path(), &["deploy", "--json"]);
    assert!(
        d1.status.success(),
        "{}",
        String::from_utf8_lossy(&d1.stderr)
    );
    let d1: serde_json::Value = serde_json::from_slice(&d1.stdout).unwrap();
    let outputs = &d1["outputs"];
    for k in [
        "cdcTask1",
        "cdcTask2",
        "cdcTaskSecret",
        "fullTask1",
        "fullTask2",
        "fullTaskSecret",
        "kinesisStream",
    ] {
        assert!(
            outputs[k]
                .as_str()
                .is_some_and(|v| v.starts_with("arn:aws:")),
            "{k}: {outputs}"
        );
    }
    let d2 = scenario(state.path(), &["deploy", "--json"]);
    assert!(d2.status.success());
    let d2: serde_json::Value = serde_json::from_slice(&d2.stdout).unwrap();
    assert_eq!(d2["outputs"], *outputs, "a second deploy reuses everything");

    // run: every step passes; the report has the documented shape.
    let started = Instant::now();
    let run = scenario(state.path(), &["run", "--json"]);
    let elapsed = started.elapsed();
    assert!(
        run.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert!(steps.len() >= 12, "{report}");
    for s in steps {
        assert_eq!(s["ok"], true, "{s}");
        for k in ["name", "expected", "received", "records"] {
            assert!(s.get(k).is_some(), "{k} missing in {s}");
        }
    }
    let by_name = |prefix: &str| {
        steps
            .iter()
            .find(|s| s["name"].as_str().unwrap().starts_with(prefix))
            .unwrap()
    };
    assert_eq!(by_name("full load: task 1")["received"], 6);
    assert_eq!(by_name("full load: task 2")["received"], 4);
    assert_eq!(by_name("cdc: start both tasks")["received"], 5);
    assert_eq!(by_name("cdc: insert the seed rows")["received"], 4);
    assert_eq!(by_name("cdc: alter the tables")["received"], 3);
    let update = &by_name("cdc: update an author")["records"][0]["record"];
    assert_eq!(update["before-image"]["email"], "john.doe@example.com");
    assert_eq!(report["statistics"]["fullTask2"][0]["FullLoadRows"], 2);
    assert!(report["durations_ms"]["total"].as_u64().is_some());
    assert!(elapsed.as_secs() < 60, "the run took {elapsed:?}");

    // The human output ends with the summary line.
    let run = scenario(state.path(), &["run"]);
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(
        text.trim_end()
            .ends_with(&format!("scenario: {} passed, 0 failed", steps.len())),
        "{text}"
    );

    let st = scenario(state.path(), &["status", "--json"]);
    assert!(st.status.success());
    let st: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st["last_run"]["failed"], 0);
    assert!(
        st["databases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "available"),
        "{st}"
    );

    let des = scenario(state.path(), &["destroy"]);
    assert!(
        des.status.success(),
        "{}",
        String::from_utf8_lossy(&des.stderr)
    );
    assert!(
        !state.path().join("ItStack").exists(),
        "destroy removes the stack's state"
    );
    let st = scenario(state.path(), &["status"]);
    assert!(
        String::from_utf8(st.stdout)
            .unwrap()
            .contains("not deployed")
    );
}

#[test]
fn help_explains_every_subcommand() {
    let out = Command::new(scenario_bin()).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in [
        "deploy",
        "run",
        "full-load",
        "cdc",
        "status",
        "destroy",
        "decode",
    ] {
        assert!(text.contains(sub), "{sub} missing from --help:\n{text}");
    }
    for sub in ["deploy", "run", "status", "destroy", "decode"] {
        let out = Command::new(scenario_bin())
            .args([sub, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Example") || text.contains("Examples"),
            "{sub} --help has no example:\n{text}"
        );
    }
}
