//! Parsing of the `{"rules": [...]}` document into typed, pre-compiled rules.
//!
//! Parsing is done by hand on a `serde_json::Value` (rather than with derived `Deserialize`) so that
//! every error names the rule (`rule-id` and index) and the JSON path inside it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::{MappingError, RuleRef};
use super::expr::ParsedExpr;
use super::filter::{FilterCondition, SourceFilter};
use super::wildcard::Pattern;
use super::{BeforeImageDef, DataType, PartitionKeySpec};
use crate::settings::ColumnFilter;

/// `include` / `exclude` / `explicit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectionAction {
    Include,
    Exclude,
    Explicit,
}

/// A selection rule.
#[derive(Debug, Clone)]
pub(crate) struct SelectionRule {
    pub rule: RuleRef,
    pub action: SelectionAction,
    pub schema: Pattern,
    pub table: Pattern,
    /// False for `table-type: view` (dmsrs replicates base tables only).
    pub applies_to_tables: bool,
    pub load_order: i64,
    pub filters: Vec<SourceFilter>,
}

impl SelectionRule {
    pub fn matches(&self, schema: &str, table: &str) -> bool {
        self.applies_to_tables && self.schema.matches(schema) && self.table.matches(table)
    }
}

/// `rule-target` of a transformation rule (tablespace targets are dropped at parse time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Schema,
    Table,
    Column,
}

/// A renaming-type action (at most one applies per object: the lowest rule-id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RenameOp {
    Rename(String),
    AddPrefix(String),
    RemovePrefix(String),
    ReplacePrefix { old: String, new: String },
    AddSuffix(String),
    RemoveSuffix(String),
    ReplaceSuffix { old: String, new: String },
    Lowercase,
    Uppercase,
}

impl RenameOp {
    pub fn apply(&self, name: &str) -> String {
        match self {
            RenameOp::Rename(v) => v.clone(),
            RenameOp::AddPrefix(p) => format!("{p}{name}"),
            RenameOp::RemovePrefix(p) => name.strip_prefix(p.as_str()).unwrap_or(name).to_owned(),
            RenameOp::ReplacePrefix { old, new } => match name.strip_prefix(old.as_str()) {
                Some(rest) => format!("{new}{rest}"),
                None => name.to_owned(),
            },
            RenameOp::AddSuffix(s) => format!("{name}{s}"),
            RenameOp::RemoveSuffix(s) => name.strip_suffix(s.as_str()).unwrap_or(name).to_owned(),
            RenameOp::ReplaceSuffix { old, new } => match name.strip_suffix(old.as_str()) {
                Some(rest) => format!("{rest}{new}"),
                None => name.to_owned(),
            },
            RenameOp::Lowercase => name.to_lowercase(),
            RenameOp::Uppercase => name.to_uppercase(),
        }
    }
}

/// What a transformation rule does.
#[derive(Debug, Clone)]
pub(crate) enum TransformAction {
    Rename(RenameOp),
    RemoveColumn,
    IncludeColumn,
    AddColumn {
        name: String,
        expr: ParsedExpr,
        data_type: Option<DataType>,
    },
    AddBeforeImage(BeforeImageDef),
    DefinePrimaryKey {
        columns: Vec<String>,
    },
    ChangeDataType(DataType),
    /// Parsed and validated, but without effect (data masking); a warning was recorded.
    Ignored,
}

/// A transformation rule.
#[derive(Debug, Clone)]
pub(crate) struct TransformRule {
    pub rule: RuleRef,
    pub id: u64,
    pub target: Target,
    pub schema: Pattern,
    pub table: Option<Pattern>,
    pub column: Option<Pattern>,
    /// `object-locator.data-type`: exact (case-insensitive) match against `SourceColumn::data_type`.
    pub data_type: Option<String>,
    pub action: TransformAction,
}

impl TransformRule {
    /// Matches the schema and, when given, the table part of the locator.
    pub fn matches_table(&self, schema: &str, table: &str) -> bool {
        self.schema.matches(schema) && self.table.as_ref().is_none_or(|t| t.matches(table))
    }

    /// The new name if this is a renaming rule.
    pub fn rename(&self, name: &str) -> Option<String> {
        match &self.action {
            TransformAction::Rename(op) => Some(op.apply(name)),
            _ => None,
        }
    }

