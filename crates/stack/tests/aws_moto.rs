//! `AwsStack` against moto_server 5.2.5 (the test kit's `MotoServer`) with the real SDK
//! clients: the whole seed stack (VPC, IAM, RDS, Secrets Manager, Kinesis, DMS) deployed
//! twice, destroyed, and destroyed after deploys that failed half way.
//!
//! moto is a control plane only: its RDS instances have no database behind them and its DMS
//! tasks stay `creating` (so deploy does not wait for `ready` here). Data movement is tested
//! in `integration/tests/aws_path.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::config::retry::RetryConfig;
use dmsrs_secrets::{AwsSecrets, SecretSource, SecretStore};
use dmsrs_stack::aws::RECORD_FILE;
use dmsrs_stack::{
    AwsStack, AwsStackOptions, DatabaseMode, DeployPhase, DmsMode, ExternalMariaDb, ResourceEvent,
    StackError, Timeouts,
};
use dmsrs_tasks::seed;
use dmsrs_tasks::{EndpointSettings, ReplicationService, TaskFilter};
use dmsrs_testkit::MotoServer;

/// moto knows MariaDB 10.0-10.6 only (the seed uses 10.11).
const MOTO_MARIADB: &str = "10.6.14";

async fn sdk(moto: &MotoServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .endpoint_url(moto.endpoint_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .load()
        .await
}

/// moto ships no AWS managed policies: a customer policy stands in for
/// `AmazonDMSVPCManagementRole`.
async fn dms_vpc_policy(sdk: &SdkConfig) -> String {
    let out = aws_sdk_iam::Client::new(sdk)
        .create_policy()
        .policy_name("AmazonDMSVPCManagementRole")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    out.policy().unwrap().arn().unwrap().to_owned()
}

fn options(policy: &str) -> AwsStackOptions {
    AwsStackOptions {
        database: DatabaseMode::Rds,
        dms: DmsMode::Aws,
        network: true,
        rds_engine_version: MOTO_MARIADB.into(),
        dms_vpc_policy_arn: Some(policy.to_owned()),
        timeouts: Timeouts {
            poll: Duration::from_millis(20),
            task_ready: None,
            database: Duration::from_secs(30),
            replication_instance: Duration::from_secs(30),
            stream: Duration::from_secs(30),
            iam_propagation: Duration::from_secs(1),
            delete: Duration::from_secs(30),
        },
        ..AwsStackOptions::default()
    }
}

/// Collects the progress events.
#[derive(Default)]
struct Events(Mutex<Vec<ResourceEvent>>);

impl Events {
    fn on(&self) -> impl Fn(ResourceEvent) + Sync + '_ {
        move |e| self.0.lock().unwrap().push(e)
    }

    fn take(&self) -> Vec<ResourceEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn names(events: &[ResourceEvent], created: bool) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match (e, created) {
            (ResourceEvent::Created { kind, name, .. }, true)
            | (ResourceEvent::Reused { kind, name, .. }, false) => Some(format!("{kind}:{name}")),
            _ => None,
        })
        .collect()
}

/// What moto holds for `stack`, counted through the services themselves.
#[derive(Debug, PartialEq, Eq)]
struct Census {
    vpcs: usize,
    subnets: usize,
    security_groups: usize,
    db_instances: usize,
    db_subnet_groups: usize,
    db_parameter_groups: usize,
    secrets: usize,
    streams: usize,
    roles: usize,
    dms_subnet_groups: usize,
    replication_instances: usize,
    endpoints: usize,
    tasks: usize,
}

