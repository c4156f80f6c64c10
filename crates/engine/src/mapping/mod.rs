//! AWS DMS table mappings (`{"rules": [...]}`): which tables are replicated and how their records look.
//!
//! Parse once with [`TableMappings::from_json`], then, for every source table, call
//! [`TableMappings::plan`] with the table's columns. The returned [`TablePlan`] has every rule already
//! resolved to column indexes, so the per-row work is index lookups, [`Expr::eval`] and
//! [`RowFilter::matches`].
//!
//! # Semantics
//!
//! * **Selection.** A table is selected when at least one `include`/`explicit` rule matches it and no
//!   `exclude` rule does, whatever the order of the rules. `include`/`exclude` locators use DMS wildcards
//!   (see [`Pattern`]); `explicit` locators are exact names. Matching is case-sensitive. Rules with
//!   `table-type: view` match nothing (dmsrs replicates base tables). A table's load order is the
//!   highest `load-order` among its matching include rules (default 0); see
//!   [`TablePlan::sort_for_full_load`].
//! * **Source filters** of include/explicit rules: filters of one rule are AND-ed, conditions of one
//!   filter OR-ed; when several include rules match a table, a row passes if it passes any one of them
//!   (a matching rule without filters lets every row pass).
//! * **Transformations.** For each object (schema, table, column) at most one *renaming* action applies:
//!   the matching rule with the lowest `rule-id` (rename, add/remove/replace-prefix, add/remove/
//!   replace-suffix and convert-lowercase/uppercase all rename). Locators are matched against *source*
//!   names. Column-set actions combine: `remove-column` drops matching columns; once any
//!   `include-column` rule matches a table, only columns matched by an include-column rule are kept
//!   (when a column matches both include-column and remove-column rules, the lower rule-id decides);
//!   `add-column` rules append computed columns in rule-id order. `define-primary-key`,
//!   `add-before-image-columns` and `change-data-type` take the lowest matching rule-id.
//! * **Object mapping.** The matching `object-mapping` rule with the lowest rule-id gives the record
//!   layout, the `exclude-columns` (compared case-insensitively with both the source and the output
//!   column names) and the partition key.
//!
//! Things parsed but not honoured are reported in [`TableMappings::warnings`].

mod error;
mod expr;
mod filter;
mod rules;
#[cfg(test)]
mod tests;
mod wildcard;

use std::collections::HashSet;

pub use error::{MappingError, RuleRef};
pub use expr::Expr;
pub use filter::{ColumnCondition, FilterCondition, RowFilter, SourceFilter};
pub use wildcard::{Pattern, PatternError};

use crate::settings::ColumnFilter;
use rules::{
    ObjectMappingRule, ParsedRules, SelectionAction, SelectionRule, Target, TransformAction,
    TransformRule,
};

/// A column of a source table, as the engine read it from the source catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceColumn {
    /// Column name as in the source.
    pub name: String,
    /// Part of the table's primary key.
    pub is_primary_key: bool,
    /// A LOB column (BLOB/TEXT families); relevant for before-image `non-lob` filters.
    pub is_lob: bool,
    /// Source data type, lower-case (`"varchar"`); matched by `object-locator.data-type`
    /// case-insensitively.
    pub data_type: String,
}

/// `data-type` of `add-column` / `change-data-type` rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataType {
    /// `type` as written (`"string"`, `"int8"`, ...).
    pub type_name: String,
    /// `length`, if given.
    pub length: Option<u64>,
    /// `precision`, if given.
    pub precision: Option<u64>,
    /// `scale`, if given.
    pub scale: Option<i64>,
}

/// `before-image-def` of an `add-before-image-columns` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeforeImageDef {
    /// `column-prefix` (default `"BI_"`).
    pub column_prefix: String,
    /// `column-suffix` (default `""`).
    pub column_suffix: String,
    /// `column-filter` (default `pk-only`).
    pub column_filter: ColumnFilter,
}

impl Default for BeforeImageDef {
    fn default() -> Self {
        Self {
            column_prefix: "BI_".into(),
            column_suffix: String::new(),
            column_filter: ColumnFilter::PkOnly,
        }
    }
}

/// How the Kinesis partition key of a table's data records is chosen (`mapping-parameters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionKeySpec {
    /// No object-mapping rule says: the caller applies the DMS default (primary key for full load,
    /// `schema.table` for CDC unless parallel apply is set).
    Default,
    /// `primary-key`: the primary-key value.
    PrimaryKey,
    /// `schema-table`: `schema.table`.
    SchemaTable,
    /// `constant`: this fixed value.
    Constant(String),
    /// `attribute-name`: the value of this output column (resolved in
    /// [`TablePlan::partition_key_column`]).
    AttributeName(String),
    /// `transaction-id`: the source transaction id.
    TransactionId,
}

