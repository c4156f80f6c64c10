//! `scenario`: the seed scenario's command-line tool. It only wires crates together.
// Doc comments here are the CLI's --help texts: plain URLs and <SERVICE> placeholders are meant.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

#[cfg(feature = "aws")]
mod aws;
mod common;
mod decode;
mod embedded;
mod table;
mod ui;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Real-time database replication with AWS DMS semantics: MariaDB -> DMS records -> Kinesis.
///
/// Runs the AWS sample "Real-time Database Replication with DMS and Kinesis" end to end.
/// By default it runs on embedded twins: two private MariaDB servers (started and kept
/// under the state folder), an in-memory Kinesis stream and the in-process replication
/// engine: no AWS account, no LocalStack licence.
///
/// With --aws (real AWS: default credential chain, AWS_PROFILE, AWS_REGION) or
/// --endpoint-url / AWS_ENDPOINT_URL (LocalStack or another emulator) the same subcommands
/// deploy the seed's stack there (VPC, IAM roles, RDS MariaDB, Secrets Manager, Kinesis,
/// DMS) and run the flows through it. --dms, --databases and --no-network pick components
/// for hybrid setups. Per-service endpoints follow the AWS SDK convention
/// (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL_SECRETS_MANAGER, ...). Logs go to stderr;
/// set RUST_LOG (for example RUST_LOG=debug) for more.
#[derive(Debug, Parser)]
#[command(
    name = "scenario",
    version,
    propagate_version = true,
    after_help = "\
Examples:
  scenario run                      deploy if needed, run both flows, print a summary
  scenario run --json > report.json one machine-readable report
  scenario status                   outputs, databases, last run's tasks and statistics
  scenario destroy                  stop and remove everything deploy made

  # LocalStack Pro (docker compose up; see docs/localstack.md)
  DMSRS_EXTERNAL_PASSWORD='1Wp2Aide=z=,eLX3RrD4gJ4o54puex' scenario run \\
      --endpoint-url http://localhost.localstack.cloud:4566 --databases external \\
      --external-mariadb mariadb_server:3306 --host-rewrite mariadb_server=localhost

  # AWS (costs money; see docs/aws.md), then remove everything
  AWS_PROFILE=dev AWS_REGION=eu-west-1 scenario run --aws --timeout 1800
  AWS_PROFILE=dev AWS_REGION=eu-west-1 scenario destroy --aws

  # DMS on a local dms-server, the rest on moto, Kinesis on kinesis-local, and two
  # MariaDB servers you already run (see docs/dms-server.md)
  DMSRS_CDC_PASSWORD=pw DMSRS_EXTERNAL_PASSWORD=pw scenario run \
      --endpoint-url http://127.0.0.1:5000 --service-endpoint dms=http://127.0.0.1:4599 \
      --service-endpoint kinesis=http://127.0.0.1:4567 --databases existing \
      --cdc-mariadb 127.0.0.1:3307 --external-mariadb 127.0.0.1:3308

  # Hybrid: Secrets Manager and Kinesis on two emulators, databases and DMS embedded
  # (per-service variables override AWS_ENDPOINT_URL, not --endpoint-url)
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:4567 \\
      scenario run --dms embedded --databases embedded --no-network"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Which DMS runs the tasks (`--dms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DmsArg {
    /// AWS DMS (or LocalStack's): replication instance, endpoints and tasks there.
    Aws,
    /// The embedded engine in this process, writing to the Kinesis stream.
    Embedded,
}

/// Where the source databases come from (`--databases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DatabasesArg {
    /// Two RDS MariaDB instances (the seed's AWS mode).
    Rds,
    /// CDC source on RDS, full-load source the MariaDB of --external-mariadb (the seed's
    /// LocalStack mode).
    External,
    /// Two private MariaDB servers under the state folder.
    Embedded,
    /// Two MariaDB servers that already run: --external-mariadb (full load) and
    /// --cdc-mariadb (CDC: binlog on, binlog_format=ROW, binlog_row_image=FULL). Nothing is
    /// created in RDS and destroy leaves them alone.
    Existing,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
