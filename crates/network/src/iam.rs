//! The seed's IAM roles (feature `aws`, aws-sdk-iam).
//!
//! * `dms-vpc-role` ([`DMS_VPC_ROLE_NAME`]): the exact name DMS looks for,
//!   trusting `dms.amazonaws.com`, with the managed policy
//!   [`DMS_VPC_MANAGED_POLICY_ARN`]. It is account-wide: when it already
//!   exists it is reused, and [`IamRoles::delete_dms_vpc_role`] deletes it
//!   only if it carries this stack's tag (i.e. this stack created it).
//! * The DMS -> Kinesis access role (the seed's `dns-assume-role`), trusting
//!   `dms.amazonaws.com`, with an inline policy allowing [`KINESIS_ACTIONS`]
//!   on the stream ARN.
//! * One Secrets Manager access role per source endpoint, trusting the
//!   regional principal `dms.<region>.amazonaws.com`, with the inline policy
//!   `allowSecrets` allowing `secretsmanager:GetSecretValue` on the secret ARN.
//!
//! The per-stack roles live under the IAM path `/dmsrs/<stack>/` and carry
//! the tag `dmsrs:stack=<stack>`, so [`IamRoles::delete_stack_roles`] finds
//! them all. Every `ensure_*` is idempotent (get, create when missing, then
//! converge the trust and inline policies); every `delete_*` tolerates roles
//! that are already gone and removes attached/inline policies and instance
//! profile memberships first.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use serde_json::json;

use crate::error::sdk::{convert, has_code};
use crate::error::{NetworkError, Result};
use crate::spec::{STACK_TAG, validate_stack};

const IAM: &str = "IAM";
const NO_SUCH_ENTITY: &[&str] = &["NoSuchEntity"];

/// The exact role name AWS DMS requires for VPC management.
pub const DMS_VPC_ROLE_NAME: &str = "dms-vpc-role";
/// The managed policy of `dms-vpc-role`.
pub const DMS_VPC_MANAGED_POLICY_ARN: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole";
/// The global DMS service principal.
pub const DMS_PRINCIPAL: &str = "dms.amazonaws.com";
/// Actions granted on the target stream (CDK's `grant_read_write`).
pub const KINESIS_ACTIONS: [&str; 10] = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamConsumer",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:ListStreams",
    "kinesis:PutRecord",
    "kinesis:PutRecords",
    "kinesis:SubscribeToShard",
];
/// Inline policy name of the Kinesis access role.
pub const KINESIS_POLICY_NAME: &str = "kinesisReadWrite";
/// Inline policy name of the secret access roles (as in the seed).
pub const SECRETS_POLICY_NAME: &str = "allowSecrets";

/// A role that exists after an `ensure_*` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// Role name.
    pub name: String,
    /// Role ARN (what DMS endpoints reference).
    pub arn: String,
    /// True if this call created it, false if it existed.
    pub created: bool,
}

/// Outcome of deleting a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDeletion {
    /// The role was deleted.
    Deleted,
    /// There was no such role.
    AlreadyGone,
    /// The role exists but was not created by this stack; it was kept.
    KeptNotOwned,
}

/// Creates and deletes the DMS IAM roles.
#[derive(Debug, Clone)]
pub struct IamRoles {
    iam: Client,
    dms_vpc_policy_arn: String,
}

