//! `scenario`: the seed scenario's command-line tool. It only wires crates together.

mod decode;
mod embedded;
mod table;
mod ui;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Real-time database replication with AWS DMS semantics: MariaDB -> DMS records -> Kinesis.
///
/// Runs the AWS sample "Real-time Database Replication with DMS and Kinesis" end to end.
/// With no endpoint it runs on embedded twins: two private MariaDB servers (started and kept
/// under the state folder), an in-memory Kinesis stream and the in-process replication
/// engine: no AWS account, no LocalStack licence. Logs go to stderr; set RUST_LOG (for
/// example RUST_LOG=debug) for more.
#[derive(Debug, Parser)]
#[command(name = "scenario", version, propagate_version = true, after_help = "\
Examples:
  scenario run                      deploy if needed, run both flows, print a summary
  scenario run --json > report.json one machine-readable report
  scenario status                   outputs, databases, last run's tasks and statistics
  scenario destroy                  stop and remove everything deploy made")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
struct Global {
    /// Print one machine-readable JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Folder for the embedded deployment's state (databases, secrets, checkpoints, outputs).
    #[arg(long, global = true, env = "DMSRS_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Stack name (prefixes resource names, like the CDK stack).
    #[arg(long, global = true, env = "STACK_NAME", default_value = "DMsSampleSetupStack")]
    stack: String,
    /// AWS-compatible endpoint (LocalStack: http://localhost.localstack.cloud:4566). Without
    /// it, and without AWS_PROFILE, the embedded twins are used.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    endpoint_url: Option<String>,
    /// Longest wait, in seconds, for a task status or for a step's records.
    #[arg(long, global = true, default_value_t = 60)]
    timeout: u64,
}

impl Global {
    fn state_root(&self) -> PathBuf {
        if let Some(d) = &self.state_dir {
            return d.clone();
        }
        if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
            return PathBuf::from(d).join("dmsrs");
        }
        match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".local/state/dmsrs"),
            None => PathBuf::from(".dmsrs-state"),
        }
    }

    fn flow_options(&self) -> dmsrs_seed::flows::FlowOptions {
        dmsrs_seed::flows::FlowOptions { timeout: Duration::from_secs(self.timeout), ..Default::default() }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the stack (databases, secrets, stream, DMS endpoints and tasks) and print its
    /// outputs with the seed's names; a re-run reuses what exists.
    ///
    /// Example: scenario deploy
    Deploy,
    /// Deploy if needed, run the full-load flow, then the CDC flow, then print a summary.
    /// Exit code 0 only when every step passed.
    ///
    /// Example: scenario run --json > report.json
    Run,
    /// Deploy if needed and run only the full-load flow.
    ///
    /// Example: scenario full-load
    FullLoad,
    /// Deploy if needed and run only the CDC flow.
    ///
    /// Example: scenario cdc
    Cdc,
    /// Show the outputs, the databases and the last run's tasks and table statistics.
    ///
    /// Example: scenario status --json
    Status,
    /// Remove everything deploy made, in reverse order (also after a failed deploy).
    ///
    /// Example: scenario destroy
    Destroy,
    /// Decode DMS Kinesis records (raw records, `aws kinesis get-records` output, or NDJSON
    /// envelopes) into one compact JSON line per record, or a summary table.
    Decode(decode::DecodeArgs),
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    if let Command::Decode(args) = &cli.command {
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        return match decode::run(args, &mut stdout.lock(), &mut stderr.lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(decode::DecodeCmdError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("scenario decode: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scenario: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if let Some(url) = &cli.global.endpoint_url {
            return Err(format!(
                "--endpoint-url {url}: driving AWS or LocalStack needs the AWS stack, which this build does not \
                 include yet; see docs/localstack.md. Without --endpoint-url the embedded stack runs everything here."
            ));
        }
        embedded::run(&cli.global, &cli.command).await
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("scenario: {e}");
            ExitCode::FAILURE
        }
    }
}
