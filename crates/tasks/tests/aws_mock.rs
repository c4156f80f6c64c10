//! `AwsDms` request shapes and error mapping, against aws-smithy-mocks (no server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, UNIX_EPOCH};

use aws_sdk_databasemigration as dms;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use dms::config::retry::RetryConfig;
use dms::error::ErrorMetadata;
use dms::operation::create_endpoint::{CreateEndpointError, CreateEndpointOutput};
use dms::operation::create_replication_task::{
    CreateReplicationTaskError, CreateReplicationTaskOutput,
};
use dms::operation::describe_endpoints::DescribeEndpointsOutput;
use dms::operation::describe_replication_instances::DescribeReplicationInstancesOutput;
use dms::operation::describe_replication_tasks::{
    DescribeReplicationTasksError, DescribeReplicationTasksOutput,
};
use dms::operation::describe_table_statistics::DescribeTableStatisticsOutput;
use dms::operation::start_replication_task::{
    StartReplicationTaskError, StartReplicationTaskOutput,
};
use dms::operation::stop_replication_task::StopReplicationTaskError;
use dms::primitives::DateTime;
use dms::types::error::{
    AccessDeniedFault, InvalidResourceStateFault, ResourceAlreadyExistsFault, ResourceNotFoundFault,
};
use dms::types::{
    MessageFormatValue, MigrationTypeValue, ReplicationEndpointTypeValue,
    StartReplicationTaskTypeValue,
};
use dmsrs_tasks::model::{
    CreateEndpoint, EndpointSettings, EndpointType, MySqlSettings, SecretString, StartTask,
    StartType, TaskFilter,
};
use dmsrs_tasks::{
    AwsDms, DmsError, MigrationType, ReplicationService, Tag, TaskStatus, seed, wait,
};

const INSTANCE: &str = "arn:aws:dms:us-east-1:000000000000:rep:RI";
const SRC: &str = "arn:aws:dms:us-east-1:000000000000:endpoint:SRC";
const TGT: &str = "arn:aws:dms:us-east-1:000000000000:endpoint:TGT";

/// A mocked client without retries (so error rules are hit exactly once).
macro_rules! client {
    ($mode:expr, $rules:expr) => {
        mock_client!(dms, $mode, $rules, |c| c
            .retry_config(RetryConfig::disabled()))
    };
}

fn task_arn(id: &str) -> String {
    format!(
        "arn:aws:dms:us-east-1:000000000000:task:{}",
        id.to_uppercase().replace('-', "")
    )
}

fn sdk_task(id: &str, status: &str, mt: MigrationTypeValue) -> dms::types::ReplicationTask {
    dms::types::ReplicationTask::builder()
        .replication_task_arn(task_arn(id))
        .replication_task_identifier(id)
        .status(status)
        .migration_type(mt)
        .source_endpoint_arn(SRC)
        .target_endpoint_arn(TGT)
        .replication_instance_arn(INSTANCE)
        .table_mappings("{}")
        .replication_task_creation_date(DateTime::from_secs_f64(1_590_524_772.505))
        .build()
}

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

