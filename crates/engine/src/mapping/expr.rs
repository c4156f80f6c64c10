//! The subset of DMS (SQLite) transformation expressions that dmsrs evaluates.
//!
//! Supported: `$COLUMN` references, single-quoted string constants (`'it''s'` escapes a quote), numeric
//! constants (`42`, `-1.5`, `1e3`), the `||` concatenation operator and parentheses for grouping.
//! Anything else (functions, arithmetic, `CASE`, `$AR_H_*` / `$AR_M_*` header columns,
//! `operation_indicator(...)`) is rejected when the table mapping is parsed.

use std::fmt;

/// An expression as written, with column references still by name (resolved per table by
/// [`ParsedExpr::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParsedExpr {
    Column(String),
    Literal(String),
    Number(String),
    Concat(Vec<ParsedExpr>),
}

/// Why an expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExprError {
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A resolved expression, evaluated once per row.
///
/// Column references are indexes into the table's source columns (the `columns` slice given to
/// [`super::TableMappings::plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// The value of the source column at this index.
    Column(usize),
    /// A string constant.
    Literal(String),
    /// A numeric constant, kept as written (for example `1.50` stays `1.50`).
    Number(String),
    /// `a || b || ...`: the concatenation of the parts' text; NULL if any part is NULL (SQLite semantics).
    Concat(Vec<Expr>),
}

impl Expr {
    /// Evaluates the expression for one row.
    ///
    /// `get(i)` returns the text of source column `i` for the row, or `None` for SQL NULL. NULL propagates
    /// through `||`: `$A || 'x'` is `None` when `A` is NULL.
    pub fn eval<S: AsRef<str>>(&self, get: impl Fn(usize) -> Option<S>) -> Option<String> {
        let mut out = String::new();
        if self.eval_into(&get, &mut out) {
            Some(out)
        } else {
            None
        }
    }

    /// Appends the value to `out`; returns false for NULL.
    fn eval_into<S: AsRef<str>>(&self, get: &dyn Fn(usize) -> Option<S>, out: &mut String) -> bool {
        match self {
            Expr::Column(i) => match get(*i) {
                Some(v) => {
                    out.push_str(v.as_ref());
                    true
                }
                None => false,
            },
            Expr::Literal(s) | Expr::Number(s) => {
                out.push_str(s);
                true
            }
            Expr::Concat(parts) => parts.iter().all(|p| p.eval_into(get, out)),
        }
    }

    /// Source column indexes the expression reads.
    pub fn columns(&self) -> Vec<usize> {
        let mut v = Vec::new();
        self.collect_columns(&mut v);
        v
    }

    fn collect_columns(&self, v: &mut Vec<usize>) {
        match self {
            Expr::Column(i) => v.push(*i),
            Expr::Literal(_) | Expr::Number(_) => {}
            Expr::Concat(parts) => parts.iter().for_each(|p| p.collect_columns(v)),
        }
    }
}

impl ParsedExpr {
    /// Parses an expression string.
    pub(crate) fn parse(text: &str) -> Result<Self, ExprError> {
        let chars: Vec<char> = text.chars().collect();
        let mut parser = Parser {
            chars: &chars,
            pos: 0,
            depth: 0,
        };
        let expr = parser.concat()?;
        parser.skip_ws();
        if let Some(c) = parser.peek() {
            return Err(parser.unexpected(c));
        }
        Ok(expr)
    }

    /// Resolves column names to source indexes; `lookup` returns `None` for an unknown column, which is
    /// returned as the error.
    pub(crate) fn resolve<'a>(
        &'a self,
        lookup: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<Expr, &'a str> {
        Ok(match self {
            ParsedExpr::Column(name) => Expr::Column(lookup(name).ok_or(name.as_str())?),
            ParsedExpr::Literal(s) => Expr::Literal(s.clone()),
            ParsedExpr::Number(s) => Expr::Number(s.clone()),
            ParsedExpr::Concat(parts) => Expr::Concat(
                parts
                    .iter()
                    .map(|p| p.resolve(lookup))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        })
    }
}

