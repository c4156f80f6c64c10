//! Rule-matrix tests of table mappings.
#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

fn col(name: &str) -> SourceColumn {
    SourceColumn {
        name: name.into(),
        is_primary_key: false,
        is_lob: false,
        data_type: "varchar".into(),
    }
}

fn pk(name: &str) -> SourceColumn {
    SourceColumn {
        is_primary_key: true,
        data_type: "int".into(),
        ..col(name)
    }
}

fn lob(name: &str) -> SourceColumn {
    SourceColumn {
        is_lob: true,
        data_type: "longtext".into(),
        ..col(name)
    }
}

/// `id` (pk), `first_name`, `last_name`, `bio` (lob).
fn people() -> Vec<SourceColumn> {
    vec![pk("id"), col("first_name"), col("last_name"), lob("bio")]
}

fn mappings(rules: serde_json::Value) -> TableMappings {
    TableMappings::from_json(&json!({ "rules": rules }).to_string()).unwrap()
}

fn error(rules: serde_json::Value) -> MappingError {
    TableMappings::from_json(&json!({ "rules": rules }).to_string()).unwrap_err()
}

fn include_all(id: &str) -> serde_json::Value {
    json!({"rule-type": "selection", "rule-id": id, "rule-name": id,
           "object-locator": {"schema-name": "s", "table-name": "%"}, "rule-action": "include"})
}

fn transform(
    id: &str,
    target: &str,
    action: &str,
    locator: serde_json::Value,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut rule = json!({"rule-type": "transformation", "rule-id": id, "rule-name": id,
        "rule-target": target, "rule-action": action, "object-locator": locator});
    if let (Some(r), Some(e)) = (rule.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    rule
}

fn plan(m: &TableMappings, table: &str) -> TablePlan {
    m.plan("s", table, &people()).unwrap().unwrap()
}

fn names(p: &TablePlan) -> Vec<&str> {
    p.columns.iter().map(|c| c.name.as_str()).collect()
}

// ---------------------------------------------------------------- selection

#[test]
fn seed_mapping_tables_a_to_m() {
    let m = TableMappings::from_json(
        r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "tables-a-to-m", "object-locator": {"schema-name": "dms_sample", "table-name": "a%"}, "rule-action": "include"}]}"#,
    )
    .unwrap();
    assert!(m.is_selected("dms_sample", "accounts"));
    assert!(m.is_selected("dms_sample", "authors"));
    assert!(!m.is_selected("dms_sample", "novels"));
    assert!(!m.is_selected("other", "accounts"));
    assert!(!m.is_selected("DMS_SAMPLE", "accounts"), "case-sensitive");
    assert!(m.warnings().is_empty(), "{:?}", m.warnings());
    let p = m
        .plan("dms_sample", "accounts", &people())
        .unwrap()
        .unwrap();
    assert_eq!(p.target_schema, "dms_sample");
    assert_eq!(p.target_table, "accounts");
    assert_eq!(names(&p), ["id", "first_name", "last_name", "bio"]);
    assert_eq!(p.columns[1].source, ColumnSource::Source { index: 1 });
    assert_eq!(p.primary_key, [0]);
    assert_eq!(p.partition_key, PartitionKeySpec::Default);
    assert_eq!(p.layout, RecordLayout::Record);
    assert!(p.before_image.is_none() && p.row_filter.is_none());
    assert!(m.plan("dms_sample", "novels", &people()).unwrap().is_none());
}

#[test]
fn include_exclude_precedence_regardless_of_order() {
    let include = json!({"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": "Test", "table-name": "%"}});
    let exclude = json!({"rule-type": "selection", "rule-id": "2", "rule-action": "exclude",
        "object-locator": {"schema-name": "Test", "table-name": "DMS%"}});
    for rules in [json!([include, exclude]), json!([exclude, include])] {
        let m = mappings(rules);
        assert!(m.is_selected("Test", "Orders"));
        assert!(!m.is_selected("Test", "DMS_Orders"));
        assert!(!m.is_selected("Test", "DMS"));
        assert!(!m.is_selected("Other", "Orders"));
        assert!(m.plan("Test", "DMS_x", &people()).unwrap().is_none());
    }
    // Exclude-only: nothing is selected, with a warning.
    let m = mappings(json!([exclude]));
    assert!(!m.is_selected("Test", "Orders"));
    assert!(m.warnings().iter().any(|w| w.contains("only exclude")));
}

#[test]
fn wildcard_matrix_in_rules() {
    let cases: &[(&str, &str, bool)] = &[
        ("%", "anything", true),
        ("%", "", true),
        ("a%", "", false),
        ("_", "x", true),
        ("_", "xy", false),
        ("dms[_]%", "dms_a", true),
        ("dms[_]%", "dmsxa", false),
        ("dms_%", "dmsxa", true),
        ("[ab]%", "b1", true),
        ("[ab]%", "c1", false),
        ("t[0-9]", "t7", true),
        ("t[0-9]", "tx", false),
        ("long_pattern_name", "long", false),
    ];
    for (pattern, table, expected) in cases {
        let m = mappings(
            json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
            "object-locator": {"schema-name": "s", "table-name": pattern}}]),
        );
        assert_eq!(
            m.is_selected("s", table),
            *expected,
            "{pattern:?} vs {table:?}"
        );
    }
}