#[tokio::test]
async fn create_task_sends_the_seed_strings_byte_for_byte() {
    let mut rules = Vec::new();
    for t in seed::tasks() {
        let (id, mappings, settings) = (t.identifier, t.table_mappings(seed::SCHEMA), t.settings());
        let mt = t.migration_type;
        rules.push(
            mock!(dms::Client::create_replication_task)
                .match_requests(move |r| {
                    r.replication_task_identifier() == Some(id)
                        && r.table_mappings() == Some(mappings.as_str())
                        && r.replication_task_settings() == Some(settings)
                        && r.migration_type().map(|m| m.as_str()) == Some(mt.as_str())
                        && r.source_endpoint_arn() == Some(SRC)
                        && r.target_endpoint_arn() == Some(TGT)
                        && r.replication_instance_arn() == Some(INSTANCE)
                        && r.cdc_start_position().is_none()
                        && r.resource_identifier().is_none()
                        && r.tags().len() == 1
                        && r.tags()[0].key() == Some("dmsrs:stack")
                        && r.tags()[0].value() == Some("DMsSampleSetupStack")
                })
                .then_output(move || {
                    let mtv = MigrationTypeValue::from(mt.as_str());
                    CreateReplicationTaskOutput::builder()
                        .replication_task(sdk_task(id, "creating", mtv))
                        .build()
                }),
        );
    }
    let refs: Vec<_> = rules.iter().collect();
    let client = client!(RuleMode::MatchAny, refs);
    let dms = AwsDms::new(client).with_default_tags(vec![Tag::stack("DMsSampleSetupStack")]);
    for t in seed::tasks() {
        let task = dms
            .create_task(t.create_input(seed::SCHEMA, SRC, TGT, INSTANCE))
            .await
            .unwrap();
        assert_eq!(task.identifier, t.identifier);
        assert_eq!(task.status, TaskStatus::Creating);
        assert_eq!(task.migration_type, t.migration_type);
        assert_eq!(
            task.creation_date
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
            1_590_524_772_505
        );
    }
    for r in &rules {
        assert_eq!(r.num_calls(), 1);
    }
    // The strings themselves, spelled out once more (seed-scenario.md 1.10).
    assert_eq!(
        seed::tasks()[1].table_mappings(seed::SCHEMA),
        r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "tables-n-to-z", "object-locator": {"schema-name": "dms_sample", "table-name": "novels"}, "rule-action": "include"}]}"#
    );
}

#[tokio::test]
async fn create_task_passes_cdc_fields_through() {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let rule = mock!(dms::Client::create_replication_task)
        .match_requests(move |r| {
            r.cdc_start_position() == Some("mysql-bin-changelog.000024:373")
                && r.cdc_stop_position() == Some("server_time:2018-02-09T12:12:12")
                && r.cdc_start_time().is_none()
                && r.resource_identifier() == Some("MYTASK")
                && r.migration_type() == Some(&MigrationTypeValue::FullLoadAndCdc)
                && r.replication_task_settings().is_none()
                && r.tags().is_empty()
        })
        .then_output(|| {
            CreateReplicationTaskOutput::builder()
                .replication_task(sdk_task(
                    "t",
                    "creating",
                    MigrationTypeValue::FullLoadAndCdc,
                ))
                .build()
        });
    let time_rule = mock!(dms::Client::create_replication_task)
        .match_requests(move |r| {
            r.cdc_start_time() == Some(&DateTime::from(start)) && r.cdc_start_position().is_none()
        })
        .then_output(|| {
            CreateReplicationTaskOutput::builder()
                .replication_task(sdk_task("t2", "creating", MigrationTypeValue::Cdc))
                .build()
        });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&rule, &time_rule]));
    let mut input = seed::tasks()[0].create_input(seed::SCHEMA, SRC, TGT, INSTANCE);
    input.migration_type = MigrationType::FullLoadAndCdc;
    input.settings = None;
    input.cdc_start_position = Some("mysql-bin-changelog.000024:373".into());
    input.cdc_stop_position = Some("server_time:2018-02-09T12:12:12".into());
    input.resource_identifier = Some("MYTASK".into());
    dms.create_task(input.clone()).await.unwrap();
    input.cdc_start_position = None;
    input.cdc_start_time = Some(start);
    dms.create_task(input).await.unwrap();
    assert_eq!((rule.num_calls(), time_rule.num_calls()), (1, 1));
}

