//! `AwsNetwork` and `IamRoles` against moto_server 5.2.5 with the real SDK clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use dmsrs_network::iam::{self, IamRoles, RoleDeletion};
use dmsrs_network::{AwsNetwork, LOGICAL_ID_TAG, Network, NetworkSpec, STACK_TAG};
use dmsrs_testkit::MotoServer;

async fn sdk(moto: &MotoServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .endpoint_url(moto.endpoint_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

/// IAM returns policy documents URL-encoded (RFC 3986), like AWS does.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn network(sdk: &SdkConfig) -> AwsNetwork {
    AwsNetwork::new(sdk)
        .with_poll_interval(Duration::from_millis(50))
        .with_in_use_timeout(Duration::from_secs(2))
}

fn stack_filter(stack: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{STACK_TAG}"))
        .values(stack)
        .build()
}

fn tag(tags: &[Tag], key: &str) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value().map(str::to_owned))
}

/// Counts of (VPCs, subnets, route tables, internet gateways, security groups) tagged with `stack`.
async fn tagged_counts(
    ec2: &aws_sdk_ec2::Client,
    stack: &str,
) -> (usize, usize, usize, usize, usize) {
    let vpcs = ec2
        .describe_vpcs()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    let rts = ec2
        .describe_route_tables()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    let igws = ec2
        .describe_internet_gateways()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    let sgs = ec2
        .describe_security_groups()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    (
        vpcs.vpcs().len(),
        subnets.subnets().len(),
        rts.route_tables().len(),
        igws.internet_gateways().len(),
        sgs.security_groups().len(),
    )
}