struct Global {
    /// Print one machine-readable JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Folder for the deployment's local state (outputs, embedded databases, secrets,
    /// checkpoints, the last run).
    #[arg(long, global = true, env = "DMSRS_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Stack name (prefixes resource names, like the CDK stack).
    #[arg(
        long,
        global = true,
        env = "STACK_NAME",
        default_value = "DMsSampleSetupStack"
    )]
    stack: String,
    /// Longest wait, in seconds, for a task status or for a step's records [default: 60
    /// embedded, 300 with an endpoint URL and AWS DMS, 1800 on AWS].
    #[arg(long, global = true, value_name = "SECONDS")]
    timeout: Option<u64>,

    /// Use AWS itself: credentials from the default chain (environment, AWS_PROFILE, SSO,
    /// instance role), region from AWS_REGION or the profile. Creates billable resources.
    #[arg(long, global = true, help_heading = "AWS")]
    aws: bool,
    /// AWS-compatible endpoint for every service, e.g. LocalStack's
    /// http://localhost.localstack.cloud:4566. Without this flag AWS_ENDPOINT_URL selects an
    /// endpoint too, and then AWS_ENDPOINT_URL_<SERVICE> variables override it per service.
    #[arg(long, global = true, value_name = "URL", help_heading = "AWS")]
    endpoint_url: Option<String>,
    /// AWS region [default: AWS_REGION or the profile's; us-east-1 with an endpoint URL].
    #[arg(long, global = true, value_name = "REGION", help_heading = "AWS")]
    region: Option<String>,
    /// Named profile of ~/.aws/config [default: AWS_PROFILE].
    #[arg(long, global = true, value_name = "NAME", help_heading = "AWS")]
    profile: Option<String>,
    /// Which DMS runs the tasks [default: aws].
    #[arg(long, global = true, value_enum, help_heading = "AWS")]
    dms: Option<DmsArg>,
    /// Where the source databases come from [default: rds].
    #[arg(long, global = true, value_enum, help_heading = "AWS")]
    databases: Option<DatabasesArg>,
    /// With --databases external: the full-load MariaDB as DMS reaches it (written into the
    /// secret `<stack>-mariadbaccesssecret`; LocalStack: mariadb_server:3306).
    #[arg(long, global = true, value_name = "HOST:PORT", help_heading = "AWS")]
    external_mariadb: Option<String>,
    /// With --databases external: its user.
    #[arg(
        long,
        global = true,
        value_name = "USER",
        default_value = "admin",
        help_heading = "AWS"
    )]
    external_user: String,
    /// With --databases external: its password (prefer the environment variable: command
    /// lines are visible to other users).
    #[arg(
        long,
        global = true,
        env = "DMSRS_EXTERNAL_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD",
        value_parser = secret_arg,
        help_heading = "AWS"
    )]
    external_password: Option<dmsrs_tasks::SecretString>,
    /// With --databases external: its database.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        default_value = "dms_sample",
        help_heading = "AWS"
    )]
    external_dbname: String,
    /// With --databases existing: the CDC MariaDB as DMS reaches it (written into the secret
    /// `<stack>-rdsinstanceSecret`).
    #[arg(long, global = true, value_name = "HOST:PORT", help_heading = "AWS")]
    cdc_mariadb: Option<String>,
    /// With --databases existing: the CDC MariaDB's user.
    #[arg(
        long,
        global = true,
        value_name = "USER",
        default_value = "admin",
        help_heading = "AWS"
    )]
    cdc_user: String,
    /// With --databases existing: the CDC MariaDB's password (prefer the environment
    /// variable).
    #[arg(
        long,
        global = true,
        env = "DMSRS_CDC_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD",
        value_parser = secret_arg,
        help_heading = "AWS"
    )]
    cdc_password: Option<dmsrs_tasks::SecretString>,
    /// With --databases existing: the CDC MariaDB's database.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        default_value = "dms_sample",
        help_heading = "AWS"
    )]
    cdc_dbname: String,
    /// Policy to attach to the `dms-vpc-role` IAM role instead of the AWS managed
    /// AmazonDMSVPCManagementRole (for emulators that do not have it, such as moto).
    #[arg(long, global = true, value_name = "ARN", help_heading = "AWS")]
    dms_vpc_policy_arn: Option<String>,
    /// Endpoint URL for one service, over --endpoint-url and AWS_ENDPOINT_URL: SERVICE is
    /// dms, kinesis, secretsmanager, rds, ec2 or iam (e.g. dms=http://127.0.0.1:4599 for a
    /// local dms-server). Repeatable.
    #[arg(
        long = "service-endpoint",
        global = true,
        value_name = "SERVICE=URL",
        help_heading = "AWS"
    )]
    service_endpoints: Vec<String>,
    /// Replace a host name found in a secret when this machine connects to a source (the
    /// seed's run script does mariadb_server=localhost). Repeatable.
    #[arg(
        long = "host-rewrite",
        global = true,
        value_name = "FROM=TO",
        help_heading = "AWS"
    )]
    host_rewrites: Vec<String>,
    /// Do not create the VPC and the IAM roles (RDS and DMS then use the default VPC, and
    /// the DMS endpoints get no access roles; fine on LocalStack).
    #[arg(long, global = true, help_heading = "AWS")]
    no_network: bool,
    /// RDS MariaDB engine version [default: 10.11, the seed's].
    #[arg(long, global = true, value_name = "VERSION", help_heading = "AWS")]
    rds_engine_version: Option<String>,
    /// RDS instance class [default: db.m5.large, the seed's; db.t3.micro costs less].
    #[arg(long, global = true, value_name = "CLASS", help_heading = "AWS")]
    rds_instance_class: Option<String>,
}