/// Nesting limit for parentheses, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn err(&self, message: String) -> ExprError {
        ExprError { message }
    }

    fn unexpected(&self, c: char) -> ExprError {
        self.err(format!(
            "unexpected `{c}` at character {}; dmsrs supports only $COLUMN references, 'string' and numeric constants joined with ||",
            self.pos + 1
        ))
    }

    /// concat := term ( '||' term )*
    fn concat(&mut self) -> Result<ParsedExpr, ExprError> {
        let mut parts = Vec::new();
        push_flat(&mut parts, self.term()?);
        loop {
            self.skip_ws();
            if self.peek() == Some('|') && self.chars.get(self.pos + 1) == Some(&'|') {
                self.pos += 2;
                push_flat(&mut parts, self.term()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            ParsedExpr::Concat(parts)
        })
    }

    fn term(&mut self) -> Result<ParsedExpr, ExprError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(self.err(format!(
                "expected a $COLUMN, 'string' or number at character {}, found the end of the expression",
                self.pos + 1
            )));
        };
        match c {
            '$' => {
                let start = self.pos + 1;
                self.pos += 1;
                while self.peek().is_some_and(|c| {
                    c.is_alphanumeric() || c == '_' || c == '$' || c == '#' || c == '@'
                }) {
                    self.pos += 1;
                }
                let name: String = self
                    .chars
                    .get(start..self.pos)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                if name.is_empty() {
                    return Err(self.err(format!(
                        "`$` at character {start} is not followed by a column name"
                    )));
                }
                if name.starts_with("AR_H_") || name.starts_with("AR_M_") {
                    return Err(self.err(format!(
                        "header column ${name} is not supported by dmsrs; only source columns can be referenced"
                    )));
                }
                Ok(ParsedExpr::Column(name))
            }
            '\'' => {
                let start = self.pos + 1;
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => {
                            return Err(self.err(format!(
                                "string constant starting at character {start} is not closed with '"
                            )));
                        }
                        Some('\'') if self.chars.get(self.pos + 1) == Some(&'\'') => {
                            s.push('\'');
                            self.pos += 2;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some(other) => {
                            s.push(other);
                            self.pos += 1;
                        }
                    }
                }
                Ok(ParsedExpr::Literal(s))
            }
            '(' => {
                if self.depth >= MAX_DEPTH {
                    return Err(
                        self.err(format!("parentheses nested deeper than {MAX_DEPTH} levels"))
                    );
                }
                self.pos += 1;
                self.depth += 1;
                let inner = self.concat()?;
                self.depth -= 1;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.err(format!("expected `)` at character {}", self.pos + 1)));
                }
                self.pos += 1;
                Ok(inner)
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => self.number(),
            other => Err(self.unexpected(other)),
        }
    }

    /// number := [+-]? digits [. digits] [eE [+-]? digits]
    fn number(&mut self) -> Result<ParsedExpr, ExprError> {
        let start = self.pos;
        if matches!(self.peek(), Some('+' | '-')) {
            self.pos += 1;
        }
        let digits_start = self.pos;
        self.eat_digits();
        let mut has_digits = self.pos > digits_start;
        if self.peek() == Some('.') {
            self.pos += 1;
            let frac_start = self.pos;
            self.eat_digits();
            has_digits |= self.pos > frac_start;
        }
        if !has_digits {
            return Err(self.err(format!("malformed number at character {}", start + 1)));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            let exp_start = self.pos;
            self.eat_digits();
            if self.pos == exp_start {
                return Err(self.err(format!(
                    "malformed number exponent at character {}",
                    start + 1
                )));
            }
        }
        let text: String = self
            .chars
            .get(start..self.pos)
            .unwrap_or(&[])
            .iter()
            .collect();
        Ok(ParsedExpr::Number(text))
    }

    fn eat_digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

/// Flattens nested concatenations (`'a' || ('b' || 'c')`), which are associative.
fn push_flat(parts: &mut Vec<ParsedExpr>, e: ParsedExpr) {
    match e {
        ParsedExpr::Concat(inner) => parts.extend(inner),
        other => parts.push(other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParsedExpr {
        ParsedExpr::parse(s).unwrap()
    }

    #[test]
    fn parses_dms_example() {
        assert_eq!(
            p("$FIRST_NAME||'_'||$LAST_NAME"),
            ParsedExpr::Concat(vec![
                ParsedExpr::Column("FIRST_NAME".into()),
                ParsedExpr::Literal("_".into()),
                ParsedExpr::Column("LAST_NAME".into()),
            ])
        );
        assert_eq!(p(" $a "), ParsedExpr::Column("a".into()));
        assert_eq!(p("'it''s'"), ParsedExpr::Literal("it's".into()));
        assert_eq!(p("-1.5e3"), ParsedExpr::Number("-1.5e3".into()));
        assert!(matches!(p("42 || ('a' || ($b))"), ParsedExpr::Concat(v) if v.len() == 3));
    }

    #[test]
    fn rejects_unsupported() {
        for bad in [
            "",
            "$",
            "'abc",
            "$a |",
            "$a | $b",
            "upper($a)",
            "$a + 1",
            "(((",
            "$AR_H_TIMESTAMP",
            "1e",
            "-",
            "$a)",
        ] {
            assert!(ParsedExpr::parse(bad).is_err(), "{bad:?} should fail");
        }
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(ParsedExpr::parse(&deep).is_err());
    }

    #[test]
    fn eval_and_null_propagation() {
        let e = p("$first || '_' || $last")
            .resolve(&|n| match n {
                "first" => Some(0),
                "last" => Some(1),
                _ => None,
            })
            .unwrap();
        assert_eq!(e.columns(), vec![0, 1]);
        let row = [Some("Ada"), Some("Lovelace")];
        assert_eq!(e.eval(|i| row[i]), Some("Ada_Lovelace".to_owned()));
        let row = [Some("Ada"), None];
        assert_eq!(e.eval(|i| row[i]), None);
        assert_eq!(
            Expr::Number("1.50".into()).eval(|_| None::<String>),
            Some("1.50".into())
        );
        assert_eq!(p("$nope").resolve(&|_| None), Err("nope"));
    }
}