    /// Matches the column part of the locator (call after `matches_table`).
    pub fn matches_column(&self, name: &str, data_type: &str) -> bool {
        self.column.as_ref().is_none_or(|c| c.matches(name))
            && self
                .data_type
                .as_ref()
                .is_none_or(|d| d.eq_ignore_ascii_case(data_type))
    }
}

/// An object-mapping rule.
#[derive(Debug, Clone)]
pub(crate) struct ObjectMappingRule {
    pub rule: RuleRef,
    pub id: u64,
    pub document: bool,
    pub schema: Pattern,
    pub table: Pattern,
    /// Lower-cased `exclude-columns`.
    pub exclude_columns: Vec<String>,
    pub partition_key: PartitionKeySpec,
}

/// Everything parsed from a table-mapping document.
#[derive(Debug, Clone, Default)]
pub(crate) struct ParsedRules {
    pub selection: Vec<SelectionRule>,
    /// Sorted by rule-id.
    pub transforms: Vec<TransformRule>,
    /// Sorted by rule-id.
    pub object_mappings: Vec<ObjectMappingRule>,
    pub warnings: Vec<String>,
}

const SELECTION_ACTIONS: &str = "\"include\", \"exclude\", \"explicit\"";
const TRANSFORM_ACTIONS: &[&str] = &[
    "rename",
    "remove-column",
    "include-column",
    "add-column",
    "convert-lowercase",
    "convert-uppercase",
    "add-prefix",
    "remove-prefix",
    "replace-prefix",
    "add-suffix",
    "remove-suffix",
    "replace-suffix",
    "define-primary-key",
    "change-data-type",
    "add-before-image-columns",
    "data-masking-digits-mask",
    "data-masking-digits-randomize",
    "data-masking-hash-mask",
];
const OBJECT_MAPPING_ACTIONS: &str = "\"map-record-to-record\", \"map-record-to-document\"";
const KNOWN_RULE_KEYS: &[&str] = &[
    "rule-type",
    "rule-id",
    "rule-name",
    "rule-action",
    "rule-description",
    "object-locator",
    "rule-target",
    "value",
    "old-value",
    "expression",
    "data-type",
    "before-image-def",
    "primary-key-def",
    "load-order",
    "filters",
    "mapping-parameters",
    "target-table-name",
    "parallel-load",
    "lob-settings",
];

/// Parses and validates a whole table-mapping document.
pub(crate) fn parse_document(json: &str) -> Result<ParsedRules, MappingError> {
    let doc: Value = serde_json::from_str(json).map_err(|e| {
        let full = e.to_string();
        // serde_json appends " at line L column C"; we report them separately.
        let message = match full.rfind(" at line ") {
            Some(pos) => full.get(..pos).unwrap_or(&full).to_owned(),
            None => full.clone(),
        };
        MappingError::Syntax {
            line: e.line(),
            column: e.column(),
            message,
        }
    })?;
    let Value::Object(top) = &doc else {
        return Err(MappingError::Document {
            path: "$".into(),
            message: format!(
                "expected an object {{\"rules\": [...]}}, found {}",
                describe(&doc)
            ),
        });
    };
    let mut out = ParsedRules::default();
    for key in top.keys().filter(|k| k.as_str() != "rules") {
        out.warnings.push(format!(
            "table mapping: unknown top-level field `{key}` ignored"
        ));
    }
    let rules = match top.get("rules") {
        Some(Value::Array(rules)) => rules,
        Some(other) => {
            return Err(MappingError::Document {
                path: "rules".into(),
                message: format!("expected an array of rules, found {}", describe(other)),
            });
        }
        None => {
            return Err(MappingError::Document {
                path: "rules".into(),
                message: "missing; the table mapping must be {\"rules\": [...]}".into(),
            });
        }
    };

    let mut seen_ids: HashMap<u64, (usize, String)> = HashMap::new();
    let mut any_selection = false;
    for (index, raw) in rules.iter().enumerate() {
        let Value::Object(map) = raw else {
            return Err(MappingError::Document {
                path: format!("rules[{index}]"),
                message: format!("expected a rule object, found {}", describe(raw)),
            });
        };
        let mut rule = RuleRef {
            index,
            rule_id: None,
        };
        let (id, id_text) = parse_rule_id(&Obj::new(map, &rule))?;
        rule.rule_id = Some(id_text.clone());
        if let Some((first, _)) = seen_ids.get(&id) {
            return Err(MappingError::DuplicateRuleId {
                rule_id: id_text,
                first: *first,
                second: index,
            });
        }
        seen_ids.insert(id, (index, id_text));
        let obj = Obj::new(map, &rule);
        let rule_type = obj.req_str("rule-type")?;
        if rule_type != "table-settings" {
            for key in map
                .keys()
                .filter(|k| !KNOWN_RULE_KEYS.contains(&k.as_str()))
            {
                out.warnings
                    .push(format!("{rule}: unknown field `{key}` ignored"));
            }
        }
        match rule_type {
            "selection" => {
                any_selection = true;
                let sel = parse_selection(&obj, &mut out.warnings)?;
                out.selection.push(sel);
            }
            "transformation" => {
                if let Some(t) = parse_transformation(&obj, id, &mut out.warnings)? {
                    out.transforms.push(t);
                }
            }
            "object-mapping" => out.object_mappings.push(parse_object_mapping(&obj, id, &mut out.warnings)?),
            "table-settings" => out.warnings.push(format!(
                "{rule}: table-settings rules (parallel-load, lob-settings) are parsed but not honoured by dmsrs"
            )),
            other => {
                return Err(MappingError::UnknownRuleType {
                    rule: rule.clone(),
                    rule_type: other.to_owned(),
                });
            }
        }
    }
    if !any_selection {
        return Err(MappingError::NoSelectionRule);
    }
    if !out
        .selection
        .iter()
        .any(|s| s.action != SelectionAction::Exclude)
    {
        out.warnings.push(
            "table mapping has only exclude selection rules, so no table is selected; add an include rule".into(),
        );
    }
    out.transforms.sort_by_key(|t| t.id);
    out.object_mappings.sort_by_key(|o| o.id);
    Ok(out)
}