#[test]
fn explicit_is_exact() {
    let m = mappings(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "explicit",
        "object-locator": {"schema-name": "dms_sample", "table-name": "a%"}}]),
    );
    assert!(m.is_selected("dms_sample", "a%"));
    assert!(!m.is_selected("dms_sample", "accounts"));
    assert!(
        !m.is_selected("dmsXsample", "a%"),
        "`_` is literal in explicit rules"
    );
    // Malformed wildcard syntax is fine in explicit rules: nothing is a wildcard.
    let m = mappings(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "explicit",
        "object-locator": {"schema-name": "s", "table-name": "odd[name"}}]),
    );
    assert!(m.is_selected("s", "odd[name"));
    // Explicit plus exclude: the exclude still wins.
    let m = mappings(json!([
        {"rule-type": "selection", "rule-id": "1", "rule-action": "explicit",
         "object-locator": {"schema-name": "s", "table-name": "t"}},
        {"rule-type": "selection", "rule-id": "2", "rule-action": "exclude",
         "object-locator": {"schema-name": "s", "table-name": "%"}}]));
    assert!(!m.is_selected("s", "t"));
}

#[test]
fn table_type() {
    let rule = |tt: &str| {
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": "s", "table-name": "%", "table-type": tt}}])
    };
    assert!(mappings(rule("table")).is_selected("s", "t"));
    assert!(mappings(rule("all")).is_selected("s", "t"));
    let views = mappings(rule("view"));
    assert!(!views.is_selected("s", "t"));
    assert!(views.warnings().iter().any(|w| w.contains("view")));
    let e = error(rule("synonym"));
    assert!(e.to_string().contains("`object-locator.table-type`"), "{e}");
}

#[test]
fn load_order_and_full_load_sort() {
    let m = mappings(json!([
        {"rule-type": "selection", "rule-id": "1", "rule-action": "include", "load-order": 1,
         "object-locator": {"schema-name": "s", "table-name": "%"}},
        {"rule-type": "selection", "rule-id": "2", "rule-action": "include", "load-order": "5",
         "object-locator": {"schema-name": "s", "table-name": "b%"}},
        {"rule-type": "selection", "rule-id": "3", "rule-action": "include",
         "object-locator": {"schema-name": "t", "table-name": "%"}}
    ]));
    let mut plans: Vec<TablePlan> = [("s", "c"), ("t", "z"), ("s", "a"), ("s", "b2"), ("s", "b1")]
        .iter()
        .map(|(s, t)| m.plan(s, t, &people()).unwrap().unwrap())
        .collect();
    TablePlan::sort_for_full_load(&mut plans);
    let order: Vec<_> = plans
        .iter()
        .map(|p| {
            (
                p.source_schema.as_str(),
                p.source_table.as_str(),
                p.load_order,
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("s", "b1", 5),
            ("s", "b2", 5),
            ("s", "a", 1),
            ("s", "c", 1),
            ("t", "z", 0)
        ]
    );
}

#[test]
fn source_filters() {
    let m = mappings(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": "s", "table-name": "people"},
        "filters": [
            {"filter-type": "source", "column-name": "last_name",
             "filter-conditions": [{"filter-operator": "eq", "value": "Smith"},
                                   {"filter-operator": "eq", "value": "Jones"}]},
            {"filter-type": "source", "column-name": "id",
             "filter-conditions": [{"filter-operator": "between", "start-value": "1", "end-value": 100}]}
        ]}]),
    );
    let p = plan(&m, "people");
    let f = p.row_filter.as_ref().unwrap();
    assert_eq!(f.alternatives.len(), 1);
    assert_eq!(f.alternatives[0][0].column, 2);
    assert_eq!(
        f.alternatives[0][1].conditions,
        [FilterCondition::Between("1".into(), "100".into())]
    );
    let row = |id: Option<&'static str>, last: Option<&'static str>| {
        move |i: usize| match i {
            0 => id,
            2 => last,
            _ => Some("x"),
        }
    };
    assert!(p.row_passes(row(Some("5"), Some("Smith"))));
    assert!(p.row_passes(row(Some("100"), Some("Jones"))));
    assert!(!p.row_passes(row(Some("101"), Some("Jones"))));
    assert!(!p.row_passes(row(Some("5"), Some("Brown"))));
    assert!(!p.row_passes(row(Some("5"), None)));

    // Every operator parses.
    let m = mappings(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": "s", "table-name": "people"},
        "filters": [{"filter-type": "source", "column-name": "id", "filter-conditions": [
            {"filter-operator": "eq", "value": 1}, {"filter-operator": "noteq", "value": "2"},
            {"filter-operator": "ste", "value": "3"}, {"filter-operator": "lte", "value": "3"},
            {"filter-operator": "gte", "value": "4"},
            {"filter-operator": "between", "start-value": "1", "end-value": "2"},
            {"filter-operator": "notbetween", "start-value": "1", "end-value": "2"},
            {"filter-operator": "null"}, {"filter-operator": "notnull"}]}]}]),
    );
    assert_eq!(
        plan(&m, "people").row_filter.unwrap().alternatives[0][0]
            .conditions
            .len(),
        9
    );

    // A second matching include rule without filters lets every row through.
    let m = mappings(json!([
        {"rule-type": "selection", "rule-id": "1", "rule-action": "include",
         "object-locator": {"schema-name": "s", "table-name": "people"},
         "filters": [{"filter-type": "source", "column-name": "id",
                      "filter-conditions": [{"filter-operator": "eq", "value": "1"}]}]},
        include_all("2")]));
    assert!(plan(&m, "people").row_filter.is_none());

    // Unknown filter column: error at plan time naming the rule and field.
    let m = mappings(
        json!([{"rule-type": "selection", "rule-id": "7", "rule-action": "include",
        "object-locator": {"schema-name": "s", "table-name": "people"},
        "filters": [{"filter-type": "source", "column-name": "nope",
                     "filter-conditions": [{"filter-operator": "null"}]}]}]),
    );
    let e = m.plan("s", "people", &people()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "rule-id 7 (rules[0]): table s.people has no column \"nope\" (referenced by filters[0].column-name)"
    );

    // Parse errors.
    let e = error(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": "s", "table-name": "t"},
        "filters": [{"filter-type": "source", "column-name": "id",
                     "filter-conditions": [{"filter-operator": "like", "value": "1"}]}]}]),
    );
    assert!(
        e.to_string().contains(
            "`filters[0].filter-conditions[0].filter-operator`: unknown operator \"like\""
        ),
        "{e}"
    );
    let e = error(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": "s", "table-name": "t"},
        "filters": [{"filter-type": "source", "column-name": "id",
                     "filter-conditions": [{"filter-operator": "between", "start-value": "1"}]}]}]),
    );
    assert_eq!(
        e.to_string(),
        "rule-id 1 (rules[0]): missing required field `filters[0].filter-conditions[0].end-value`"
    );
}

