//! What the embedded and the AWS subcommands share: the flows, the report, the last run.

use crate::Command;
use crate::ui::Ui;
use dmsrs_database::SqlClient;
use dmsrs_seed::Outputs;
use dmsrs_seed::flows::{FlowOptions, Runner};
use dmsrs_seed::report::Report;
use dmsrs_seed::watch::StreamWatch;
use dmsrs_streams::DynStreamReader;
use dmsrs_tasks::seed::{self, SeedSource};
use dmsrs_tasks::{ReplicationService, TaskFilter};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// Runs the flows `cmd` asks for (`run`: both) and returns their report. `connect` opens a
/// source and names its `host:port`.
pub async fn run_flows(
    svc: &dyn ReplicationService,
    outputs: &Outputs,
    reader: Arc<dyn DynStreamReader>,
    cmd: &Command,
    ui: &Ui,
    opts: FlowOptions,
    connect: impl AsyncFn(SeedSource) -> Result<(String, SqlClient), String>,
) -> Result<Report, String> {
    let watch = StreamWatch::start(reader)
        .await
        .map_err(|e| format!("cannot read the target stream: {e}"))?;
    let mut runner = Runner::new(svc, outputs, watch, ui, opts);
    if matches!(cmd, Command::Run | Command::FullLoad) {
        let (endpoint, mut db) = connect(SeedSource::FullLoad).await?;
        ui.line(&format!(
            "\n************\nSTARTING FULL LOAD FLOW\n************\ndb endpoint: {endpoint}"
        ));
        runner.full_load(&mut db).await;
        let _ = db.close().await;
    }
    if matches!(cmd, Command::Run | Command::Cdc) {
        let (endpoint, mut db) = connect(SeedSource::Cdc).await?;
        ui.line(&format!(
            "\n************\nSTARTING CDC FLOW\n************\ndb endpoint: {endpoint}"
        ));
        runner.cdc(&mut db).await;
        let _ = db.close().await;
    }
    Ok(runner.into_report())
}

/// Prints the report (JSON or the summary); `Ok(true)` when every step passed.
pub fn print_report(json: bool, report: &Report, ui: &Ui) -> Result<bool, String> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).map_err(|e| e.to_string())?
        );
    } else {
        ui.summary(report);
    }
    Ok(report.ok())
}

/// Prints the outputs after a deploy.
pub fn print_outputs(json: bool, stack: &str, outputs: &Outputs, path: &Path, ms: u64, ui: &Ui) {
    if json {
        let o = serde_json::to_value(outputs).unwrap_or_default();
        println!(
            "{}",
            json!({"stack": stack, "outputs": o, "outputs_file": path, "durations_ms": {"deploy": ms}})
        );
        return;
    }
    ui.line("\nOutputs:");
    for (k, v) in outputs.pairs() {
        ui.line(&format!("{stack}.{k} = {v}"));
    }
    ui.line(&format!("Outputs file: {}", path.display()));
    ui.line(&format!("\nTotal time: {:.2}s", ms as f64 / 1000.0));
}

/// Keeps the last run's task states and statistics in `<dir>/last-run.json` for
/// `scenario status`.
pub async fn save_last_run(dir: &Path, svc: &dyn ReplicationService, report: &Report) {
    let filter = TaskFilter {
        identifiers: seed::tasks()
            .iter()
            .map(|t| t.identifier.to_owned())
            .collect(),
        ..TaskFilter::default()
    };
    let tasks = svc.describe_tasks(&filter).await.unwrap_or_default();
    let tasks: Vec<_> = tasks
        .iter()
        .map(|t| {
            json!({
                "identifier": t.identifier, "arn": t.arn, "status": t.status.as_str(),
                "stop_reason": t.stop_reason, "last_failure_message": t.last_failure_message,
                "recovery_checkpoint": t.recovery_checkpoint,
                "full_load_progress_percent": t.stats.full_load_progress_percent,
                "tables_loaded": t.stats.tables_loaded, "tables_errored": t.stats.tables_errored,
            })
        })
        .collect();
    let steps: Vec<_> = report
        .steps
        .iter()
        .map(|s| json!({"name": s.name, "ok": s.ok}))
        .collect();
    let body = json!({
        "finished_at": dmsrs_codec::render::now_timestamp(),
        "tasks": tasks, "statistics": report.statistics, "steps": steps,
        "passed": report.passed(), "failed": report.failed(),
    });
    let _ = std::fs::write(
        dir.join("last-run.json"),
        serde_json::to_vec_pretty(&body).unwrap_or_default(),
    );
}

/// The last run saved by [`save_last_run`], if any.
pub fn read_last_run(dir: &Path) -> Option<serde_json::Value> {
    std::fs::read(dir.join("last-run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Prints a saved last run.
pub fn print_last_run(ui: &Ui, last: &serde_json::Value) {
    ui.line(&format!(
        "\nLast run ({}): {} passed, {} failed",
        last["finished_at"].as_str().unwrap_or("?"),
        last["passed"],
        last["failed"]
    ));
    ui.line("Tasks:");
    for t in last["tasks"].as_array().into_iter().flatten() {
        ui.line(&format!(
            "  {:<18} {:<8} {}",
            t["identifier"].as_str().unwrap_or("?"),
            t["status"].as_str().unwrap_or("?"),
            t["stop_reason"].as_str().unwrap_or("")
        ));
    }
    if let Some(stats) = last["statistics"].as_object() {
        for (task, rows) in stats {
            ui.line(&format!("Table statistics: {task}"));
            for r in rows.as_array().into_iter().flatten() {
                ui.line(&format!(
                    "  {}.{}  {}  FullLoadRows {}  Inserts {}  Updates {}  Deletes {}  Ddls {}",
                    r["SchemaName"].as_str().unwrap_or(""),
                    r["TableName"].as_str().unwrap_or(""),
                    r["TableState"].as_str().unwrap_or(""),
                    r["FullLoadRows"],
                    r["Inserts"],
                    r["Updates"],
                    r["Deletes"],
                    r["Ddls"]
                ));
            }
        }
    }
}