#[tokio::test]
async fn create_kinesis_endpoint_sends_every_setting() {
    let stream = "arn:aws:kinesis:us-east-1:000000000000:stream/DMsSampleSetupStack-TargetStream3B4B2880-02dd0371";
    let role = "arn:aws:iam::000000000000:role/dms-assume-role";
    let rule = mock!(dms::Client::create_endpoint)
        .match_requests(move |r| {
            let Some(k) = r.kinesis_settings() else {
                return false;
            };
            r.endpoint_identifier() == Some("target")
                && r.endpoint_type() == Some(&ReplicationEndpointTypeValue::Target)
                && r.engine_name() == Some("kinesis")
                && r.my_sql_settings().is_none()
                && k.stream_arn() == Some(stream)
                && k.service_access_role_arn() == Some(role)
                && k.message_format() == Some(&MessageFormatValue::Json)
                && k.include_control_details() == Some(true)
                && k.include_null_and_empty() == Some(true)
                && k.include_partition_value() == Some(true)
                && k.include_table_alter_operations() == Some(true)
                && k.include_transaction_details() == Some(true)
                && k.partition_include_schema_table() == Some(true)
                && k.no_hex_prefix() == Some(false)
                && k.use_large_integer_value() == Some(false)
        })
        .then_output(move || {
            CreateEndpointOutput::builder()
                .endpoint(
                    dms::types::Endpoint::builder()
                        .endpoint_arn(TGT)
                        .endpoint_identifier("target")
                        .endpoint_type(ReplicationEndpointTypeValue::Target)
                        .engine_name("kinesis")
                        .status("active")
                        .kinesis_settings(
                            dms::types::KinesisSettings::builder()
                                .stream_arn(stream)
                                .message_format(MessageFormatValue::Json)
                                .include_control_details(true)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let unformatted = mock!(dms::Client::create_endpoint)
        .match_requests(|r| {
            r.kinesis_settings().and_then(|k| k.message_format())
                == Some(&MessageFormatValue::JsonUnformatted)
                && r.kinesis_settings().and_then(|k| k.no_hex_prefix()) == Some(true)
        })
        .then_error(|| {
            CreateEndpointError::generic(meta("InvalidParameterValueException", "nope"))
        });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&rule, &unformatted]));
    let ep = dms
        .create_endpoint(CreateEndpoint {
            identifier: "target".into(),
            endpoint_type: EndpointType::Target,
            engine_name: seed::TARGET_ENGINE.into(),
            settings: EndpointSettings::Kinesis(seed::kinesis_settings(stream, Some(role))),
        })
        .await
        .unwrap();
    assert_eq!(
        (ep.arn.as_str(), ep.endpoint_type, ep.status.as_str()),
        (TGT, EndpointType::Target, "active")
    );
    match ep.settings {
        EndpointSettings::Kinesis(k) => {
            assert_eq!(k.stream_arn, stream);
            assert!(k.include_control_details && !k.include_null_and_empty);
        }
        other => panic!("expected Kinesis settings, got {other:?}"),
    }
    let mut k = seed::kinesis_settings(stream, None);
    k.message_format = dmsrs_codec::MessageFormat::JsonUnformatted;
    k.no_hex_prefix = true;
    let err = dms
        .create_endpoint(CreateEndpoint {
            identifier: "t2".into(),
            endpoint_type: EndpointType::Target,
            engine_name: "kinesis".into(),
            settings: EndpointSettings::Kinesis(k),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, DmsError::InvalidParameterValue(_)), "{err:?}");
    assert_eq!((rule.num_calls(), unformatted.num_calls()), (1, 1));
}

#[tokio::test]
async fn create_mysql_endpoints_send_secret_or_connection_fields() {
    let secret = "arn:aws:secretsmanager:us-east-1:000000000000:secret:DMsSampleSetupStack-mariadbaccesssecret40AD7-611fcbcd-IKWDDh";
    let role = "arn:aws:iam::000000000000:role/fullendpointsecretaccessrole";
    let by_secret = mock!(dms::Client::create_endpoint)
        .match_requests(move |r| {
            let Some(m) = r.my_sql_settings() else {
                return false;
            };
            r.endpoint_type() == Some(&ReplicationEndpointTypeValue::Source)
                && r.engine_name() == Some("mariadb")
                && r.kinesis_settings().is_none()
                && m.secrets_manager_secret_id() == Some(secret)
                && m.secrets_manager_access_role_arn() == Some(role)
                && m.server_name().is_none()
                && m.password().is_none()
                && m.port().is_none()
        })
        .then_output(move || {
            CreateEndpointOutput::builder()
                .endpoint(
                    dms::types::Endpoint::builder()
                        .endpoint_arn(SRC)
                        .endpoint_identifier("fullendpoint")
                        .endpoint_type(ReplicationEndpointTypeValue::Source)
                        .engine_name("mariadb")
                        .status("active")
                        .my_sql_settings(
                            dms::types::MySqlSettings::builder()
                                .secrets_manager_secret_id(secret)
                                .secrets_manager_access_role_arn(role)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let by_fields = mock!(dms::Client::create_endpoint)
        .match_requests(|r| {
            let Some(m) = r.my_sql_settings() else {
                return false;
            };
            m.server_name() == Some("db.example")
                && m.port() == Some(3307)
                && m.username() == Some("admin")
                && m.password() == Some("hunter2-pw")
                && m.database_name() == Some("dms_sample")
                && m.secrets_manager_secret_id().is_none()
        })
        .then_output(|| {
            CreateEndpointOutput::builder()
                .endpoint(
                    dms::types::Endpoint::builder()
                        .endpoint_arn("arn:aws:dms:us-east-1:000000000000:endpoint:F")
                        .endpoint_identifier("fields")
                        .endpoint_type(ReplicationEndpointTypeValue::Source)
                        .engine_name("mysql")
                        .server_name("db.example")
                        .port(3307)
                        .username("admin")
                        .build(),
                )
                .build()
        });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&by_secret, &by_fields]));
    let ep = dms
        .create_endpoint(CreateEndpoint {
            identifier: "fullendpoint".into(),
            endpoint_type: EndpointType::Source,
            engine_name: seed::SOURCE_ENGINE.into(),
            settings: EndpointSettings::MySql(seed::source_settings(secret, Some(role))),
        })
        .await
        .unwrap();
    match &ep.settings {
        EndpointSettings::MySql(m) => {
            assert_eq!(m.secrets_manager_secret_id.as_deref(), Some(secret))
        }
        other => panic!("expected MySQL settings, got {other:?}"),
    }
    let input = CreateEndpoint {
        identifier: "fields".into(),
        endpoint_type: EndpointType::Source,
        engine_name: "mysql".into(),
        settings: EndpointSettings::MySql(MySqlSettings {
            server_name: Some("db.example".into()),
            port: Some(3307),
            username: Some("admin".into()),
            password: Some(SecretString::new("hunter2-pw")),
            database_name: Some("dms_sample".into()),
            ..MySqlSettings::default()
        }),
    };
    assert!(
        !format!("{input:?}").contains("hunter2-pw"),
        "the password shows in Debug"
    );
    let ep = dms.create_endpoint(input).await.unwrap();
    match &ep.settings {
        // Completed from the endpoint's top-level fields; DMS never returns passwords.
        EndpointSettings::MySql(m) => {
            assert_eq!(
                (m.server_name.as_deref(), m.port, m.password.as_ref()),
                (Some("db.example"), Some(3307), None)
            );
        }
        other => panic!("expected MySQL settings, got {other:?}"),
    }
    assert!(!format!("{ep:?}").contains("hunter2-pw"));
    assert_eq!((by_secret.num_calls(), by_fields.num_calls()), (1, 1));
}

#[tokio::test]
async fn start_task_sends_the_start_type_and_cdc_fields() {
    let mut rules = Vec::new();
    for (st, sdk_st) in [
        (
            StartType::StartReplication,
            StartReplicationTaskTypeValue::StartReplication,
        ),
        (
            StartType::ResumeProcessing,
            StartReplicationTaskTypeValue::ResumeProcessing,
        ),
        (
            StartType::ReloadTarget,
            StartReplicationTaskTypeValue::ReloadTarget,
        ),
    ] {
        rules.push(
            mock!(dms::Client::start_replication_task)
                .match_requests(move |r| {
                    r.start_replication_task_type() == Some(&sdk_st)
                        && r.replication_task_arn() == Some(task_arn(st.as_str()).as_str())
                        && r.cdc_start_position().is_none()
                })
                .then_output(move || {
                    StartReplicationTaskOutput::builder()
                        .replication_task(sdk_task(
                            st.as_str(),
                            "starting",
                            MigrationTypeValue::Cdc,
                        ))
                        .build()
                }),
        );
    }
    let with_position = mock!(dms::Client::start_replication_task)
        .match_requests(|r| {
            r.cdc_start_position() == Some("mysql-bin.000003:4")
                && r.cdc_stop_position() == Some("commit_time:2030-01-01T00:00:00")
                && r.start_replication_task_type()
                    == Some(&StartReplicationTaskTypeValue::StartReplication)
        })
        .then_output(|| {
            StartReplicationTaskOutput::builder()
                .replication_task(sdk_task("p", "starting", MigrationTypeValue::Cdc))
                .build()
        });
    rules.push(with_position);
    let refs: Vec<_> = rules.iter().collect();
    let dms = AwsDms::new(client!(RuleMode::MatchAny, refs));
    for st in [
        StartType::StartReplication,
        StartType::ResumeProcessing,
        StartType::ReloadTarget,
    ] {
        let t = dms
            .start_task(StartTask::new(task_arn(st.as_str()), st))
            .await
            .unwrap();
        assert_eq!(t.status, TaskStatus::Starting);
    }
    let mut input = StartTask::new(task_arn("p"), StartType::StartReplication);
    input.cdc_start_position = Some("mysql-bin.000003:4".into());
    input.cdc_stop_position = Some("commit_time:2030-01-01T00:00:00".into());
    dms.start_task(input).await.unwrap();
    for r in &rules {
        assert_eq!(r.num_calls(), 1);
    }
}

#[tokio::test]
async fn modelled_faults_map_to_dms_errors() {
    let not_found = mock!(dms::Client::start_replication_task).then_error(|| {
        StartReplicationTaskError::ResourceNotFoundFault(
            ResourceNotFoundFault::builder()
                .message("Replication task could not be found.")
                .build(),
        )
    });
    let bad_state = mock!(dms::Client::stop_replication_task).then_error(|| {
        StopReplicationTaskError::InvalidResourceStateFault(
            InvalidResourceStateFault::builder()
                .message("Replication task is not running")
                .build(),
        )
    });
    let exists = mock!(dms::Client::create_replication_task)
        .match_requests(|r| r.replication_task_identifier() == Some("cdc-task-1"))
        .then_error(|| {
            CreateReplicationTaskError::ResourceAlreadyExistsFault(
                ResourceAlreadyExistsFault::builder()
                    .message("The resource you are attempting to create already exists.")
                    .build(),
            )
        });
    let denied = mock!(dms::Client::create_replication_task)
        .match_requests(|r| r.replication_task_identifier() == Some("cdc-task-2"))
        .then_error(|| {
            CreateReplicationTaskError::AccessDeniedFault(
                AccessDeniedFault::builder().message("not allowed").build(),
            )
        });
    let combo = mock!(dms::Client::create_replication_task)
        .match_requests(|r| r.replication_task_identifier() == Some("full-load-task-1"))
        .then_error(|| {
            CreateReplicationTaskError::generic(meta(
                "InvalidParameterCombinationException",
                "CdcStartTime and CdcStartPosition are mutually exclusive",
            ))
        });
    let value = mock!(dms::Client::create_replication_task)
        .match_requests(|r| r.replication_task_identifier() == Some("full-load-task-2"))
        .then_error(|| {
            CreateReplicationTaskError::generic(meta(
                "InvalidParameterValueException",
                "Invalid table mappings",
            ))
        });
    let throttled = mock!(dms::Client::describe_table_statistics)
        .match_requests(|r| r.replication_task_arn() == Some("throttled"))
        .then_error(|| {
            dms::operation::describe_table_statistics::DescribeTableStatisticsError::generic(meta(
                "ThrottlingException",
                "Rate exceeded",
            ))
        });
    let server_error = mock!(dms::Client::describe_table_statistics)
        .match_requests(|r| r.replication_task_arn() == Some("html"))
        .sequence()
        .http_status(
            500,
            Some("<!doctype html><title>500 Internal Server Error</title>".into()),
        )
        .build();
    let dms = AwsDms::new(client!(
        RuleMode::MatchAny,
        [
            &not_found,
            &bad_state,
            &exists,
            &denied,
            &combo,
            &value,
            &throttled,
            &server_error
        ]
    ));

    let e = dms
        .start_task(StartTask::new("arn:missing", StartType::StartReplication))
        .await
        .unwrap_err();
    assert!(matches!(e, DmsError::ResourceNotFound(_)), "{e:?}");
    assert!(
        e.to_string().contains("arn:missing") && e.to_string().contains("could not be found"),
        "{e}"
    );
    assert!(e.is_user_error() && !e.is_retryable());

    let e = dms.stop_task("arn:t").await.unwrap_err();
    assert!(matches!(e, DmsError::InvalidResourceState(_)), "{e:?}");
    assert!(e.to_string().contains("not running"), "{e}");

    let input = |i: usize| seed::tasks()[i].create_input(seed::SCHEMA, SRC, TGT, INSTANCE);
    let e = dms.create_task(input(0)).await.unwrap_err();
    assert!(matches!(e, DmsError::ResourceAlreadyExists(_)), "{e:?}");
    let e = dms.create_task(input(1)).await.unwrap_err();
    assert!(matches!(e, DmsError::AccessDenied(_)), "{e:?}");
    let e = dms.create_task(input(2)).await.unwrap_err();
    assert!(
        matches!(e, DmsError::InvalidParameterValue(ref m) if m.contains("InvalidParameterCombinationException")),
        "{e:?}"
    );
    let e = dms.create_task(input(3)).await.unwrap_err();
    assert!(
        matches!(e, DmsError::InvalidParameterValue(ref m) if m.contains("Invalid table mappings")),
        "{e:?}"
    );
    assert_eq!(e.fault_name(), "InvalidParameterValueException");

    let e = dms
        .describe_table_statistics("throttled")
        .await
        .unwrap_err();
    assert!(e.is_retryable() && !e.is_user_error(), "{e:?}");
    let e = dms.describe_table_statistics("html").await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("HTTP 500")
            && msg.contains("DescribeTableStatistics")
            && msg.contains("retry"),
        "{msg}"
    );
    for r in [
        &not_found,
        &bad_state,
        &exists,
        &denied,
        &combo,
        &value,
        &throttled,
        &server_error,
    ] {
        assert_eq!(r.num_calls(), 1);
    }
}

#[tokio::test]
async fn describe_tasks_sends_filters_and_follows_markers() {
    let first = mock!(dms::Client::describe_replication_tasks)
        .match_requests(|r| {
            let names: Vec<_> = r
                .filters()
                .iter()
                .map(|f| (f.name(), f.values().to_vec()))
                .collect();
            r.marker().is_none()
                && r.without_settings() == Some(false)
                && r.max_records() == Some(100)
                && names
                    == vec![
                        ("replication-task-arn", vec!["a1".to_owned()]),
                        (
                            "replication-task-id",
                            vec!["cdc-task-1".to_owned(), "cdc-task-2".to_owned()],
                        ),
                        ("migration-type", vec!["cdc".to_owned()]),
                        ("endpoint-arn", vec![SRC.to_owned()]),
                    ]
        })
        .then_output(|| {
            DescribeReplicationTasksOutput::builder()
                .replication_tasks(sdk_task("cdc-task-1", "running", MigrationTypeValue::Cdc))
                .marker("page2")
                .build()
        });
    let second = mock!(dms::Client::describe_replication_tasks)
        .match_requests(|r| r.marker() == Some("page2") && r.filters().len() == 4)
        .then_output(|| {
            DescribeReplicationTasksOutput::builder()
                .replication_tasks(sdk_task("cdc-task-2", "stopped", MigrationTypeValue::Cdc))
                .build()
        });
    let none = mock!(dms::Client::describe_replication_tasks)
        .match_requests(|r| r.filters().len() == 1)
        .then_error(|| {
            DescribeReplicationTasksError::ResourceNotFoundFault(
                ResourceNotFoundFault::builder()
                    .message("No Tasks found matching provided filters")
                    .build(),
            )
        });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&first, &second, &none]));
    let filter = TaskFilter {
        arns: vec!["a1".into()],
        identifiers: vec!["cdc-task-1".into(), "cdc-task-2".into()],
        migration_types: vec![MigrationType::Cdc],
        endpoint_arns: vec![SRC.into()],
    };
    let found = dms.describe_tasks(&filter).await;
    // The ARN filter is re-checked locally: the mocked tasks' ARNs are not "a1".
    assert_eq!(found.unwrap().len(), 0);
    let filter = TaskFilter {
        arns: vec![task_arn("cdc-task-1"), task_arn("cdc-task-2")],
        ..filter
    };
    let first = mock!(dms::Client::describe_replication_tasks)
        .match_requests(|r| r.marker().is_none())
        .then_output(|| {
            DescribeReplicationTasksOutput::builder()
                .replication_tasks(sdk_task("cdc-task-1", "running", MigrationTypeValue::Cdc))
                .marker("page2")
                .build()
        });
    let dms2 = AwsDms::new(client!(RuleMode::MatchAny, [&first, &second]));
    let found = dms2.describe_tasks(&filter).await.unwrap();
    let ids: Vec<_> = found
        .iter()
        .map(|t| (t.identifier.as_str(), t.status))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("cdc-task-1", TaskStatus::Running),
            ("cdc-task-2", TaskStatus::Stopped)
        ]
    );

    // No match: DMS says ResourceNotFoundFault; the list is empty, describe_task is NotFound.
    assert!(
        dms.describe_tasks(&TaskFilter::arn("nope"))
            .await
            .unwrap()
            .is_empty()
    );
    let e = dms.describe_task("nope").await.unwrap_err();
    assert!(matches!(e, DmsError::ResourceNotFound(_)), "{e:?}");
}