#[tokio::test]
async fn ensure_is_idempotent_and_destroy_removes_everything() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let net = network(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let stack = "NetStackA";
    let spec = NetworkSpec::new(stack);

    assert_eq!(net.describe(stack).await.unwrap(), None);
    let out = net.ensure(&spec).await.unwrap();
    assert_eq!(out.public_subnet_ids.len(), 2);
    assert_eq!(out.isolated_subnet_ids.len(), 2);
    assert_eq!(out.availability_zones.len(), 2);
    assert!(out.availability_zones[0] < out.availability_zones[1]);
    let vpc_id = out.vpc_id.clone().unwrap();
    let sg_id = out.security_group_id.clone().unwrap();
    let igw_id = out.internet_gateway_id.clone().unwrap();
    assert_eq!(tagged_counts(&ec2, stack).await, (1, 4, 4, 1, 1));

    // VPC: CIDR, Name, DNS attributes.
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(vpc.cidr_block(), Some("10.0.0.0/16"));
    assert_eq!(tag(vpc.tags(), "Name").as_deref(), Some("dmsSample"));
    for attr in [
        aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport,
        aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames,
    ] {
        let a = ec2
            .describe_vpc_attribute()
            .vpc_id(&vpc_id)
            .attribute(attr)
            .send()
            .await
            .unwrap();
        let v = a
            .enable_dns_support()
            .or(a.enable_dns_hostnames())
            .and_then(|v| v.value());
        assert_eq!(v, Some(true));
    }

    // Subnets: CIDRs, AZs, public IPs, CDK-style tags.
    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    for s in subnets.subnets() {
        let name = tag(s.tags(), LOGICAL_ID_TAG).unwrap();
        let (cidr, az, kind) = match name.as_str() {
            "PublicSubnet1" => ("10.0.0.0/18", 0, "Public"),
            "PublicSubnet2" => ("10.0.64.0/18", 1, "Public"),
            "IsolatedSubnet1" => ("10.0.128.0/18", 0, "Isolated"),
            "IsolatedSubnet2" => ("10.0.192.0/18", 1, "Isolated"),
            other => panic!("unexpected subnet {other}"),
        };
        assert_eq!(s.cidr_block(), Some(cidr), "{name}");
        assert_eq!(
            s.availability_zone(),
            Some(out.availability_zones[az].as_str())
        );
        assert_eq!(
            s.map_public_ip_on_launch(),
            Some(kind == "Public"),
            "{name}"
        );
        assert_eq!(tag(s.tags(), "aws-cdk:subnet-type").as_deref(), Some(kind));
        assert_eq!(tag(s.tags(), "aws-cdk:subnet-name").as_deref(), Some(kind));
        assert_eq!(
            tag(s.tags(), "Name"),
            Some(format!("{stack}/dms-sample/{name}"))
        );
        let is_public_output = out
            .public_subnet_ids
            .iter()
            .any(|id| Some(id.as_str()) == s.subnet_id());
        assert_eq!(is_public_output, kind == "Public");
    }

    // Route tables: one per subnet, default route only in public ones.
    let rts = ec2
        .describe_route_tables()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    for rt in rts.route_tables() {
        let subnet = rt
            .associations()
            .iter()
            .find_map(|a| a.subnet_id())
            .unwrap()
            .to_owned();
        let default = rt
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"));
        if out.public_subnet_ids.contains(&subnet) {
            assert_eq!(default.and_then(|r| r.gateway_id()), Some(igw_id.as_str()));
        } else {
            assert!(
                default.is_none(),
                "isolated route table has a default route"
            );
        }
    }

    // Security group: description, all egress, TCP 3306 ingress.
    let sgs = ec2
        .describe_security_groups()
        .group_ids(&sg_id)
        .send()
        .await
        .unwrap();
    let sg = &sgs.security_groups()[0];
    assert_eq!(sg.description(), Some("Security group for DMS sample"));
    assert!(
        sg.ip_permissions_egress()
            .iter()
            .any(|p| p.ip_protocol() == Some("-1"))
    );
    let ingress: Vec<_> = sg
        .ip_permissions()
        .iter()
        .filter(|p| p.ip_protocol() == Some("tcp"))
        .collect();
    assert_eq!(ingress.len(), 1);
    assert_eq!(
        (ingress[0].from_port(), ingress[0].to_port()),
        (Some(3306), Some(3306))
    );

    // Second ensure: same ids, no duplicates; describe agrees.
    let again = net.ensure(&spec).await.unwrap();
    assert_eq!(again, out);
    assert_eq!(tagged_counts(&ec2, stack).await, (1, 4, 4, 1, 1));
    assert_eq!(net.describe(stack).await.unwrap(), Some(out.clone()));

    // Destroy: everything goes, a second destroy is a no-op.
    let report = net.destroy(stack).await.unwrap();
    let kinds: Vec<&str> = report.deleted.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "subnet").count(), 4);
    assert_eq!(kinds.iter().filter(|k| **k == "route-table").count(), 4);
    assert_eq!(kinds.last(), Some(&"vpc"));
    assert!(kinds.contains(&"security-group") && kinds.contains(&"internet-gateway"));
    assert_eq!(tagged_counts(&ec2, stack).await, (0, 0, 0, 0, 0));
    assert!(ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.is_err());
    assert_eq!(net.describe(stack).await.unwrap(), None);
    assert!(net.destroy(stack).await.unwrap().deleted.is_empty());
}

#[tokio::test]
async fn ensure_converges_the_ingress_range_and_keeps_stacks_apart() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let net = network(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);

    let a = net.ensure(&NetworkSpec::new("StackOne")).await.unwrap();
    let b = net.ensure(&NetworkSpec::new("StackTwo")).await.unwrap();
    assert_ne!(a.vpc_id, b.vpc_id);

    let wider = NetworkSpec::new("StackOne").with_db_ports([4510, 3306]);
    let a2 = net.ensure(&wider).await.unwrap();
    assert_eq!(a2, a);
    let sgs = ec2
        .describe_security_groups()
        .group_ids(a.security_group_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let ranges: Vec<_> = sgs.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter(|p| p.ip_protocol() == Some("tcp"))
        .map(|p| (p.from_port(), p.to_port()))
        .collect();
    assert_eq!(ranges, vec![(Some(3306), Some(4510))]);

    net.destroy("StackOne").await.unwrap();
    assert_eq!(tagged_counts(&ec2, "StackOne").await, (0, 0, 0, 0, 0));
    assert_eq!(net.describe("StackTwo").await.unwrap(), Some(b));
    net.destroy("StackTwo").await.unwrap();
}