fn parse_rule_id(obj: &Obj<'_>) -> Result<(u64, String), MappingError> {
    let bad = |message: String| obj.invalid("rule-id", message);
    match obj.get("rule-id") {
        None => Err(obj.missing("rule-id")),
        Some(Value::String(s)) => {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!(
                    "expected a string of digits such as \"1\", found {s:?}"
                )));
            }
            let n = s
                .parse::<u64>()
                .map_err(|_| bad(format!("{s:?} is too large; use at most 19 digits")))?;
            Ok((n, s.clone()))
        }
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) => Ok((v, v.to_string())),
            None => Err(bad(format!("expected a non-negative integer, found {n}"))),
        },
        Some(other) => Err(bad(format!(
            "expected a string of digits such as \"1\", found {}",
            describe(other)
        ))),
    }
}

fn parse_selection(
    obj: &Obj<'_>,
    warnings: &mut Vec<String>,
) -> Result<SelectionRule, MappingError> {
    let rule = obj.rule.clone();
    let action = match obj.req_str("rule-action")? {
        "include" => SelectionAction::Include,
        "exclude" => SelectionAction::Exclude,
        "explicit" => SelectionAction::Explicit,
        other => {
            return Err(MappingError::UnknownRuleAction {
                rule,
                rule_type: "selection".into(),
                action: other.into(),
                expected: SELECTION_ACTIONS.into(),
            });
        }
    };
    let loc = obj.req_obj("object-locator")?;
    let (schema, table) = if action == SelectionAction::Explicit {
        (
            Pattern::exact(loc.req_str("schema-name")?),
            Pattern::exact(loc.req_str("table-name")?),
        )
    } else {
        (
            loc.req_pattern("schema-name")?,
            loc.req_pattern("table-name")?,
        )
    };
    let applies_to_tables = match loc.opt_str("table-type")? {
        None | Some("table" | "all") => true,
        Some("view") => {
            warnings.push(format!(
                "{rule}: `object-locator.table-type` is \"view\"; dmsrs replicates base tables only, so this rule matches nothing"
            ));
            false
        }
        Some(other) => {
            return Err(loc.invalid(
                "table-type",
                format!("expected \"table\", \"view\" or \"all\", found {other:?}"),
            ));
        }
    };
    if action == SelectionAction::Include && schema.matches_everything() {
        warnings.push(format!(
            "{rule}: `object-locator.schema-name` is \"%\"; on MySQL/MariaDB this also matches system schemas (mysql, sys, information_schema, performance_schema), AWS advises naming the schema"
        ));
    }
    let load_order = obj.opt_i64("load-order")?.unwrap_or(0);
    let filters = parse_filters(obj)?;
    if !filters.is_empty() {
        if action == SelectionAction::Exclude {
            warnings.push(format!(
                "{rule}: `filters` on an exclude rule are ignored (DMS applies source filters only to include rules)"
            ));
        } else if schema.has_wildcards() || table.has_wildcards() {
            warnings.push(format!(
                "{rule}: `filters` with a wildcard object-locator; DMS supports source filters only on tables named exactly, dmsrs applies them to every matching table"
            ));
        }
    }
    Ok(SelectionRule {
        rule,
        action,
        schema,
        table,
        applies_to_tables,
        load_order,
        filters: if action == SelectionAction::Exclude {
            Vec::new()
        } else {
            filters
        },
    })
}

