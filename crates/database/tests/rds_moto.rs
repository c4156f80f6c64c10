//! `RdsDatabase` against moto_server 5.2.5 with the real aws-sdk-rds client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_rds::config::Credentials;
use dmsrs_database::{Database, DatabaseError, DatabaseId, DatabaseSpec, RdsDatabase};
use dmsrs_secrets::SecretString;
use dmsrs_testkit::MotoServer;

/// moto knows MariaDB 10.0-10.6 only (the seed uses 10.11).
const MOTO_VERSION: &str = "10.6.14";

async fn sdk(moto: &MotoServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .endpoint_url(moto.endpoint_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

/// The ids of moto's default subnets, through a raw EC2 query request (this
/// crate does not depend on aws-sdk-ec2; moto ignores signatures and picks
/// the service from the credential scope).
fn default_subnets(moto: &MotoServer) -> Vec<String> {
    let body = "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=default-for-az&Filter.1.Value.1=true";
    let mut s = std::net::TcpStream::connect(("127.0.0.1", moto.port())).unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         X-Amz-Date: 20260101T000000Z\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        moto.port(),
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let mut ids: Vec<String> = resp
        .split("<subnetId>")
        .skip(1)
        .filter_map(|p| p.split_once("</subnetId>").map(|(id, _)| id.to_owned()))
        .collect();
    ids.sort();
    ids.dedup();
    assert!(ids.len() >= 2, "no default subnets in: {resp}");
    ids.truncate(2);
    ids
}

#[tokio::test]
async fn rds_ensure_is_idempotent_and_destroy_removes_everything() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let rds = aws_sdk_rds::Client::new(&sdk);
    let db = RdsDatabase::new(&sdk).with_poll_interval(Duration::from_millis(50));
    let subnets = default_subnets(&moto);
    let spec = DatabaseSpec::new("RdsStack", "rds_instance")
        .with_engine_version(MOTO_VERSION)
        .with_network(subnets.clone(), Vec::<String>::new());
    let id = spec.id.clone();
    assert_eq!(db.describe(&id).await.unwrap(), None);

    let a = db.ensure(&spec).await.unwrap();
    assert!(a.created);
    assert_eq!(a.identifier, "rdsstack-rds-instance");
    assert_eq!(
        (
            a.master_username.as_str(),
            a.db_name.as_str(),
            a.engine.as_str()
        ),
        ("admin", "dms_sample", "mariadb")
    );
    let password = a.password.clone().unwrap();
    assert_eq!(password.expose().len(), 30);
    assert!(!format!("{a:?}").contains(password.expose()));
    let ready = db
        .wait_available(&id, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(ready.is_available());
    assert_eq!(ready.port, 3306);
    assert!(
        ready.host.starts_with("rdsstack-rds-instance."),
        "{}",
        ready.host
    );
    assert!(ready.arn.is_some());

    // What was created, as the seed's stack has it.
    let inst = rds
        .describe_db_instances()
        .db_instance_identifier(&a.identifier)
        .send()
        .await
        .unwrap();
    let inst = &inst.db_instances()[0];
    assert_eq!(inst.db_instance_class(), Some("db.m5.large"));
    assert_eq!(inst.allocated_storage(), Some(100));
    assert_eq!(inst.storage_type(), Some("gp2"));
    assert_eq!(inst.publicly_accessible(), Some(true));
    assert_eq!(inst.engine_version(), Some(MOTO_VERSION));
    assert_eq!(
        inst.db_parameter_groups()
            .first()
            .and_then(|g| g.db_parameter_group_name()),
        Some("rdsstack-rds-instance-params")
    );
    assert_eq!(
        inst.db_subnet_group()
            .and_then(|g| g.db_subnet_group_name()),
        Some("rdsstack-rds-instance-subnets")
    );
    let pg = rds
        .describe_db_parameter_groups()
        .db_parameter_group_name("rdsstack-rds-instance-params")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pg.db_parameter_groups()[0].db_parameter_group_family(),
        Some("mariadb10.6")
    );
    let params = rds
        .describe_db_parameters()
        .db_parameter_group_name("rdsstack-rds-instance-params")
        .send()
        .await
        .unwrap();
    let get = |n: &str| {
        params
            .parameters()
            .iter()
            .find(|p| p.parameter_name() == Some(n))
            .and_then(|p| p.parameter_value().map(str::to_owned))
    };
    assert_eq!(get("binlog_format").as_deref(), Some("ROW"));
    assert_eq!(get("binlog_row_image").as_deref(), Some("FULL"));
    assert_eq!(get("binlog_checksum").as_deref(), Some("NONE"));
    let sg = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name("rdsstack-rds-instance-subnets")
        .send()
        .await
        .unwrap();
    let mut got: Vec<_> = sg.db_subnet_groups()[0]
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .collect();
    got.sort_unstable();
    assert_eq!(got, subnets.iter().map(String::as_str).collect::<Vec<_>>());

    // Second ensure: the same instance, not created, password unknown.
    let b = db.ensure(&spec).await.unwrap();
    assert!(!b.created);
    assert_eq!(b.identifier, a.identifier);
    assert_eq!(b.password, None);
    assert_eq!(
        rds.describe_db_instances()
            .send()
            .await
            .unwrap()
            .db_instances()
            .len(),
        1
    );
    // With the password in the spec it is returned.
    let known = spec.clone().with_master_password(password.clone());
    assert_eq!(
        db.ensure(&known).await.unwrap().password,
        Some(password.clone())
    );
    // A lost password can be reset.
    let new_password = db.reset_master_password(&id).await.unwrap();
    assert_ne!(new_password, password);

    // Destroy: instance, subnet group, parameter group; then nothing.
    let report = db.destroy(&id).await.unwrap();
    let kinds: Vec<_> = report.deleted.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["db-instance", "db-subnet-group", "db-parameter-group"]
    );
    assert_eq!(db.describe(&id).await.unwrap(), None);
    let left = rds
        .describe_db_parameter_groups()
        .db_parameter_group_name("rdsstack-rds-instance-params")
        .send()
        .await;
    // AWS: DBParameterGroupNotFound; moto: an empty list.
    assert!(
        left.map(|o| o.db_parameter_groups().is_empty())
            .unwrap_or(true)
    );
    assert!(db.destroy(&id).await.unwrap().deleted.is_empty());
    assert!(matches!(
        db.wait_available(&id, Duration::from_secs(1))
            .await
            .unwrap_err(),
        DatabaseError::NotFound { .. }
    ));
}