#[tokio::test]
async fn table_statistics_are_paginated_and_sorted() {
    let stat = |schema: &str, table: &str, inserts: i64| {
        dms::types::TableStatistics::builder()
            .schema_name(schema)
            .table_name(table)
            .inserts(inserts)
            .full_load_rows(2)
            .table_state("Table completed")
            .validation_state("Not enabled")
            .last_update_time(DateTime::from_secs(1_658_437_401))
            .build()
    };
    let p1 = mock!(dms::Client::describe_table_statistics)
        .match_requests(|r| r.marker().is_none() && r.max_records() == Some(500))
        .then_output(move || {
            DescribeTableStatisticsOutput::builder()
                .table_statistics(stat("dms_sample", "novels", 1))
                .table_statistics(stat("dms_sample", "authors", 2))
                .marker("m")
                .build()
        });
    let p2 = mock!(dms::Client::describe_table_statistics)
        .match_requests(|r| r.marker() == Some("m"))
        .then_output(move || {
            DescribeTableStatisticsOutput::builder()
                .table_statistics(stat("dms_sample", "accounts", 3))
                .build()
        });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&p1, &p2]));
    let stats = dms.describe_table_statistics("arn:t").await.unwrap();
    let names: Vec<_> = stats
        .iter()
        .map(|s| (s.table_name.as_str(), s.inserts))
        .collect();
    assert_eq!(names, vec![("accounts", 3), ("authors", 2), ("novels", 1)]);
    assert_eq!(stats[0].table_state, "Table completed");
    assert_eq!(stats[0].full_load_rows, 2);
    assert_eq!(
        stats[0].last_update_time,
        Some(UNIX_EPOCH + Duration::from_secs(1_658_437_401))
    );
}

