//! The subcommands on the embedded stack.

use crate::ui::Ui;
use crate::{Command, Global};
use dmsrs_database::SqlClient;
use dmsrs_seed::flows::Runner;
use dmsrs_seed::report::Report;
use dmsrs_seed::watch::StreamWatch;
use dmsrs_stack::{Deployment, EmbeddedStack};
use dmsrs_streams::DynStreamReader;
use dmsrs_tasks::{ReplicationService, TaskFilter};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Runs `cmd`; `Ok(true)` when everything it checked passed.
pub async fn run(g: &Global, cmd: &Command) -> Result<bool, String> {
    let stack = EmbeddedStack::new(g.state_root(), &g.stack);
    let ui = Ui::new(g.json);
    match cmd {
        Command::Deploy => {
            let started = Instant::now();
            let dep = deploy(&stack, &ui).await?;
            dep.engine.shutdown().await;
            print_outputs(g, &stack, &dep, started.elapsed().as_millis() as u64, &ui);
            Ok(true)
        }
        Command::Run | Command::FullLoad | Command::Cdc => {
            let started = Instant::now();
            let dep = deploy(&stack, &ui).await?;
            let deploy_ms = started.elapsed().as_millis() as u64;
            let report = flows(g, &dep, cmd, &ui).await;
            dep.engine.shutdown().await;
            let mut report = report?;
            report.durations_ms.insert("deploy".into(), deploy_ms);
            report.durations_ms.insert("total".into(), started.elapsed().as_millis() as u64);
            save_last_run(&stack, &dep, &report).await;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            } else {
                ui.summary(&report);
            }
            Ok(report.ok())
        }
        Command::Status => status(g, &stack, &ui).await,
        Command::Destroy => {
            if !g.json {
                ui.line(&format!("Destroying stack {} ({})", g.stack, stack.dir().display()));
            }
            stack.destroy(&|e| ui.resource(&e)).await.map_err(|e| e.to_string())?;
            if g.json {
                println!("{}", json!({"destroyed": g.stack}));
            } else {
                ui.line(&format!("Stack {} destroyed.", g.stack));
            }
            Ok(true)
        }
        Command::Decode(_) => Ok(true),
    }
}

async fn deploy(stack: &EmbeddedStack, ui: &Ui) -> Result<Deployment, String> {
    ui.line(&format!("Deploying the embedded stack in {}", stack.dir().display()));
    stack.deploy(&|e| ui.resource(&e)).await.map_err(|e| format!("deploy failed: {e}"))
}

fn print_outputs(g: &Global, stack: &EmbeddedStack, dep: &Deployment, ms: u64, ui: &Ui) {
    if g.json {
        let outputs = serde_json::to_value(&dep.outputs).unwrap_or_default();
        println!("{}", json!({"stack": g.stack, "outputs": outputs, "outputs_file": stack.outputs_path(), "durations_ms": {"deploy": ms}}));
        return;
    }
    ui.line("\nOutputs:");
    for (k, v) in dep.outputs.pairs() {
        ui.line(&format!("{}.{k} = {v}", g.stack));
    }
    ui.line(&format!("Outputs file: {}", stack.outputs_path().display()));
    ui.line(&format!("\nTotal time: {:.2}s", ms as f64 / 1000.0));
}

async fn flows(g: &Global, dep: &Deployment, cmd: &Command, ui: &Ui) -> Result<Report, String> {
    let connect = |db: &dmsrs_database::DatabaseInstance| {
        let db = db.clone();
        async move { SqlClient::connect_instance(&db).await.map_err(|e| format!("cannot connect to {}: {e}", db.identifier)) }
    };
    let reader: Arc<dyn DynStreamReader> = Arc::new(dep.stream.clone());
    let watch = StreamWatch::start(reader).await.map_err(|e| format!("cannot read the target stream: {e}"))?;
    let mut runner = Runner::new(&dep.engine, &dep.outputs, watch, ui, g.flow_options());
    if matches!(cmd, Command::Run | Command::FullLoad) {
        ui.line(&format!("\n************\nSTARTING FULL LOAD FLOW\n************\ndb endpoint: {}:{}", dep.full_db.host, dep.full_db.port));
        let mut db = connect(&dep.full_db).await?;
        runner.full_load(&mut db).await;
        let _ = db.close().await;
    }
    if matches!(cmd, Command::Run | Command::Cdc) {
        ui.line(&format!("\n************\nSTARTING CDC FLOW\n************\ndb endpoint: {}:{}", dep.cdc_db.host, dep.cdc_db.port));
        let mut db = connect(&dep.cdc_db).await?;
        runner.cdc(&mut db).await;
        let _ = db.close().await;
    }
    Ok(runner.into_report())
}

/// Keeps the last run's task states and statistics for `scenario status`.
async fn save_last_run(stack: &EmbeddedStack, dep: &Deployment, report: &Report) {
    let tasks = dep.engine.describe_tasks(&TaskFilter::default()).await.unwrap_or_default();
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
    let steps: Vec<_> = report.steps.iter().map(|s| json!({"name": s.name, "ok": s.ok})).collect();
    let body = json!({
        "finished_at": dmsrs_codec::render::now_timestamp(),
        "tasks": tasks, "statistics": report.statistics, "steps": steps,
        "passed": report.passed(), "failed": report.failed(),
    });
    let _ = std::fs::write(stack.dir().join("last-run.json"), serde_json::to_vec_pretty(&body).unwrap_or_default());
}

async fn status(g: &Global, stack: &EmbeddedStack, ui: &Ui) -> Result<bool, String> {
    let outputs = stack.read_outputs().map_err(|e| e.to_string())?;
    let dbs = stack.databases_status().await;
    let last: Option<serde_json::Value> =
        std::fs::read(stack.dir().join("last-run.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if g.json {
        let dbs: Vec<_> = dbs
            .iter()
            .map(|(n, d)| json!({"name": n, "status": d.as_ref().map(|d| d.status.clone()), "endpoint": d.as_ref().map(|d| format!("{}:{}", d.host, d.port))}))
            .collect();
        println!("{}", json!({"stack": g.stack, "state_dir": stack.dir(), "outputs": outputs, "databases": dbs, "last_run": last}));
        return Ok(true);
    }
    let Some(outputs) = outputs else {
        ui.line(&format!("Stack {} is not deployed ({}). Run `scenario deploy` or `scenario run`.", g.stack, stack.dir().display()));
        return Ok(true);
    };
    ui.line(&format!("Stack {} ({})", g.stack, stack.dir().display()));
    ui.line("\nOutputs:");
    for (k, v) in outputs.pairs() {
        ui.line(&format!("  {k} = {v}"));
    }
    ui.line("\nDatabases:");
    for (name, d) in &dbs {
        match d {
            Some(d) => ui.line(&format!("  {name}: {} at {}:{} (MariaDB {})", d.status, d.host, d.port, d.engine_version)),
            None => ui.line(&format!("  {name}: not created")),
        }
    }
    match last {
        None => ui.line("\nNo run yet: the embedded engine runs tasks inside `scenario run`."),
        Some(last) => {
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
    }
    Ok(true)
}