#[tokio::test]
async fn rds_partial_stacks_and_errors() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let rds = aws_sdk_rds::Client::new(&sdk);
    let db = RdsDatabase::new(&sdk).with_poll_interval(Duration::from_millis(50));
    let id = DatabaseId::new("PartStack", "cdc");

    // A deploy that died after the parameter group: destroy removes it.
    rds.create_db_parameter_group()
        .db_parameter_group_name(id.parameter_group_name())
        .db_parameter_group_family("mariadb10.6")
        .description("left over")
        .send()
        .await
        .unwrap();
    let report = db.destroy(&id).await.unwrap();
    let kinds: Vec<_> = report.deleted.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["db-parameter-group"]);

    // A leftover parameter group of another family is a conflict, not reused.
    rds.create_db_parameter_group()
        .db_parameter_group_name(id.parameter_group_name())
        .db_parameter_group_family("mariadb10.5")
        .description("left over")
        .send()
        .await
        .unwrap();
    // (moto accepts the seed's 10.11 when the version is given explicitly.)
    let spec = DatabaseSpec::new("PartStack", "cdc");
    assert_eq!(spec.engine_version, "10.11");
    let err = db.ensure(&spec).await.unwrap_err();
    assert!(
        err.is_user_error() && err.to_string().contains("destroy"),
        "{err}"
    );
    db.destroy(&id).await.unwrap();

    // No subnets: no subnet group; a given password is used.
    let spec = spec.with_master_password(SecretString::new("Given-Passw0rd"));
    let a = db.ensure(&spec).await.unwrap();
    assert_eq!(
        a.password.as_ref().map(SecretString::expose),
        Some("Given-Passw0rd")
    );
    assert_eq!(a.engine_version, "10.11");

    // An instance that does not become available: the timeout names the last status.
    rds.stop_db_instance()
        .db_instance_identifier(id.identifier())
        .send()
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    let err = db
        .wait_available(&id, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(&err, DatabaseError::Timeout { last_status, .. } if last_status == "stopped"),
        "{err:?}"
    );
    assert!(
        err.is_retryable() && err.to_string().contains("last status: stopped"),
        "{err}"
    );
    let report = db.destroy(&id).await.unwrap();
    let kinds: Vec<_> = report.deleted.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["db-instance", "db-parameter-group"]);

    // Invalid input never reaches AWS.
    let err = db
        .ensure(&DatabaseSpec::new("PartStack", "x").with_engine_version("latest"))
        .await
        .unwrap_err();
    assert!(matches!(err, DatabaseError::InvalidSpec { .. }));
}