/// Record layout chosen by the object-mapping rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordLayout {
    /// `map-record-to-record` (and the default): one attribute per column.
    #[default]
    Record,
    /// `map-record-to-document`: the columns go under a `"_doc"` attribute.
    Document,
}

/// Where an output column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSource {
    /// The source column at this index of the `columns` slice given to [`TableMappings::plan`].
    Source {
        /// Source column index.
        index: usize,
    },
    /// Computed by an `add-column` expression.
    Expression(Expr),
}

/// One output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedColumn {
    /// Output (target) name, after renaming.
    pub name: String,
    /// Where the value comes from.
    pub source: ColumnSource,
    /// Declared type from `change-data-type` or from the `data-type` of `add-column`; `None` means the
    /// source type. Informational: values are not converted.
    pub data_type: Option<DataType>,
}

/// A before-image column added by `add-before-image-columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeforeImageColumn {
    /// Output name: prefix + output column name + suffix (e.g. `BI_id`).
    pub name: String,
    /// Source column whose before-image value it carries.
    pub source_index: usize,
}

/// Resolved `add-before-image-columns` rule for a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeforeImagePlan {
    /// The rule's definition.
    pub def: BeforeImageDef,
    /// The columns to add, in output column order.
    pub columns: Vec<BeforeImageColumn>,
}

/// Everything the engine needs to replicate one source table, with all rules resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// Source schema name.
    pub source_schema: String,
    /// Source table name.
    pub source_table: String,
    /// Target schema name (after schema renaming).
    pub target_schema: String,
    /// Target table name (after table renaming).
    pub target_table: String,
    /// Full-load priority: higher loads first.
    pub load_order: i64,
    /// Output columns in output order: kept source columns in source order, then added columns.
    pub columns: Vec<PlannedColumn>,
    /// Source column indexes of the primary key (from `define-primary-key`, else the source key), in
    /// key order.
    pub primary_key: Vec<usize>,
    /// Partition-key choice.
    pub partition_key: PartitionKeySpec,
    /// For [`PartitionKeySpec::AttributeName`]: index into [`TablePlan::columns`].
    pub partition_key_column: Option<usize>,
    /// Record layout.
    pub layout: RecordLayout,
    /// Before-image columns from an `add-before-image-columns` rule.
    pub before_image: Option<BeforeImagePlan>,
    /// Source filters; `None` when every row is replicated.
    pub row_filter: Option<RowFilter>,
}

impl TablePlan {
    /// Index into [`TablePlan::columns`] of the output column with this name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Whether a row passes the source filters. `get(i)` gives source column `i`'s text (`None` = NULL).
    pub fn row_passes<S: AsRef<str>>(&self, get: impl Fn(usize) -> Option<S>) -> bool {
        self.row_filter.as_ref().is_none_or(|f| f.matches(get))
    }

    /// Sorts plans into full-load order: `load_order` descending, then source schema and table name.
    pub fn sort_for_full_load(plans: &mut [TablePlan]) {
        plans.sort_by(|a, b| {
            b.load_order
                .cmp(&a.load_order)
                .then_with(|| a.source_schema.cmp(&b.source_schema))
                .then_with(|| a.source_table.cmp(&b.source_table))
        });
    }
}

/// A parsed and validated table mapping.
#[derive(Debug, Clone)]
pub struct TableMappings {
    rules: ParsedRules,
}

impl TableMappings {
    /// Parses a DMS table-mapping document.
    ///
    /// # Errors
    /// [`MappingError`] for invalid JSON, a missing or mistyped field, an unknown rule type or action,
    /// a malformed wildcard or expression, a duplicate rule-id, or no selection rule. The message names
    /// the rule and the JSON path to fix.
    pub fn from_json(json: &str) -> Result<Self, MappingError> {
        Ok(Self {
            rules: rules::parse_document(json)?,
        })
    }

    /// Things that were parsed but are not (fully) honoured, and other hints, one sentence each.
    pub fn warnings(&self) -> &[String] {
        &self.rules.warnings
    }

    /// Whether the selection rules select this (base) table.
    pub fn is_selected(&self, schema: &str, table: &str) -> bool {
        let sel = &self.rules.selection;
        sel.iter()
            .any(|r| r.action != SelectionAction::Exclude && r.matches(schema, table))
            && !sel
                .iter()
                .any(|r| r.action == SelectionAction::Exclude && r.matches(schema, table))
    }

