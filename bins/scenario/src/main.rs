//! `scenario`: the seed scenario's command-line tool. It only wires crates together.

mod decode;
mod table;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Real-time database replication with DMS semantics: MariaDB -> DMS records -> Kinesis.
///
/// Runs the AWS sample "Real-time Database Replication with DMS and Kinesis" without an
/// AWS account, or against AWS / LocalStack. Logs go to stderr; set RUST_LOG (for example
/// RUST_LOG=debug) for more.
#[derive(Debug, Parser)]
#[command(name = "scenario", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode DMS Kinesis records (raw records, `aws kinesis get-records` output, or NDJSON
    /// envelopes) into one compact JSON line per record, or a summary table.
    Decode(decode::DecodeArgs),
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match cli.command {
        Command::Decode(args) => {
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            match decode::run(&args, &mut stdout.lock(), &mut stderr.lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(decode::DecodeCmdError::Write(e))
                    if e.kind() == std::io::ErrorKind::BrokenPipe =>
                {
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("scenario decode: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
