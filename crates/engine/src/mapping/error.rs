//! Errors of table-mapping parsing and planning.

use std::fmt;

use super::wildcard::PatternError;

/// Identifies a rule in error messages: its position in `rules` and, once known, its `rule-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// Zero-based index in the `rules` array.
    pub index: usize,
    /// The rule's `rule-id` as written, if it could be read.
    pub rule_id: Option<String>,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "rule-id {id} (rules[{}])", self.index),
            None => write!(f, "rules[{}]", self.index),
        }
    }
}

/// A table mapping that cannot be used; every message names the rule and the JSON field to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// The document is not JSON.
    #[error("table mapping is not valid JSON: {message} at line {line}, column {column}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser expected.
        message: String,
    },
    /// The document is JSON but not of the form `{"rules": [...]}`.
    #[error("table mapping: `{path}`: {message}")]
    Document {
        /// JSON path of the offending value (`rules`, `rules[3]`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A required field of a rule is absent.
    #[error("{rule}: missing required field `{path}`")]
    MissingField {
        /// The rule.
        rule: RuleRef,
        /// JSON path inside the rule (`object-locator.schema-name`).
        path: String,
    },
    /// A field of a rule has the wrong type or an invalid value.
    #[error("{rule}: `{path}`: {message}")]
    InvalidField {
        /// The rule.
        rule: RuleRef,
        /// JSON path inside the rule.
        path: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// `rule-type` is not one of the known types.
    #[error(
        "{rule}: unknown rule-type {rule_type:?}; expected one of \"selection\", \"transformation\", \"object-mapping\", \"table-settings\""
    )]
    UnknownRuleType {
        /// The rule.
        rule: RuleRef,
        /// The `rule-type` as written.
        rule_type: String,
    },
    /// `rule-action` is not valid for the rule's type.
    #[error(
        "{rule}: unknown rule-action {action:?} for rule-type {rule_type:?}; expected one of {expected}"
    )]
    UnknownRuleAction {
        /// The rule.
        rule: RuleRef,
        /// The rule's `rule-type`.
        rule_type: String,
        /// The `rule-action` as written.
        action: String,
        /// The accepted actions, comma-separated.
        expected: String,
    },
    /// A wildcard pattern in an object-locator is malformed.
    #[error("{rule}: `{path}`: invalid wildcard pattern {pattern:?}: {source}")]
    InvalidPattern {
        /// The rule.
        rule: RuleRef,
        /// JSON path of the pattern.
        path: String,
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        source: PatternError,
    },
    /// An `expression` of an `add-column` rule cannot be parsed.
    #[error("{rule}: `expression`: {message} (in {expression:?})")]
    InvalidExpression {
        /// The rule.
        rule: RuleRef,
        /// The expression as written.
        expression: String,
        /// What is wrong.
        message: String,
    },
    /// Two rules share a `rule-id`.
    #[error(
        "rule-id {rule_id} is used by both rules[{first}] and rules[{second}]; every rule needs a unique rule-id"
    )]
    DuplicateRuleId {
        /// The shared id.
        rule_id: String,
        /// Index of the first rule using it.
        first: usize,
        /// Index of the second rule using it.
        second: usize,
    },
    /// No `selection` rule at all.
    #[error(
        "table mapping has no selection rule; add at least one rule with \"rule-type\": \"selection\" and \"rule-action\": \"include\""
    )]
    NoSelectionRule,
    /// At planning time: a rule names a column the table does not have.
    #[error("{rule}: table {table} has no column {column:?} (referenced by {context})")]
    UnknownColumn {
        /// The rule.
        rule: RuleRef,
        /// Source table as `schema.table`.
        table: String,
        /// The column name as written in the rule.
        column: String,
        /// Which field referenced it (`expression`, `filters[0].column-name`, ...).
        context: String,
    },
    /// At planning time: two output columns of a table would have the same name.
    #[error(
        "table {table}: output column {column:?} would appear twice after the transformation rules; rename or remove one of them"
    )]
    DuplicateColumn {
        /// Source table as `schema.table`.
        table: String,
        /// The duplicated output name.
        column: String,
    },
}