    /// Resolves every rule for one source table.
    ///
    /// Returns `Ok(None)` when the table is not selected. `columns` are the table's columns in source
    /// order; indexes in the plan refer to this slice. Column names in expressions, filters and
    /// `define-primary-key` are looked up exactly, then case-insensitively (MySQL column names are
    /// case-insensitive).
    ///
    /// # Errors
    /// [`MappingError::UnknownColumn`] when a rule that applies to this table names a column it does not
    /// have, [`MappingError::DuplicateColumn`] when two output columns would get the same name.
    pub fn plan(
        &self,
        schema: &str,
        table: &str,
        columns: &[SourceColumn],
    ) -> Result<Option<TablePlan>, MappingError> {
        if !self.is_selected(schema, table) {
            return Ok(None);
        }
        let ctx = TableCtx {
            schema,
            table,
            columns,
        };
        let includes: Vec<&SelectionRule> = self
            .rules
            .selection
            .iter()
            .filter(|r| r.action != SelectionAction::Exclude && r.matches(schema, table))
            .collect();
        let load_order = includes.iter().map(|r| r.load_order).max().unwrap_or(0);
        let row_filter = ctx.row_filter(&includes)?;

        // Transformation rules are sorted by rule-id, so `find_map` yields the lowest matching one.
        let transforms = &self.rules.transforms;
        let target_schema = transforms
            .iter()
            .filter(|t| t.target == Target::Schema && t.schema.matches(schema))
            .find_map(|t| t.rename(schema))
            .unwrap_or_else(|| schema.to_owned());
        let target_table = transforms
            .iter()
            .filter(|t| t.target == Target::Table && t.matches_table(schema, table))
            .find_map(|t| t.rename(table))
            .unwrap_or_else(|| table.to_owned());
        let table_rules: Vec<&TransformRule> = transforms
            .iter()
            .filter(|t| t.target != Target::Schema && t.matches_table(schema, table))
            .collect();

        let mut out = ctx.source_columns(&table_rules);
        ctx.add_columns(&table_rules, &mut out)?;
        let primary_key = ctx.primary_key(&table_rules)?;

        let object_mapping = self
            .rules
            .object_mappings
            .iter()
            .find(|o| o.schema.matches(schema) && o.table.matches(table));
        let mut layout = RecordLayout::Record;
        let mut partition_key = PartitionKeySpec::Default;
        let mut partition_key_column = None;
        if let Some(o) = object_mapping {
            ctx.exclude_columns(o, &mut out);
            if o.document {
                layout = RecordLayout::Document;
            }
            partition_key = o.partition_key.clone();
            if let PartitionKeySpec::AttributeName(name) = &partition_key {
                partition_key_column = Some(
                    out.iter()
                        .position(|c| c.name == *name)
                        .or_else(|| out.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
                        .ok_or_else(|| {
                            ctx.unknown(&o.rule, name, "mapping-parameters.partition-key-name")
                        })?,
                );
            }
        }

        let mut seen = HashSet::with_capacity(out.len());
        for c in &out {
            if !seen.insert(c.name.as_str()) {
                return Err(ctx.duplicate(&c.name));
            }
        }
        let before_image = ctx.before_image(&table_rules, &out, &primary_key);
        if let Some(b) = before_image
            .iter()
            .flat_map(|b| &b.columns)
            .find(|b| seen.contains(b.name.as_str()))
        {
            return Err(ctx.duplicate(&b.name));
        }

        Ok(Some(TablePlan {
            source_schema: schema.to_owned(),
            source_table: table.to_owned(),
            target_schema,
            target_table,
            load_order,
            columns: out,
            primary_key,
            partition_key,
            partition_key_column,
            layout,
            before_image,
            row_filter,
        }))
    }
}

/// One source table being planned.
struct TableCtx<'a> {
    schema: &'a str,
    table: &'a str,
    columns: &'a [SourceColumn],
}

