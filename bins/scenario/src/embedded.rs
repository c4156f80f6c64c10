//! The subcommands on the embedded stack.

use crate::common;
use crate::ui::Ui;
use crate::{Command, Global};
use dmsrs_database::SqlClient;
use dmsrs_seed::report::Report;
use dmsrs_stack::{Deployment, EmbeddedStack};
use dmsrs_streams::DynStreamReader;
use dmsrs_tasks::seed::SeedSource;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// The file an AWS deployment of the stack leaves in its state folder.
const AWS_RECORD: &str = "aws-stack.json";

/// Runs `cmd`; `Ok(true)` when everything it checked passed.
pub async fn run(g: &Global, cmd: &Command) -> Result<bool, String> {
    let stack = EmbeddedStack::new(g.state_root(), &g.stack);
    if stack.dir().join(AWS_RECORD).exists() && !matches!(cmd, Command::Decode(_)) {
        return Err(format!(
            "stack {} is deployed on AWS or an AWS-compatible endpoint ({} exists): add --aws or --endpoint-url \
             (and the same --dms/--databases options) to manage it, or pick another --stack",
            g.stack,
            stack.dir().join(AWS_RECORD).display()
        ));
    }
    let ui = Ui::new(g.json);
    match cmd {
        Command::Deploy => {
            let started = Instant::now();
            let dep = deploy(&stack, &ui).await?;
            dep.engine.shutdown().await;
            let ms = started.elapsed().as_millis() as u64;
            common::print_outputs(
                g.json,
                &g.stack,
                &dep.outputs,
                &stack.outputs_path(),
                ms,
                &ui,
            );
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
            report
                .durations_ms
                .insert("total".into(), started.elapsed().as_millis() as u64);
            common::save_last_run(stack.dir(), &dep.engine, &report).await;
            common::print_report(g.json, &report, &ui)
        }
        Command::Status => status(g, &stack, &ui).await,
        Command::Destroy => {
            if !g.json {
                ui.line(&format!(
                    "Destroying stack {} ({})",
                    g.stack,
                    stack.dir().display()
                ));
            }
            stack
                .destroy(&|e| ui.resource(&e))
                .await
                .map_err(|e| e.to_string())?;
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
    ui.line(&format!(
        "Deploying the embedded stack in {}",
        stack.dir().display()
    ));
    stack
        .deploy(&|e| ui.resource(&e))
        .await
        .map_err(|e| format!("deploy failed: {e}"))
}

async fn flows(g: &Global, dep: &Deployment, cmd: &Command, ui: &Ui) -> Result<Report, String> {
    let reader: Arc<dyn DynStreamReader> = Arc::new(dep.stream.clone());
    let connect = async |which: SeedSource| {
        let db = match which {
            SeedSource::FullLoad => &dep.full_db,
            SeedSource::Cdc => &dep.cdc_db,
        };
        let client = SqlClient::connect_instance(db)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", db.identifier))?;
        Ok((format!("{}:{}", db.host, db.port), client))
    };
    common::run_flows(
        &dep.engine,
        &dep.outputs,
        reader,
        cmd,
        ui,
        g.flow_options(None),
        connect,
    )
    .await
}

async fn status(g: &Global, stack: &EmbeddedStack, ui: &Ui) -> Result<bool, String> {
    let outputs = stack.read_outputs().map_err(|e| e.to_string())?;
    let dbs = stack.databases_status().await;
    let last = common::read_last_run(stack.dir());
    if g.json {
        let dbs: Vec<_> = dbs
            .iter()
            .map(|(n, d)| json!({"name": n, "status": d.as_ref().map(|d| d.status.clone()), "endpoint": d.as_ref().map(|d| format!("{}:{}", d.host, d.port))}))
            .collect();
        println!(
            "{}",
            json!({"stack": g.stack, "state_dir": stack.dir(), "outputs": outputs, "databases": dbs, "last_run": last})
        );
        return Ok(true);
    }
    let Some(outputs) = outputs else {
        ui.line(&format!(
            "Stack {} is not deployed ({}). Run `scenario deploy` or `scenario run`.",
            g.stack,
            stack.dir().display()
        ));
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
            Some(d) => ui.line(&format!(
                "  {name}: {} at {}:{} (MariaDB {})",
                d.status, d.host, d.port, d.engine_version
            )),
            None => ui.line(&format!("  {name}: not created")),
        }
    }
    match last {
        None => ui.line("\nNo run yet: the embedded engine runs tasks inside `scenario run`."),
        Some(last) => common::print_last_run(ui, &last),
    }
    Ok(true)
}
