//! Source filters of selection rules (`"filters": [{"filter-type": "source", ...}]`).
//!
//! DMS semantics: the filters of one rule are AND-ed, the conditions of one filter are OR-ed, and
//! filters apply only to `include` (and, in dmsrs, `explicit`) rules. SQL NULL never satisfies a
//! comparison (`eq`, `noteq`, `ste`/`lte`, `gte`, `between`, `notbetween`); only `null` matches it.
//!
//! Values are compared numerically when both sides parse as finite numbers, otherwise as strings
//! (byte-wise, i.e. by Unicode code point). Dates in ISO format therefore compare correctly as
//! strings.

use std::cmp::Ordering;

/// One `filter-conditions` entry.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterCondition {
    /// `eq`: equal to the value.
    Eq(String),
    /// `noteq`: not equal to the value.
    NotEq(String),
    /// `ste` / `lte`: less than or equal to the value.
    Lte(String),
    /// `gte`: greater than or equal to the value.
    Gte(String),
    /// `between`: `start <= v <= end`.
    Between(String, String),
    /// `notbetween`: `v < start || v > end`.
    NotBetween(String, String),
    /// `null`: the column is NULL.
    Null,
    /// `notnull`: the column is not NULL.
    NotNull,
}

impl FilterCondition {
    /// Whether a column value (`None` = SQL NULL) satisfies the condition.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let Some(v) = value else {
            return matches!(self, FilterCondition::Null);
        };
        match self {
            FilterCondition::Eq(x) => compare(v, x) == Ordering::Equal,
            FilterCondition::NotEq(x) => compare(v, x) != Ordering::Equal,
            FilterCondition::Lte(x) => compare(v, x) != Ordering::Greater,
            FilterCondition::Gte(x) => compare(v, x) != Ordering::Less,
            FilterCondition::Between(lo, hi) => {
                compare(v, lo) != Ordering::Less && compare(v, hi) != Ordering::Greater
            }
            FilterCondition::NotBetween(lo, hi) => {
                compare(v, lo) == Ordering::Less || compare(v, hi) == Ordering::Greater
            }
            FilterCondition::Null => false,
            FilterCondition::NotNull => true,
        }
    }
}

/// Numeric comparison when both sides are finite numbers, string comparison otherwise.
fn compare(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        _ => a.cmp(b),
    }
}

/// A parsed `filters` entry of a selection rule: a column name and OR-ed conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFilter {
    /// `column-name` (exact, case-sensitive; see [`super::TableMappings::plan`] for resolution).
    pub column: String,
    /// `filter-conditions`; the filter passes when any of them matches.
    pub conditions: Vec<FilterCondition>,
}

/// A source filter bound to a column index of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnCondition {
    /// Source column index.
    pub column: usize,
    /// OR-ed conditions.
    pub conditions: Vec<FilterCondition>,
}

/// Row filter of a [`super::TablePlan`]: the OR of the filter sets of every matching include rule,
/// each set being the AND of its column conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFilter {
    /// One entry per matching `include`/`explicit` rule that has filters.
    pub alternatives: Vec<Vec<ColumnCondition>>,
}

impl RowFilter {
    /// Whether a row passes. `get(i)` returns source column `i`'s text, `None` for NULL.
    pub fn matches<S: AsRef<str>>(&self, get: impl Fn(usize) -> Option<S>) -> bool {
        self.alternatives.iter().any(|all| {
            all.iter().all(|cc| {
                let v = get(cc.column);
                let v = v.as_ref().map(AsRef::as_ref);
                cc.conditions.iter().any(|c| c.matches(v))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        use FilterCondition::*;
        let s = |x: &str| x.to_owned();
        let cases: Vec<(FilterCondition, Option<&str>, bool)> = vec![
            (Eq(s("10")), Some("10"), true),
            (Eq(s("10")), Some("10.0"), true),
            (Eq(s("10")), Some("9"), false),
            (Eq(s("abc")), Some("abc"), true),
            (Eq(s("abc")), None, false),
            (NotEq(s("abc")), Some("abd"), true),
            (NotEq(s("abc")), None, false),
            (Lte(s("10")), Some("9"), true),
            (Lte(s("10")), Some("10"), true),
            (Lte(s("10")), Some("11"), false),
            // numeric, not lexicographic:
            (Lte(s("10")), Some("9.5"), true),
            (Gte(s("10")), Some("100"), true),
            (Gte(s("b")), Some("a"), false),
            (
                Between(s("2020-01-01"), s("2020-12-31")),
                Some("2020-06-15"),
                true,
            ),
            (
                Between(s("2020-01-01"), s("2020-12-31")),
                Some("2021-01-01"),
                false,
            ),
            (Between(s("1"), s("5")), Some("5"), true),
            (NotBetween(s("1"), s("5")), Some("6"), true),
            (NotBetween(s("1"), s("5")), Some("3"), false),
            (NotBetween(s("1"), s("5")), None, false),
            (Null, None, true),
            (Null, Some(""), false),
            (NotNull, Some(""), true),
            (NotNull, None, false),
        ];
        for (c, v, expected) in cases {
            assert_eq!(c.matches(v), expected, "{c:?} on {v:?}");
        }
    }

    #[test]
    fn row_filter_and_or() {
        let f = RowFilter {
            alternatives: vec![vec![
                ColumnCondition {
                    column: 0,
                    conditions: vec![
                        FilterCondition::Eq("a".into()),
                        FilterCondition::Eq("b".into()),
                    ],
                },
                ColumnCondition {
                    column: 1,
                    conditions: vec![FilterCondition::Gte("10".into())],
                },
            ]],
        };
        let row = |a: Option<&'static str>, b: Option<&'static str>| {
            move |i: usize| if i == 0 { a } else { b }
        };
        assert!(f.matches(row(Some("a"), Some("10"))));
        assert!(f.matches(row(Some("b"), Some("11"))));
        assert!(!f.matches(row(Some("c"), Some("11"))));
        assert!(!f.matches(row(Some("a"), Some("9"))));
        assert!(!f.matches(row(Some("a"), None)));
    }
}