/// A deploy that died half way left a VPC, one subnet and a detached
/// internet gateway, tagged with the stack but without logical ids.
async fn half_way_leftovers(ec2: &aws_sdk_ec2::Client, stack: &str) -> (String, String) {
    let tags = |rt: ResourceType| {
        TagSpecification::builder()
            .resource_type(rt)
            .tags(Tag::builder().key(STACK_TAG).value(stack).build())
            .build()
    };
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(tags(ResourceType::Vpc))
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let azs = ec2.describe_availability_zones().send().await.unwrap();
    let mut names: Vec<_> = azs
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    names.sort();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.0.0/18")
        .availability_zone(names[0])
        .tag_specifications(tags(ResourceType::Subnet))
        .send()
        .await
        .unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    ec2.create_internet_gateway()
        .tag_specifications(tags(ResourceType::InternetGateway))
        .send()
        .await
        .unwrap();
    (vpc_id, subnet_id)
}

#[tokio::test]
async fn destroy_cleans_a_half_created_stack() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let net = network(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let stack = "HalfStack";
    let (vpc_id, subnet_id) = half_way_leftovers(&ec2, stack).await;

    let described = net.describe(stack).await.unwrap().unwrap();
    assert_eq!(described.vpc_id.as_deref(), Some(vpc_id.as_str()));
    assert_eq!(described.security_group_id, None);

    let report = net.destroy(stack).await.unwrap();
    let ids: Vec<&str> = report.deleted.iter().map(|d| d.id.as_str()).collect();
    assert!(
        ids.contains(&vpc_id.as_str()) && ids.contains(&subnet_id.as_str()),
        "{report:?}"
    );
    assert_eq!(tagged_counts(&ec2, stack).await, (0, 0, 0, 0, 0));
    assert!(net.destroy(stack).await.unwrap().deleted.is_empty());
}

