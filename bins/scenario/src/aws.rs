//! The subcommands on AWS or an AWS-compatible endpoint (feature `aws`): `AwsStack` from
//! `dmsrs-stack`, the flows through the same traits as the embedded stack.

use crate::common;
use crate::ui::Ui;
use crate::{Command, DatabasesArg, DmsArg, Global, Target};
use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use dmsrs_stack::aws::StackRecord;
use dmsrs_stack::{
    AwsDeployment, AwsStack, AwsStackOptions, DatabaseMode, DmsMode, ExternalMariaDb, Timeouts,
};
use dmsrs_tasks::seed::SeedSource;
use serde_json::json;
use std::time::Instant;

/// Runs `cmd` against `target`; `Ok(true)` when everything it checked passed.
pub async fn run(g: &Global, target: &Target, cmd: &Command) -> Result<bool, String> {
    // destroy and status take their modes from the deployment's record: no MariaDB details needed.
    let needs_details = matches!(
        cmd,
        Command::Deploy | Command::Run | Command::FullLoad | Command::Cdc
    );
    let opts = options(g, target, needs_details)?;
    let sdk = sdk_config(g, target).await;
    let dms_aws = opts.dms == DmsMode::Aws;
    let stack = AwsStack::new(&sdk, g.state_root(), &g.stack, opts).map_err(|e| e.to_string())?;
    let place = match target {
        Target::Aws => format!("AWS ({})", stack.region()),
        Target::Endpoint { url, .. } => format!("{url} ({})", stack.region()),
        Target::Embedded => "the embedded stack".into(),
    };
    let ui = Ui::new(g.json);
    match cmd {
        Command::Deploy => {
            let started = Instant::now();
            let dep = deploy(&stack, &place, &ui).await?;
            dep.shutdown().await;
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
            let dep = deploy(&stack, &place, &ui).await?;
            let deploy_ms = started.elapsed().as_millis() as u64;
            let flow_opts = g.flow_options(dms_aws.then_some(target));
            let connect = async |which: SeedSource| {
                let source = dep.source(which).await.map_err(|e| e.to_string())?;
                let client = source
                    .connect()
                    .await
                    .map_err(|e| format!("cannot connect to the {} source: {e}", label(which)))?;
                Ok((format!("{}:{}", source.host, source.port), client))
            };
            let report = common::run_flows(
                dep.service.as_ref(),
                &dep.outputs,
                dep.stream_reader(),
                cmd,
                &ui,
                flow_opts,
                connect,
            )
            .await;
            let mut report = match report {
                Ok(r) => r,
                Err(e) => {
                    dep.shutdown().await;
                    return Err(e);
                }
            };
            common::save_last_run(stack.dir(), dep.service.as_ref(), &report).await;
            dep.shutdown().await;
            report.durations_ms.insert("deploy".into(), deploy_ms);
            report
                .durations_ms
                .insert("total".into(), started.elapsed().as_millis() as u64);
            common::print_report(g.json, &report, &ui)
        }
        Command::Status => status(g, &stack, &place, &ui).await,
        Command::Destroy => {
            if stack.read_record().map_err(|e| e.to_string())?.is_none()
                && stack.outputs_path().exists()
            {
                return Err(format!(
                    "stack {} in {} is the embedded stack: run `scenario destroy` without --aws/--endpoint-url",
                    g.stack,
                    stack.dir().display()
                ));
            }
            if !g.json {
                ui.line(&format!("Destroying stack {} on {place}", g.stack));
            }
            stack.destroy(&|e| ui.resource(&e)).await.map_err(|e| {
                format!("destroy failed: {e}; run `scenario destroy` again once fixed")
            })?;
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

fn label(which: SeedSource) -> &'static str {
    match which {
        SeedSource::Cdc => "CDC",
        SeedSource::FullLoad => "full-load",
    }
}

async fn deploy(stack: &AwsStack, place: &str, ui: &Ui) -> Result<AwsDeployment, String> {
    let o = stack.options();
    ui.line(&format!(
        "Deploying stack {} on {place}: databases {}, DMS {}{}",
        stack.name(),
        o.database.as_str(),
        o.dms.as_str(),
        if o.network {
            ", with VPC and IAM roles"
        } else {
            ", without VPC and IAM roles"
        }
    ));
    stack
        .deploy(&|e| ui.resource(&e))
        .await
        .map_err(|e| format!("deploy failed: {e}"))
}

/// The stack's options from the flags; `needs_details`: an external MariaDB must be fully
/// described (deploying writes its secret).
///
/// Modes not given on the command line come from the deployment's record, when the stack was
/// deployed before: `scenario run --endpoint-url URL` after a `deploy` with
/// `--databases external ...` keeps that layout (and the stored access secret).
fn options(g: &Global, target: &Target, needs_details: bool) -> Result<AwsStackOptions, String> {
    let record =
        dmsrs_stack::aws::read_record(&g.state_root().join(&g.stack)).map_err(|e| e.to_string())?;
    let databases = match (g.databases, &record) {
        (Some(d), _) => d,
        (None, Some(r)) if r.database == "external" => DatabasesArg::External,
        (None, Some(r)) if r.database == "embedded" => DatabasesArg::Embedded,
        (None, Some(r)) if r.database == "existing" => DatabasesArg::Existing,
        (None, _) => DatabasesArg::Rds,
    };
    let dms = match (g.dms, &record) {
        (Some(d), _) => d,
        (None, Some(r)) if r.dms == "embedded" => DmsArg::Embedded,
        (None, _) => DmsArg::Aws,
    };
    let network = !g.no_network && record.as_ref().is_none_or(|r| r.network);
    let deployed_external = record.as_ref().is_some_and(|r| r.database == "external");
    if g.external_mariadb.is_some()
        && !matches!(databases, DatabasesArg::External | DatabasesArg::Existing)
    {
        return Err("--external-mariadb needs --databases external or existing".into());
    }
    if g.cdc_mariadb.is_some() && databases != DatabasesArg::Existing {
        return Err("--cdc-mariadb needs --databases existing".into());
    }
    let deployed_existing = record.as_ref().is_some_and(|r| r.database == "existing");
    let database = match databases {
        DatabasesArg::Rds => DatabaseMode::Rds,
        DatabasesArg::Embedded => DatabaseMode::Embedded,
        DatabasesArg::Existing => existing_databases(g, needs_details && !deployed_existing)?,
        // Not described: destroy and status need no details, and a deployed stack keeps its
        // stored access secret.
        DatabasesArg::External
            if g.external_mariadb.is_none() && (!needs_details || deployed_external) =>
        {
            DatabaseMode::External(ExternalMariaDb {
                host: String::new(),
                port: 3306,
                username: g.external_user.clone(),
                password: dmsrs_tasks::SecretString::default(),
                dbname: g.external_dbname.clone(),
            })
        }
        DatabasesArg::External => {
            let addr = g.external_mariadb.as_deref().ok_or(
                "--databases external needs --external-mariadb HOST:PORT, the full-load MariaDB as DMS reaches it (LocalStack: mariadb_server:3306)",
            )?;
            let (host, port) = host_port(addr)?;
            let password = g.external_password.clone().filter(|p| !p.expose().is_empty()).ok_or(
                "--databases external needs the MariaDB's password: set DMSRS_EXTERNAL_PASSWORD (or pass --external-password)",
            )?;
            DatabaseMode::External(ExternalMariaDb {
                host,
                port,
                username: g.external_user.clone(),
                password,
                dbname: g.external_dbname.clone(),
            })
        }
    };
    let mut service_endpoints = Vec::new();
    for r in &g.service_endpoints {
        match r.split_once('=') {
            Some((svc, url)) if dmsrs_stack::aws::SERVICES.contains(&svc) && !url.is_empty() => {
                service_endpoints.push((svc.to_owned(), url.to_owned()))
            }
            _ => {
                return Err(format!(
                    "--service-endpoint {r:?}: write SERVICE=URL with SERVICE one of {}, e.g. dms=http://127.0.0.1:4599",
                    dmsrs_stack::aws::SERVICES.join(", ")
                ));
            }
        }
    }
    let mut host_rewrites = Vec::new();
    for r in &g.host_rewrites {
        match r.split_once('=') {
            Some((from, to)) if !from.is_empty() && !to.is_empty() => {
                host_rewrites.push((from.to_owned(), to.to_owned()))
            }
            _ => {
                return Err(format!(
                    "--host-rewrite {r:?}: write FROM=TO, e.g. mariadb_server=localhost"
                ));
            }
        }
    }
    let mut o = AwsStackOptions {
        database,
        dms: match dms {
            DmsArg::Aws => DmsMode::Aws,
            DmsArg::Embedded => DmsMode::Embedded,
        },
        network,
        host_rewrites,
        service_endpoints,
        dms_vpc_policy_arn: g.dms_vpc_policy_arn.clone(),
        timeouts: match target {
            Target::Aws => Timeouts::default(),
            _ => Timeouts::emulator(),
        },
        ..AwsStackOptions::default()
    };
    if let Some(v) = &g.rds_engine_version {
        o.rds_engine_version.clone_from(v);
    }
    if let Some(c) = &g.rds_instance_class {
        o.rds_instance_class.clone_from(c);
    }
    if !matches!(target, Target::Aws) {
        // Emulators have no GetRecords rate limit worth waiting for.
        o.read_interval = std::time::Duration::from_millis(50);
    }
    Ok(o)
}

/// `--databases existing`: both databases from the flags. Without `--cdc-mariadb` and
/// `--external-mariadb` (status, destroy, or a run after a deploy) the secrets stored by the
/// earlier deploy are kept; `require` makes them mandatory.
fn existing_databases(g: &Global, require: bool) -> Result<DatabaseMode, String> {
    let one = |addr: Option<&str>,
               flag: &str,
               user: &str,
               password: Option<&dmsrs_tasks::SecretString>,
               env: &str,
               dbname: &str|
     -> Result<ExternalMariaDb, String> {
        let Some(addr) = addr else {
            if require {
                return Err(format!(
                    "--databases existing needs {flag} HOST:PORT (and its password in {env})"
                ));
            }
            return Ok(ExternalMariaDb {
                host: String::new(),
                port: 3306,
                username: user.to_owned(),
                password: dmsrs_tasks::SecretString::default(),
                dbname: dbname.to_owned(),
            });
        };
        let (host, port) = host_port_for(flag, addr)?;
        let password = password
            .cloned()
            .filter(|p| !p.expose().is_empty())
            .ok_or_else(|| format!("{flag} {addr}: set its password in {env}"))?;
        Ok(ExternalMariaDb {
            host,
            port,
            username: user.to_owned(),
            password,
            dbname: dbname.to_owned(),
        })
    };
    Ok(DatabaseMode::Existing {
        cdc: one(
            g.cdc_mariadb.as_deref(),
            "--cdc-mariadb",
            &g.cdc_user,
            g.cdc_password.as_ref(),
            "DMSRS_CDC_PASSWORD",
            &g.cdc_dbname,
        )?,
        full_load: one(
            g.external_mariadb.as_deref(),
            "--external-mariadb",
            &g.external_user,
            g.external_password.as_ref(),
            "DMSRS_EXTERNAL_PASSWORD",
            &g.external_dbname,
        )?,
    })
}

/// `host:port` (the port is required).
fn host_port(s: &str) -> Result<(String, u16), String> {
    host_port_for("--external-mariadb", s)
}

/// `host:port` of `flag` (the port is required).
fn host_port_for(flag: &str, s: &str) -> Result<(String, u16), String> {
    let bad = || format!("{flag} {s:?}: write HOST:PORT, e.g. mariadb_server:3306");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(bad)?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// The SDK configuration: region, credentials, endpoints. With an endpoint URL given as a
/// flag, every service uses it; one from AWS_ENDPOINT_URL is left to aws-config, so that
/// AWS_ENDPOINT_URL_<SERVICE> variables override it per service.
async fn sdk_config(g: &Global, target: &Target) -> SdkConfig {
    let emulator = matches!(target, Target::Endpoint { .. });
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = &g.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &g.region {
        loader = loader.region(Region::new(r.clone()));
    } else if emulator {
        // The environment, then the profile, then us-east-1 (as the seed's Makefile): never
        // the instance metadata service.
        let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(p) = &g.profile {
            profile = profile.profile_name(p);
        }
        loader = loader.region(
            RegionProviderChain::first_try(
                aws_config::environment::EnvironmentVariableRegionProvider::new(),
            )
            .or_else(profile.build())
            .or_else(Region::new("us-east-1")),
        );
    }
    if let Target::Endpoint {
        url,
        explicit: true,
    } = target
    {
        loader = loader.endpoint_url(url);
    }
    // Emulators take any credentials; without keys or a profile, do not probe for them.
    let has_profile = g.profile.is_some() || std::env::var_os("AWS_PROFILE").is_some();
    if emulator && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() && !has_profile {
        loader = loader.test_credentials();
    }
    loader.load().await
}

async fn status(g: &Global, stack: &AwsStack, place: &str, ui: &Ui) -> Result<bool, String> {
    let st = stack.status().await.map_err(|e| e.to_string())?;
    let last = common::read_last_run(stack.dir());
    if g.json {
        let dbs: Vec<_> = st
            .databases
            .iter()
            .map(|(n, d)| json!({"name": n, "status": d.as_ref().map(|d| d.status.clone()), "endpoint": d.as_ref().map(|d| format!("{}:{}", d.host, d.port))}))
            .collect();
        let tasks: Vec<_> = st
            .tasks
            .iter()
            .map(|t| json!({"identifier": t.identifier, "arn": t.arn, "status": t.status.as_str(), "stop_reason": t.stop_reason}))
            .collect();
        println!(
            "{}",
            json!({
                "stack": g.stack, "state_dir": stack.dir(), "target": place,
                "deployment": st.record.as_ref().map(record_json),
                "outputs": st.outputs, "databases": dbs,
                "stream": st.stream.as_ref().map(|s| json!({"name": s.name, "arn": s.arn, "status": s.status, "shards": s.open_shard_count, "retention_hours": s.retention_hours})),
                "replication_instance": st.replication_instance.as_ref().map(|r| json!({"arn": r.arn, "status": r.status, "class": r.class})),
                "tasks": tasks, "last_run": last,
            })
        );
        return Ok(true);
    }
    let Some(record) = &st.record else {
        ui.line(&format!(
            "Stack {} is not deployed on {place} ({}). Run `scenario deploy` or `scenario run`.",
            g.stack,
            stack.dir().display()
        ));
        return Ok(true);
    };
    ui.line(&format!(
        "Stack {} on {place}: databases {}, DMS {}{}",
        g.stack,
        record.database,
        record.dms,
        if record.network {
            ", with VPC and IAM roles"
        } else {
            ""
        }
    ));
    if let Some(outputs) = &st.outputs {
        ui.line("\nOutputs:");
        for (k, v) in outputs.pairs() {
            ui.line(&format!("  {k} = {v}"));
        }
    } else {
        ui.line("\nNo outputs: the last deploy did not finish (run `scenario deploy` again or `scenario destroy`).");
    }
    ui.line("\nDatabases:");
    for (name, d) in &st.databases {
        match d {
            Some(d) => ui.line(&format!(
                "  {name}: {} at {}:{} (MariaDB {})",
                d.status, d.host, d.port, d.engine_version
            )),
            None => ui.line(&format!("  {name}: not created")),
        }
    }
    match &st.stream {
        Some(s) => ui.line(&format!(
            "Stream: {} {} ({} shard, {} h retention)",
            s.arn, s.status, s.open_shard_count, s.retention_hours
        )),
        None => ui.line("Stream: not created"),
    }
    if record.dms == "aws" {
        match &st.replication_instance {
            Some(r) => ui.line(&format!(
                "Replication instance: {} {} ({})",
                r.identifier, r.status, r.class
            )),
            None => ui.line("Replication instance: not created"),
        }
        ui.line("Tasks now:");
        for t in &st.tasks {
            ui.line(&format!(
                "  {:<18} {:<8} {}",
                t.identifier,
                t.status.as_str(),
                t.stop_reason.as_deref().unwrap_or("")
            ));
        }
    }
    match last {
        None => ui.line("\nNo run yet."),
        Some(last) => common::print_last_run(ui, &last),
    }
    Ok(true)
}

fn record_json(r: &StackRecord) -> serde_json::Value {
    json!({"region": r.region, "databases": r.database, "dms": r.dms, "network": r.network})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_port_parsing() {
        assert_eq!(
            host_port("mariadb_server:3306").unwrap(),
            ("mariadb_server".to_owned(), 3306)
        );
        assert!(host_port("mariadb_server").is_err());
        assert!(host_port(":3306").is_err());
        assert!(host_port("h:0").is_err());
        assert!(host_port("h:99999").is_err());
    }
}
