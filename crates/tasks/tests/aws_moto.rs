//! `AwsDms` with the real SDK against moto (through the test kit's `MotoServer`, which
//! serves DMS dates as epoch numbers): the seed's control plane end to end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_databasemigration::config::Credentials;
use aws_sdk_databasemigration::config::retry::RetryConfig;
use dmsrs_tasks::aws::ReplicationInstanceSpec;
use dmsrs_tasks::model::{
    CreateEndpoint, EndpointSettings, EndpointType, StartTask, StartType, TaskFilter,
};
use dmsrs_tasks::seed::{self, SeedSource};
use dmsrs_tasks::{AwsDms, DmsError, MigrationType, ReplicationService, Tag, TaskStatus, wait};
use dmsrs_testkit::MotoServer;

/// An SDK config for moto: static credentials, us-east-1, at most 2 attempts with a short
/// backoff (moto answers unimplemented operations with HTTP 500, which the SDK retries).
async fn sdk_config(moto: &MotoServer) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
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

const POLL: Duration = Duration::from_millis(50);

#[tokio::test]
async fn seed_control_plane_against_moto() {
    let moto = MotoServer::start().expect("moto_server (run scripts/setup.sh)");
    let dms = AwsDms::from_sdk_config(&sdk_config(&moto).await)
        .with_default_tags(vec![Tag::stack("dmsrs-test")]);

    // Subnet group: created once, then reused.
    let subnets = vec!["subnet-0aaa".to_owned(), "subnet-0bbb".to_owned()];
    let g = dms
        .ensure_subnet_group(
            "dmsrs-test-subnets",
            seed::SUBNET_GROUP_DESCRIPTION,
            &subnets,
        )
        .await
        .unwrap();
    assert_eq!(g.description, "Replication Subnet Group for DMS test");
    let again = dms
        .ensure_subnet_group(
            "dmsrs-test-subnets",
            seed::SUBNET_GROUP_DESCRIPTION,
            &subnets,
        )
        .await
        .unwrap();
    assert_eq!(again.identifier, g.identifier);

    // Replication instance: created (`creating`), waited for, then reused.
    let spec = ReplicationInstanceSpec::seed(
        "dmsrs-test-instance",
        &g.identifier,
        vec!["sg-0123456789abcdef0".into()],
        Some("us-east-1a".into()),
    );
    let ri = dms.ensure_replication_instance(&spec).await.unwrap();
    assert_eq!(
        (ri.class.as_str(), ri.allocated_storage_gb),
        ("dms.t2.micro", 5)
    );
    assert!(ri.publicly_accessible && !ri.multi_az && !ri.auto_minor_version_upgrade);
    assert!(ri.create_time.is_some(), "InstanceCreateTime converted");
    let ri = dms
        .wait_replication_instance_available(&ri.arn, Duration::from_secs(10), POLL)
        .await
        .unwrap();
    assert_eq!(ri.status, "available");
    assert_eq!(
        dms.ensure_replication_instance(&spec).await.unwrap().arn,
        ri.arn
    );

    // Endpoints: the seed's two sources (secret-based) and the Kinesis target.
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/dmsrs-test";
    let role = "arn:aws:iam::123456789012:role/dms-assume-role";
    let source = |id: &str, secret: &str| CreateEndpoint {
        identifier: id.into(),
        endpoint_type: EndpointType::Source,
        engine_name: seed::SOURCE_ENGINE.into(),
        settings: EndpointSettings::MySql(seed::source_settings(secret, Some(role))),
    };
    let cdc_src = dms
        .ensure_endpoint(source(
            "cdcendpoint",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-AbCdEf",
        ))
        .await
        .unwrap();
    let full_src = dms
        .ensure_endpoint(source("fullendpoint", "mariadb-access-secret"))
        .await
        .unwrap();
    let target = dms
        .ensure_endpoint(CreateEndpoint {
            identifier: "target".into(),
            endpoint_type: EndpointType::Target,
            engine_name: seed::TARGET_ENGINE.into(),
            settings: EndpointSettings::Kinesis(seed::kinesis_settings(stream, Some(role))),
        })
        .await
        .unwrap();
    match &target.settings {
        EndpointSettings::Kinesis(k) => assert_eq!(k, &seed::kinesis_settings(stream, Some(role))),
        other => panic!("expected Kinesis settings, got {other:?}"),
    }
    match &full_src.settings {
        EndpointSettings::MySql(m) => {
            assert_eq!(
                m.secrets_manager_secret_id.as_deref(),
                Some("mariadb-access-secret")
            );
            assert_eq!(m.secrets_manager_access_role_arn.as_deref(), Some(role));
        }
        other => panic!("expected MySQL settings, got {other:?}"),
    }
    assert_eq!(
        dms.ensure_endpoint(source("cdcendpoint", "x"))
            .await
            .unwrap()
            .arn,
        cdc_src.arn,
        "reused by identifier"
    );
    assert_eq!(
        dms.find_endpoint("target").await.unwrap().map(|e| e.arn),
        Some(target.arn.clone())
    );
    assert!(dms.find_endpoint("nope").await.unwrap().is_none());
    assert_eq!(dms.describe_endpoints(&[]).await.unwrap().len(), 3);
    let two = dms
        .describe_endpoints(&[cdc_src.arn.clone(), target.arn.clone()])
        .await
        .unwrap();
    assert_eq!(two.len(), 2);

    // The four seed tasks.
    let mut arns = Vec::new();
    for t in seed::tasks() {
        let src = match t.source {
            SeedSource::Cdc => &cdc_src.arn,
            SeedSource::FullLoad => &full_src.arn,
        };
        let task = dms
            .ensure_task(t.create_input(seed::SCHEMA, src, &target.arn, &ri.arn))
            .await
            .unwrap();
        assert_eq!(
            task.status,
            TaskStatus::Creating,
            "moto's tasks stay creating"
        );
        assert_eq!(task.identifier, t.identifier);
        assert_eq!(
            task.table_mappings,
            t.table_mappings(seed::SCHEMA),
            "TableMappings echoed byte for byte"
        );
        assert_eq!(task.settings.as_deref(), Some(t.settings()));
        arns.push(task.arn);
    }
    // Idempotent by identifier; a clash on other endpoints is refused.
    let t0 = &seed::tasks()[0];
    let again = dms
        .ensure_task(t0.create_input(seed::SCHEMA, &cdc_src.arn, &target.arn, &ri.arn))
        .await
        .unwrap();
    assert_eq!(again.arn, arns[0]);
    let e = dms
        .ensure_task(t0.create_input(seed::SCHEMA, &full_src.arn, &target.arn, &ri.arn))
        .await
        .unwrap_err();
    assert!(matches!(e, DmsError::ResourceAlreadyExists(_)), "{e:?}");
    let e = dms
        .create_task(t0.create_input(seed::SCHEMA, &cdc_src.arn, &target.arn, &ri.arn))
        .await
        .unwrap_err();
    assert!(matches!(e, DmsError::ResourceAlreadyExists(_)), "{e:?}");

    // Filters.
    let cdc = TaskFilter {
        migration_types: vec![MigrationType::Cdc],
        ..TaskFilter::default()
    };
    let mut ids: Vec<_> = dms
        .describe_tasks(&cdc)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.identifier)
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["cdc-task-1", "cdc-task-2"]);
    let by_endpoint = TaskFilter {
        endpoint_arns: vec![full_src.arn.clone()],
        ..TaskFilter::default()
    };
    assert_eq!(dms.describe_tasks(&by_endpoint).await.unwrap().len(), 2);
    let by_target = TaskFilter {
        endpoint_arns: vec![target.arn.clone()],
        ..TaskFilter::default()
    };
    assert_eq!(dms.describe_tasks(&by_target).await.unwrap().len(), 4);
    let by_id = TaskFilter {
        identifiers: vec!["full-load-task-2".into()],
        ..TaskFilter::default()
    };
    let found = dms.describe_tasks(&by_id).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].arn, arns[3]);
    assert_eq!(
        dms.describe_task(&arns[1]).await.unwrap().identifier,
        "cdc-task-2"
    );
    assert_eq!(
        dms.find_task("full-load-task-1")
            .await
            .unwrap()
            .map(|t| t.arn),
        Some(arns[2].clone())
    );
    assert!(
        dms.describe_tasks(&TaskFilter::arn(
            "arn:aws:dms:us-east-1:123456789012:task:NOPE"
        ))
        .await
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        dms.list_tags(&arns[0]).await.unwrap(),
        vec![Tag::stack("dmsrs-test")]
    );

    // Start (moto: straight to running), stop, errors in the wrong state.
    for arn in &arns {
        let t = dms
            .start_task(StartTask::new(arn.clone(), StartType::StartReplication))
            .await
            .unwrap();
        assert_eq!(t.status, TaskStatus::Running);
        let t = wait::wait_for_status(&dms, arn, TaskStatus::Running, Duration::from_secs(5), POLL)
            .await
            .unwrap();
        assert!(t.start_date.is_some(), "ReplicationTaskStartDate converted");
    }
    for arn in &arns[..2] {
        assert_eq!(
            dms.stop_task(arn).await.unwrap().status,
            TaskStatus::Stopped
        );
    }
    let e = dms.stop_task(&arns[0]).await.unwrap_err();
    assert!(matches!(e, DmsError::InvalidResourceState(_)), "{e:?}");
    assert!(e.to_string().contains("not running"), "{e}");
    let e = dms
        .start_task(StartTask::new(
            "arn:aws:dms:us-east-1:123456789012:task:NOPE",
            StartType::ResumeProcessing,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, DmsError::ResourceNotFound(_)), "{e:?}");

    // DescribeTableStatistics: moto answers HTTP 500 (not implemented).
    let t0 = Instant::now();
    let e = dms.describe_table_statistics(&arns[0]).await.unwrap_err();
    let took = t0.elapsed();
    assert!(e.is_retryable() && !e.is_user_error(), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("DescribeTableStatistics") && msg.contains("500"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    eprintln!("DescribeTableStatistics against moto: {msg} ({took:?})");

    // Teardown.
    for arn in &arns {
        dms.delete_task(arn).await.unwrap();
        let e = dms.describe_task(arn).await.unwrap_err();
        assert!(matches!(e, DmsError::ResourceNotFound(_)), "{e:?}");
    }
    for ep in [&cdc_src, &full_src, &target] {
        assert_eq!(dms.delete_endpoint(&ep.arn).await.unwrap().arn, ep.arn);
    }
    assert!(dms.describe_endpoints(&[]).await.unwrap().is_empty());
    let e = dms.delete_endpoint(&target.arn).await.unwrap_err();
    assert!(matches!(e, DmsError::ResourceNotFound(_)), "{e:?}");
    assert!(
        dms.delete_replication_instance(&ri.arn)
            .await
            .unwrap()
            .is_some()
    );
    dms.wait_replication_instance_deleted(&ri.arn, Duration::from_secs(5), POLL)
        .await
        .unwrap();
    assert!(
        dms.delete_replication_instance(&ri.arn)
            .await
            .unwrap()
            .is_none()
    );
    assert!(dms.delete_subnet_group(&g.identifier).await.unwrap());
    assert!(!dms.delete_subnet_group(&g.identifier).await.unwrap());
}

#[tokio::test]
async fn unreachable_endpoint_is_a_retryable_service_error() {
    // A port nothing listens on: connection refused, mapped to a retryable error.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let dms = AwsDms::from_sdk_config(&sdk);
    let e = dms
        .describe_tasks(&TaskFilter::default())
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("could not reach"), "{e}");
}