fn parse_filters(obj: &Obj<'_>) -> Result<Vec<SourceFilter>, MappingError> {
    let Some(items) = obj.opt_array("filters")? else {
        return Ok(Vec::new());
    };
    let mut filters = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let f = obj.element_obj("filters", i, item)?;
        match f.opt_str("filter-type")? {
            None | Some("source") => {}
            Some(other) => {
                return Err(f.invalid(
                    "filter-type",
                    format!("only \"source\" filters are supported, found {other:?}"),
                ));
            }
        }
        let column = f.req_str("column-name")?.to_owned();
        let conds = f
            .opt_array("filter-conditions")?
            .ok_or_else(|| f.missing("filter-conditions"))?;
        if conds.is_empty() {
            return Err(f.invalid("filter-conditions", "needs at least one condition".into()));
        }
        let mut conditions = Vec::with_capacity(conds.len());
        for (j, c) in conds.iter().enumerate() {
            let c = f.element_obj("filter-conditions", j, c)?;
            let cond = match c.req_str("filter-operator")? {
                "eq" => FilterCondition::Eq(c.req_scalar("value")?),
                "noteq" => FilterCondition::NotEq(c.req_scalar("value")?),
                "ste" | "lte" => FilterCondition::Lte(c.req_scalar("value")?),
                "gte" => FilterCondition::Gte(c.req_scalar("value")?),
                "between" => FilterCondition::Between(
                    c.req_scalar("start-value")?,
                    c.req_scalar("end-value")?,
                ),
                "notbetween" => FilterCondition::NotBetween(
                    c.req_scalar("start-value")?,
                    c.req_scalar("end-value")?,
                ),
                "null" => FilterCondition::Null,
                "notnull" => FilterCondition::NotNull,
                other => {
                    return Err(c.invalid(
                        "filter-operator",
                        format!(
                            "unknown operator {other:?}; expected one of eq, noteq, ste, lte, gte, between, notbetween, null, notnull"
                        ),
                    ));
                }
            };
            conditions.push(cond);
        }
        filters.push(SourceFilter { column, conditions });
    }
    Ok(filters)
}