async fn census(sdk: &SdkConfig, stack: &str) -> Census {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let tag = aws_sdk_ec2::types::Filter::builder()
        .name("tag:dmsrs:stack")
        .values(stack)
        .build();
    let vpcs = ec2
        .describe_vpcs()
        .filters(tag.clone())
        .send()
        .await
        .unwrap()
        .vpcs()
        .len();
    let subnets = ec2
        .describe_subnets()
        .filters(tag.clone())
        .send()
        .await
        .unwrap()
        .subnets()
        .len();
    let security_groups = ec2
        .describe_security_groups()
        .filters(tag)
        .send()
        .await
        .unwrap()
        .security_groups()
        .len();
    let rds = aws_sdk_rds::Client::new(sdk);
    let prefix = stack.to_ascii_lowercase();
    let db_instances = rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
        .iter()
        .filter(|d| {
            d.db_instance_identifier()
                .unwrap_or("")
                .starts_with(&prefix)
        })
        .count();
    let db_subnet_groups = rds
        .describe_db_subnet_groups()
        .send()
        .await
        .unwrap()
        .db_subnet_groups()
        .iter()
        .filter(|g| g.db_subnet_group_name().unwrap_or("").starts_with(&prefix))
        .count();
    let db_parameter_groups = rds
        .describe_db_parameter_groups()
        .send()
        .await
        .unwrap()
        .db_parameter_groups()
        .iter()
        .filter(|g| {
            g.db_parameter_group_name()
                .unwrap_or("")
                .starts_with(&prefix)
        })
        .count();
    let sm = AwsSecrets::from_sdk_config(sdk);
    let mut secrets = 0;
    for name in [
        "rdsinstanceSecret",
        "fullloadinstanceSecret",
        "mariadbaccesssecret",
    ] {
        if sm.describe(&format!("{stack}-{name}")).await.is_ok() {
            secrets += 1;
        }
    }
    let streams =
        dmsrs_streams::KinesisStream::from_sdk_config(sdk, &format!("{stack}-TargetStream"))
            .exists()
            .await
            .map(usize::from)
            .unwrap();
    let iam = aws_sdk_iam::Client::new(sdk);
    let roles = iam
        .list_roles()
        .path_prefix(format!("/dmsrs/{stack}/"))
        .send()
        .await
        .unwrap()
        .roles()
        .len()
        + usize::from(
            iam.get_role()
                .role_name("dms-vpc-role")
                .send()
                .await
                .is_ok(),
        );
    let dms_client = aws_sdk_databasemigration::Client::new(sdk);
    let dms_subnet_groups = dms_client
        .describe_replication_subnet_groups()
        .send()
        .await
        .map(|o| o.replication_subnet_groups().len())
        .unwrap_or(0);
    let replication_instances = dms_client
        .describe_replication_instances()
        .send()
        .await
        .map(|o| o.replication_instances().len())
        .unwrap_or(0);
    let dms = dmsrs_tasks::AwsDms::from_sdk_config(sdk);
    let endpoints = dms.describe_endpoints(&[]).await.unwrap().len();
    let tasks = dms
        .describe_tasks(&TaskFilter::default())
        .await
        .unwrap()
        .len();
    Census {
        vpcs,
        subnets,
        security_groups,
        db_instances,
        db_subnet_groups,
        db_parameter_groups,
        secrets,
        streams,
        roles,
        dms_subnet_groups,
        replication_instances,
        endpoints,
        tasks,
    }
}

const FULL: Census = Census {
    vpcs: 1,
    subnets: 4,
    security_groups: 1,
    db_instances: 2,
    db_subnet_groups: 2,
    db_parameter_groups: 2,
    secrets: 2,
    streams: 1,
    roles: 4,
    dms_subnet_groups: 1,
    replication_instances: 1,
    endpoints: 3,
    tasks: 4,
};

const EMPTY: Census = Census {
    vpcs: 0,
    subnets: 0,
    security_groups: 0,
    db_instances: 0,
    db_subnet_groups: 0,
    db_parameter_groups: 0,
    secrets: 0,
    streams: 0,
    roles: 0,
    dms_subnet_groups: 0,
    replication_instances: 0,
    endpoints: 0,
    tasks: 0,
};