impl IamRoles {
    /// IAM access for the SDK configuration.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self::from_client(Client::new(sdk))
    }

    /// IAM access through an existing client.
    pub fn from_client(iam: Client) -> Self {
        IamRoles {
            iam,
            dms_vpc_policy_arn: DMS_VPC_MANAGED_POLICY_ARN.to_owned(),
        }
    }

    /// Uses another ARN for the managed policy of `dms-vpc-role`: for the
    /// other partitions (`arn:aws-cn:...`, `arn:aws-us-gov:...`) or for
    /// emulators that do not ship AWS managed policies (moto without
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true`). Default:
    /// [`DMS_VPC_MANAGED_POLICY_ARN`].
    pub fn with_dms_vpc_policy_arn(mut self, arn: impl Into<String>) -> Self {
        self.dms_vpc_policy_arn = arn.into();
        self
    }

    /// The underlying IAM client.
    pub fn client(&self) -> &Client {
        &self.iam
    }

    /// Ensures `dms-vpc-role` exists with its trust and managed policy
    /// (see [`with_dms_vpc_policy_arn`](Self::with_dms_vpc_policy_arn)). If
    /// this call creates it, it is tagged with `stack` (which then owns it).
    pub async fn ensure_dms_vpc_role(&self, stack: &str) -> Result<RoleInfo> {
        validate_stack(stack)?;
        let trust = trust_policy(DMS_PRINCIPAL);
        let info = self
            .get_or_create(
                DMS_VPC_ROLE_NAME,
                "/",
                &trust,
                stack,
                "DMS VPC management role",
            )
            .await?;
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(DMS_VPC_ROLE_NAME)
            .send()
            .await
            .map_err(|e| convert(IAM, "ListAttachedRolePolicies", e))?;
        if !attached
            .attached_policies()
            .iter()
            .any(|p| p.policy_arn() == Some(self.dms_vpc_policy_arn.as_str()))
        {
            self.iam
                .attach_role_policy()
                .role_name(DMS_VPC_ROLE_NAME)
                .policy_arn(&self.dms_vpc_policy_arn)
                .send()
                .await
                .map_err(|e| convert(IAM, "AttachRolePolicy", e))?;
        }
        Ok(info)
    }

    /// Ensures the role DMS assumes to write to the Kinesis stream
    /// `stream_arn` (trust `dms.amazonaws.com`, inline policy
    /// [`KINESIS_POLICY_NAME`] with [`KINESIS_ACTIONS`]).
    pub async fn ensure_kinesis_access_role(
        &self,
        stack: &str,
        stream_arn: &str,
    ) -> Result<RoleInfo> {
        validate_stack(stack)?;
        check_arn("stream_arn", stream_arn)?;
        let name = kinesis_access_role_name(stack);
        let info = self
            .get_or_create(
                &name,
                &stack_path(stack),
                &trust_policy(DMS_PRINCIPAL),
                stack,
                "DMS access to the target Kinesis stream",
            )
            .await?;
        self.converge(
            &name,
            &trust_policy(DMS_PRINCIPAL),
            KINESIS_POLICY_NAME,
            &kinesis_policy(stream_arn),
        )
        .await?;
        Ok(info)
    }

    /// Ensures the role through which the DMS source endpoint `endpoint_id`
    /// (e.g. `cdc-endpoint`) reads its secret `secret_arn` (trust
    /// `dms.<region>.amazonaws.com`, inline policy `allowSecrets`).
    pub async fn ensure_secret_access_role(
        &self,
        stack: &str,
        endpoint_id: &str,
        region: &str,
        secret_arn: &str,
    ) -> Result<RoleInfo> {
        validate_stack(stack)?;
        check_arn("secret_arn", secret_arn)?;
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(NetworkError::invalid(
                "region",
                format!("{region:?} is not an AWS region like us-east-1"),
            ));
        }
        let name = secret_access_role_name(stack, endpoint_id)?;
        let trust = trust_policy(&format!("dms.{region}.amazonaws.com"));
        let info = self
            .get_or_create(
                &name,
                &stack_path(stack),
                &trust,
                stack,
                "DMS source endpoint access to its Secrets Manager secret",
            )
            .await?;
        self.converge(
            &name,
            &trust,
            SECRETS_POLICY_NAME,
            &secrets_policy(secret_arn),
        )
        .await?;
        Ok(info)
    }

    /// Deletes the role `name` with its inline and attached policies and
    /// instance-profile memberships. `Ok(false)` if it did not exist.
    pub async fn delete_role(&self, name: &str) -> Result<bool> {
        match self.delete_role_inner(name).await {
            Ok(()) => Ok(true),
            Err(e) if has_code(&e, NO_SUCH_ENTITY) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes `dms-vpc-role` if `stack` created it (it carries the stack's
    /// tag); a role made by someone else is kept.
    pub async fn delete_dms_vpc_role(&self, stack: &str) -> Result<RoleDeletion> {
        validate_stack(stack)?;
        let role = match self
            .iam
            .get_role()
            .role_name(DMS_VPC_ROLE_NAME)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = convert(IAM, "GetRole", e);
                return if has_code(&e, NO_SUCH_ENTITY) {
                    Ok(RoleDeletion::AlreadyGone)
                } else {
                    Err(e)
                };
            }
        };
        let owned = role.role().is_some_and(|r| {
            r.tags()
                .iter()
                .any(|t| t.key() == STACK_TAG && t.value() == stack)
        });
        if !owned {
            return Ok(RoleDeletion::KeptNotOwned);
        }
        Ok(if self.delete_role(DMS_VPC_ROLE_NAME).await? {
            RoleDeletion::Deleted
        } else {
            RoleDeletion::AlreadyGone
        })
    }

    /// Deletes every role under `/dmsrs/<stack>/` (the Kinesis and secret
    /// access roles of the stack). Returns the deleted names.
    pub async fn delete_stack_roles(&self, stack: &str) -> Result<Vec<String>> {
        validate_stack(stack)?;
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .iam
                .list_roles()
                .path_prefix(stack_path(stack))
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| convert(IAM, "ListRoles", e))?;
            names.extend(
                out.roles()
                    .iter()
                    .filter(|r| r.path() == stack_path(stack))
                    .map(|r| r.role_name().to_owned()),
            );
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        let mut deleted = Vec::new();
        for name in names {
            if self.delete_role(&name).await? {
                deleted.push(name);
            }
        }
        Ok(deleted)
    }

    async fn get_or_create(
        &self,
        name: &str,
        path: &str,
        trust: &str,
        stack: &str,
        description: &str,
    ) -> Result<RoleInfo> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => {
                let role = out.role().ok_or_else(|| {
                    NetworkError::unexpected(IAM, "GetRole", "no Role in the answer")
                })?;
                return Ok(RoleInfo {
                    name: name.to_owned(),
                    arn: role.arn().to_owned(),
                    created: false,
                });
            }
            Err(e) => {
                let e = convert(IAM, "GetRole", e);
                if !has_code(&e, NO_SUCH_ENTITY) {
                    return Err(e);
                }
            }
        }
        let stack_tag = Tag::builder()
            .key(STACK_TAG)
            .value(stack)
            .build()
            .map_err(|e| NetworkError::unexpected(IAM, "CreateRole", e.to_string()))?;
        match self
            .iam
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(trust)
            .description(description)
            .tags(stack_tag)
            .send()
            .await
        {
            Ok(out) => {
                let role = out.role().ok_or_else(|| {
                    NetworkError::unexpected(IAM, "CreateRole", "no Role in the answer")
                })?;
                tracing::info!(role = name, "created IAM role");
                Ok(RoleInfo {
                    name: name.to_owned(),
                    arn: role.arn().to_owned(),
                    created: true,
                })
            }
            Err(e) => {
                let e = convert(IAM, "CreateRole", e);
                if !has_code(&e, &["EntityAlreadyExists"]) {
                    return Err(e);
                }
                // Created concurrently: read it.
                let out = self
                    .iam
                    .get_role()
                    .role_name(name)
                    .send()
                    .await
                    .map_err(|e| convert(IAM, "GetRole", e))?;
                let role = out.role().ok_or_else(|| {
                    NetworkError::unexpected(IAM, "GetRole", "no Role in the answer")
                })?;
                Ok(RoleInfo {
                    name: name.to_owned(),
                    arn: role.arn().to_owned(),
                    created: false,
                })
            }
        }
    }

    /// Sets the trust policy and the inline policy (both idempotent writes).
    async fn converge(
        &self,
        name: &str,
        trust: &str,
        policy_name: &str,
        policy: &str,
    ) -> Result<()> {
        self.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust)
            .send()
            .await
            .map_err(|e| convert(IAM, "UpdateAssumeRolePolicy", e))?;
        self.iam
            .put_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .policy_document(policy)
            .send()
            .await
            .map_err(|e| convert(IAM, "PutRolePolicy", e))?;
        Ok(())
    }

    async fn delete_role_inner(&self, name: &str) -> Result<()> {
        let inline = self
            .iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| convert(IAM, "ListRolePolicies", e))?;
        for policy in inline.policy_names() {
            if let Err(e) = self
                .iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
            {
                let e = convert(IAM, "DeleteRolePolicy", e);
                if !has_code(&e, NO_SUCH_ENTITY) {
                    return Err(e);
                }
            }
        }
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| convert(IAM, "ListAttachedRolePolicies", e))?;
        for arn in attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn())
        {
            if let Err(e) = self
                .iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
            {
                let e = convert(IAM, "DetachRolePolicy", e);
                if !has_code(&e, NO_SUCH_ENTITY) {
                    return Err(e);
                }
            }
        }
        let profiles = self
            .iam
            .list_instance_profiles_for_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| convert(IAM, "ListInstanceProfilesForRole", e))?;
        for p in profiles.instance_profiles() {
            if let Err(e) = self
                .iam
                .remove_role_from_instance_profile()
                .instance_profile_name(p.instance_profile_name())
                .role_name(name)
                .send()
                .await
            {
                let e = convert(IAM, "RemoveRoleFromInstanceProfile", e);
                if !has_code(&e, NO_SUCH_ENTITY) {
                    return Err(e);
                }
            }
        }
        self.iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| convert(IAM, "DeleteRole", e))?;
        tracing::info!(role = name, "deleted IAM role");
        Ok(())
    }
}

/// `/dmsrs/<stack>/`: the IAM path of a stack's roles.
pub fn stack_path(stack: &str) -> String {
    format!("/dmsrs/{stack}/")
}

/// Name of the stack's Kinesis access role: `<stack>-dms-kinesis-access`
/// (shortened with a hash suffix to IAM's 64 characters).
pub fn kinesis_access_role_name(stack: &str) -> String {
    fit_role_name(&format!("{stack}-dms-kinesis-access"))
}

/// Name of the secret access role of endpoint `endpoint_id`:
/// `<stack>-<endpoint_id>-secret-access` (shortened like
/// [`kinesis_access_role_name`]).
pub fn secret_access_role_name(stack: &str, endpoint_id: &str) -> Result<String> {
    if endpoint_id.is_empty()
        || !endpoint_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(NetworkError::invalid(
            "endpoint_id",
            format!("{endpoint_id:?}: use letters, digits, '-' and '_'"),
        ));
    }
    Ok(fit_role_name(&format!(
        "{stack}-{endpoint_id}-secret-access"
    )))
}

/// The trust policy letting `service` assume a role.
pub fn trust_policy(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": service}
        }]
    })
    .to_string()
}

/// The Kinesis read/write policy on `stream_arn`.
pub fn kinesis_policy(stream_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Action": KINESIS_ACTIONS,
            "Effect": "Allow",
            "Resource": stream_arn
        }]
    })
    .to_string()
}

/// The `allowSecrets` policy on `secret_arn`.
pub fn secrets_policy(secret_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Resource": secret_arn
        }]
    })
    .to_string()
}

fn check_arn(field: &'static str, arn: &str) -> Result<()> {
    if arn.starts_with("arn:") && arn.split(':').count() >= 6 {
        Ok(())
    } else {
        Err(NetworkError::invalid(
            field,
            format!("{arn:?} is not an ARN (arn:partition:service:region:account:resource)"),
        ))
    }
}

/// IAM role names are at most 64 characters: longer names keep a prefix and
/// get an 8-hex-digit hash of the full name.
fn fit_role_name(name: &str) -> String {
    const MAX: usize = 64;
    if name.len() <= MAX {
        return name.to_owned();
    }
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // The name is ASCII (validated stack and endpoint ids).
    format!("{}-{:08x}", &name[..MAX - 9], hash as u32)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_iam_limits() {
        assert_eq!(
            kinesis_access_role_name("DMsSampleSetupStack"),
            "DMsSampleSetupStack-dms-kinesis-access"
        );
        assert_eq!(
            secret_access_role_name("DMsSampleSetupStack", "cdc-endpoint").unwrap(),
            "DMsSampleSetupStack-cdc-endpoint-secret-access"
        );
        let long = "a".repeat(100);
        let n = kinesis_access_role_name(&long);
        assert_eq!(n.len(), 64);
        assert_ne!(n, kinesis_access_role_name(&"a".repeat(99)));
        assert!(secret_access_role_name("s", "bad/id").is_err());
    }

    #[test]
    fn policies_match_the_seed() {
        let t: serde_json::Value =
            serde_json::from_str(&trust_policy("dms.us-east-1.amazonaws.com")).unwrap();
        assert_eq!(
            t["Statement"][0]["Principal"]["Service"],
            "dms.us-east-1.amazonaws.com"
        );
        assert_eq!(t["Statement"][0]["Action"], "sts:AssumeRole");
        let k: serde_json::Value =
            serde_json::from_str(&kinesis_policy("arn:aws:kinesis:us-east-1:1:stream/s")).unwrap();
        assert_eq!(k["Statement"][0]["Action"].as_array().unwrap().len(), 10);
        assert_eq!(
            k["Statement"][0]["Resource"],
            "arn:aws:kinesis:us-east-1:1:stream/s"
        );
        let s: serde_json::Value = serde_json::from_str(&secrets_policy(
            "arn:aws:secretsmanager:us-east-1:1:secret:x",
        ))
        .unwrap();
        assert_eq!(s["Statement"][0]["Action"], "secretsmanager:GetSecretValue");
    }
}