// ---------------------------------------------------------------- transformations

#[test]
fn rename_schema_table_column() {
    let m = mappings(json!([
        include_all("1"),
        transform(
            "2",
            "schema",
            "rename",
            json!({"schema-name": "s"}),
            json!({"value": "s2"})
        ),
        transform(
            "3",
            "table",
            "rename",
            json!({"schema-name": "s", "table-name": "people"}),
            json!({"value": "persons"})
        ),
        transform(
            "4",
            "column",
            "rename",
            json!({"schema-name": "s", "table-name": "people", "column-name": "first_name"}),
            json!({"value": "given"})
        ),
    ]));
    let p = plan(&m, "people");
    assert_eq!(
        (p.target_schema.as_str(), p.target_table.as_str()),
        ("s2", "persons")
    );
    assert_eq!(names(&p), ["id", "given", "last_name", "bio"]);
    let other = plan(&m, "other");
    assert_eq!(
        (other.target_schema.as_str(), other.target_table.as_str()),
        ("s2", "other")
    );
    assert_eq!(names(&other), ["id", "first_name", "last_name", "bio"]);
}

#[test]
fn every_renaming_action() {
    let cases: &[(&str, serde_json::Value, &str, &str)] = &[
        (
            "add-prefix",
            json!({"value": "DMS_"}),
            "people",
            "DMS_people",
        ),
        ("remove-prefix", json!({"value": "pe"}), "people", "ople"),
        ("remove-prefix", json!({"value": "xx"}), "people", "people"),
        (
            "replace-prefix",
            json!({"old-value": "peo", "value": "PEO"}),
            "people",
            "PEOple",
        ),
        (
            "replace-prefix",
            json!({"old-value": "zz", "value": "PEO"}),
            "people",
            "people",
        ),
        ("add-suffix", json!({"value": "_v1"}), "people", "people_v1"),
        ("remove-suffix", json!({"value": "ple"}), "people", "peo"),
        (
            "replace-suffix",
            json!({"old-value": "ple", "value": "PLE"}),
            "people",
            "peoPLE",
        ),
        ("convert-uppercase", json!({}), "people", "PEOPLE"),
        ("convert-lowercase", json!({}), "PeOple", "people"),
        ("rename", json!({"value": "humans"}), "people", "humans"),
    ];
    for (action, extra, table, expected) in cases {
        // table target
        let m = mappings(json!([
            include_all("1"),
            transform(
                "2",
                "table",
                action,
                json!({"schema-name": "s", "table-name": "%"}),
                extra.clone()
            )
        ]));
        assert_eq!(plan(&m, table).target_table, *expected, "table {action}");
        // schema target
        let m = mappings(json!([
            {"rule-type": "selection", "rule-id": "1", "rule-action": "include",
             "object-locator": {"schema-name": "%", "table-name": "%"}},
            transform("2", "schema", action, json!({"schema-name": "%"}), extra.clone())]));
        let p = m.plan(table, "t", &people()).unwrap().unwrap();
        assert_eq!(p.target_schema, *expected, "schema {action}");
        // column target
        let m = mappings(json!([
            include_all("1"),
            transform(
                "2",
                "column",
                action,
                json!({"schema-name": "s", "table-name": "%", "column-name": table}),
                extra.clone()
            )
        ]));
        let p = m.plan("s", "t", &[pk("id"), col(table)]).unwrap().unwrap();
        assert_eq!(names(&p), ["id", *expected], "column {action}");
    }
}

