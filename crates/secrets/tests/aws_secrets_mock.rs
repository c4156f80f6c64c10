//! `AwsSecrets` request shapes and error mapping, against aws-smithy-mocks (no server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_secretsmanager as sm;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use dmsrs_secrets::{AwsSecrets, SecretSource, SecretStore, SecretString, SecretsError, Tag};
use sm::config::retry::RetryConfig;
use sm::error::ErrorMetadata;
use sm::operation::create_secret::{CreateSecretError, CreateSecretOutput};
use sm::operation::delete_secret::DeleteSecretOutput;
use sm::operation::describe_secret::DescribeSecretOutput;
use sm::operation::get_secret_value::{GetSecretValueError, GetSecretValueOutput};
use sm::operation::put_secret_value::{PutSecretValueError, PutSecretValueOutput};
use sm::types::error::{ResourceExistsException, ResourceNotFoundException};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";

macro_rules! client {
    ($mode:expr, $rules:expr) => {
        mock_client!(sm, $mode, $rules, |c| c
            .retry_config(RetryConfig::disabled()))
    };
}

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn stack_tag(stack: &str) -> sm::types::Tag {
    sm::types::Tag::builder()
        .key("dmsrs:stack")
        .value(stack)
        .build()
}

#[tokio::test]
async fn create_sends_name_value_description_and_tags() {
    let rule = mock!(sm::Client::create_secret)
        .match_requests(|r| {
            r.name() == Some("db")
                && r.secret_string() == Some("s3cret-value")
                && r.description() == Some("Generated for stack: S")
                && r.tags().len() == 2
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some("dmsrs:stack") && t.value() == Some("S"))
        })
        .then_output(|| CreateSecretOutput::builder().arn(ARN).name("db").build());
    let s = AwsSecrets::new(client!(RuleMode::MatchAny, [&rule]));
    let r = s
        .create(
            "db",
            &SecretString::new("s3cret-value"),
            Some("Generated for stack: S"),
            &[Tag::stack("S"), Tag::new("k", "v")],
        )
        .await
        .unwrap();
    assert_eq!((r.arn.as_str(), r.name.as_str()), (ARN, "db"));
    assert_eq!(rule.num_calls(), 1);
    assert!(!format!("{s:?}").contains("s3cret"));
}

#[tokio::test]
async fn create_reuses_a_secret_of_the_same_stack_and_updates_its_value() {
    let exists = mock!(sm::Client::create_secret).then_error(|| {
        CreateSecretError::ResourceExistsException(
            ResourceExistsException::builder().message("exists").build(),
        )
    });
    let describe = mock!(sm::Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some("db"))
        .then_output(|| {
            DescribeSecretOutput::builder()
                .arn(ARN)
                .name("db")
                .tags(stack_tag("S"))
                .build()
        });
    let get = mock!(sm::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some(ARN))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .arn(ARN)
                .name("db")
                .secret_string("old")
                .build()
        });
    let put = mock!(sm::Client::put_secret_value)
        .match_requests(|r| r.secret_id() == Some(ARN) && r.secret_string() == Some("new"))
        .then_output(|| PutSecretValueOutput::builder().arn(ARN).name("db").build());
    let s = AwsSecrets::new(client!(
        RuleMode::MatchAny,
        [&exists, &describe, &get, &put]
    ));

    let r = s
        .create("db", &SecretString::new("new"), None, &[Tag::stack("S")])
        .await
        .unwrap();
    assert_eq!(r.arn, ARN);
    assert_eq!(
        (describe.num_calls(), get.num_calls(), put.num_calls()),
        (1, 1, 1)
    );

    // Same value: no PutSecretValue.
    s.create("db", &SecretString::new("old"), None, &[Tag::stack("S")])
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 1);

    // Another stack, or none: refused, nothing read or written.
    for tags in [vec![Tag::stack("other")], vec![]] {
        let e = s
            .create("db", &SecretString::new("new"), None, &tags)
            .await
            .unwrap_err();
        assert!(matches!(e, SecretsError::AlreadyExists(_)), "{e:?}");
        assert!(e.is_user_error() && e.to_string().contains("db"));
    }
    assert_eq!((get.num_calls(), put.num_calls()), (2, 1));
}

#[tokio::test]
async fn delete_forces_without_recovery() {
    let rule = mock!(sm::Client::delete_secret)
        .match_requests(|r| {
            r.secret_id() == Some(ARN)
                && r.force_delete_without_recovery() == Some(true)
                && r.recovery_window_in_days().is_none()
        })
        .then_output(|| DeleteSecretOutput::builder().arn(ARN).name("db").build());
    // Described first: AWS answers a forced delete of a missing secret with success.
    let describe = mock!(sm::Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some("db"))
        .then_output(|| DescribeSecretOutput::builder().arn(ARN).name("db").build());
    let missing = mock!(sm::Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some("gone"))
        .then_error(|| {
            sm::operation::describe_secret::DescribeSecretError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        });
    let s = AwsSecrets::new(client!(RuleMode::MatchAny, [&rule, &describe, &missing]));
    assert_eq!(s.delete("db").await.unwrap().name, "db");
    assert_eq!((describe.num_calls(), rule.num_calls()), (1, 1));
    assert!(s.delete("gone").await.unwrap_err().is_not_found());
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn errors_are_classified_and_never_carry_the_value() {
    let not_found = mock!(sm::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("missing"))
        .then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Secrets Manager can't find the specified secret.")
                    .build(),
            )
        });
    let throttled = mock!(sm::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("busy"))
        .then_error(|| GetSecretValueError::generic(meta("ThrottlingException", "Rate exceeded")));
    let denied = mock!(sm::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("denied"))
        .then_error(|| {
            GetSecretValueError::generic(meta(
                "AccessDeniedException",
                "not authorized to perform secretsmanager:GetSecretValue",
            ))
        });
    let server = mock!(sm::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("down"))
        .sequence()
        .http_status(503, None)
        .build();
    let binary = mock!(sm::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("binary"))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .arn(ARN)
                .name("binary")
                .secret_binary(sm::primitives::Blob::new("x"))
                .build()
        });
    let echo = mock!(sm::Client::put_secret_value).then_error(|| {
        PutSecretValueError::generic(meta(
            "InvalidRequestException",
            "value 'hunter2-secret' is not allowed",
        ))
    });
    let s = AwsSecrets::new(client!(
        RuleMode::MatchAny,
        [&not_found, &throttled, &denied, &server, &binary, &echo]
    ));

    let e = s.secret_string("missing").await.unwrap_err();
    assert!(
        e.is_not_found() && e.is_user_error() && !e.is_retryable(),
        "{e:?}"
    );
    assert!(e.to_string().contains("missing"));
    let e = s.secret_string("busy").await.unwrap_err();
    assert!(e.is_retryable() && !e.is_user_error(), "{e:?}");
    let e = s.secret_string("denied").await.unwrap_err();
    assert!(matches!(e, SecretsError::AccessDenied(_)), "{e:?}");
    let e = s.secret_string("down").await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("503"), "{e}");
    let e = s.secret_string("binary").await.unwrap_err();
    assert!(matches!(e, SecretsError::InvalidRequest(_)), "{e:?}");

    let e = s
        .put_value(ARN, &SecretString::new("hunter2-secret"))
        .await
        .unwrap_err();
    assert!(matches!(e, SecretsError::InvalidRequest(_)), "{e:?}");
    assert!(
        !e.to_string().contains("hunter2-secret") && !format!("{e:?}").contains("hunter2-secret"),
        "{e}"
    );
    assert!(e.to_string().contains("***"), "{e}");
}
