//! DMS object-locator wildcard patterns.
//!
//! Syntax (AWS DMS "Wildcards in table mapping"):
//!
//! | pattern | matches |
//! |---------|---------|
//! | `%`     | zero or more characters |
//! | `_`     | exactly one character |
//! | `[_]`   | a literal underscore (any single character can be escaped this way: `[%]`, `[[]`) |
//! | `[ab]`  | one character out of the set |
//! | `[a-d]` | one character in the inclusive range |
//!
//! Everything else matches itself, case-sensitively. A `-` that is the first or the last character of a
//! set is literal (`[a-]` matches `a` or `-`); a `]` outside a set is literal. Negated sets (`[^a]`) are
//! not part of the DMS syntax: `^` inside a set is a literal character.
//!
//! Patterns are compiled once ([`Pattern::parse`]) and matched many times ([`Pattern::matches`]).
//! Matching runs in `O(pattern × name)` time at worst and never panics.

use std::fmt;

/// Why a wildcard pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A `[` without a matching `]`.
    #[error(
        "`[` at character {position} is never closed; close the set with `]` (write `[_]` for a literal underscore, `[[]` for a literal `[`)"
    )]
    UnclosedSet {
        /// 1-based character position of the `[`.
        position: usize,
    },
    /// `[]`: a set with no characters.
    #[error(
        "empty character set `[]` at character {position}; put at least one character between the brackets"
    )]
    EmptySet {
        /// 1-based character position of the `[`.
        position: usize,
    },
    /// A range whose start is after its end, such as `[d-a]`.
    #[error(
        "character range `{start}-{end}` at character {position} is reversed; write `[{end}-{start}]`"
    )]
    ReversedRange {
        /// 1-based character position of the `[`.
        position: usize,
        /// First character of the range.
        start: char,
        /// Last character of the range.
        end: char,
    },
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A character that matches itself.
    Literal(char),
    /// `_`: any one character.
    AnyOne,
    /// `%`: any run of characters (possibly empty).
    AnyMany,
    /// `[...]`: one character within one of the inclusive ranges.
    Set(Vec<(char, char)>),
}

impl Token {
    fn matches_one(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::AnyOne => true,
            Token::AnyMany => false,
            Token::Set(ranges) => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// No wildcard at all: plain string equality.
    Exact(String),
    /// Only `%` characters: matches every name.
    Everything,
    /// General case.
    Tokens(Vec<Token>),
}

/// A compiled, case-sensitive DMS wildcard pattern (or an exact name, see [`Pattern::exact`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    kind: Kind,
}

