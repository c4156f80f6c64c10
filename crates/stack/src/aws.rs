//! [`AwsStack`]: the seed's stack on AWS or an AWS-compatible endpoint (feature `aws`).
//!
//! It creates what the seed's CDK stack creates (seed-scenario.md section 1), in dependency
//! order, each step idempotent:
//!
//! | phase | resources | how a re-run finds them |
//! |---|---|---|
//! | network | VPC `10.0.0.0/16`, 2 public + 2 isolated subnets, internet gateway, routes, security group with ingress on the database port | tag `dmsrs:stack=<stack>` |
//! | iam | `dms-vpc-role`, the DMS -> Kinesis role, one Secrets Manager role per source endpoint | fixed names, IAM path `/dmsrs/<stack>/` |
//! | databases | `rds-instance` (CDC source) and `full-load-instance` (AWS mode) as RDS MariaDB with the binlog parameter group; or an external MariaDB (the seed's LocalStack mode); or embedded servers | names derived from the stack |
//! | secrets | `<stack>-rdsinstanceSecret`, `<stack>-fullloadinstanceSecret` or `<stack>-mariadbaccesssecret` | names, tag `dmsrs:stack` |
//! | stream | `<stack>-TargetStream`: 1 shard, 24 h retention | name |
//! | dms | replication subnet group (public subnets), instance `dms.t2.micro` 5 GB publicly accessible, endpoints `cdc-endpoint`, `full-endpoint`, `target`, tasks `cdc-task-1`, `cdc-task-2`, `full-load-task-1`, `full-load-task-2` | identifiers, tag `dmsrs:stack` |
//!
//! An RDS instance's generated master password is only known when the instance is created,
//! so its secret is stored right then (before waiting for the instance), and a later deploy
//! reads the password back from the secret. If that secret was lost, the password is reset.
//!
//! [`AwsStack::destroy`] removes everything in reverse order and tolerates resources that are
//! gone already and deploys that stopped half way; the modes a stack was deployed with are
//! kept in `<state>/<stack>/aws-stack.json` so that `destroy` cleans up what `deploy` made.
//!
//! Secrets never appear in `Debug` output, logs or errors.

mod deploy;
mod destroy;
mod kinesis;

pub use dmsrs_engine::KinesisTargets;
pub use kinesis::PacedReader;

use crate::embedded::{CDC_DATABASE, FULL_LOAD_DATABASE};
use crate::mariadb_access_secret;
use crate::{ResourceEvent, StackError};
use aws_config::SdkConfig;
use dmsrs_database::{
    Database, DatabaseId, DatabaseInstance, EmbeddedMariaDb, RdsDatabase, SqlClient,
};
use dmsrs_engine::EmbeddedEngine;
use dmsrs_network::iam::IamRoles;
use dmsrs_network::{AwsNetwork, NetworkOutputs};
use dmsrs_secrets::{AwsSecrets, SecretSource, SecretString};
use dmsrs_seed::Outputs;
use dmsrs_streams::{DynStreamReader, KinesisStream, StreamDescription};
use dmsrs_tasks::aws::ReplicationInstance;
use dmsrs_tasks::seed::{self, SeedSource};
use dmsrs_tasks::{AwsDms, ReplicationService, ReplicationTask, TaskFilter};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Name of the file recording how a stack was deployed (no secrets in it).
pub const RECORD_FILE: &str = "aws-stack.json";

/// Where the two source databases come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseMode {
    /// Both sources are RDS MariaDB instances, `rds-instance` (CDC) and `full-load-instance`
    /// (full load): the seed's AWS mode.
    Rds,
    /// The CDC source is the RDS instance `rds-instance`; the full-load source is an existing
    /// MariaDB described by a hand-made secret (`mariadb-access-secret`): the seed's
    /// LocalStack mode.
    External(ExternalMariaDb),
    /// Both sources are private `mariadbd` servers under the state folder (as in the
    /// embedded stack); nothing is created in RDS.
    Embedded,
    /// Both sources are MariaDB (or MySQL) servers that already run, described here; nothing
    /// is created in RDS and `destroy` leaves them alone. The CDC source needs its binlog on
    /// (`log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL`). Its secret
    /// (`<stack>-rdsinstanceSecret`) gets the shape RDS secrets have; the full-load source's
    /// (`<stack>-mariadbaccesssecret`) the seed's hand-made shape. An empty `host` keeps the
    /// secret an earlier deploy stored.
    Existing {
        /// The CDC source.
        cdc: ExternalMariaDb,
        /// The full-load source.
        full_load: ExternalMariaDb,
    },
}