fn parse_transformation(
    obj: &Obj<'_>,
    id: u64,
    warnings: &mut Vec<String>,
) -> Result<Option<TransformRule>, MappingError> {
    let rule = obj.rule.clone();
    let action_name = obj.req_str("rule-action")?;
    if !TRANSFORM_ACTIONS.contains(&action_name) {
        return Err(MappingError::UnknownRuleAction {
            rule,
            rule_type: "transformation".into(),
            action: action_name.into(),
            expected: TRANSFORM_ACTIONS.join(", "),
        });
    }
    let target = match obj.req_str("rule-target")? {
        "schema" => Target::Schema,
        "table" => Target::Table,
        "column" => Target::Column,
        t @ ("table-tablespace" | "index-tablespace") => {
            warnings.push(format!(
                "{rule}: rule-target {t:?} has no meaning for a Kinesis target; rule ignored"
            ));
            return Ok(None);
        }
        other => {
            return Err(obj.invalid(
                "rule-target",
                format!(
                    "expected \"schema\", \"table\", \"column\", \"table-tablespace\" or \"index-tablespace\", found {other:?}"
                ),
            ));
        }
    };
    let require_target = |allowed: &[Target], names: &str| -> Result<(), MappingError> {
        if allowed.contains(&target) {
            Ok(())
        } else {
            Err(obj.invalid(
                "rule-target",
                format!("rule-action {action_name:?} requires \"rule-target\": {names}"),
            ))
        }
    };
    let loc = obj.req_obj("object-locator")?;
    let action = match action_name {
        "rename" => TransformAction::Rename(RenameOp::Rename(obj.req_nonempty_str("value")?)),
        "add-prefix" => {
            TransformAction::Rename(RenameOp::AddPrefix(obj.req_str("value")?.to_owned()))
        }
        "remove-prefix" => {
            TransformAction::Rename(RenameOp::RemovePrefix(obj.req_str("value")?.to_owned()))
        }
        "replace-prefix" => TransformAction::Rename(RenameOp::ReplacePrefix {
            old: obj.req_str("old-value")?.to_owned(),
            new: obj.req_str("value")?.to_owned(),
        }),
        "add-suffix" => {
            TransformAction::Rename(RenameOp::AddSuffix(obj.req_str("value")?.to_owned()))
        }
        "remove-suffix" => {
            TransformAction::Rename(RenameOp::RemoveSuffix(obj.req_str("value")?.to_owned()))
        }
        "replace-suffix" => TransformAction::Rename(RenameOp::ReplaceSuffix {
            old: obj.req_str("old-value")?.to_owned(),
            new: obj.req_str("value")?.to_owned(),
        }),
        "convert-lowercase" => TransformAction::Rename(RenameOp::Lowercase),
        "convert-uppercase" => TransformAction::Rename(RenameOp::Uppercase),
        "remove-column" => {
            require_target(&[Target::Column], "\"column\"")?;
            TransformAction::RemoveColumn
        }
        "include-column" => {
            require_target(&[Target::Column], "\"column\"")?;
            TransformAction::IncludeColumn
        }
        "add-column" => {
            require_target(&[Target::Column, Target::Table], "\"column\" or \"table\"")?;
            let name = obj.req_nonempty_str("value")?;
            let text = obj.req_str("expression")?;
            let expr = ParsedExpr::parse(text).map_err(|e| MappingError::InvalidExpression {
                rule: rule.clone(),
                expression: text.to_owned(),
                message: e.message,
            })?;
            let data_type = match obj.opt_obj("data-type")? {
                Some(d) => Some(parse_data_type(&d)?),
                None => None,
            };
            TransformAction::AddColumn {
                name,
                expr,
                data_type,
            }
        }
        "add-before-image-columns" => {
            require_target(&[Target::Column, Target::Table], "\"column\" or \"table\"")?;
            let def = match obj.opt_obj("before-image-def")? {
                Some(d) => {
                    BeforeImageDef {
                        column_prefix: d.opt_str("column-prefix")?.unwrap_or("BI_").to_owned(),
                        column_suffix: d.opt_str("column-suffix")?.unwrap_or("").to_owned(),
                        column_filter: match d.opt_str("column-filter")? {
                            None | Some("pk-only") => ColumnFilter::PkOnly,
                            Some("non-lob") => ColumnFilter::NonLob,
                            Some("all") => ColumnFilter::All,
                            Some(other) => {
                                return Err(d.invalid(
                                "column-filter",
                                format!("expected \"pk-only\", \"non-lob\" or \"all\", found {other:?}"),
                            ));
                            }
                        },
                    }
                }
                None => BeforeImageDef::default(),
            };
            if def.column_prefix.is_empty() && def.column_suffix.is_empty() {
                return Err(obj.invalid(
                    "before-image-def",
                    "column-prefix and column-suffix are both empty, so before-image columns would collide with the data columns".into(),
                ));
            }
            TransformAction::AddBeforeImage(def)
        }
        "define-primary-key" => {
            require_target(&[Target::Table], "\"table\"")?;
            let def = obj.req_obj("primary-key-def")?;
            match def.opt_str("origin")? {
                None | Some("primary-key" | "unique-index") => {}
                Some(other) => {
                    return Err(def.invalid(
                        "origin",
                        format!("expected \"primary-key\" or \"unique-index\", found {other:?}"),
                    ));
                }
            }
            let cols = def
                .opt_array("columns")?
                .ok_or_else(|| def.missing("columns"))?;
            let mut columns = Vec::with_capacity(cols.len());
            for (i, c) in cols.iter().enumerate() {
                match c {
                    Value::String(s) if !s.is_empty() => columns.push(s.clone()),
                    other => {
                        return Err(def.invalid(
                            &format!("columns[{i}]"),
                            format!("expected a column name, found {}", describe(other)),
                        ));
                    }
                }
            }
            if columns.is_empty() {
                return Err(def.invalid("columns", "needs at least one column name".into()));
            }
            TransformAction::DefinePrimaryKey { columns }
        }
        "change-data-type" => {
            require_target(&[Target::Column], "\"column\"")?;
            let d = obj.req_obj("data-type")?;
            warnings.push(format!(
                "{rule}: change-data-type is recorded in the table plan's column types, but dmsrs does not convert values"
            ));
            TransformAction::ChangeDataType(parse_data_type(&d)?)
        }
        masking => {
            // data-masking-*: the only actions left after the TRANSFORM_ACTIONS check.
            require_target(&[Target::Column], "\"column\"")?;
            warnings.push(format!(
                "{rule}: {masking} is parsed but not honoured by dmsrs; values are NOT masked"
            ));
            TransformAction::Ignored
        }
    };

    let schema = loc.req_pattern("schema-name")?;
    let needs_table = target != Target::Schema;
    let table = if needs_table {
        Some(loc.req_pattern("table-name")?)
    } else {
        None
    };
    let needs_column = target == Target::Column
        && !matches!(
            action,
            TransformAction::AddColumn { .. } | TransformAction::AddBeforeImage(_)
        );
    let column = if needs_column {
        Some(loc.req_pattern("column-name")?)
    } else {
        None
    };
    let data_type = loc.opt_str("data-type")?.map(str::to_owned);
    Ok(Some(TransformRule {
        rule,
        id,
        target,
        schema,
        table,
        column,
        data_type,
        action,
    }))
}