#[tokio::test]
async fn waiter_times_out_naming_the_last_status() {
    let starting = mock!(dms::Client::describe_replication_tasks).then_output(|| {
        DescribeReplicationTasksOutput::builder()
            .replication_tasks(sdk_task("cdc-task-1", "starting", MigrationTypeValue::Cdc))
            .build()
    });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&starting]));
    let t0 = Instant::now();
    let e = wait::wait_for_status(
        &dms,
        &task_arn("cdc-task-1"),
        TaskStatus::Running,
        Duration::from_millis(300),
        Duration::from_millis(50),
    )
    .await
    .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    match &e {
        DmsError::WaitTimeout {
            last_status,
            expected,
            ..
        } => {
            assert_eq!(
                (last_status.as_str(), expected.as_str()),
                ("starting", "running")
            );
        }
        other => panic!("expected WaitTimeout, got {other:?}"),
    }
    assert!(e.to_string().contains("last status: starting"), "{e}");
    assert!(!e.is_user_error() && !e.is_retryable());
    assert!(
        starting.num_calls() >= 3,
        "polled {} times",
        starting.num_calls()
    );
}

#[tokio::test]
async fn waiter_fails_early_on_a_failed_task() {
    let failed = mock!(dms::Client::describe_replication_tasks).then_output(|| {
        let mut t = sdk_task("cdc-task-1", "failed", MigrationTypeValue::Cdc);
        t.last_failure_message = Some("Error connecting to the source".into());
        DescribeReplicationTasksOutput::builder()
            .replication_tasks(t)
            .build()
    });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&failed]));
    let e = wait::wait_for_status(
        &dms,
        &task_arn("cdc-task-1"),
        TaskStatus::Running,
        Duration::from_secs(30),
        Duration::from_millis(10),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("Error connecting to the source"),
        "{e}"
    );
    assert_eq!(failed.num_calls(), 1);
}