impl TableCtx<'_> {
    fn unknown(&self, rule: &RuleRef, column: &str, context: &str) -> MappingError {
        MappingError::UnknownColumn {
            rule: rule.clone(),
            table: format!("{}.{}", self.schema, self.table),
            column: column.to_owned(),
            context: context.to_owned(),
        }
    }

    fn duplicate(&self, column: &str) -> MappingError {
        MappingError::DuplicateColumn {
            table: format!("{}.{}", self.schema, self.table),
            column: column.to_owned(),
        }
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        lookup_column(self.columns, name)
    }

    /// The OR of the filter sets of the matching include rules; `None` if one of them has no filter.
    fn row_filter(&self, includes: &[&SelectionRule]) -> Result<Option<RowFilter>, MappingError> {
        if includes.iter().any(|r| r.filters.is_empty()) {
            return Ok(None);
        }
        let mut alternatives = Vec::with_capacity(includes.len());
        for r in includes {
            let mut all = Vec::with_capacity(r.filters.len());
            for (i, f) in r.filters.iter().enumerate() {
                let column = self.lookup(&f.column).ok_or_else(|| {
                    self.unknown(&r.rule, &f.column, &format!("filters[{i}].column-name"))
                })?;
                all.push(ColumnCondition {
                    column,
                    conditions: f.conditions.clone(),
                });
            }
            alternatives.push(all);
        }
        Ok(Some(RowFilter { alternatives }))
    }

    /// Kept source columns, renamed, with declared types.
    fn source_columns(&self, table_rules: &[&TransformRule]) -> Vec<PlannedColumn> {
        let include_mode = table_rules
            .iter()
            .any(|t| matches!(t.action, TransformAction::IncludeColumn));
        let mut out = Vec::with_capacity(self.columns.len());
        for (index, col) in self.columns.iter().enumerate() {
            let col_rules = || {
                table_rules.iter().filter(|t| {
                    t.target == Target::Column && t.matches_column(&col.name, &col.data_type)
                })
            };
            let keep = col_rules()
                .find_map(|t| match t.action {
                    TransformAction::IncludeColumn => Some(true),
                    TransformAction::RemoveColumn => Some(false),
                    _ => None,
                })
                .unwrap_or(!include_mode);
            if !keep {
                continue;
            }
            out.push(PlannedColumn {
                name: col_rules()
                    .find_map(|t| t.rename(&col.name))
                    .unwrap_or_else(|| col.name.clone()),
                source: ColumnSource::Source { index },
                data_type: col_rules().find_map(|t| match &t.action {
                    TransformAction::ChangeDataType(d) => Some(d.clone()),
                    _ => None,
                }),
            });
        }
        out
    }

    /// Appends `add-column` columns in rule-id order.
    fn add_columns(
        &self,
        table_rules: &[&TransformRule],
        out: &mut Vec<PlannedColumn>,
    ) -> Result<(), MappingError> {
        for t in table_rules {
            if let TransformAction::AddColumn {
                name,
                expr,
                data_type,
            } = &t.action
            {
                let expr = expr
                    .resolve(&|n| self.lookup(n))
                    .map_err(|missing| self.unknown(&t.rule, missing, "expression"))?;
                out.push(PlannedColumn {
                    name: name.clone(),
                    source: ColumnSource::Expression(expr),
                    data_type: data_type.clone(),
                });
            }
        }
        Ok(())
    }

    /// From the lowest matching `define-primary-key` rule, else the source key.
    fn primary_key(&self, table_rules: &[&TransformRule]) -> Result<Vec<usize>, MappingError> {
        let defined = table_rules.iter().find_map(|t| match &t.action {
            TransformAction::DefinePrimaryKey { columns } => Some((t, columns)),
            _ => None,
        });
        match defined {
            Some((t, names)) => names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    self.lookup(n).ok_or_else(|| {
                        self.unknown(&t.rule, n, &format!("primary-key-def.columns[{i}]"))
                    })
                })
                .collect(),
            None => Ok(self
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_primary_key)
                .map(|(i, _)| i)
                .collect()),
        }
    }

    /// Drops the object-mapping rule's `exclude-columns` (by output or source name, case-insensitive).
    fn exclude_columns(&self, rule: &ObjectMappingRule, out: &mut Vec<PlannedColumn>) {
        if rule.exclude_columns.is_empty() {
            return;
        }
        let excluded = |name: &str| rule.exclude_columns.contains(&name.to_lowercase());
        out.retain(|c| {
            let source_name = match c.source {
                ColumnSource::Source { index } => self.columns.get(index).map(|s| s.name.as_str()),
                ColumnSource::Expression(_) => None,
            };
            !(excluded(&c.name) || source_name.is_some_and(excluded))
        });
    }

    /// Before-image columns of the lowest matching `add-before-image-columns` rule.
    fn before_image(
        &self,
        table_rules: &[&TransformRule],
        out: &[PlannedColumn],
        primary_key: &[usize],
    ) -> Option<BeforeImagePlan> {
        let def = table_rules.iter().find_map(|t| match &t.action {
            TransformAction::AddBeforeImage(def) => Some(def),
            _ => None,
        })?;
        let columns = out
            .iter()
            .filter_map(|c| match c.source {
                ColumnSource::Source { index } => Some((c, index)),
                ColumnSource::Expression(_) => None,
            })
            .filter(|(_, index)| {
                let is_lob = self.columns.get(*index).is_some_and(|s| s.is_lob);
                def.column_filter
                    .includes(primary_key.contains(index), is_lob)
            })
            .map(|(c, index)| BeforeImageColumn {
                name: format!("{}{}{}", def.column_prefix, c.name, def.column_suffix),
                source_index: index,
            })
            .collect();
        Some(BeforeImagePlan {
            def: def.clone(),
            columns,
        })
    }
}

/// Finds a source column by exact name, then by a unique case-insensitive match.
fn lookup_column(columns: &[SourceColumn], name: &str) -> Option<usize> {
    if let Some(i) = columns.iter().position(|c| c.name == name) {
        return Some(i);
    }
    let lower = name.to_lowercase();
    let mut found = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name.to_lowercase() == lower);
    match (found.next(), found.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}