impl DatabaseMode {
    /// `rds`, `external` or `embedded`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DatabaseMode::Rds => "rds",
            DatabaseMode::External(_) => "external",
            DatabaseMode::Embedded => "embedded",
            DatabaseMode::Existing { .. } => "existing",
        }
    }

    fn uses_rds(&self) -> bool {
        matches!(self, DatabaseMode::Rds | DatabaseMode::External(_))
    }
}

/// An existing MariaDB used as the full-load source. Its fields go into the secret
/// `<stack>-mariadbaccesssecret` as the seed writes it: `{host, port (a string), username,
/// password, dbname}`. An empty `host` means "as stored by an earlier deploy": the secret is
/// kept as it is. `Debug` never shows the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalMariaDb {
    /// Host as DMS reaches it (the seed: `mariadb_server`, the compose service name). Map it
    /// to the address this machine uses with [`AwsStackOptions::host_rewrites`].
    pub host: String,
    /// Port (the seed: 3306).
    pub port: u16,
    /// User (the seed: `admin`).
    pub username: String,
    /// Password.
    pub password: SecretString,
    /// Database (the seed: `dms_sample`).
    pub dbname: String,
}

/// Which DMS runs the tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmsMode {
    /// AWS DMS (or LocalStack's, or moto's control plane): replication subnet group,
    /// replication instance, endpoints and tasks are created there.
    Aws,
    /// The embedded engine in this process, reading secrets from Secrets Manager and writing
    /// to the Kinesis stream; its tasks exist while the process runs.
    Embedded,
}

impl DmsMode {
    /// `aws` or `embedded`.
    pub fn as_str(self) -> &'static str {
        match self {
            DmsMode::Aws => "aws",
            DmsMode::Embedded => "embedded",
        }
    }
}

/// How long the steps may take, and how often to poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Until an RDS instance is `available` (default 40 minutes).
    pub database: Duration,
    /// Until the replication instance is `available` (default 40 minutes).
    pub replication_instance: Duration,
    /// Until the stream is `ACTIVE` (default 5 minutes).
    pub stream: Duration,
    /// Until new AWS DMS tasks are `ready`; `None`: do not wait (moto keeps its tasks
    /// `creating`). Default 10 minutes.
    pub task_ready: Option<Duration>,
    /// How long an endpoint creation is retried while new IAM roles propagate (default 2
    /// minutes).
    pub iam_propagation: Duration,
    /// Until deleted resources are gone, and for deletions refused while something still uses
    /// the resource (default 40 minutes).
    pub delete: Duration,
    /// Pause between status polls (default 10 s).
    pub poll: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            database: Duration::from_secs(40 * 60),
            replication_instance: Duration::from_secs(40 * 60),
            stream: Duration::from_secs(5 * 60),
            task_ready: Some(Duration::from_secs(10 * 60)),
            iam_propagation: Duration::from_secs(120),
            delete: Duration::from_secs(40 * 60),
            poll: Duration::from_secs(10),
        }
    }
}

impl Timeouts {
    /// Short timeouts and fast polling for emulators (LocalStack, moto): 100 ms polls, 5
    /// minutes for databases and the replication instance.
    pub fn emulator() -> Self {
        Timeouts {
            database: Duration::from_secs(5 * 60),
            replication_instance: Duration::from_secs(5 * 60),
            stream: Duration::from_secs(60),
            task_ready: Some(Duration::from_secs(60)),
            iam_propagation: Duration::from_secs(10),
            delete: Duration::from_secs(5 * 60),
            poll: Duration::from_millis(100),
        }
    }
}

/// A deploy phase, for [`AwsStackOptions::fail_after`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployPhase {
    /// VPC, subnets, gateway, routes, security group.
    Network,
    /// `dms-vpc-role`.
    Iam,
    /// The source databases (and their secrets when RDS created them).
    Databases,
    /// The source secrets.
    Secrets,
    /// The Kinesis stream.
    Stream,
    /// The replication subnet group and instance.
    ReplicationInstance,
    /// The endpoints (and their IAM roles).
    Endpoints,
    /// The tasks.
    Tasks,
}