impl Pattern {
    /// Compiles a wildcard pattern.
    ///
    /// # Errors
    /// [`PatternError`] for an unclosed or empty `[...]` set or a reversed range.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::with_capacity(chars.len());
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            match c {
                '%' => {
                    if tokens.last() != Some(&Token::AnyMany) {
                        tokens.push(Token::AnyMany);
                    }
                    i += 1;
                }
                '_' => {
                    tokens.push(Token::AnyOne);
                    i += 1;
                }
                '[' => {
                    let position = i + 1;
                    let close = chars
                        .iter()
                        .skip(i + 1)
                        .position(|&c| c == ']')
                        .map(|off| i + 1 + off)
                        .ok_or(PatternError::UnclosedSet { position })?;
                    let body = chars.get(i + 1..close).unwrap_or(&[]);
                    if body.is_empty() {
                        return Err(PatternError::EmptySet { position });
                    }
                    tokens.push(parse_set(body, position)?);
                    i = close + 1;
                }
                other => {
                    tokens.push(Token::Literal(other));
                    i += 1;
                }
            }
        }
        let kind = if tokens.iter().all(|t| matches!(t, Token::Literal(_))) {
            Kind::Exact(
                tokens
                    .iter()
                    .filter_map(|t| match t {
                        Token::Literal(c) => Some(*c),
                        _ => None,
                    })
                    .collect(),
            )
        } else if tokens.iter().all(|t| *t == Token::AnyMany) {
            Kind::Everything
        } else {
            Kind::Tokens(tokens)
        };
        Ok(Self {
            text: pattern.to_owned(),
            kind,
        })
    }

    /// A pattern that matches exactly `name`: no character is a wildcard (used by `explicit` selection
    /// rules and source filters).
    pub fn exact(name: &str) -> Self {
        Self {
            text: name.to_owned(),
            kind: Kind::Exact(name.to_owned()),
        }
    }

    /// The pattern as written in the table mapping.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the pattern matches every name (it consists of `%` only).
    pub fn matches_everything(&self) -> bool {
        matches!(self.kind, Kind::Everything)
    }

    /// True when the pattern contains a wildcard, i.e. it may match more than one name.
    pub fn has_wildcards(&self) -> bool {
        !matches!(self.kind, Kind::Exact(_))
    }

    /// Whether `name` matches the pattern (case-sensitive).
    pub fn matches(&self, name: &str) -> bool {
        match &self.kind {
            Kind::Exact(s) => s == name,
            Kind::Everything => true,
            Kind::Tokens(tokens) => match_tokens(tokens, name),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses the body of a `[...]` set (without the brackets; non-empty).
fn parse_set(body: &[char], position: usize) -> Result<Token, PatternError> {
    let mut ranges = Vec::new();
    let mut j = 0;
    while let Some(&start) = body.get(j) {
        // `x-y` is a range when `-` is neither the first nor the last character of the set.
        match (body.get(j + 1), body.get(j + 2)) {
            (Some('-'), Some(&end)) => {
                if start > end {
                    return Err(PatternError::ReversedRange {
                        position,
                        start,
                        end,
                    });
                }
                ranges.push((start, end));
                j += 3;
            }
            _ => {
                ranges.push((start, start));
                j += 1;
            }
        }
    }
    Ok(Token::Set(ranges))
}

/// Iterative wildcard matching with single-star backtracking (no allocation, no recursion).
fn match_tokens(tokens: &[Token], text: &str) -> bool {
    let char_at = |t: usize| text.get(t..).and_then(|rest| rest.chars().next());
    let mut p = 0; // index in tokens
    let mut t = 0; // byte offset in text (always on a char boundary)
    // Where to resume after a mismatch: (token index after the last `%`, byte offset it consumed up to).
    let mut resume: Option<(usize, usize)> = None;
    while let Some(c) = char_at(t) {
        match tokens.get(p) {
            Some(Token::AnyMany) => {
                resume = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(tok) if tok.matches_one(c) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        match resume {
            Some((rp, rt)) => {
                // Let the last `%` swallow one more character and retry.
                let next = rt + char_at(rt).map_or(1, char::len_utf8);
                p = rp;
                t = next;
                resume = Some((rp, next));
            }
            None => return false,
        }
    }
    tokens
        .get(p..)
        .unwrap_or(&[])
        .iter()
        .all(|tok| *tok == Token::AnyMany)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pattern: &str, name: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(name)
    }

    #[test]
    fn matrix() {
        let cases: &[(&str, &str, bool)] = &[
            // %
            ("%", "", true),
            ("%", "anything", true),
            ("%%", "x", true),
            ("a%", "accounts", true),
            ("a%", "authors", true),
            ("a%", "novels", false),
            ("a%", "a", true),
            ("a%", "", false),
            ("%s", "accounts", true),
            ("%s", "account", false),
            ("a%s", "as", true),
            ("a%s", "a", false),
            ("%ou%", "accounts", true),
            ("%ou%", "authors", false),
            ("a%b%c", "aXbYc", true),
            ("a%b%c", "aXcYb", false),
            ("a%b%c", "abcbc", true),
            // _
            ("_", "a", true),
            ("_", "", false),
            ("_", "ab", false),
            ("a_c", "abc", true),
            ("a_c", "ac", false),
            ("a_c", "a_c", true),
            ("___", "ab", false),
            ("_%", "", false),
            ("_%", "x", true),
            // [_] literal underscore
            ("dms[_]sample", "dms_sample", true),
            ("dms[_]sample", "dmsXsample", false),
            ("dms_sample", "dmsXsample", true),
            ("a[%]", "a%", true),
            ("a[%]", "ab", false),
            // sets and ranges
            ("[ab]%", "apple", true),
            ("[ab]%", "banana", true),
            ("[ab]%", "cherry", false),
            ("[a-d]x", "cx", true),
            ("[a-d]x", "ex", false),
            ("[a-d]x", "dx", true),
            ("[a-]", "-", true),
            ("[a-]", "a", true),
            ("[a-]", "b", false),
            ("[-a]", "-", true),
            ("[a-cx-z]", "y", true),
            ("[a-cx-z]", "m", false),
            ("[^a]", "^", true),
            ("[^a]", "b", false),
            ("x]", "x]", true),
            // literals, case-sensitivity, edge cases
            ("Accounts", "accounts", false),
            ("accounts", "accounts", true),
            ("", "", true),
            ("", "a", false),
            ("abc", "ab", false),
            ("abcdef", "abc", false),
            ("é%", "été", true),
            ("_t_", "été", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                m(pattern, name),
                *expected,
                "pattern {pattern:?} on {name:?}"
            );
        }
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert_eq!(
            Pattern::parse("["),
            Err(PatternError::UnclosedSet { position: 1 })
        );
        assert_eq!(
            Pattern::parse("ab[a-"),
            Err(PatternError::UnclosedSet { position: 3 })
        );
        assert_eq!(
            Pattern::parse("a[]"),
            Err(PatternError::EmptySet { position: 2 })
        );
        assert_eq!(
            Pattern::parse("[d-a]"),
            Err(PatternError::ReversedRange {
                position: 1,
                start: 'd',
                end: 'a'
            })
        );
        let msg = Pattern::parse("[").unwrap_err().to_string();
        assert!(msg.contains("never closed"), "{msg}");
    }

    #[test]
    fn classification() {
        assert!(Pattern::parse("%").unwrap().matches_everything());
        assert!(Pattern::parse("%%%").unwrap().matches_everything());
        assert!(!Pattern::parse("a").unwrap().has_wildcards());
        assert!(Pattern::parse("a_").unwrap().has_wildcards());
        assert!(!Pattern::exact("a_%").has_wildcards());
        assert!(Pattern::exact("a_%").matches("a_%"));
        assert!(!Pattern::exact("a_%").matches("ab"));
        assert_eq!(Pattern::parse("a[_]").unwrap().as_str(), "a[_]");
    }

    /// Reference matcher: dynamic programming over (token, char) positions.
    fn reference(pattern: &Pattern, name: &str) -> bool {
        let tokens = match &pattern.kind {
            Kind::Exact(s) => return s == name,
            Kind::Everything => return true,
            Kind::Tokens(t) => t,
        };
        let text: Vec<char> = name.chars().collect();
        // dp[j] = tokens[..i] matches text[..j]
        let mut dp = vec![false; text.len() + 1];
        dp[0] = true;
        for tok in tokens {
            let mut next = vec![false; text.len() + 1];
            for j in 0..=text.len() {
                next[j] = match tok {
                    Token::AnyMany => dp[j] || (j > 0 && next[j - 1]),
                    _ => j > 0 && dp[j - 1] && tok.matches_one(text[j - 1]),
                };
            }
            dp = next;
        }
        dp[text.len()]
    }

    proptest! {
        #[test]
        fn agrees_with_reference(pattern in "[%_a-cé]{0,8}|[%_a-c\\[\\]\\-]{0,10}", name in "[a-cé_%\\-]{0,10}") {
            if let Ok(p) = Pattern::parse(&pattern) {
                prop_assert_eq!(p.matches(&name), reference(&p, &name), "pattern {:?} name {:?}", pattern, name);
            }
        }

        #[test]
        fn never_panics(pattern in "[%_\\[\\]a-c\\-^]{0,12}", name in "[a-c_%\\-\\[\\]]{0,12}") {
            if let Ok(p) = Pattern::parse(&pattern) {
                let _ = p.matches(&name);
            }
        }

        #[test]
        fn never_panics_any_unicode(pattern in "\\PC{0,16}", name in "\\PC{0,16}") {
            if let Ok(p) = Pattern::parse(&pattern) {
                let _ = p.matches(&name);
            }
        }

        #[test]
        fn percent_only_matches_everything(n in 1usize..5, name in "\\PC{0,20}") {
            let p = Pattern::parse(&"%".repeat(n)).unwrap();
            prop_assert!(p.matches(&name));
        }

        #[test]
        fn literal_matches_itself(name in "[a-zA-Z0-9 .$#-]{0,20}") {
            // Only characters without wildcard meaning: the pattern equals the name.
            let p = Pattern::parse(&name).unwrap();
            prop_assert!(p.matches(&name));
        }

        #[test]
        fn prefix_percent(prefix in "[a-z]{0,5}", rest in "\\PC{0,10}") {
            let p = Pattern::parse(&format!("{prefix}%")).unwrap();
            let name = format!("{prefix}{rest}");
            prop_assert!(p.matches(&name));
        }
    }
}
