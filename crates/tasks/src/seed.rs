//! The seed sample's DMS definitions as data (seed-scenario.md sections 1.8-1.11): the four
//! replication tasks with their exact `TableMappings` and `ReplicationTaskSettings` strings,
//! the Kinesis target settings, the source endpoint settings, and the replication instance
//! and subnet group parameters.
//!
//! The seed builds its JSON strings with Python's `json.dumps` (separators `", "` and
//! `": "`, ASCII-only output); [`table_mappings`] reproduces them byte for byte.

use crate::model::{CreateTask, KinesisSettings, MigrationType, MySqlSettings};

/// The seed's database (`DB_NAME`), the schema of every selection rule.
pub const SCHEMA: &str = "dms_sample";

/// `EngineName` of both source endpoints.
pub const SOURCE_ENGINE: &str = "mariadb";

/// `EngineName` of the target endpoint.
pub const TARGET_ENGINE: &str = "kinesis";

/// `ReplicationTaskSettings` of the CDC tasks: logging, and before images of all columns
/// under `before-image`.
pub const CDC_TASK_SETTINGS: &str = r#"{"Logging": {"EnableLogging": true}, "BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": "before-image", "ColumnFilter": "all"}}"#;

/// `ReplicationTaskSettings` of the full-load tasks.
pub const FULL_LOAD_TASK_SETTINGS: &str = r#"{"Logging": {"EnableLogging": true}}"#;

/// `ReplicationSubnetGroupDescription` of the seed's subnet group.
pub const SUBNET_GROUP_DESCRIPTION: &str = "Replication Subnet Group for DMS test";

/// `ReplicationInstanceClass` of the seed's replication instance.
pub const REPLICATION_INSTANCE_CLASS: &str = "dms.t2.micro";

/// `AllocatedStorage` (GB) of the seed's replication instance.
pub const REPLICATION_INSTANCE_STORAGE_GB: i32 = 5;

/// The seed's `TableMappings` string: one selection rule (`rule-id` "1") including the
/// tables of `schema` that match `table_pattern`, serialised exactly like Python's
/// `json.dumps` (key order `rule-type, rule-id, rule-name, object-locator{schema-name,
/// table-name}, rule-action`).
///
/// ```
/// assert_eq!(
///     dmsrs_tasks::seed::table_mappings("tables-n-to-z", "novels", "dms_sample"),
///     r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "tables-n-to-z", "object-locator": {"schema-name": "dms_sample", "table-name": "novels"}, "rule-action": "include"}]}"#
/// );
/// ```
pub fn table_mappings(rule_name: &str, table_pattern: &str, schema: &str) -> String {
    format!(
        r#"{{"rules": [{{"rule-type": "selection", "rule-id": "1", "rule-name": {}, "object-locator": {{"schema-name": {}, "table-name": {}}}, "rule-action": "include"}}]}}"#,
        py_json_str(rule_name),
        py_json_str(schema),
        py_json_str(table_pattern)
    )
}

/// A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii=True`): `"` and
/// `\` escaped, `\n \r \t \b \f` by name, other control characters and every non-ASCII
/// character as `\uXXXX` (lower-case hex, surrogate pairs above U+FFFF).
pub fn py_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The seed's target `KinesisSettings`: `MessageFormat` json and `IncludeControlDetails`,
/// `IncludeNullAndEmpty`, `IncludePartitionValue`, `IncludeTableAlterOperations`,
/// `IncludeTransactionDetails`, `PartitionIncludeSchemaTable` all true (`NoHexPrefix` and
/// `UseLargeIntegerValue` unset, i.e. false).
pub fn kinesis_settings(
    stream_arn: impl Into<String>,
    service_access_role_arn: Option<&str>,
) -> KinesisSettings {
    KinesisSettings {
        stream_arn: stream_arn.into(),
        message_format: dmsrs_codec::MessageFormat::Json,
        service_access_role_arn: service_access_role_arn.map(str::to_owned),
        include_transaction_details: true,
        include_partition_value: true,
        partition_include_schema_table: true,
        include_table_alter_operations: true,
        include_control_details: true,
        include_null_and_empty: true,
        no_hex_prefix: false,
        use_large_integer_value: false,
    }
}

/// The seed's source `MySqlSettings`: only `SecretsManagerSecretId` and
/// `SecretsManagerAccessRoleArn` (the connection comes from the secret).
pub fn source_settings(
    secret_id: impl Into<String>,
    access_role_arn: Option<&str>,
) -> MySqlSettings {
    MySqlSettings {
        secrets_manager_secret_id: Some(secret_id.into()),
        secrets_manager_access_role_arn: access_role_arn.map(str::to_owned),
        ..MySqlSettings::default()
    }
}

/// Which source endpoint a seed task reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeedSource {
    /// `cdcendpoint`: the RDS instance (secret output `cdcTaskSecret`).
    Cdc,
    /// `fullendpoint`: the docker MariaDB (secret output `fullTaskSecret`).
    FullLoad,
}