impl DeployPhase {
    /// The phase's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployPhase::Network => "network",
            DeployPhase::Iam => "iam",
            DeployPhase::Databases => "databases",
            DeployPhase::Secrets => "secrets",
            DeployPhase::Stream => "stream",
            DeployPhase::ReplicationInstance => "replication-instance",
            DeployPhase::Endpoints => "endpoints",
            DeployPhase::Tasks => "tasks",
        }
    }
}

/// What to deploy, for the seed's modes and the hybrid setups.
#[derive(Clone, Debug)]
pub struct AwsStackOptions {
    /// Where the sources come from (default [`DatabaseMode::Rds`]).
    pub database: DatabaseMode,
    /// Which DMS runs the tasks (default [`DmsMode::Aws`]).
    pub dms: DmsMode,
    /// Create the VPC and the IAM roles (default true). Without them RDS and DMS use the
    /// account's default VPC and the endpoints get no access roles (fine on LocalStack).
    pub network: bool,
    /// RDS engine version (default `10.11`, the seed's; moto knows 10.0-10.6 only).
    pub rds_engine_version: String,
    /// RDS instance class (default `db.m5.large`, the seed's CDK default).
    pub rds_instance_class: String,
    /// `(from, to)` host names replaced when this machine connects to a source (the seed's
    /// run script maps `mariadb_server` to `localhost`); also used by the embedded engine.
    pub host_rewrites: Vec<(String, String)>,
    /// ARN of the policy attached to `dms-vpc-role` (default: the AWS managed
    /// `AmazonDMSVPCManagementRole`; moto does not ship managed policies).
    pub dms_vpc_policy_arn: Option<String>,
    /// Timeouts and polling.
    pub timeouts: Timeouts,
    /// Shortest pause between two reads of the stream while waiting for records (Kinesis
    /// allows 5 GetRecords calls per shard and second). Default 250 ms.
    pub read_interval: Duration,
    /// Stop the deploy with [`StackError::Injected`] right after this phase (tests of
    /// `destroy` after a failed deploy).
    pub fail_after: Option<DeployPhase>,
    /// Endpoint URLs for single services, over the SDK configuration's: `dms`, `kinesis`,
    /// `secretsmanager`, `rds`, `ec2`, `iam` (for example DMS on a local `dms-server` while
    /// everything else is on LocalStack or moto). See [`SERVICES`].
    pub service_endpoints: Vec<(String, String)>,
}

/// The service names [`AwsStackOptions::service_endpoints`] takes.
pub const SERVICES: &[&str] = &["dms", "kinesis", "secretsmanager", "rds", "ec2", "iam"];

impl Default for AwsStackOptions {
    fn default() -> Self {
        AwsStackOptions {
            database: DatabaseMode::Rds,
            dms: DmsMode::Aws,
            network: true,
            rds_engine_version: "10.11".into(),
            rds_instance_class: "db.m5.large".into(),
            host_rewrites: Vec::new(),
            dms_vpc_policy_arn: None,
            timeouts: Timeouts::default(),
            read_interval: Duration::from_millis(250),
            fail_after: None,
            service_endpoints: Vec::new(),
        }
    }
}

/// How a stack was deployed (`<state>/<stack>/aws-stack.json`): what `destroy` and `status`
/// look for. Holds no secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRecord {
    /// `aws`.
    pub kind: String,
    /// The region.
    pub region: String,
    /// [`DatabaseMode::as_str`].
    pub database: String,
    /// [`DmsMode::as_str`].
    pub dms: String,
    /// Whether the VPC and IAM roles belong to the stack.
    pub network: bool,
}

/// A source database's connection, read from its secret (host names rewritten for this
/// machine). `Debug` never shows the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceEndpoint {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub username: String,
    /// Password.
    pub password: SecretString,
    /// Database.
    pub dbname: String,
}