#[tokio::test]
async fn ensure_adopts_a_half_created_stack() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let net = network(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let stack = "HalfStack2";
    let (vpc_id, subnet_id) = half_way_leftovers(&ec2, stack).await;

    let out = net.ensure(&NetworkSpec::new(stack)).await.unwrap();
    assert_eq!(out.vpc_id.as_deref(), Some(vpc_id.as_str()));
    assert_eq!(out.public_subnet_ids[0], subnet_id);
    // The leftover gateway was reused, not duplicated.
    assert_eq!(tagged_counts(&ec2, stack).await, (1, 4, 4, 1, 1));
    assert_eq!(net.ensure(&NetworkSpec::new(stack)).await.unwrap(), out);

    net.destroy(stack).await.unwrap();
    assert_eq!(tagged_counts(&ec2, stack).await, (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn conflicting_leftovers_are_a_user_error() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let net = network(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let stack = "OddStack";
    ec2.create_vpc()
        .cidr_block("10.9.0.0/16")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Vpc)
                .tags(Tag::builder().key(STACK_TAG).value(stack).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let err = net.ensure(&NetworkSpec::new(stack)).await.unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(err.to_string().contains("destroy"), "{err}");
    net.destroy(stack).await.unwrap();
    assert_eq!(tagged_counts(&ec2, stack).await, (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn unreachable_endpoint_is_retryable() {
    let port = dmsrs_testkit::free_port().unwrap();
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let err = network(&sdk)
        .ensure(&NetworkSpec::new("Nowhere"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("could not reach"), "{err}");
}

#[tokio::test]
async fn iam_roles_are_idempotent_and_deletable() {
    let moto = MotoServer::start().unwrap();
    let sdk = sdk(&moto).await;
    let client = aws_sdk_iam::Client::new(&sdk);
    // moto ships no AWS managed policies unless MOTO_IAM_LOAD_MANAGED_POLICIES
    // is set: stand in a customer policy of the same name.
    let managed = client
        .create_policy()
        .policy_name("AmazonDMSVPCManagementRole")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let managed_arn = managed.policy().unwrap().arn().unwrap().to_owned();
    let roles = IamRoles::new(&sdk).with_dms_vpc_policy_arn(&managed_arn);
    let stack = "IamStack";
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/IamStack-TargetStream";
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:IamStack-cdc-AbCdEf";

    // dms-vpc-role
    let vpc_role = roles.ensure_dms_vpc_role(stack).await.unwrap();
    assert!(vpc_role.created);
    assert_eq!(vpc_role.name, "dms-vpc-role");
    assert!(
        vpc_role.arn.ends_with(":role/dms-vpc-role"),
        "{}",
        vpc_role.arn
    );
    let again = roles.ensure_dms_vpc_role(stack).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.arn, vpc_role.arn);
    let attached = client
        .list_attached_role_policies()
        .role_name("dms-vpc-role")
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, vec![managed_arn.as_str()]);
    assert_eq!(
        iam::DMS_VPC_MANAGED_POLICY_ARN,
        "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
    );

    // Kinesis access role
    let kin = roles
        .ensure_kinesis_access_role(stack, stream)
        .await
        .unwrap();
    assert!(kin.created);
    assert!(
        !roles
            .ensure_kinesis_access_role(stack, stream)
            .await
            .unwrap()
            .created
    );
    let role = client.get_role().role_name(&kin.name).send().await.unwrap();
    let trust = url_decode(role.role().unwrap().assume_role_policy_document().unwrap());
    assert!(
        trust.contains(r#""Service":"dms.amazonaws.com""#),
        "{trust}"
    );
    let policy = client
        .get_role_policy()
        .role_name(&kin.name)
        .policy_name(iam::KINESIS_POLICY_NAME)
        .send()
        .await
        .unwrap();
    let doc = url_decode(policy.policy_document());
    assert!(
        doc.contains("kinesis:SubscribeToShard") && doc.contains(stream),
        "{doc}"
    );

    // Secret access role (regional principal)
    let sec = roles
        .ensure_secret_access_role(stack, "cdc-endpoint", "us-east-1", secret)
        .await
        .unwrap();
    assert!(sec.created);
    assert_eq!(sec.name, "IamStack-cdc-endpoint-secret-access");
    let again = roles
        .ensure_secret_access_role(stack, "cdc-endpoint", "us-east-1", secret)
        .await
        .unwrap();
    assert_eq!(
        (again.created, again.arn.as_str()),
        (false, sec.arn.as_str())
    );
    let role = client.get_role().role_name(&sec.name).send().await.unwrap();
    let trust = url_decode(role.role().unwrap().assume_role_policy_document().unwrap());
    assert!(
        trust.contains(r#""Service":"dms.us-east-1.amazonaws.com""#),
        "{trust}"
    );
    let policy = client
        .get_role_policy()
        .role_name(&sec.name)
        .policy_name("allowSecrets")
        .send()
        .await
        .unwrap();
    let doc = url_decode(policy.policy_document());
    assert!(
        doc.contains("secretsmanager:GetSecretValue") && doc.contains(secret),
        "{doc}"
    );
    assert!(
        roles
            .ensure_secret_access_role(stack, "x", "us-east-1", "not-an-arn")
            .await
            .unwrap_err()
            .is_user_error()
    );

    // Deletion
    let mut deleted = roles.delete_stack_roles(stack).await.unwrap();
    deleted.sort();
    assert_eq!(deleted, vec![sec.name.clone(), kin.name.clone()]);
    assert!(roles.delete_stack_roles(stack).await.unwrap().is_empty());
    assert!(!roles.delete_role(&kin.name).await.unwrap());
    assert_eq!(
        roles.delete_dms_vpc_role("OtherStack").await.unwrap(),
        RoleDeletion::KeptNotOwned
    );
    assert_eq!(
        roles.delete_dms_vpc_role(stack).await.unwrap(),
        RoleDeletion::Deleted
    );
    assert_eq!(
        roles.delete_dms_vpc_role(stack).await.unwrap(),
        RoleDeletion::AlreadyGone
    );
}