#[test]
fn column_rename_uses_column_locator_and_data_type() {
    let m = mappings(json!([
        include_all("1"),
        transform(
            "2",
            "column",
            "convert-uppercase",
            json!({"schema-name": "s", "table-name": "%", "column-name": "%", "data-type": "VARCHAR"}),
            json!({})
        )
    ]));
    let p = plan(&m, "people");
    // `id` is an int, `bio` a longtext: untouched.
    assert_eq!(names(&p), ["id", "FIRST_NAME", "LAST_NAME", "bio"]);
}

#[test]
fn lower_rule_id_wins() {
    // Numeric order: rule-id "2" comes before "10" although "10" < "2" as strings; JSON order irrelevant.
    let rules = json!([
        include_all("1"),
        transform(
            "10",
            "table",
            "add-prefix",
            json!({"schema-name": "s", "table-name": "%"}),
            json!({"value": "ten_"})
        ),
        transform(
            "2",
            "table",
            "convert-uppercase",
            json!({"schema-name": "s", "table-name": "%"}),
            json!({})
        ),
        transform(
            "3",
            "table",
            "rename",
            json!({"schema-name": "s", "table-name": "people"}),
            json!({"value": "p"})
        ),
        transform(
            "20",
            "column",
            "add-suffix",
            json!({"schema-name": "s", "table-name": "%", "column-name": "%"}),
            json!({"value": "_x"})
        ),
        transform(
            "5",
            "column",
            "rename",
            json!({"schema-name": "s", "table-name": "%", "column-name": "id"}),
            json!({"value": "ID"})
        ),
    ]);
    let m = mappings(rules);
    let p = plan(&m, "people");
    assert_eq!(p.target_table, "PEOPLE", "rule 2 beats rules 3 and 10");
    assert_eq!(
        names(&p),
        ["ID", "first_name_x", "last_name_x", "bio_x"],
        "one rename per column"
    );
    // A rule that does not match the object does not block others.
    let m = mappings(json!([
        include_all("1"),
        transform(
            "2",
            "table",
            "rename",
            json!({"schema-name": "s", "table-name": "zzz"}),
            json!({"value": "nope"})
        ),
        transform(
            "3",
            "table",
            "add-suffix",
            json!({"schema-name": "s", "table-name": "%"}),
            json!({"value": "_t"})
        ),
    ]));
    assert_eq!(plan(&m, "people").target_table, "people_t");
}

#[test]
fn remove_and_include_columns() {
    let loc = |c: &str| json!({"schema-name": "s", "table-name": "people", "column-name": c});
    let m = mappings(json!([
        include_all("1"),
        transform("2", "column", "remove-column", loc("bio"), json!({})),
        transform("3", "column", "remove-column", loc("%_name"), json!({}))
    ]));
    assert_eq!(names(&plan(&m, "people")), ["id"]);
    assert_eq!(names(&plan(&m, "other")).len(), 4, "other tables untouched");

    // include-column: only the listed columns stay.
    let m = mappings(json!([
        include_all("1"),
        transform("2", "column", "include-column", loc("id"), json!({})),
        transform("3", "column", "include-column", loc("last%"), json!({}))
    ]));
    assert_eq!(names(&plan(&m, "people")), ["id", "last_name"]);
    assert_eq!(names(&plan(&m, "other")).len(), 4);

    // include + remove on the same column: lower rule-id decides; renames still apply.
    let m = mappings(json!([
        include_all("1"),
        transform("2", "column", "remove-column", loc("id"), json!({})),
        transform("3", "column", "include-column", loc("%"), json!({})),
        transform(
            "4",
            "column",
            "rename",
            loc("bio"),
            json!({"value": "biography"})
        )
    ]));
    assert_eq!(
        names(&plan(&m, "people")),
        ["first_name", "last_name", "biography"]
    );
}

#[test]
fn add_column_expressions() {
    let m = mappings(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "3", "rule-name": "3", "rule-action": "add-column",
         "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "people"},
         "value": "FULL_NAME", "expression": "$first_name||' '||$last_name",
         "data-type": {"type": "string", "length": 50}},
        {"rule-type": "transformation", "rule-id": "2", "rule-action": "add-column",
         "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "%"},
         "value": "source", "expression": "'mariadb'"},
        {"rule-type": "transformation", "rule-id": "4", "rule-action": "add-column",
         "rule-target": "table", "object-locator": {"schema-name": "s", "table-name": "people"},
         "value": "VERSION", "expression": "2 || '.' || $ID",
         "data-type": {"type": "string", "length": "10", "precision": 3, "scale": -1}}
    ]));
    let p = plan(&m, "people");
    assert_eq!(
        names(&p),
        [
            "id",
            "first_name",
            "last_name",
            "bio",
            "source",
            "FULL_NAME",
            "VERSION"
        ]
    );
    let row = [Some("7"), Some("Ada"), Some("Lovelace"), None];
    let eval = |name: &str| match &p.columns[p.column_index(name).unwrap()].source {
        ColumnSource::Expression(e) => e.eval(|i| row[i]),
        ColumnSource::Source { .. } => panic!("not an expression"),
    };
    assert_eq!(eval("FULL_NAME").as_deref(), Some("Ada Lovelace"));
    assert_eq!(eval("source").as_deref(), Some("mariadb"));
    assert_eq!(
        eval("VERSION").as_deref(),
        Some("2.7"),
        "case-insensitive column lookup"
    );
    let full = &p.columns[p.column_index("FULL_NAME").unwrap()];
    assert_eq!(
        full.data_type,
        Some(DataType {
            type_name: "string".into(),
            length: Some(50),
            precision: None,
            scale: None
        })
    );
    // NULL propagates.
    let null_row = [Some("7"), None, Some("Lovelace"), None];
    if let ColumnSource::Expression(e) = &full.source {
        assert_eq!(e.eval(|i| null_row[i]), None);
    }
    // Unknown column in an expression: plan-time error naming the rule.
    let m = mappings(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "9", "rule-action": "add-column", "rule-target": "column",
         "object-locator": {"schema-name": "s", "table-name": "%"}, "value": "x", "expression": "$missing"}]));
    let e = m.plan("s", "people", &people()).unwrap_err();
    assert!(
        matches!(&e, MappingError::UnknownColumn { column, context, .. } if column == "missing" && context == "expression"),
        "{e}"
    );
    // Name clash with an existing column.
    let m = mappings(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "9", "rule-action": "add-column", "rule-target": "column",
         "object-locator": {"schema-name": "s", "table-name": "%"}, "value": "id", "expression": "1"}]));
    assert!(matches!(
        m.plan("s", "people", &people()),
        Err(MappingError::DuplicateColumn { .. })
    ));
    // Bad expressions are parse errors.
    let e = error(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "9", "rule-action": "add-column", "rule-target": "column",
         "object-locator": {"schema-name": "s", "table-name": "%"}, "value": "x", "expression": "upper($a)"}]));
    assert!(
        e.to_string()
            .starts_with("rule-id 9 (rules[1]): `expression`: unexpected `u`"),
        "{e}"
    );
}