fn parse_data_type(d: &Obj<'_>) -> Result<DataType, MappingError> {
    let type_name = d.req_nonempty_str("type")?;
    let to_u64 = |key: &str| -> Result<Option<u64>, MappingError> {
        match d.opt_i64(key)? {
            None => Ok(None),
            Some(v) => u64::try_from(v)
                .map(Some)
                .map_err(|_| d.invalid(key, format!("must not be negative, found {v}"))),
        }
    };
    Ok(DataType {
        type_name,
        length: to_u64("length")?,
        precision: to_u64("precision")?,
        scale: d.opt_i64("scale")?,
    })
}

fn parse_object_mapping(
    obj: &Obj<'_>,
    id: u64,
    warnings: &mut Vec<String>,
) -> Result<ObjectMappingRule, MappingError> {
    let rule = obj.rule.clone();
    let document = match obj.req_str("rule-action")? {
        "map-record-to-record" => false,
        "map-record-to-document" => true,
        other => {
            return Err(MappingError::UnknownRuleAction {
                rule,
                rule_type: "object-mapping".into(),
                action: other.into(),
                expected: OBJECT_MAPPING_ACTIONS.into(),
            });
        }
    };
    let loc = obj.req_obj("object-locator")?;
    let schema = loc.req_pattern("schema-name")?;
    let table = loc.req_pattern("table-name")?;
    if obj.get("target-table-name").is_some() {
        warnings.push(format!(
            "{rule}: `target-table-name` is parsed but not honoured for Kinesis targets; use a rename transformation"
        ));
    }
    let mut exclude_columns = Vec::new();
    let mut partition_key = PartitionKeySpec::Default;
    if let Some(params) = obj.opt_obj("mapping-parameters")? {
        if let Some(cols) = params.opt_array("exclude-columns")? {
            for (i, c) in cols.iter().enumerate() {
                match c {
                    Value::String(s) => exclude_columns.push(s.to_lowercase()),
                    other => {
                        return Err(params.invalid(
                            &format!("exclude-columns[{i}]"),
                            format!("expected a column name, found {}", describe(other)),
                        ));
                    }
                }
            }
        }
        let constant = match params.opt_obj("partition-key")? {
            Some(pk) => Some(pk.req_scalar("value")?),
            None => None,
        };
        partition_key = match params.opt_str("partition-key-type")? {
            None => match constant {
                Some(v) => PartitionKeySpec::Constant(v),
                None => PartitionKeySpec::Default,
            },
            Some("primary-key") => PartitionKeySpec::PrimaryKey,
            Some("schema-table") => PartitionKeySpec::SchemaTable,
            Some("transaction-id") => PartitionKeySpec::TransactionId,
            Some("constant") => PartitionKeySpec::Constant(
                constant.ok_or_else(|| params.missing("partition-key.value"))?,
            ),
            Some("attribute-name") => {
                PartitionKeySpec::AttributeName(params.req_nonempty_str("partition-key-name")?)
            }
            Some(other) => {
                return Err(params.invalid(
                    "partition-key-type",
                    format!(
                        "expected \"primary-key\", \"schema-table\", \"constant\", \"attribute-name\" or \"transaction-id\", found {other:?}"
                    ),
                ));
            }
        };
        if params.get("attribute-mappings").is_some() {
            warnings.push(format!(
                "{rule}: `mapping-parameters.attribute-mappings` is parsed but not honoured by dmsrs"
            ));
        }
    }
    Ok(ObjectMappingRule {
        rule,
        id,
        document,
        schema,
        table,
        exclude_columns,
        partition_key,
    })
}

