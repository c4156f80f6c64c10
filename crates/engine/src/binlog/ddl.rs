//! A small, forgiving classifier for the DDL statements that change the shape of rows.
//!
//! The binlog carries DDL as statement text ([`ChangeEvent::Ddl`](super::ChangeEvent::Ddl)).
//! The engine only needs to know *which tables* a statement touches and *how* (created,
//! dropped, renamed, truncated, columns added / dropped / retyped / renamed). [`classify`]
//! answers exactly that and nothing more: it is not a SQL parser.
//!
//! Contract: [`classify`] never panics and never fails. A statement it does not understand
//! (or that is not DDL at all: `GRANT`, `CREATE USER`, `ANALYZE TABLE`, ...) yields an empty
//! `Vec`; the caller logs it and moves on, because a DDL parser that stops a pipeline stops it
//! for good (every restart re-reads the same statement).
//!
//! Understood: comments (`/* */`, `-- `, `#`; MySQL/MariaDB executable comments `/*! ... */`
//! and `/*M! ... */` are read as code), backtick-quoted names with doubled backticks,
//! `IF [NOT] EXISTS`, `schema.table`, several tables in one `DROP TABLE` / `RENAME TABLE`,
//! several comma-separated `ALTER TABLE` operations, `ADD [COLUMN] (a INT, b INT)`, `ADD`
//! without `COLUMN`, index/key/constraint/partition operations and table options (reported
//! as [`AlterOp::Other`]), `CREATE INDEX ... ON t` / `DROP INDEX ... ON t` (an
//! [`DdlChange::AlterTable`] with [`AlterOp::Other`]); keywords in any case.

/// One table-level effect of a DDL statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DdlChange {
    /// `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] s.t ...` (also `CREATE TABLE ... LIKE` / `AS SELECT`).
    CreateTable {
        /// Schema (the statement's default schema when the name is not qualified).
        schema: String,
        /// Table.
        table: String,
    },
    /// `DROP TABLE [IF EXISTS] a, b ...`: one change per table.
    DropTable {
        /// Schema.
        schema: String,
        /// Table.
        table: String,
    },
    /// `RENAME TABLE a TO b, c TO d`: one change per pair.
    RenameTable {
        /// Old `(schema, table)`.
        from: (String, String),
        /// New `(schema, table)`.
        to: (String, String),
    },
    /// `TRUNCATE [TABLE] s.t`.
    TruncateTable {
        /// Schema.
        schema: String,
        /// Table.
        table: String,
    },
    /// `ALTER TABLE s.t op, op, ...`.
    AlterTable {
        /// Schema.
        schema: String,
        /// Table.
        table: String,
        /// The operations, in statement order.
        ops: Vec<AlterOp>,
    },
}

/// One operation of an `ALTER TABLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlterOp {
    /// `ADD [COLUMN] [IF NOT EXISTS] name ...` (one per column of `ADD COLUMN (a INT, b INT)`).
    AddColumn {
        /// Column name.
        name: String,
    },
    /// `DROP [COLUMN] [IF EXISTS] name`.
    DropColumn {
        /// Column name.
        name: String,
    },
    /// `MODIFY [COLUMN] name <new definition>`: a type change.
    ModifyColumn {
        /// Column name.
        name: String,
    },
    /// `CHANGE [COLUMN] old new <definition>`: a rename and/or type change.
    ChangeColumn {
        /// Old name.
        old: String,
        /// New name (may equal `old`).
        new: String,
    },
    /// `RENAME COLUMN old TO new`.
    RenameColumn {
        /// Old name.
        old: String,
        /// New name.
        new: String,
    },
    /// `RENAME [TO|AS] s.t`: the table gets a new name.
    RenameTable {
        /// New `(schema, table)`.
        to: (String, String),
    },
    /// Anything that does not change the columns: indexes, keys, constraints, partitions,
    /// defaults, `ALGORITHM=`, `LOCK=`, engine and other table options.
    Other,
}