#[test]
fn before_image_columns() {
    let rule = |def: serde_json::Value| {
        mappings(json!([include_all("1"),
            {"rule-type": "transformation", "rule-id": "2", "rule-action": "add-before-image-columns",
             "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "%"},
             "before-image-def": def}]))
    };
    let bi_names = |m: &TableMappings| -> Vec<String> {
        plan(m, "people")
            .before_image
            .unwrap()
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(bi_names(&rule(json!({}))), ["BI_id"]);
    assert_eq!(
        bi_names(&rule(json!({"column-filter": "pk-only"}))),
        ["BI_id"]
    );
    assert_eq!(
        bi_names(&rule(
            json!({"column-prefix": "", "column-suffix": "_old", "column-filter": "non-lob"})
        )),
        ["id_old", "first_name_old", "last_name_old"]
    );
    assert_eq!(
        bi_names(&rule(
            json!({"column-prefix": "B_", "column-filter": "all"})
        )),
        ["B_id", "B_first_name", "B_last_name", "B_bio"]
    );
    let p = plan(&rule(json!({"column-filter": "all"})), "people");
    let bi = p.before_image.unwrap();
    assert_eq!(bi.def.column_filter, ColumnFilter::All);
    assert_eq!(bi.columns[3].source_index, 3);
    let e = error(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "2", "rule-action": "add-before-image-columns",
         "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "%"},
         "before-image-def": {"column-filter": "pk"}}]));
    assert!(
        e.to_string().contains("`before-image-def.column-filter`"),
        "{e}"
    );
}

#[test]
fn define_primary_key_and_change_data_type() {
    let m = mappings(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "2", "rule-action": "define-primary-key",
         "rule-target": "table", "object-locator": {"schema-name": "s", "table-name": "people"},
         "primary-key-def": {"name": "pk_names", "origin": "unique-index", "columns": ["last_name", "first_name"]}},
        {"rule-type": "transformation", "rule-id": "3", "rule-action": "change-data-type",
         "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "people", "column-name": "id"},
         "data-type": {"type": "string", "length": 20}}]));
    let p = plan(&m, "people");
    assert_eq!(p.primary_key, [2, 1]);
    assert_eq!(p.columns[0].data_type.as_ref().unwrap().type_name, "string");
    assert!(p.columns[1].data_type.is_none());
    assert!(m.warnings().iter().any(|w| w.contains("change-data-type")));
    assert_eq!(plan(&m, "other").primary_key, [0]);
}

#[test]
fn parsed_but_not_honoured_actions_warn() {
    let m = mappings(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "2", "rule-action": "data-masking-hash-mask",
         "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "%", "column-name": "bio"}},
        {"rule-type": "transformation", "rule-id": "3", "rule-action": "rename",
         "rule-target": "table-tablespace", "object-locator": {"schema-name": "s", "table-name": "%", "table-tablespace-name": "x"},
         "value": "y"},
        {"rule-type": "table-settings", "rule-id": "4", "object-locator": {"schema-name": "s", "table-name": "%"},
         "parallel-load": {"type": "partitions-auto"}},
        {"rule-type": "selection", "rule-id": "5", "rule-action": "include", "rule-extra": 1,
         "object-locator": {"schema-name": "%", "table-name": "x"}}]));
    let w = m.warnings().join("\n");
    assert!(
        w.contains("rule-id 2 (rules[1]): data-masking-hash-mask is parsed but not honoured"),
        "{w}"
    );
    assert!(
        w.contains("rule-id 3 (rules[2]): rule-target \"table-tablespace\""),
        "{w}"
    );
    assert!(w.contains("rule-id 4 (rules[3]): table-settings"), "{w}");
    assert!(
        w.contains("rule-id 5 (rules[4]): unknown field `rule-extra` ignored"),
        "{w}"
    );
    assert!(w.contains("system schemas"), "{w}");
    // Masking does not change the plan.
    assert_eq!(
        names(&plan(&m, "people")),
        ["id", "first_name", "last_name", "bio"]
    );
}