/// Short description of a JSON value for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A JSON object inside a rule, with its path for error messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    /// Path prefix ending with `.` (or empty at the rule level).
    prefix: String,
    rule: &'a RuleRef,
}

impl<'a> Obj<'a> {
    fn new(map: &'a Map<String, Value>, rule: &'a RuleRef) -> Self {
        Self {
            map,
            prefix: String::new(),
            rule,
        }
    }

    fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn missing(&self, key: &str) -> MappingError {
        MappingError::MissingField {
            rule: self.rule.clone(),
            path: self.path(key),
        }
    }

    fn invalid(&self, key: &str, message: String) -> MappingError {
        MappingError::InvalidField {
            rule: self.rule.clone(),
            path: self.path(key),
            message,
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn opt_str(&self, key: &str) -> Result<Option<&'a str>, MappingError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => {
                Err(self.invalid(key, format!("expected a string, found {}", describe(other))))
            }
        }
    }

    fn req_str(&self, key: &str) -> Result<&'a str, MappingError> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    fn req_nonempty_str(&self, key: &str) -> Result<String, MappingError> {
        let s = self.req_str(key)?;
        if s.is_empty() {
            return Err(self.invalid(key, "must not be empty".into()));
        }
        Ok(s.to_owned())
    }

    /// A string or a number, as text (filter values, constant partition keys).
    fn req_scalar(&self, key: &str) -> Result<String, MappingError> {
        match self.get(key) {
            None | Some(Value::Null) => Err(self.missing(key)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            Some(other) => Err(self.invalid(
                key,
                format!("expected a string or a number, found {}", describe(other)),
            )),
        }
    }

    /// An integer given as a JSON number or a string of digits.
    fn opt_i64(&self, key: &str) -> Result<Option<i64>, MappingError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.invalid(key, format!("expected an integer, found {n}"))),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.invalid(key, format!("expected an integer, found {s:?}"))),
            Some(other) => Err(self.invalid(
                key,
                format!("expected an integer, found {}", describe(other)),
            )),
        }
    }

    fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, MappingError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => {
                Err(self.invalid(key, format!("expected an array, found {}", describe(other))))
            }
        }
    }

    fn opt_obj(&self, key: &str) -> Result<Option<Obj<'a>>, MappingError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj {
                map,
                prefix: format!("{}{key}.", self.prefix),
                rule: self.rule,
            })),
            Some(other) => Err(self.invalid(
                key,
                format!("expected an object, found {}", describe(other)),
            )),
        }
    }

    fn req_obj(&self, key: &str) -> Result<Obj<'a>, MappingError> {
        self.opt_obj(key)?.ok_or_else(|| self.missing(key))
    }

    /// Element `i` of array `key`, which must be an object.
    fn element_obj(&self, key: &str, i: usize, v: &'a Value) -> Result<Obj<'a>, MappingError> {
        let path = format!("{key}[{i}]");
        match v {
            Value::Object(map) => Ok(Obj {
                map,
                prefix: format!("{}{path}.", self.prefix),
                rule: self.rule,
            }),
            other => Err(self.invalid(
                &path,
                format!("expected an object, found {}", describe(other)),
            )),
        }
    }

    /// A required wildcard pattern.
    fn req_pattern(&self, key: &str) -> Result<Pattern, MappingError> {
        let text = self.req_str(key)?;
        Pattern::parse(text).map_err(|source| MappingError::InvalidPattern {
            rule: self.rule.clone(),
            path: self.path(key),
            pattern: text.to_owned(),
            source,
        })
    }
}