impl SourceEndpoint {
    /// Connects to the source's database.
    pub async fn connect(&self) -> Result<SqlClient, StackError> {
        SqlClient::connect(
            &self.host,
            self.port,
            &self.username,
            &self.password,
            Some(&self.dbname),
        )
        .await
        .map_err(|source| StackError::database(&format!("{}:{}", self.host, self.port), source))
    }

    fn from_secret(
        secret_id: &str,
        value: &SecretString,
        rewrites: &[(String, String)],
    ) -> Result<Self, StackError> {
        let c = dmsrs_engine::source::SourceConfig::from_secret_json(secret_id, value.expose())
            .map_err(|e| {
                StackError::State(format!(
                    "{e}: store the DMS shape {{host, port, username, password, dbname}}"
                ))
            })?;
        let host = rewrites
            .iter()
            .find(|(from, _)| *from == c.host)
            .map(|(_, to)| to.clone())
            .unwrap_or(c.host);
        Ok(SourceEndpoint {
            host,
            port: c.port,
            username: c.user,
            password: c.password,
            dbname: c.database.unwrap_or_else(|| seed::SCHEMA.to_owned()),
        })
    }
}

/// A deployed AWS stack, ready to run the scenario.
pub struct AwsDeployment {
    /// The outputs, with the seed's names.
    pub outputs: Outputs,
    /// The replication service: AWS DMS, or the embedded engine.
    pub service: Arc<dyn ReplicationService>,
    /// The embedded engine, when it runs the tasks (shut it down at the end).
    pub engine: Option<EmbeddedEngine>,
    /// The target stream.
    pub stream: KinesisStream,
    /// The network, when the stack has one.
    pub network: Option<NetworkOutputs>,
    /// The replication instance, with AWS DMS.
    pub replication_instance: Option<ReplicationInstance>,
    secrets: AwsSecrets,
    host_rewrites: Vec<(String, String)>,
    read_interval: Duration,
}

impl fmt::Debug for AwsDeployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsDeployment")
            .field("outputs", &self.outputs)
            .field("embedded_engine", &self.engine.is_some())
            .field("stream", self.stream.stream())
            .field("network", &self.network)
            .field(
                "replication_instance",
                &self.replication_instance.as_ref().map(|r| &r.arn),
            )
            .finish()
    }
}

impl AwsDeployment {
    /// A reader of the target stream that polls at most every
    /// [`AwsStackOptions::read_interval`] while waiting.
    pub fn stream_reader(&self) -> Arc<dyn DynStreamReader> {
        Arc::new(PacedReader::new(self.stream.clone(), self.read_interval))
    }

    /// The connection of a source, read from its secret like the seed's `get_credentials`
    /// (`cdcTaskSecret` or `fullTaskSecret`), with the host rewrites applied.
    pub async fn source(&self, which: SeedSource) -> Result<SourceEndpoint, StackError> {
        let arn = match which {
            SeedSource::Cdc => &self.outputs.cdc_task_secret,
            SeedSource::FullLoad => &self.outputs.full_task_secret,
        };
        let value = self
            .secrets
            .secret_string(arn)
            .await
            .map_err(|source| StackError::secret(arn, source))?;
        SourceEndpoint::from_secret(arn, &value, &self.host_rewrites)
    }

    /// Stops the embedded engine's tasks (nothing to do with AWS DMS).
    pub async fn shutdown(&self) {
        if let Some(e) = &self.engine {
            e.shutdown().await;
        }
    }
}

/// What [`AwsStack::status`] finds.
#[derive(Debug)]
pub struct AwsStatus {
    /// How the stack was deployed, if it was.
    pub record: Option<StackRecord>,
    /// The outputs of the last deploy.
    pub outputs: Option<Outputs>,
    /// The source databases (`None`: not created).
    pub databases: Vec<(String, Option<DatabaseInstance>)>,
    /// The stream, if it exists.
    pub stream: Option<StreamDescription>,
    /// The replication instance (AWS DMS).
    pub replication_instance: Option<ReplicationInstance>,
    /// The tasks (AWS DMS).
    pub tasks: Vec<ReplicationTask>,
}