fn secret_json(v: &dmsrs_secrets::SecretString) -> serde_json::Value {
    serde_json::from_str(v.expose()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_twice_then_destroy() {
    let moto = MotoServer::start().expect("moto_server (run scripts/setup.sh)");
    let sdk = sdk(&moto).await;
    let policy = dms_vpc_policy(&sdk).await;
    let state = tempfile::tempdir().unwrap();
    let stack = AwsStack::new(&sdk, state.path(), "MotoStack", options(&policy)).unwrap();
    let events = Events::default();

    let d1 = stack.deploy(&events.on()).await.unwrap();
    let created = names(&events.take(), true);
    for want in [
        "vpc:dmsSample",
        "sg:Security group for DMS sample",
        "role:dms-vpc-role",
        "database:rds-instance",
        "database:full-load-instance",
        "secret:MotoStack-rdsinstanceSecret",
        "secret:MotoStack-fullloadinstanceSecret",
        "stream:MotoStack-TargetStream",
        "subnets:motostack-repl-subnet-group",
        "instance:motostack-replication-instance",
        "role:MotoStack-dms-kinesis-access",
        "endpoint:cdc-endpoint",
        "endpoint:full-endpoint",
        "endpoint:target",
        "task:cdc-task-1",
        "task:cdc-task-2",
        "task:full-load-task-1",
        "task:full-load-task-2",
    ] {
        assert!(
            created.contains(&want.to_owned()),
            "{want} not created: {created:?}"
        );
    }
    assert_eq!(census(&sdk, "MotoStack").await, FULL);

    // The outputs: the seed's names, ARNs of what was made, also in outputs.json.
    let o = &d1.outputs;
    assert!(
        o.cdc_task_secret
            .starts_with("arn:aws:secretsmanager:us-east-1:")
            && o.cdc_task_secret
                .contains(":secret:MotoStack-rdsinstanceSecret"),
        "{o:?}"
    );
    assert!(
        o.full_task_secret
            .contains(":secret:MotoStack-fullloadinstanceSecret"),
        "{o:?}"
    );
    assert!(
        o.kinesis_stream.ends_with(":stream/MotoStack-TargetStream"),
        "{o:?}"
    );
    for arn in [&o.cdc_task1, &o.cdc_task2, &o.full_task1, &o.full_task2] {
        assert!(arn.starts_with("arn:aws:dms:us-east-1:"), "{arn}");
    }
    let file: dmsrs_seed::Outputs =
        serde_json::from_slice(&std::fs::read(stack.outputs_path()).unwrap()).unwrap();
    assert_eq!(&file, o);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.dir().join(RECORD_FILE)).unwrap()).unwrap();
    assert_eq!(record["database"], "rds");
    assert_eq!(record["dms"], "aws");

    // The secrets: DMS shape with the instance's address and its generated password.
    let sm = AwsSecrets::from_sdk_config(&sdk);
    let cdc = secret_json(&sm.secret_string(&o.cdc_task_secret).await.unwrap());
    let cdc_db = aws_sdk_rds::Client::new(&sdk)
        .describe_db_instances()
        .db_instance_identifier("motostack-rds-instance")
        .send()
        .await
        .unwrap();
    let cdc_db = &cdc_db.db_instances()[0];
    assert_eq!(
        cdc["host"].as_str(),
        cdc_db.endpoint().and_then(|e| e.address())
    );
    assert_eq!(
        cdc["port"].as_i64(),
        cdc_db.endpoint().and_then(|e| e.port()).map(i64::from)
    );
    assert_eq!(
        (cdc["username"].as_str(), cdc["dbname"].as_str()),
        (Some("admin"), Some("dms_sample"))
    );
    assert_eq!(cdc["password"].as_str().unwrap().len(), 30);
    // The instances sit in the stack's VPC (public subnets, the security group).
    let net = d1.network.as_ref().unwrap();
    assert_eq!(
        cdc_db.db_subnet_group().and_then(|g| g.vpc_id()),
        net.vpc_id.as_deref()
    );
    assert_eq!(
        cdc_db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect::<Vec<_>>(),
        vec![net.security_group_id.as_deref().unwrap()]
    );
    assert!(cdc_db.publicly_accessible().unwrap_or(false));

    // DMS: the seed's instance, endpoints and exact task definitions.
    let ri = d1.replication_instance.as_ref().unwrap();
    assert_eq!(
        (
            ri.class.as_str(),
            ri.allocated_storage_gb,
            ri.publicly_accessible
        ),
        ("dms.t2.micro", 5, true)
    );
    assert_eq!(
        ri.subnet_group_identifier.as_deref(),
        Some("motostack-repl-subnet-group")
    );
    let dms = stack.dms();
    let target = dms.find_endpoint("target").await.unwrap().unwrap();
    match &target.settings {
        EndpointSettings::Kinesis(k) => {
            assert_eq!(k.stream_arn, o.kinesis_stream);
            assert!(
                k.service_access_role_arn
                    .as_deref()
                    .unwrap()
                    .ends_with(":role/dmsrs/MotoStack/MotoStack-dms-kinesis-access")
            );
            assert!(
                k.include_control_details
                    && k.include_transaction_details
                    && k.partition_include_schema_table
            );
        }
        other => panic!("{other:?}"),
    }
    let full_ep = dms.find_endpoint("full-endpoint").await.unwrap().unwrap();
    match &full_ep.settings {
        EndpointSettings::MySql(m) => {
            assert_eq!(
                m.secrets_manager_secret_id.as_deref(),
                Some(o.full_task_secret.as_str())
            );
            assert!(
                m.secrets_manager_access_role_arn
                    .as_deref()
                    .unwrap()
                    .contains("full-endpoint-secret-access")
            );
        }
        other => panic!("{other:?}"),
    }
    for t in seed::tasks() {
        let task = dms.find_task(t.identifier).await.unwrap().unwrap();
        assert_eq!(
            task.table_mappings,
            t.table_mappings(seed::SCHEMA),
            "{}",
            t.identifier
        );
        assert_eq!(
            task.settings.as_deref(),
            Some(t.settings()),
            "{}",
            t.identifier
        );
        assert_eq!(task.migration_type, t.migration_type);
        assert_eq!(task.replication_instance_arn, ri.arn);
    }

    // A second deploy reuses everything: same outputs, nothing created, no duplicates.
    let d2 = stack.deploy(&events.on()).await.unwrap();
    assert_eq!(d2.outputs, d1.outputs);
    let evs = events.take();
    assert_eq!(names(&evs, true), Vec::<String>::new(), "{evs:?}");
    assert!(names(&evs, false).len() >= 18, "{evs:?}");
    assert_eq!(census(&sdk, "MotoStack").await, FULL);
    let cdc_again = secret_json(&sm.secret_string(&o.cdc_task_secret).await.unwrap());
    assert_eq!(
        cdc_again["password"], cdc["password"],
        "the stored password is kept"
    );

    // status sees the tasks and databases.
    let st = stack.status().await.unwrap();
    assert_eq!(st.tasks.len(), 4);
    assert!(
        st.databases
            .iter()
            .all(|(_, d)| d.as_ref().is_some_and(|d| d.is_available())),
        "{:?}",
        st.databases
    );
    assert_eq!(st.stream.as_ref().map(|s| s.open_shard_count), Some(1));

    // A secret deleted by hand: the master password is reset and stored in a new secret;
    // the endpoint that read the old secret ARN is reported, not silently changed.
    sm.delete(&o.cdc_task_secret).await.unwrap();
    let e = stack.deploy(&events.on()).await.unwrap_err();
    assert!(
        matches!(e, StackError::Conflict(_)) && e.to_string().contains("cdc-endpoint"),
        "{e}"
    );
    assert!(e.to_string().contains("scenario destroy"), "{e}");
    let reset = secret_json(
        &sm.secret_string("MotoStack-rdsinstanceSecret")
            .await
            .unwrap(),
    );
    assert_eq!(reset["password"].as_str().unwrap().len(), 30);
    assert_ne!(
        reset["password"], cdc["password"],
        "a new password was set on the instance"
    );
    assert!(names(&events.take(), true).contains(&"secret:MotoStack-rdsinstanceSecret".to_owned()));

    // destroy removes everything, and a second destroy finds nothing to do.
    stack.destroy(&events.on()).await.unwrap();
    let deleted = events
        .take()
        .iter()
        .filter(|e| matches!(e, ResourceEvent::Deleted { .. }))
        .count();
    assert!(deleted >= 20, "{deleted} deletions");
    assert_eq!(census(&sdk, "MotoStack").await, EMPTY);
    assert!(!stack.dir().exists());
    stack.destroy(&events.on()).await.unwrap();
    assert!(
        !events
            .take()
            .iter()
            .any(|e| matches!(e, ResourceEvent::Deleted { .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_cleans_up_after_failed_deploys() {
    let moto = MotoServer::start().expect("moto_server (run scripts/setup.sh)");
    let sdk = sdk(&moto).await;
    let policy = dms_vpc_policy(&sdk).await;
    let state = tempfile::tempdir().unwrap();
    let events = Events::default();

    // 1. The deploy stops after the network and the databases.
    let failing = AwsStack::new(
        &sdk,
        state.path(),
        "HalfStack",
        AwsStackOptions {
            fail_after: Some(DeployPhase::Databases),
            ..options(&policy)
        },
    )
    .unwrap();
    let e = failing.deploy(&events.on()).await.unwrap_err();
    assert!(matches!(e, StackError::Injected("databases")), "{e}");
    assert!(e.to_string().contains("scenario destroy"), "{e}");
    let half = census(&sdk, "HalfStack").await;
    assert_eq!(
        (
            half.vpcs,
            half.db_instances,
            half.secrets,
            half.streams,
            half.replication_instances
        ),
        (1, 2, 2, 1, 1),
        "{half:?}"
    );
    assert_eq!((half.endpoints, half.tasks), (0, 0));
    assert!(!failing.outputs_path().exists());

    // A deploy with other modes on top is refused (the record says how it was deployed) ...
    let other = AwsStack::new(
        &sdk,
        state.path(),
        "HalfStack",
        AwsStackOptions {
            database: DatabaseMode::Embedded,
            dms: DmsMode::Embedded,
            ..options(&policy)
        },
    )
    .unwrap();
    let e = other.deploy(&events.on()).await.unwrap_err();
    assert!(
        matches!(e, StackError::Conflict(_)) && e.to_string().contains("--databases rds --dms aws"),
        "{e}"
    );
    // ... and destroy through those other options still removes what the first deploy made.
    other.destroy(&events.on()).await.unwrap();
    assert_eq!(census(&sdk, "HalfStack").await, EMPTY);
    assert!(!Path::new(&state.path().join("HalfStack")).exists());

    // 2. The deploy stops after the endpoints, and the local state is lost too: destroy with
    // the same options finds everything by name and tag.
    let failing = AwsStack::new(
        &sdk,
        state.path(),
        "HalfStack",
        AwsStackOptions {
            fail_after: Some(DeployPhase::Endpoints),
            ..options(&policy)
        },
    )
    .unwrap();
    assert!(matches!(
        failing.deploy(&events.on()).await,
        Err(StackError::Injected("endpoints"))
    ));
    let half = census(&sdk, "HalfStack").await;
    assert_eq!(
        (half.endpoints, half.roles, half.tasks),
        (3, 4, 0),
        "{half:?}"
    );
    std::fs::remove_dir_all(state.path().join("HalfStack")).unwrap();
    let fresh = AwsStack::new(&sdk, state.path(), "HalfStack", options(&policy)).unwrap();
    fresh.destroy(&events.on()).await.unwrap();
    assert_eq!(census(&sdk, "HalfStack").await, EMPTY);
}

/// The seed's LocalStack mode: the CDC source on RDS, the full-load source an external
/// MariaDB described by the hand-made secret (port as a string, the seed's key order). A
/// later deploy without the details keeps the stored secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_full_load_source_gets_the_seed_secret() {
    let moto = MotoServer::start().expect("moto_server (run scripts/setup.sh)");
    let sdk = sdk(&moto).await;
    let state = tempfile::tempdir().unwrap();
    let events = Events::default();
    let external = |host: &str| ExternalMariaDb {
        host: host.into(),
        port: 3306,
        username: "admin".into(),
        password: dmsrs_secrets::SecretString::new("1Wp2Aide=z=,eLX3RrD4gJ4o54puex"),
        dbname: "dms_sample".into(),
    };
    let opts = |host: &str| AwsStackOptions {
        database: DatabaseMode::External(external(host)),
        dms: DmsMode::Embedded,
        network: false,
        ..options("unused")
    };

    // Without the details, a first deploy cannot describe the source.
    let blind = AwsStack::new(&sdk, state.path(), "ExtStack", opts("")).unwrap();
    let e = blind.deploy(&events.on()).await.unwrap_err();
    assert!(e.to_string().contains("--external-mariadb"), "{e}");
    blind.destroy(&events.on()).await.unwrap();

    let stack = AwsStack::new(&sdk, state.path(), "ExtStack", opts("mariadb_server")).unwrap();
    let d1 = stack.deploy(&events.on()).await.unwrap();
    d1.shutdown().await;
    assert!(
        d1.outputs
            .full_task_secret
            .contains(":secret:ExtStack-mariadbaccesssecret")
    );
    let sm = AwsSecrets::from_sdk_config(&sdk);
    let stored = sm
        .secret_string(&d1.outputs.full_task_secret)
        .await
        .unwrap();
    assert_eq!(
        stored.expose(),
        r#"{"host":"mariadb_server","port":"3306","username":"admin","password":"1Wp2Aide=z=,eLX3RrD4gJ4o54puex","dbname":"dms_sample"}"#
    );
    // The run reads it back like the seed's get_credentials, with the host rewrite.
    let rewritten = AwsStack::new(
        &sdk,
        state.path(),
        "ExtStack",
        AwsStackOptions {
            host_rewrites: vec![("mariadb_server".into(), "localhost".into())],
            ..opts("")
        },
    )
    .unwrap();
    let d2 = rewritten.deploy(&events.on()).await.unwrap();
    d2.shutdown().await;
    assert_eq!(d2.outputs, d1.outputs);
    assert_eq!(
        sm.secret_string(&d1.outputs.full_task_secret)
            .await
            .unwrap(),
        stored,
        "kept as stored"
    );
    let src = d2.source(seed::SeedSource::FullLoad).await.unwrap();
    assert_eq!(
        (src.host.as_str(), src.port, src.username.as_str()),
        ("localhost", 3306, "admin")
    );
    assert!(!format!("{src:?}").contains("1Wp2Aide"));
    // Only the CDC source is an RDS instance.
    let c = census(&sdk, "ExtStack").await;
    assert_eq!(
        (c.db_instances, c.secrets, c.streams, c.vpcs, c.endpoints),
        (1, 2, 1, 0, 0),
        "{c:?}"
    );

    rewritten.destroy(&events.on()).await.unwrap();
    assert_eq!(census(&sdk, "ExtStack").await, EMPTY);
}