fn sdk_instance(status: &str) -> dms::types::ReplicationInstance {
    dms::types::ReplicationInstance::builder()
        .replication_instance_arn(INSTANCE)
        .replication_instance_identifier("ri")
        .replication_instance_class("dms.t2.micro")
        .replication_instance_status(status)
        .allocated_storage(5)
        .publicly_accessible(true)
        .instance_create_time(DateTime::from_secs(1_700_000_000))
        .build()
}

#[tokio::test]
async fn instance_wait_polls_until_available_or_times_out() {
    let rule = mock!(dms::Client::describe_replication_instances)
        .match_requests(|r| {
            r.filters().first().map(|f| f.name()) == Some("replication-instance-arn")
        })
        .sequence()
        .output(|| {
            DescribeReplicationInstancesOutput::builder()
                .replication_instances(sdk_instance("creating"))
                .build()
        })
        .times(2)
        .output(|| {
            DescribeReplicationInstancesOutput::builder()
                .replication_instances(sdk_instance("available"))
                .build()
        })
        .build();
    let dms = AwsDms::new(client!(RuleMode::Sequential, [&rule]));
    let r = dms
        .wait_replication_instance_available(
            INSTANCE,
            Duration::from_secs(10),
            Duration::from_millis(10),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            r.status.as_str(),
            r.allocated_storage_gb,
            r.publicly_accessible
        ),
        ("available", 5, true)
    );
    assert_eq!(
        r.create_time,
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    );
    assert_eq!(rule.num_calls(), 3);

    let stuck = mock!(dms::Client::describe_replication_instances).then_output(|| {
        DescribeReplicationInstancesOutput::builder()
            .replication_instances(sdk_instance("modifying"))
            .build()
    });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&stuck]));
    let e = dms
        .wait_replication_instance_available(
            INSTANCE,
            Duration::from_millis(100),
            Duration::from_millis(20),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, DmsError::WaitTimeout { last_status, .. } if last_status == "modifying"),
        "{e:?}"
    );

    let failed = mock!(dms::Client::describe_replication_instances).then_output(|| {
        DescribeReplicationInstancesOutput::builder()
            .replication_instances(sdk_instance("incompatible-network"))
            .build()
    });
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&failed]));
    let e = dms
        .wait_replication_instance_available(
            INSTANCE,
            Duration::from_secs(10),
            Duration::from_millis(10),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, DmsError::InvalidResourceState(m) if m.contains("incompatible-network")),
        "{e:?}"
    );
}