/// The seed's stack on AWS (or LocalStack, moto, kinesis-local), see the module docs.
#[derive(Clone)]
pub struct AwsStack {
    stack: String,
    dir: PathBuf,
    region: String,
    sdk: SdkConfig,
    /// `sdk` with the Kinesis endpoint of [`AwsStackOptions::service_endpoints`].
    kinesis_sdk: SdkConfig,
    opts: AwsStackOptions,
    network: AwsNetwork,
    iam: IamRoles,
    rds: RdsDatabase,
    secrets: AwsSecrets,
    dms: AwsDms,
}

impl fmt::Debug for AwsStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsStack")
            .field("stack", &self.stack)
            .field("dir", &self.dir)
            .field("region", &self.region)
            .field("endpoint_url", &self.sdk.endpoint_url())
            .field("options", &self.opts)
            .finish()
    }
}

impl AwsStack {
    /// The stack `stack` through the SDK configuration `sdk` (region, credentials, endpoint
    /// URLs), keeping its local state (outputs, embedded databases, checkpoints) under
    /// `state_root/<stack>`.
    pub fn new(
        sdk: &SdkConfig,
        state_root: impl AsRef<Path>,
        stack: impl Into<String>,
        opts: AwsStackOptions,
    ) -> Result<Self, StackError> {
        let stack = stack.into();
        dmsrs_network::validate_stack(&stack).map_err(|e| StackError::network("stack name", e))?;
        let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
            StackError::State("no AWS region configured: set AWS_REGION or pass --region".into())
        })?;
        if let Some((svc, _)) = opts
            .service_endpoints
            .iter()
            .find(|(svc, _)| !SERVICES.contains(&svc.as_str()))
        {
            return Err(StackError::State(format!(
                "unknown service {svc:?} for an endpoint URL: use one of {}",
                SERVICES.join(", ")
            )));
        }
        let for_service =
            |svc: &str| match opts.service_endpoints.iter().rev().find(|(s, _)| s == svc) {
                Some((_, url)) => sdk.to_builder().endpoint_url(url).build(),
                None => sdk.clone(),
            };
        let poll = opts.timeouts.poll;
        let mut iam = IamRoles::new(&for_service("iam"));
        if let Some(arn) = &opts.dms_vpc_policy_arn {
            iam = iam.with_dms_vpc_policy_arn(arn);
        }
        Ok(AwsStack {
            dir: state_root.as_ref().join(&stack),
            network: AwsNetwork::new(&for_service("ec2"))
                .with_poll_interval(poll)
                .with_in_use_timeout(opts.timeouts.delete),
            iam,
            rds: RdsDatabase::new(&for_service("rds"))
                .with_poll_interval(poll)
                .with_delete_timeout(opts.timeouts.delete),
            secrets: AwsSecrets::from_sdk_config(&for_service("secretsmanager")),
            dms: AwsDms::from_sdk_config(&for_service("dms"))
                .with_default_tags(vec![dmsrs_tasks::Tag::stack(&stack)]),
            kinesis_sdk: for_service("kinesis"),
            sdk: sdk.clone(),
            region,
            stack,
            opts,
        })
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.stack
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The options.
    pub fn options(&self) -> &AwsStackOptions {
        &self.opts
    }

    /// The stack's state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where deploy writes the outputs (the same layout as the embedded stack).
    pub fn outputs_path(&self) -> PathBuf {
        self.dir.join("outputs.json")
    }

    /// The AWS DMS client (with the stack's tag as default tag).
    pub fn dms(&self) -> &AwsDms {
        &self.dms
    }

    /// The Secrets Manager client.
    pub fn secrets(&self) -> &AwsSecrets {
        &self.secrets
    }

    /// `<stack>-TargetStream`.
    pub fn stream_name(&self) -> String {
        format!("{}-TargetStream", self.stack)
    }

    /// The target stream (it may not exist).
    pub fn stream(&self) -> KinesisStream {
        KinesisStream::from_sdk_config(&self.kinesis_sdk, &self.stream_name())
    }

    /// The secret of the CDC source: `<stack>-rdsinstanceSecret`.
    pub fn cdc_secret_name(&self) -> String {
        format!("{}-rdsinstanceSecret", self.stack)
    }

    /// The secret of the full-load source: `<stack>-fullloadinstanceSecret` for RDS,
    /// `<stack>-mariadbaccesssecret` otherwise (the seed's LocalStack mode).
    pub fn full_secret_name(&self, mode: &DatabaseMode) -> String {
        match mode {
            DatabaseMode::Rds => format!("{}-fullloadinstanceSecret", self.stack),
            _ => format!("{}-mariadbaccesssecret", self.stack),
        }
    }

    /// The replication subnet group: `<stack>-repl-subnet-group` (lower case).
    pub fn subnet_group_id(&self) -> String {
        dms_identifier(&self.stack, "repl-subnet-group")
    }

    /// The replication instance: `<stack>-replication-instance` (lower case).
    pub fn replication_instance_id(&self) -> String {
        dms_identifier(&self.stack, "replication-instance")
    }

    /// The outputs of the last deploy, if any.
    pub fn read_outputs(&self) -> Result<Option<Outputs>, StackError> {
        read_json(&self.outputs_path())
    }

    /// How the stack was deployed, if it was.
    pub fn read_record(&self) -> Result<Option<StackRecord>, StackError> {
        read_record(&self.dir)
    }

    fn record(&self) -> StackRecord {
        StackRecord {
            kind: "aws".into(),
            region: self.region.clone(),
            database: self.opts.database.as_str().into(),
            dms: self.opts.dms.as_str().into(),
            network: self.opts.network,
        }
    }

    fn embedded_databases(&self) -> EmbeddedMariaDb {
        EmbeddedMariaDb::new(&self.dir).with_startup_timeout(Duration::from_secs(60))
    }

    fn fail_after(&self, phase: DeployPhase) -> Result<(), StackError> {
        if self.opts.fail_after == Some(phase) {
            return Err(StackError::Injected(phase.as_str()));
        }
        Ok(())
    }

    /// The current state of the stack's resources (changes nothing). Without a record of a
    /// deploy in the state folder, nothing is asked of the services.
    pub async fn status(&self) -> Result<AwsStatus, StackError> {
        let record = self.read_record()?;
        let outputs = self.read_outputs()?;
        if record.is_none() && outputs.is_none() {
            // Never deployed from this state folder: nothing to ask the services about.
            return Ok(AwsStatus {
                record,
                outputs,
                databases: Vec::new(),
                stream: None,
                replication_instance: None,
                tasks: Vec::new(),
            });
        }
        let (database, dms) = match &record {
            Some(r) => (r.database.clone(), r.dms.clone()),
            None => (
                self.opts.database.as_str().to_owned(),
                self.opts.dms.as_str().to_owned(),
            ),
        };
        let mut databases = Vec::new();
        let names: &[&str] = match database.as_str() {
            "rds" | "embedded" => &[FULL_LOAD_DATABASE, CDC_DATABASE],
            "existing" => &[],
            _ => &[CDC_DATABASE],
        };
        for name in names {
            let id = DatabaseId::new(&self.stack, *name);
            let d = if database == "embedded" {
                self.embedded_databases().describe(&id).await
            } else {
                self.rds.describe(&id).await
            };
            databases.push((
                (*name).to_owned(),
                d.map_err(|source| StackError::database(name, source))?,
            ));
        }
        let stream = match self.stream().describe().await {
            Ok(d) => Some(d),
            Err(dmsrs_streams::StreamError::StreamNotFound { .. }) => None,
            Err(e) => return Err(StackError::stream(&self.stream_name(), e)),
        };
        let (mut replication_instance, mut tasks) = (None, Vec::new());
        if dms == "aws" {
            let id = self.replication_instance_id();
            replication_instance = self
                .dms
                .find_replication_instance(&id)
                .await
                .map_err(|source| StackError::dms(&format!("replication instance {id}"), source))?;
            for t in seed::tasks() {
                if let Some(task) =
                    self.dms.find_task(t.identifier).await.map_err(|source| {
                        StackError::dms(&format!("task {}", t.identifier), source)
                    })?
                {
                    tasks.push(task);
                }
            }
        }
        Ok(AwsStatus {
            record,
            outputs,
            databases,
            stream,
            replication_instance,
            tasks,
        })
    }

    /// The tasks as the service describes them now (AWS DMS only; the embedded engine's
    /// tasks live in the process that runs them).
    pub async fn describe_tasks(&self) -> Result<Vec<ReplicationTask>, StackError> {
        let filter = TaskFilter {
            identifiers: seed::tasks()
                .iter()
                .map(|t| t.identifier.to_owned())
                .collect(),
            ..TaskFilter::default()
        };
        self.dms
            .describe_tasks(&filter)
            .await
            .map_err(|source| StackError::dms("tasks", source))
    }

    /// Emits `event`.
    fn emit(
        on: &(dyn Fn(ResourceEvent) + Sync),
        created: bool,
        kind: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
    ) {
        let (name, detail) = (name.into(), detail.into());
        on(if created {
            ResourceEvent::Created { kind, name, detail }
        } else {
            ResourceEvent::Reused { kind, name, detail }
        });
    }
}