// ---------------------------------------------------------------- object mapping

fn object_mapping(params: serde_json::Value) -> TableMappings {
    mappings(json!([include_all("1"),
        {"rule-type": "object-mapping", "rule-id": "2", "rule-name": "om", "rule-action": "map-record-to-record",
         "object-locator": {"schema-name": "s", "table-name": "people"}, "mapping-parameters": params}]))
}

#[test]
fn object_mapping_exclude_columns() {
    let m = object_mapping(json!({"exclude-columns": ["bio", "FIRST_NAME"]}));
    assert_eq!(names(&plan(&m, "people")), ["id", "last_name"]);
    assert_eq!(
        names(&plan(&m, "other")).len(),
        4,
        "locator limits the rule"
    );
    // Matches renamed output names too.
    let m = mappings(json!([include_all("1"),
        transform("2", "column", "rename", json!({"schema-name": "s", "table-name": "%", "column-name": "bio"}), json!({"value": "About"})),
        {"rule-type": "object-mapping", "rule-id": "3", "rule-action": "map-record-to-record",
         "object-locator": {"schema-name": "s", "table-name": "%"},
         "mapping-parameters": {"exclude-columns": ["about"]}}]));
    assert_eq!(
        names(&plan(&m, "people")),
        ["id", "first_name", "last_name"]
    );
}

#[test]
fn object_mapping_partition_keys() {
    let cases = [
        (
            json!({"partition-key-type": "primary-key"}),
            PartitionKeySpec::PrimaryKey,
        ),
        (
            json!({"partition-key-type": "schema-table"}),
            PartitionKeySpec::SchemaTable,
        ),
        (
            json!({"partition-key-type": "transaction-id"}),
            PartitionKeySpec::TransactionId,
        ),
        (
            json!({"partition-key-type": "constant", "partition-key": {"value": "ConstantPartitionKey"}}),
            PartitionKeySpec::Constant("ConstantPartitionKey".into()),
        ),
        (
            json!({"partition-key": {"value": 42}}),
            PartitionKeySpec::Constant("42".into()),
        ),
        (json!({}), PartitionKeySpec::Default),
    ];
    for (params, expected) in cases {
        let p = plan(&object_mapping(params), "people");
        assert_eq!(p.partition_key, expected);
        assert_eq!(p.partition_key_column, None);
    }
    let p = plan(
        &object_mapping(
            json!({"partition-key-type": "attribute-name", "partition-key-name": "Last_Name"}),
        ),
        "people",
    );
    assert_eq!(
        p.partition_key,
        PartitionKeySpec::AttributeName("Last_Name".into())
    );
    assert_eq!(p.partition_key_column, Some(2));
    // Attribute that is not an output column.
    let m = object_mapping(
        json!({"partition-key-type": "attribute-name", "partition-key-name": "bio",
                                  "exclude-columns": ["bio"]}),
    );
    assert!(matches!(
        m.plan("s", "people", &people()),
        Err(MappingError::UnknownColumn { .. })
    ));
    // Errors.
    let e = object_mapping_err(json!({"partition-key-type": "constant"}));
    assert_eq!(
        e,
        "rule-id 2 (rules[1]): missing required field `mapping-parameters.partition-key.value`"
    );
    let e = object_mapping_err(json!({"partition-key-type": "attribute-name"}));
    assert_eq!(
        e,
        "rule-id 2 (rules[1]): missing required field `mapping-parameters.partition-key-name`"
    );
    let e = object_mapping_err(json!({"partition-key-type": "random"}));
    assert!(
        e.starts_with("rule-id 2 (rules[1]): `mapping-parameters.partition-key-type`: expected"),
        "{e}"
    );
    let e = object_mapping_err(json!({"exclude-columns": "bio"}));
    assert!(
        e.contains("`mapping-parameters.exclude-columns`: expected an array"),
        "{e}"
    );
}

fn object_mapping_err(params: serde_json::Value) -> String {
    error(json!([include_all("1"),
        {"rule-type": "object-mapping", "rule-id": "2", "rule-action": "map-record-to-record",
         "object-locator": {"schema-name": "s", "table-name": "people"}, "mapping-parameters": params}]))
    .to_string()
}