/// Classifies one statement; `default_schema` qualifies unqualified names (the schema of the
/// binlog query event). Returns an empty `Vec` for anything it cannot or need not understand.
pub fn classify(default_schema: &str, sql: &str) -> Vec<DdlChange> {
    let tokens = tokenize(sql);
    let mut p = Parser {
        t: &tokens,
        i: 0,
        default_schema,
    };
    p.statement().unwrap_or_default()
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A bare word (keyword or unquoted identifier).
    Word(String),
    /// A backtick-quoted identifier.
    Quoted(String),
    /// A string literal (content dropped).
    Str,
    /// A number or other literal chunk.
    Num,
    /// Punctuation.
    P(char),
}

fn is_word_byte(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || (c as u32) >= 0x80
}

/// Splits `sql` into tokens, dropping comments (executable comments are kept as code).
/// Stops at the first top-level `;`.
fn tokenize(sql: &str) -> Vec<Tok> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let n = chars.len();
    let at = |k: usize| chars.get(k).copied();
    while i < n {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#'
            || (c == '-'
                && at(i + 1) == Some('-')
                && at(i + 2).is_none_or(|x| x.is_whitespace() || x.is_control()))
        {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            // `/*!12345 code */` and `/*M!12345 code */` are executed by the server: keep the code.
            let exec = at(i + 2) == Some('!') || (at(i + 2) == Some('M') && at(i + 3) == Some('!'));
            if exec {
                i += if at(i + 2) == Some('M') { 4 } else { 3 };
                while i < n && chars[i].is_ascii_digit() {
                    i += 1;
                }
                // The code runs until the matching `*/`, which the main loop skips below.
            } else {
                i += 2;
                while i < n && !(chars[i] == '*' && at(i + 1) == Some('/')) {
                    i += 1;
                }
                i += 2;
            }
        } else if c == '*' && at(i + 1) == Some('/') {
            // End of an executable comment.
            i += 2;
        } else if c == '`' {
            let mut s = String::new();
            i += 1;
            while i < n {
                if chars[i] == '`' {
                    if at(i + 1) == Some('`') {
                        s.push('`');
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Quoted(s));
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < n {
                if chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                if chars[i] == c {
                    if at(i + 1) == Some(c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str);
        } else if c.is_ascii_digit() {
            // Numbers; identifiers may start with digits too (`1t`), which then read as words.
            let start = i;
            while i < n && (is_word_byte(chars[i]) || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if text
                .chars()
                .all(|x| x.is_ascii_digit() || x == '.' || x == 'e' || x == 'E')
            {
                out.push(Tok::Num);
            } else {
                // e.g. `1abc` or `t1.c` starting with a digit: split on dots.
                for (k, part) in text.split('.').enumerate() {
                    if k > 0 {
                        out.push(Tok::P('.'));
                    }
                    out.push(Tok::Word(part.to_owned()));
                }
            }
        } else if is_word_byte(c) {
            let start = i;
            while i < n && is_word_byte(chars[i]) {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else if c == ';' {
            break;
        } else {
            out.push(Tok::P(c));
            i += 1;
        }
    }
    out
}

struct Parser<'a> {
    t: &'a [Tok],
    i: usize,
    default_schema: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.t.get(self.i + k)
    }

    /// True (and consumed) when the next token is the keyword `kw` (case-insensitive, unquoted).
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(0, kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn is_kw(&self, k: usize, kw: &str) -> bool {
        matches!(self.peek_at(k), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_p(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::P(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// `IF EXISTS` / `IF NOT EXISTS`.
    fn eat_if_exists(&mut self) {
        if self.is_kw(0, "IF") {
            if self.is_kw(1, "EXISTS") {
                self.i += 2;
            } else if self.is_kw(1, "NOT") && self.is_kw(2, "EXISTS") {
                self.i += 3;
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        match self.peek()? {
            Tok::Word(w) | Tok::Quoted(w) => {
                let w = w.clone();
                self.i += 1;
                Some(w)
            }
            _ => None,
        }
    }

    /// `name` or `schema.name`.
    fn table_name(&mut self) -> Option<(String, String)> {
        let first = self.ident()?;
        if self.peek() == Some(&Tok::P('.')) {
            self.i += 1;
            let second = self.ident()?;
            Some((first, second))
        } else {
            Some((self.default_schema.to_owned(), first))
        }
    }

    fn statement(&mut self) -> Option<Vec<DdlChange>> {
        let Some(Tok::Word(first)) = self.peek() else {
            return None;
        };
        let first = first.to_ascii_uppercase();
        self.i += 1;
        match first.as_str() {
            "CREATE" => self.create(),
            "DROP" => self.drop(),
            "RENAME" => self.rename(),
            "TRUNCATE" => {
                self.eat_kw("TABLE");
                let (schema, table) = self.table_name()?;
                Some(vec![DdlChange::TruncateTable { schema, table }])
            }
            "ALTER" => self.alter(),
            _ => None,
        }
    }

    fn create(&mut self) -> Option<Vec<DdlChange>> {
        if self.is_kw(0, "OR") && self.is_kw(1, "REPLACE") {
            self.i += 2;
        }
        if self.eat_kw("TEMPORARY") {
            // Temporary tables never reach ROW-format replicas' data.
            return None;
        }
        if self.eat_kw("TABLE") {
            self.eat_if_exists();
            let (schema, table) = self.table_name()?;
            return Some(vec![DdlChange::CreateTable { schema, table }]);
        }
        // CREATE [ONLINE|OFFLINE] [UNIQUE|FULLTEXT|SPATIAL] INDEX [IF NOT EXISTS] name [USING x] ON t
        for kw in ["ONLINE", "OFFLINE", "UNIQUE", "FULLTEXT", "SPATIAL"] {
            self.eat_kw(kw);
        }
        if self.eat_kw("INDEX") {
            return self.index_on();
        }
        None
    }

    /// `... ON table` after an index name: an index change on that table.
    fn index_on(&mut self) -> Option<Vec<DdlChange>> {
        while let Some(tok) = self.peek() {
            if matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case("ON")) {
                self.i += 1;
                let (schema, table) = self.table_name()?;
                return Some(vec![DdlChange::AlterTable {
                    schema,
                    table,
                    ops: vec![AlterOp::Other],
                }]);
            }
            self.i += 1;
        }
        None
    }

    fn drop(&mut self) -> Option<Vec<DdlChange>> {
        self.eat_kw("TEMPORARY");
        if self.eat_kw("INDEX") {
            return self.index_on();
        }
        if !self.eat_kw("TABLE") && !self.eat_kw("TABLES") {
            return None;
        }
        self.eat_if_exists();
        let mut out = Vec::new();
        loop {
            // MariaDB: `DROP TABLE t WAIT n` / `NOWAIT`, trailing RESTRICT / CASCADE.
            let (schema, table) = self.table_name()?;
            out.push(DdlChange::DropTable { schema, table });
            if !self.eat_p(',') {
                break;
            }
        }
        Some(out)
    }

    fn rename(&mut self) -> Option<Vec<DdlChange>> {
        if !self.eat_kw("TABLE") && !self.eat_kw("TABLES") {
            return None;
        }
        self.eat_if_exists();
        let mut out = Vec::new();
        loop {
            let from = self.table_name()?;
            // MariaDB: `RENAME TABLE t WAIT 1 TO u`.
            if self.eat_kw("WAIT") {
                self.i += 1;
            }
            self.eat_kw("NOWAIT");
            if !self.eat_kw("TO") {
                return None;
            }
            let to = self.table_name()?;
            out.push(DdlChange::RenameTable { from, to });
            if !self.eat_p(',') {
                break;
            }
        }
        Some(out)
    }

    fn alter(&mut self) -> Option<Vec<DdlChange>> {
        self.eat_kw("ONLINE");
        self.eat_kw("IGNORE");
        if !self.eat_kw("TABLE") {
            return None;
        }
        self.eat_if_exists();
        let (schema, table) = self.table_name()?;
        if self.eat_kw("WAIT") {
            self.i += 1;
        }
        self.eat_kw("NOWAIT");
        // Split the rest into operations at top-level commas.
        let rest = self.t.get(self.i..).unwrap_or(&[]);
        let mut ops = Vec::new();
        let mut depth = 0usize;
        let mut start = 0;
        for (k, tok) in rest.iter().enumerate() {
            match tok {
                Tok::P('(') => depth += 1,
                Tok::P(')') => depth = depth.saturating_sub(1),
                Tok::P(',') if depth == 0 => {
                    alter_op(&rest[start..k], self.default_schema, &mut ops);
                    start = k + 1;
                }
                _ => {}
            }
        }
        if start < rest.len() {
            alter_op(&rest[start..], self.default_schema, &mut ops);
        }
        Some(vec![DdlChange::AlterTable { schema, table, ops }])
    }
}

/// Words after ADD / DROP that introduce something other than a column.
const NON_COLUMN: &[&str] = &[
    "INDEX",
    "KEY",
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "FULLTEXT",
    "SPATIAL",
    "FOREIGN",
    "PARTITION",
    "CHECK",
    "PERIOD",
    "SYSTEM",
    "VECTOR",
];

fn alter_op(seg: &[Tok], default_schema: &str, ops: &mut Vec<AlterOp>) {
    if seg.is_empty() {
        return;
    }
    let mut p = Parser {
        t: seg,
        i: 0,
        default_schema,
    };
    let Some(Tok::Word(first)) = p.peek() else {
        ops.push(AlterOp::Other);
        return;
    };
    let first = first.to_ascii_uppercase();
    p.i += 1;
    let non_column = |p: &Parser<'_>| NON_COLUMN.iter().any(|kw| p.is_kw(0, kw));
    let op = match first.as_str() {
        "ADD" => {
            let had_column = p.eat_kw("COLUMN");
            p.eat_if_exists();
            if p.eat_p('(') {
                // ADD [COLUMN] (a INT, b INT, INDEX (x)): the first word of each element.
                let mut depth = 1usize;
                let mut expect_name = true;
                while let Some(tok) = p.peek().cloned() {
                    p.i += 1;
                    match tok {
                        Tok::P('(') => {
                            depth += 1;
                            expect_name = false;
                        }
                        Tok::P(')') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Tok::P(',') if depth == 1 => expect_name = true,
                        Tok::Word(ref w) | Tok::Quoted(ref w) if expect_name && depth == 1 => {
                            let keyword = matches!(tok, Tok::Word(_))
                                && NON_COLUMN.iter().any(|kw| w.eq_ignore_ascii_case(kw));
                            if !keyword {
                                ops.push(AlterOp::AddColumn { name: w.clone() });
                            }
                            expect_name = false;
                        }
                        _ => expect_name = false,
                    }
                }
                return;
            }
            if !had_column && non_column(&p) {
                AlterOp::Other
            } else {
                match p.ident() {
                    Some(name) => AlterOp::AddColumn { name },
                    None => AlterOp::Other,
                }
            }
        }
        "DROP" => {
            let had_column = p.eat_kw("COLUMN");
            p.eat_if_exists();
            if !had_column && non_column(&p) {
                AlterOp::Other
            } else {
                match p.ident() {
                    Some(name) => AlterOp::DropColumn { name },
                    None => AlterOp::Other,
                }
            }
        }
        "MODIFY" => {
            p.eat_kw("COLUMN");
            p.eat_if_exists();
            match p.ident() {
                Some(name) => AlterOp::ModifyColumn { name },
                None => AlterOp::Other,
            }
        }
        "CHANGE" => {
            p.eat_kw("COLUMN");
            p.eat_if_exists();
            match (p.ident(), p.ident()) {
                (Some(old), Some(new)) => AlterOp::ChangeColumn { old, new },
                _ => AlterOp::Other,
            }
        }
        "RENAME" => {
            if p.eat_kw("COLUMN") {
                p.eat_if_exists();
                let old = p.ident();
                let to = p.eat_kw("TO");
                match (old, to, p.ident()) {
                    (Some(old), true, Some(new)) => AlterOp::RenameColumn { old, new },
                    _ => AlterOp::Other,
                }
            } else if p.is_kw(0, "INDEX") || p.is_kw(0, "KEY") {
                AlterOp::Other
            } else {
                if !p.eat_kw("TO") {
                    p.eat_kw("AS");
                }
                match p.table_name() {
                    Some(to) => AlterOp::RenameTable { to },
                    None => AlterOp::Other,
                }
            }
        }
        _ => AlterOp::Other,
    };
    ops.push(op);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn add(n: &str) -> AlterOp {
        AlterOp::AddColumn { name: n.into() }
    }

    fn alter(s: &str, t: &str, ops: Vec<AlterOp>) -> Vec<DdlChange> {
        vec![DdlChange::AlterTable {
            schema: s.into(),
            table: t.into(),
            ops,
        }]
    }

    #[test]
    fn seed_alters() {
        assert_eq!(
            classify(
                "dms_sample",
                "ALTER TABLE authors MODIFY COLUMN email VARCHAR(100)"
            ),
            alter(
                "dms_sample",
                "authors",
                vec![AlterOp::ModifyColumn {
                    name: "email".into()
                }]
            )
        );
        assert_eq!(
            classify(
                "dms_sample",
                "ALTER TABLE accounts DROP COLUMN profile_picture;"
            ),
            alter(
                "dms_sample",
                "accounts",
                vec![AlterOp::DropColumn {
                    name: "profile_picture".into()
                }]
            )
        );
        assert_eq!(
            classify(
                "dms_sample",
                "ALTER TABLE novels ADD COLUMN is_stock BOOLEAN DEFAULT TRUE;"
            ),
            alter("dms_sample", "novels", vec![add("is_stock")])
        );
    }

    #[test]
    fn alter_variants() {
        assert_eq!(
            classify(
                "d",
                "alter table `s`.`t``x` add (a int, `b` varchar(10), index (a)), ALGORITHM=INPLACE, LOCK=NONE"
            ),
            alter(
                "s",
                "t`x",
                vec![add("a"), add("b"), AlterOp::Other, AlterOp::Other]
            )
        );
        assert_eq!(
            classify(
                "d",
                "ALTER TABLE t ADD c INT AFTER b, ADD INDEX i (c), ADD KEY (d), ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES u(id), ADD PRIMARY KEY (id), ADD UNIQUE (z)"
            ),
            alter(
                "d",
                "t",
                vec![
                    add("c"),
                    AlterOp::Other,
                    AlterOp::Other,
                    AlterOp::Other,
                    AlterOp::Other,
                    AlterOp::Other
                ]
            )
        );
        assert_eq!(
            classify(
                "d",
                "ALTER TABLE t ADD COLUMN IF NOT EXISTS `index` INT, DROP IF EXISTS old, DROP INDEX i, DROP PRIMARY KEY, DROP FOREIGN KEY f"
            ),
            alter(
                "d",
                "t",
                vec![
                    add("index"),
                    AlterOp::DropColumn { name: "old".into() },
                    AlterOp::Other,
                    AlterOp::Other,
                    AlterOp::Other
                ]
            )
        );
        assert_eq!(
            classify(
                "d",
                "ALTER TABLE t CHANGE COLUMN a b BIGINT NOT NULL, CHANGE c c TEXT, RENAME COLUMN x TO y, RENAME TO other.t2"
            ),
            alter(
                "d",
                "t",
                vec![
                    AlterOp::ChangeColumn {
                        old: "a".into(),
                        new: "b".into()
                    },
                    AlterOp::ChangeColumn {
                        old: "c".into(),
                        new: "c".into()
                    },
                    AlterOp::RenameColumn {
                        old: "x".into(),
                        new: "y".into()
                    },
                    AlterOp::RenameTable {
                        to: ("other".into(), "t2".into())
                    },
                ]
            )
        );
        assert_eq!(
            classify(
                "d",
                "ALTER ONLINE IGNORE TABLE IF EXISTS t ALTER COLUMN a SET DEFAULT 1, ENGINE=InnoDB, RENAME INDEX a TO b, MODIFY x ENUM('a,b','c')"
            ),
            alter(
                "d",
                "t",
                vec![
                    AlterOp::Other,
                    AlterOp::Other,
                    AlterOp::Other,
                    AlterOp::ModifyColumn { name: "x".into() }
                ]
            )
        );
        assert_eq!(classify("d", "ALTER TABLE t"), alter("d", "t", vec![]));
        assert_eq!(
            classify("d", "ALTER TABLE t RENAME AS u"),
            alter(
                "d",
                "t",
                vec![AlterOp::RenameTable {
                    to: ("d".into(), "u".into())
                }]
            )
        );
    }

    #[test]
    fn comments_and_case() {
        assert_eq!(
            classify(
                "d",
                "/* leading */ AlTeR -- comment\n TABLE # another\n t /* x, y */ DROP COLUMN c"
            ),
            alter("d", "t", vec![AlterOp::DropColumn { name: "c".into() }])
        );
        assert_eq!(
            classify(
                "d",
                "DROP TABLE IF EXISTS `a`, s.b /* generated by server */"
            ),
            vec![
                DdlChange::DropTable {
                    schema: "d".into(),
                    table: "a".into()
                },
                DdlChange::DropTable {
                    schema: "s".into(),
                    table: "b".into()
                },
            ]
        );
        assert_eq!(
            classify("d", "/*!40000 ALTER TABLE `t` DISABLE KEYS */"),
            alter("d", "t", vec![AlterOp::Other])
        );
    }

    #[test]
    fn other_statements() {
        assert_eq!(
            classify("d", "CREATE TABLE IF NOT EXISTS s.t (id INT PRIMARY KEY)"),
            vec![DdlChange::CreateTable {
                schema: "s".into(),
                table: "t".into()
            }]
        );
        assert_eq!(
            classify("d", "create or replace table t like u"),
            vec![DdlChange::CreateTable {
                schema: "d".into(),
                table: "t".into()
            }]
        );
        assert_eq!(
            classify("d", "RENAME TABLE a TO b, s.c TO s2.d"),
            vec![
                DdlChange::RenameTable {
                    from: ("d".into(), "a".into()),
                    to: ("d".into(), "b".into())
                },
                DdlChange::RenameTable {
                    from: ("s".into(), "c".into()),
                    to: ("s2".into(), "d".into())
                },
            ]
        );
        assert_eq!(
            classify("d", "TRUNCATE t"),
            vec![DdlChange::TruncateTable {
                schema: "d".into(),
                table: "t".into()
            }]
        );
        assert_eq!(
            classify("d", "truncate table `s`.`t`"),
            vec![DdlChange::TruncateTable {
                schema: "s".into(),
                table: "t".into()
            }]
        );
        assert_eq!(
            classify("d", "CREATE UNIQUE INDEX i ON s.t (a)"),
            alter("s", "t", vec![AlterOp::Other])
        );
        assert_eq!(
            classify("d", "DROP INDEX i ON t"),
            alter("d", "t", vec![AlterOp::Other])
        );
        assert!(classify("d", "CREATE TEMPORARY TABLE x (a int)").is_empty());
        assert!(classify("d", "GRANT SELECT ON *.* TO u").is_empty());
        assert!(classify("d", "CREATE DATABASE x").is_empty());
        assert!(classify("d", "").is_empty());
        assert!(classify("d", "ALTER TABLE").is_empty());
        assert!(classify("d", "RENAME TABLE a").is_empty());
        assert!(classify("d", "DROP TABLE").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(s in ".{0,200}") {
            let _ = classify("d", &s);
        }

        #[test]
        fn never_panics_on_token_soup(words in proptest::collection::vec(
            prop_oneof![
                Just("ALTER"), Just("TABLE"), Just("ADD"), Just("DROP"), Just("COLUMN"), Just("("), Just(")"),
                Just(","), Just("."), Just("`"), Just("``"), Just("'"), Just("\""), Just("/*"), Just("*/"), Just("/*!"),
                Just("--"), Just("#"), Just("\n"), Just("IF"), Just("NOT"), Just("EXISTS"), Just("RENAME"), Just("TO"),
                Just("CHANGE"), Just("MODIFY"), Just("t"), Just("s.t"), Just("INDEX"), Just("ON"), Just("CREATE"),
                Just("TRUNCATE"), Just(";"), Just("1"), Just("é"), Just("\\"),
            ],
            0..40,
        )) {
            let sql = words.join(" ");
            let _ = classify("d", &sql);
            let _ = classify("d", &words.concat());
        }
    }
}
