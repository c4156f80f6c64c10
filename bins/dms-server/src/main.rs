//! `dms-server`: a local AWS DMS endpoint. It only wires crates together.
// Doc comments here are the CLI's --help texts: plain URLs and <SERVICE> placeholders are meant.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use clap::Parser;
use dmsrs_dms_server::{DmsServer, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// A local AWS DMS endpoint: the DMS API (AWS JSON 1.1) served over HTTP and backed by the
/// embedded replication engine, so the aws CLI, boto3, the AWS SDKs and Terraform create and
/// run real replication tasks (MySQL/MariaDB sources, Kinesis targets) with no AWS account.
///
/// Sources that name a Secrets Manager secret (MySQLSettings.SecretsManagerSecretId) are
/// read through Secrets Manager, and Kinesis targets write to Kinesis, both reached with the
/// AWS SDK's usual configuration: AWS_REGION, credentials from the default chain,
/// AWS_ENDPOINT_URL for every service or AWS_ENDPOINT_URL_SECRETS_MANAGER and
/// AWS_ENDPOINT_URL_KINESIS per service (moto, kinesis-local, LocalStack or AWS itself).
/// Any SigV4 credentials are accepted by the server itself. It prints
/// "dms-server listening on http://ADDR" on stdout once it accepts requests; logs go to
/// stderr (RUST_LOG=info or debug for more).
#[derive(Debug, Parser)]
#[command(
    name = "dms-server",
    version,
    after_help = "\
Examples:
  # moto for Secrets Manager, kinesis-local for Kinesis, state kept in ./dms-state
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:4567 \\
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \\
      dms-server --listen 127.0.0.1:4599 --state-dir ./dms-state

  # then, from any AWS client
  aws --endpoint-url http://127.0.0.1:4599 dms describe-replication-tasks
  AWS_ENDPOINT_URL_DATABASE_MIGRATION_SERVICE=http://127.0.0.1:4599 scenario run ..."
)]
struct Cli {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:4599", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Folder for the saved state (endpoints, tasks, statistics, CDC checkpoints); without
    /// it everything is lost when the server stops.
    #[arg(long, env = "DMS_SERVER_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Region in ARNs [default: AWS_REGION, else us-east-1].
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Account id in ARNs.
    #[arg(long, default_value = "000000000000", value_name = "ID")]
    account: String,
    /// How long, in milliseconds, replication instances and tasks stay `creating` (DMS takes
    /// minutes; 0 makes them available at once).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    transition_delay_ms: u64,
    /// Do not start tasks that were running when the server stopped again at start-up.
    #[arg(long)]
    no_resume: bool,
    /// Replace a source host name when connecting (like the seed's mariadb_server=localhost
    /// for a Docker network name). Repeatable.
    #[arg(long = "host-rewrite", value_name = "FROM=TO")]
    host_rewrites: Vec<String>,
    /// Seconds between saves of the state while serving (it is also saved after every
    /// change and at shutdown).
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    save_interval: u64,
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut host_rewrites = Vec::new();
    for r in &cli.host_rewrites {
        let (from, to) = r
            .split_once('=')
            .ok_or_else(|| format!("--host-rewrite {r:?}: use FROM=TO"))?;
        host_rewrites.push((from.to_owned(), to.to_owned()));
    }
    let sdk = aws_config::from_env().load().await;
    let region = cli
        .region
        .clone()
        .or_else(|| sdk.region().map(ToString::to_string))
        .unwrap_or_else(|| "us-east-1".into());
    let cfg = ServerConfig {
        region,
        account: cli.account.clone(),
        state_dir: cli.state_dir.clone(),
        transition_delay: Duration::from_millis(cli.transition_delay_ms),
        resume_running: !cli.no_resume,
        host_rewrites,
    };
    let secrets = Arc::new(dmsrs_secrets::AwsSecrets::from_sdk_config(&sdk));
    let targets = Arc::new(dmsrs_engine::KinesisTargets::new(&sdk));
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (is another server using the port?)",
                cli.listen
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = DmsServer::new(cfg, secrets, targets)
        .await
        .map_err(|e| e.to_string())?;
    println!("dms-server listening on http://{addr}");
    tracing::info!(%addr, state_dir = ?cli.state_dir, "dms-server listening");
    server
        .serve(
            listener,
            shutdown_signal(),
            Duration::from_secs(cli.save_interval.max(1)),
        )
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("dms-server stopped");
    Ok(())
}

/// mimalloc: the engine allocates on the runtime's workers and frees on others (records
/// move from encoders to the sink); glibc malloc pays for that cross-thread traffic.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dms-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dms-server: {e}");
            ExitCode::FAILURE
        }
    }
}