#[tokio::test]
async fn ensure_endpoint_reuses_by_identifier() {
    let found = mock!(dms::Client::describe_endpoints)
        .match_requests(|r| {
            r.filters().len() == 1
                && r.filters()[0].name() == "endpoint-id"
                && r.filters()[0].values() == ["target"]
        })
        .then_output(|| {
            DescribeEndpointsOutput::builder()
                .endpoints(
                    dms::types::Endpoint::builder()
                        .endpoint_arn(TGT)
                        .endpoint_identifier("target")
                        .endpoint_type(ReplicationEndpointTypeValue::Target)
                        .engine_name("kinesis")
                        .status("active")
                        .build(),
                )
                .build()
        });
    let create = mock!(dms::Client::create_endpoint)
        .then_error(|| CreateEndpointError::generic(meta("Boom", "must not be called")));
    let dms = AwsDms::new(client!(RuleMode::MatchAny, [&found, &create]));
    let input = CreateEndpoint {
        identifier: "target".into(),
        endpoint_type: EndpointType::Target,
        engine_name: "kinesis".into(),
        settings: EndpointSettings::Kinesis(seed::kinesis_settings("s", None)),
    };
    assert_eq!(dms.ensure_endpoint(input.clone()).await.unwrap().arn, TGT);
    let mut other = input;
    other.endpoint_type = EndpointType::Source;
    other.engine_name = "mariadb".into();
    let e = dms.ensure_endpoint(other).await.unwrap_err();
    assert!(matches!(e, DmsError::ResourceAlreadyExists(_)), "{e:?}");
    assert_eq!(create.num_calls(), 0);
}
