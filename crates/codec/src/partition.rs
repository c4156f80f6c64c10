//! Kinesis partition keys, as DMS chooses them.
//!
//! * Control records for a table: `TaskId.schema.table`; for the whole task: `TaskId`
//!   (the task's resource id, the last ARN segment). The metadata's `partition-key-value`
//!   is just `TaskId`.
//! * Data records, `primary-key`: the key value, prefixed `schema.table.` when
//!   `PartitionIncludeSchemaTable=true` (`public.demo.393`).
//! * Data records, `schema-table`: `schema.table` (a real capture shows `.awsdms_status`
//!   for an empty schema, so no task id).
//! * `constant`, `attribute-name`, `transaction-id`: the configured constant, the named
//!   column's value, the transaction id.
//!
//! Choices where DMS is silent (docs/dms-format.md): a composite primary key joins its
//! values with `.` in key order; a NULL key part is the empty string; keys are cut to the
//! Kinesis limit of 256 characters and an empty key becomes `-` (Kinesis rejects both).

use crate::value::ValueRef;

/// Kinesis's limit on partition keys, in Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Separator between the parts of a composite primary key.
pub const COMPOSITE_KEY_SEPARATOR: &str = ".";

/// Makes `key` acceptable to Kinesis: 1 to 256 characters.
pub fn clamp(mut key: String) -> String {
    if key.is_empty() {
        return "-".to_owned();
    }
    if let Some((cut, _)) = key.char_indices().nth(MAX_PARTITION_KEY_CHARS) {
        key.truncate(cut);
    }
    key
}

/// `TaskId.schema.table`: the key of a table's control records.
pub fn control_key(task_id: &str, schema: &str, table: &str) -> String {
    clamp(format!("{task_id}.{schema}.{table}"))
}

/// `TaskId`: the key of task-level control records.
pub fn task_key(task_id: &str) -> String {
    clamp(task_id.to_owned())
}

/// `schema.table`.
pub fn schema_table_key(schema: &str, table: &str) -> String {
    clamp(format!("{schema}.{table}"))
}

/// The primary-key partition key: the key values joined by `.`, prefixed `schema.table.`
/// when `include_schema_table` (`PartitionIncludeSchemaTable`).
pub fn primary_key_key<'a, V: Into<ValueRef<'a>>>(
    schema: &str,
    table: &str,
    key_values: impl IntoIterator<Item = V>,
    include_schema_table: bool,
) -> String {
    let mut key = String::with_capacity(schema.len() + table.len() + 24);
    if include_schema_table {
        key.push_str(schema);
        key.push('.');
        key.push_str(table);
        key.push('.');
    }
    for (i, v) in key_values.into_iter().enumerate() {
        if i > 0 {
            key.push_str(COMPOSITE_KEY_SEPARATOR);
        }
        v.into().write_key_text(&mut key);
    }
    clamp(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn keys() {
        assert_eq!(
            control_key("DZ6OKLFYA5BWVG4RYROQUHXU4E", "public", "demo"),
            "DZ6OKLFYA5BWVG4RYROQUHXU4E.public.demo"
        );
        assert_eq!(control_key("T", "", "awsdms_status"), "T..awsdms_status");
        assert_eq!(schema_table_key("", "awsdms_status"), ".awsdms_status");
        let v = Value::from(393);
        assert_eq!(
            primary_key_key("public", "demo", [&v], true),
            "public.demo.393"
        );
        assert_eq!(primary_key_key("public", "demo", [&v], false), "393");
        let s = Value::from("a");
        assert_eq!(primary_key_key("s", "t", [&v, &s], true), "s.t.393.a");
        assert_eq!(primary_key_key("s", "t", [&Value::Null], false), "-");
        let long = "é".repeat(300);
        assert_eq!(clamp(long).chars().count(), 256);
    }
}