/// How the stack whose state folder is `stack_dir` (`<state root>/<stack>`) was deployed on
/// AWS or an endpoint, if it was (`aws-stack.json`).
pub fn read_record(stack_dir: &Path) -> Result<Option<StackRecord>, StackError> {
    read_json(&stack_dir.join(RECORD_FILE))
}

/// A DMS identifier `<stack>-<suffix>`: lower case, at most 63 characters (longer ones keep
/// a prefix and get a hash suffix), no double hyphens, as DMS requires.
pub fn dms_identifier(stack: &str, suffix: &str) -> String {
    DatabaseId::new(stack, suffix).identifier()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StackError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            StackError::State(format!(
                "{} is not valid: {e}; run `scenario destroy` and deploy again",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StackError::State(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StackError> {
    let body = serde_json::to_vec_pretty(value).map_err(|e| StackError::State(e.to_string()))?;
    std::fs::write(path, body)
        .map_err(|e| StackError::State(format!("cannot write {}: {e}", path.display())))
}

/// An error and its sources, `: `-separated (SDK errors say little at the top level).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// The password stored in a DMS secret, if it holds one.
fn password_of(value: &SecretString) -> Option<SecretString> {
    let v: serde_json::Value = serde_json::from_str(value.expose()).ok()?;
    v.get("password")
        .and_then(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .map(SecretString::new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn access_secret_has_the_seed_shape() {
        let v = mariadb_access_secret(
            "mariadb_server",
            3306,
            "admin",
            &SecretString::new("p\"w"),
            "dms_sample",
        );
        assert_eq!(
            v.expose(),
            r#"{"host":"mariadb_server","port":"3306","username":"admin","password":"p\"w","dbname":"dms_sample"}"#
        );
        assert_eq!(password_of(&v).unwrap().expose(), "p\"w");
        assert!(password_of(&SecretString::new("{}")).is_none());
        assert!(password_of(&SecretString::new("not json")).is_none());
    }

    #[test]
    fn source_from_secret_rewrites_hosts() {
        let v = mariadb_access_secret(
            "mariadb_server",
            3306,
            "admin",
            &SecretString::new("pw"),
            "dms_sample",
        );
        let rw = vec![("mariadb_server".to_owned(), "localhost".to_owned())];
        let s = SourceEndpoint::from_secret("arn:x", &v, &rw).unwrap();
        assert_eq!(
            (
                s.host.as_str(),
                s.port,
                s.username.as_str(),
                s.dbname.as_str()
            ),
            ("localhost", 3306, "admin", "dms_sample")
        );
        assert!(!format!("{s:?}").contains("pw\""));
        let s = SourceEndpoint::from_secret("arn:x", &v, &[]).unwrap();
        assert_eq!(s.host, "mariadb_server");
        let e = SourceEndpoint::from_secret(
            "arn:x",
            &SecretString::new(r#"{"password":"hunter2"}"#),
            &[],
        )
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            dms_identifier("DMsSampleSetupStack", "replication-instance"),
            "dmssamplesetupstack-replication-instance"
        );
        let long = dms_identifier(&"S".repeat(100), "replication-instance");
        assert!(long.len() <= 63 && !long.contains("--"), "{long}");
    }

    #[test]
    fn options_debug_hides_the_external_password() {
        let o = AwsStackOptions {
            database: DatabaseMode::External(ExternalMariaDb {
                host: "h".into(),
                port: 3306,
                username: "admin".into(),
                password: SecretString::new("hunter2"),
                dbname: "dms_sample".into(),
            }),
            ..AwsStackOptions::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}