/// One of the seed's four replication tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeedTask {
    /// CloudFormation logical id (`cdctask1`, ...).
    pub logical_id: &'static str,
    /// `ReplicationTaskIdentifier` (`cdc-task-1`, ...).
    pub identifier: &'static str,
    /// Stack output key holding the task ARN (`cdcTask1`, ...).
    pub output_key: &'static str,
    /// `MigrationType`.
    pub migration_type: MigrationType,
    /// Source endpoint.
    pub source: SeedSource,
    /// Selection rule name (a label only).
    pub rule_name: &'static str,
    /// Selection rule `table-name` pattern.
    pub table_pattern: &'static str,
}

impl SeedTask {
    /// The task's `TableMappings` for `schema` (the seed uses [`SCHEMA`]).
    pub fn table_mappings(&self, schema: &str) -> String {
        table_mappings(self.rule_name, self.table_pattern, schema)
    }

    /// The task's `ReplicationTaskSettings`.
    pub fn settings(&self) -> &'static str {
        match self.migration_type {
            MigrationType::FullLoad => FULL_LOAD_TASK_SETTINGS,
            MigrationType::Cdc | MigrationType::FullLoadAndCdc => CDC_TASK_SETTINGS,
        }
    }

    /// The `CreateReplicationTask` input for this task, as the seed's stack creates it (no
    /// CDC positions, no resource identifier).
    pub fn create_input(
        &self,
        schema: &str,
        source_endpoint_arn: impl Into<String>,
        target_endpoint_arn: impl Into<String>,
        replication_instance_arn: impl Into<String>,
    ) -> CreateTask {
        CreateTask {
            identifier: self.identifier.to_owned(),
            source_endpoint_arn: source_endpoint_arn.into(),
            target_endpoint_arn: target_endpoint_arn.into(),
            replication_instance_arn: replication_instance_arn.into(),
            migration_type: self.migration_type,
            table_mappings: self.table_mappings(schema),
            settings: Some(self.settings().to_owned()),
            cdc_start_position: None,
            cdc_start_time: None,
            cdc_stop_position: None,
            resource_identifier: None,
        }
    }
}

const TASKS: [SeedTask; 4] = [
    SeedTask {
        logical_id: "cdctask1",
        identifier: "cdc-task-1",
        output_key: "cdcTask1",
        migration_type: MigrationType::Cdc,
        source: SeedSource::Cdc,
        rule_name: "tables-a-to-m",
        table_pattern: "a%",
    },
    SeedTask {
        logical_id: "cdctask2",
        identifier: "cdc-task-2",
        output_key: "cdcTask2",
        migration_type: MigrationType::Cdc,
        source: SeedSource::Cdc,
        rule_name: "tables-n-to-z",
        table_pattern: "novels",
    },
    SeedTask {
        logical_id: "fullloadtask1",
        identifier: "full-load-task-1",
        output_key: "fullTask1",
        migration_type: MigrationType::FullLoad,
        source: SeedSource::FullLoad,
        rule_name: "tables-a-to-m",
        table_pattern: "a%",
    },
    SeedTask {
        logical_id: "fullloadtask2",
        identifier: "full-load-task-2",
        output_key: "fullTask2",
        migration_type: MigrationType::FullLoad,
        source: SeedSource::FullLoad,
        rule_name: "tables-n-to-z",
        table_pattern: "novels",
    },
];

/// The seed's four tasks, in the stack's order: `cdc-task-1`, `cdc-task-2`,
/// `full-load-task-1`, `full-load-task-2`.
pub fn tasks() -> &'static [SeedTask] {
    &TASKS
}