#[test]
fn object_mapping_document_and_precedence() {
    let m = mappings(json!([include_all("1"),
        {"rule-type": "object-mapping", "rule-id": "5", "rule-action": "map-record-to-record",
         "object-locator": {"schema-name": "s", "table-name": "%"},
         "mapping-parameters": {"partition-key-type": "primary-key"}},
        {"rule-type": "object-mapping", "rule-id": "3", "rule-action": "map-record-to-document",
         "object-locator": {"schema-name": "s", "table-name": "people"}, "target-table-name": "x",
         "mapping-parameters": {"partition-key-type": "schema-table",
                                "attribute-mappings": [{"target-attribute-name": "a"}]}}]));
    let p = plan(&m, "people");
    assert_eq!(p.layout, RecordLayout::Document);
    assert_eq!(p.partition_key, PartitionKeySpec::SchemaTable);
    let p = plan(&m, "other");
    assert_eq!(p.layout, RecordLayout::Record);
    assert_eq!(p.partition_key, PartitionKeySpec::PrimaryKey);
    let w = m.warnings().join("\n");
    assert!(
        w.contains("target-table-name") && w.contains("attribute-mappings"),
        "{w}"
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn error_no_selection_rule() {
    let e = error(json!([transform(
        "1",
        "schema",
        "rename",
        json!({"schema-name": "s"}),
        json!({"value": "t"})
    )]));
    assert_eq!(e, MappingError::NoSelectionRule);
    assert!(
        e.to_string()
            .contains("add at least one rule with \"rule-type\": \"selection\"")
    );
    assert_eq!(error(json!([])), MappingError::NoSelectionRule);
}

#[test]
fn error_unknown_rule_type() {
    let e = error(
        json!([include_all("1"), {"rule-type": "selektion", "rule-id": "12", "rule-action": "include"}]),
    );
    assert_eq!(
        e.to_string(),
        "rule-id 12 (rules[1]): unknown rule-type \"selektion\"; expected one of \"selection\", \"transformation\", \"object-mapping\", \"table-settings\""
    );
}

#[test]
fn error_unknown_action_names_rule_id() {
    let e = error(
        json!([{"rule-type": "selection", "rule-id": "3", "rule-action": "includ",
        "object-locator": {"schema-name": "s", "table-name": "%"}}]),
    );
    assert_eq!(
        e.to_string(),
        "rule-id 3 (rules[0]): unknown rule-action \"includ\" for rule-type \"selection\"; expected one of \"include\", \"exclude\", \"explicit\""
    );
    let e = error(json!([
        include_all("1"),
        transform(
            "42",
            "table",
            "rename-table",
            json!({"schema-name": "s", "table-name": "%"}),
            json!({"value": "x"})
        )
    ]));
    assert!(e.to_string().starts_with("rule-id 42 (rules[1]): unknown rule-action \"rename-table\" for rule-type \"transformation\""), "{e}");
    let e = error(json!([include_all("1"),
        {"rule-type": "object-mapping", "rule-id": "8", "rule-action": "map-record",
         "object-locator": {"schema-name": "s", "table-name": "%"}}]));
    assert!(
        e.to_string()
            .starts_with("rule-id 8 (rules[1]): unknown rule-action \"map-record\""),
        "{e}"
    );
}

#[test]
fn error_missing_object_locator_and_fields() {
    let e = error(json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include"}]));
    assert_eq!(
        e.to_string(),
        "rule-id 1 (rules[0]): missing required field `object-locator`"
    );
    let e = error(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": "s"}}]),
    );
    assert_eq!(
        e.to_string(),
        "rule-id 1 (rules[0]): missing required field `object-locator.table-name`"
    );
    let e = error(json!([
        include_all("1"),
        transform(
            "2",
            "column",
            "rename",
            json!({"schema-name": "s", "table-name": "%"}),
            json!({"value": "x"})
        )
    ]));
    assert_eq!(
        e.to_string(),
        "rule-id 2 (rules[1]): missing required field `object-locator.column-name`"
    );
    let e = error(json!([include_all("1"),
        {"rule-type": "transformation", "rule-id": "2", "rule-action": "rename", "rule-target": "table"}]));
    assert_eq!(
        e.to_string(),
        "rule-id 2 (rules[1]): missing required field `object-locator`"
    );
    let e = error(json!([
        include_all("1"),
        transform(
            "2",
            "table",
            "rename",
            json!({"schema-name": "s", "table-name": "%"}),
            json!({})
        )
    ]));
    assert_eq!(
        e.to_string(),
        "rule-id 2 (rules[1]): missing required field `value`"
    );
    let e = error(json!([
        include_all("1"),
        transform(
            "2",
            "table",
            "replace-prefix",
            json!({"schema-name": "s", "table-name": "%"}),
            json!({"value": "x"})
        )
    ]));
    assert_eq!(
        e.to_string(),
        "rule-id 2 (rules[1]): missing required field `old-value`"
    );
    let e = error(json!([{"rule-id": "1", "rule-action": "include"}]));
    assert_eq!(
        e.to_string(),
        "rule-id 1 (rules[0]): missing required field `rule-type`"
    );
    let e = error(json!([{"rule-type": "selection", "rule-action": "include"}]));
    assert_eq!(e.to_string(), "rules[0]: missing required field `rule-id`");
    let e = error(json!([
        include_all("1"),
        transform(
            "2",
            "nothing",
            "rename",
            json!({"schema-name": "s"}),
            json!({"value": "x"})
        )
    ]));
    assert!(
        e.to_string()
            .starts_with("rule-id 2 (rules[1]): `rule-target`: expected"),
        "{e}"
    );
    let e = error(json!([
        include_all("1"),
        transform(
            "2",
            "schema",
            "remove-column",
            json!({"schema-name": "s"}),
            json!({})
        )
    ]));
    assert_eq!(
        e.to_string(),
        "rule-id 2 (rules[1]): `rule-target`: rule-action \"remove-column\" requires \"rule-target\": \"column\""
    );
    let e = error(
        json!([{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
        "object-locator": {"schema-name": 5, "table-name": "t"}}]),
    );
    assert_eq!(
        e.to_string(),
        "rule-id 1 (rules[0]): `object-locator.schema-name`: expected a string, found number 5"
    );
}

#[test]
fn error_invalid_json_with_position() {
    let e = TableMappings::from_json("{\"rules\": [\n  {\"rule-type\": \"selection\",}\n]}")
        .unwrap_err();
    assert_eq!(
        e,
        MappingError::Syntax {
            line: 2,
            column: 29,
            message: "trailing comma".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "table mapping is not valid JSON: trailing comma at line 2, column 29"
    );
    assert!(matches!(
        TableMappings::from_json(""),
        Err(MappingError::Syntax { .. })
    ));
    let e = TableMappings::from_json("[]").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("table mapping: `$`: expected an object"),
        "{e}"
    );
    let e = TableMappings::from_json("{}").unwrap_err();
    assert!(
        e.to_string().starts_with("table mapping: `rules`: missing"),
        "{e}"
    );
    let e = TableMappings::from_json(r#"{"rules": {}}"#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("table mapping: `rules`: expected an array"),
        "{e}"
    );
    let e = TableMappings::from_json(r#"{"rules": [1]}"#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("table mapping: `rules[0]`: expected a rule object"),
        "{e}"
    );
}

#[test]
fn error_malformed_patterns() {
    for (pattern, needle) in [
        ("[", "never closed"),
        ("ab[a-", "never closed"),
        ("[]", "empty"),
        ("[z-a]", "reversed"),
    ] {
        let e = error(
            json!([{"rule-type": "selection", "rule-id": "4", "rule-action": "include",
            "object-locator": {"schema-name": "s", "table-name": pattern}}]),
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("rule-id 4 (rules[0]): `object-locator.table-name`: invalid wildcard pattern {pattern:?}")),
            "{msg}"
        );
        assert!(msg.contains(needle), "{msg}");
    }
    let e = error(json!([
        include_all("1"),
        transform(
            "2",
            "column",
            "remove-column",
            json!({"schema-name": "s", "table-name": "%", "column-name": "a["}),
            json!({})
        )
    ]));
    assert!(
        e.to_string()
            .contains("`object-locator.column-name`: invalid wildcard pattern"),
        "{e}"
    );
}

#[test]
fn error_rule_ids() {
    let e = error(json!([include_all("1"), include_all("01")]));
    assert_eq!(
        e.to_string(),
        "rule-id 01 is used by both rules[0] and rules[1]; every rule needs a unique rule-id"
    );
    for bad in [
        json!("1a"),
        json!(""),
        json!(-1),
        json!(1.5),
        json!(true),
        json!("99999999999999999999999"),
    ] {
        let e = error(
            json!([{"rule-type": "selection", "rule-id": bad, "rule-action": "include",
            "object-locator": {"schema-name": "s", "table-name": "%"}}]),
        );
        assert!(e.to_string().starts_with("rules[0]: `rule-id`:"), "{e}");
    }
    // Numeric rule-ids are accepted.
    let m = mappings(
        json!([{"rule-type": "selection", "rule-id": 7, "rule-action": "include",
        "object-locator": {"schema-name": "s", "table-name": "%"}}]),
    );
    assert!(m.is_selected("s", "t"));
}

#[test]
fn no_panic_on_odd_documents() {
    for doc in [
        "null",
        "1",
        "\"x\"",
        "{\"rules\": null}",
        "{\"rules\": [null]}",
        "{\"rules\": [{}]}",
        "{\"rules\": [{\"rule-id\": \"1\", \"rule-type\": 5}]}",
        "{\"rules\": [{\"rule-id\": \"1\", \"rule-type\": \"selection\", \"rule-action\": \"include\", \"object-locator\": []}]}",
        "{\"rules\": [{\"rule-id\": \"1\", \"rule-type\": \"selection\", \"rule-action\": \"include\", \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"}, \"filters\": [1]}]}",
        "{\"rules\": [{\"rule-id\": \"1\", \"rule-type\": \"selection\", \"rule-action\": \"include\", \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"}, \"filters\": [{\"column-name\": \"a\", \"filter-conditions\": []}]}]}",
        "{\"rules\": [{\"rule-id\": \"1\", \"rule-type\": \"selection\", \"rule-action\": \"include\", \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"}, \"load-order\": \"x\"}]}",
    ] {
        assert!(TableMappings::from_json(doc).is_err(), "{doc}");
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn from_json_never_panics(doc in "\\PC{0,64}") {
            let _ = TableMappings::from_json(&doc);
        }

        #[test]
        fn selection_with_any_pattern_never_panics(pattern in "[%_\\[\\]a-c\\-]{0,10}", table in "[a-c_%\\-]{0,10}") {
            let doc = json!({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
                "object-locator": {"schema-name": "s", "table-name": pattern}}]}).to_string();
            if let Ok(m) = TableMappings::from_json(&doc) {
                let _ = m.plan("s", &table, &people());
            }
        }

        #[test]
        fn percent_only_selects_everything(n in 1usize..4, schema in "\\PC{0,12}", table in "\\PC{0,12}") {
            let p = "%".repeat(n);
            let doc = json!({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-action": "include",
                "object-locator": {"schema-name": p, "table-name": p}}]}).to_string();
            let m = TableMappings::from_json(&doc).unwrap();
            prop_assert!(m.is_selected(&schema, &table));
        }
    }
}