/// A password argument: kept as a `SecretString`, so `Debug` of the options never shows it.
fn secret_arg(s: &str) -> Result<dmsrs_tasks::SecretString, String> {
    Ok(dmsrs_tasks::SecretString::new(s))
}

/// Where the subcommands run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The embedded twins.
    Embedded,
    /// An AWS-compatible endpoint (LocalStack, moto, ...): `explicit` when given with
    /// --endpoint-url (it then wins over per-service variables).
    Endpoint { url: String, explicit: bool },
    /// AWS itself.
    Aws,
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

    /// Where to run, from --aws, --endpoint-url and AWS_ENDPOINT_URL.
    fn target(&self) -> Result<Target, String> {
        let env_url = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|u| !u.trim().is_empty());
        let target = match (&self.endpoint_url, env_url) {
            (Some(url), _) => Target::Endpoint {
                url: url.clone(),
                explicit: true,
            },
            (None, Some(url)) => Target::Endpoint {
                url,
                explicit: false,
            },
            (None, None) if self.aws => Target::Aws,
            (None, None) => Target::Embedded,
        };
        if self.aws && self.endpoint_url.is_some() {
            return Err("--aws and --endpoint-url exclude each other: --aws is AWS itself, --endpoint-url an emulator".into());
        }
        if target == Target::Embedded {
            let aws_only = [
                ("--dms", self.dms.is_some()),
                ("--databases", self.databases.is_some()),
                ("--external-mariadb", self.external_mariadb.is_some()),
                ("--cdc-mariadb", self.cdc_mariadb.is_some()),
                ("--service-endpoint", !self.service_endpoints.is_empty()),
                ("--dms-vpc-policy-arn", self.dms_vpc_policy_arn.is_some()),
                ("--host-rewrite", !self.host_rewrites.is_empty()),
                ("--no-network", self.no_network),
                ("--region", self.region.is_some()),
                ("--profile", self.profile.is_some()),
                ("--rds-engine-version", self.rds_engine_version.is_some()),
                ("--rds-instance-class", self.rds_instance_class.is_some()),
            ];
            if let Some((flag, _)) = aws_only.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "{flag} applies to AWS or an AWS-compatible endpoint: add --aws or --endpoint-url URL (the embedded stack needs neither)"
                ));
            }
        }
        Ok(target)
    }

    /// Flow timeouts: `aws_dms` when AWS DMS (not the embedded engine) runs the tasks.
    fn flow_options(&self, aws_dms: Option<&Target>) -> dmsrs_seed::flows::FlowOptions {
        let mut o = dmsrs_seed::flows::FlowOptions::default();
        let (timeout, poll, settle) = match aws_dms {
            None => (60, o.poll, o.settle),
            Some(Target::Aws) => (1800, Duration::from_secs(5), Duration::from_secs(10)),
            Some(_) => (300, Duration::from_secs(1), Duration::from_secs(3)),
        };
        o.timeout = Duration::from_secs(self.timeout.unwrap_or(timeout));
        o.poll = poll;
        o.settle = settle;
        o
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the stack (databases, secrets, stream, DMS endpoints and tasks) and print its
    /// outputs with the seed's names; a re-run reuses what exists.
    ///
    /// Examples:
    ///   scenario deploy
    ///   scenario deploy --endpoint-url http://localhost.localstack.cloud:4566 \
    ///       --databases external --external-mariadb mariadb_server:3306
    ///   scenario deploy --aws --rds-instance-class db.t3.micro
    #[command(verbatim_doc_comment)]
    Deploy,
    /// Deploy if needed, run the full-load flow, then the CDC flow, then print a summary.
    /// Exit code 0 only when every step passed.
    ///
    /// Examples:
    ///   scenario run --json > report.json
    ///   scenario run --aws --timeout 1800
    ///   scenario run --endpoint-url http://localhost.localstack.cloud:4566 \
    ///       --databases external --external-mariadb mariadb_server:3306 \
    ///       --host-rewrite mariadb_server=localhost
    #[command(verbatim_doc_comment)]
    Run,
    /// Deploy if needed and run only the full-load flow.
    ///
    /// Example: scenario full-load
    FullLoad,
    /// Deploy if needed and run only the CDC flow.
    ///
    /// Example: scenario cdc
    Cdc,
    /// Show the outputs, the databases and the last run's tasks and table statistics (on AWS
    /// also the stream, the replication instance and the tasks' current status).
    ///
    /// Examples:
    ///   scenario status --json
    ///   scenario status --aws
    #[command(verbatim_doc_comment)]
    Status,
    /// Remove everything deploy made, in reverse order (also after a failed deploy).
    ///
    /// On AWS or an endpoint it removes what `<state>/<stack>/aws-stack.json` says the stack
    /// was deployed with (or, without that file, what the options describe).
    ///
    /// Examples:
    ///   scenario destroy
    ///   scenario destroy --aws
    ///   scenario destroy --endpoint-url http://localhost.localstack.cloud:4566
    #[command(verbatim_doc_comment)]
    Destroy,
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

/// mimalloc: the engine allocates on the runtime's workers and frees on others (records
/// move from encoders to the sink); glibc malloc pays for that cross-thread traffic.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    if let Command::Decode(args) = &cli.command {
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        return match decode::run(args, &mut stdout.lock(), &mut stderr.lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(decode::DecodeCmdError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("scenario decode: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scenario: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.global.target()? {
            Target::Embedded => embedded::run(&cli.global, &cli.command).await,
            #[cfg(feature = "aws")]
            target => aws::run(&cli.global, &target, &cli.command).await,
            #[cfg(not(feature = "aws"))]
            _ => Err("--aws, --endpoint-url and AWS_ENDPOINT_URL need the `aws` feature, which this build of scenario \
                      leaves out: build it with default features (cargo build -p dmsrs-scenario), or run without them \
                      on the embedded stack"
                .into()),
        }
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