/// The seed task with this `ReplicationTaskIdentifier`.
pub fn task(identifier: &str) -> Option<&'static SeedTask> {
    TASKS.iter().find(|t| t.identifier == identifier)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Copied byte for byte from seed-scenario.md section 1.10.
    const SPEC_MAPPINGS_1: &str = r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "tables-a-to-m", "object-locator": {"schema-name": "dms_sample", "table-name": "a%"}, "rule-action": "include"}]}"#;
    const SPEC_MAPPINGS_2: &str = r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "tables-n-to-z", "object-locator": {"schema-name": "dms_sample", "table-name": "novels"}, "rule-action": "include"}]}"#;
    const SPEC_CDC: &str = r#"{"Logging": {"EnableLogging": true}, "BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": "before-image", "ColumnFilter": "all"}}"#;
    const SPEC_FULL: &str = r#"{"Logging": {"EnableLogging": true}}"#;

    #[test]
    fn strings_match_the_spec() {
        assert_eq!(
            table_mappings("tables-a-to-m", "a%", SCHEMA),
            SPEC_MAPPINGS_1
        );
        assert_eq!(
            table_mappings("tables-n-to-z", "novels", SCHEMA),
            SPEC_MAPPINGS_2
        );
        assert_eq!(CDC_TASK_SETTINGS, SPEC_CDC);
        assert_eq!(FULL_LOAD_TASK_SETTINGS, SPEC_FULL);
    }

    /// The spec file, when the shared folder sits beside the checkout (as in CI).
    fn spec_text() -> Option<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        [
            "shared/spec/seed-scenario.md",
            "../shared/spec/seed-scenario.md",
        ]
        .iter()
        .find_map(|p| std::fs::read_to_string(root.join(p)).ok())
    }

    #[test]
    fn strings_match_the_spec_file_when_present() {
        let Some(spec) = spec_text() else {
            eprintln!(
                "seed-scenario.md not found beside the checkout; compared with the embedded copy only"
            );
            return;
        };
        let section = spec
            .split("### 1.10")
            .nth(1)
            .and_then(|s| s.split("### 1.11").next())
            .unwrap();
        let blocks: Vec<&str> = section
            .split("```")
            .skip(1)
            .step_by(2)
            .map(|b| b.trim())
            .collect();
        assert_eq!(blocks, vec![SPEC_MAPPINGS_1, SPEC_MAPPINGS_2]);
        for (t, text) in [
            (tasks()[0], blocks[0]),
            (tasks()[1], blocks[1]),
            (tasks()[2], blocks[0]),
            (tasks()[3], blocks[1]),
        ] {
            assert_eq!(t.table_mappings(SCHEMA), text, "{}", t.identifier);
        }
        assert!(section.contains(&format!("* cdc tasks: `{CDC_TASK_SETTINGS}`")));
        assert!(section.contains(&format!("* full-load tasks: `{FULL_LOAD_TASK_SETTINGS}`")));
    }

    #[test]
    fn the_four_tasks() {
        let t = tasks();
        let rows: Vec<_> = t
            .iter()
            .map(|t| {
                (
                    t.identifier,
                    t.migration_type.as_str(),
                    t.source,
                    t.rule_name,
                    t.table_pattern,
                    t.output_key,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "cdc-task-1",
                    "cdc",
                    SeedSource::Cdc,
                    "tables-a-to-m",
                    "a%",
                    "cdcTask1"
                ),
                (
                    "cdc-task-2",
                    "cdc",
                    SeedSource::Cdc,
                    "tables-n-to-z",
                    "novels",
                    "cdcTask2"
                ),
                (
                    "full-load-task-1",
                    "full-load",
                    SeedSource::FullLoad,
                    "tables-a-to-m",
                    "a%",
                    "fullTask1"
                ),
                (
                    "full-load-task-2",
                    "full-load",
                    SeedSource::FullLoad,
                    "tables-n-to-z",
                    "novels",
                    "fullTask2"
                ),
            ]
        );
        assert_eq!(t[0].settings(), CDC_TASK_SETTINGS);
        assert_eq!(t[3].settings(), FULL_LOAD_TASK_SETTINGS);
        let input = t[2].create_input(SCHEMA, "src", "tgt", "rep");
        assert_eq!(input.identifier, "full-load-task-1");
        assert_eq!(input.table_mappings, SPEC_MAPPINGS_1);
        assert_eq!(input.settings.as_deref(), Some(SPEC_FULL));
        assert_eq!(input.migration_type, MigrationType::FullLoad);
        assert_eq!(task("cdc-task-2").map(|t| t.logical_id), Some("cdctask2"));
        assert!(task("nope").is_none());
    }

    #[test]
    fn strings_are_valid_json() {
        for t in tasks() {
            let m: serde_json::Value = serde_json::from_str(&t.table_mappings(SCHEMA)).unwrap();
            assert_eq!(
                m["rules"][0]["object-locator"]["table-name"],
                t.table_pattern
            );
            let _: serde_json::Value = serde_json::from_str(t.settings()).unwrap();
        }
    }

    #[test]
    fn python_string_escaping() {
        // Reference values from CPython's json.dumps.
        assert_eq!(py_json_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(py_json_str("é"), r#""\u00e9""#);
        assert_eq!(py_json_str("😀"), r#""\ud83d\ude00""#);
        assert_eq!(py_json_str("\n\t\u{1}\u{7f}/"), "\"\\n\\t\\u0001\u{7f}/\"");
        assert_eq!(
            table_mappings("r\"", "t_%", "s"),
            r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "r\"", "object-locator": {"schema-name": "s", "table-name": "t_%"}, "rule-action": "include"}]}"#
        );
    }

    #[test]
    fn kinesis_and_source_settings() {
        let k = kinesis_settings(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            Some("arn:role"),
        );
        assert!(k.include_control_details && k.include_null_and_empty && k.include_partition_value);
        assert!(
            k.include_table_alter_operations
                && k.include_transaction_details
                && k.partition_include_schema_table
        );
        assert!(!k.no_hex_prefix && !k.use_large_integer_value);
        assert_eq!(k.message_format, dmsrs_codec::MessageFormat::Json);
        assert_eq!(k.service_access_role_arn.as_deref(), Some("arn:role"));
        let s = source_settings("arn:secret", Some("arn:role"));
        assert_eq!(s.secrets_manager_secret_id.as_deref(), Some("arn:secret"));
        assert!(s.server_name.is_none() && s.password.is_none());
    }
}
