//! The SOQL the simulator reads, and nothing more (`shared/research/providers.md` §2.4, §2.11):
//!
//! ```text
//! SELECT field (, field)* FROM object
//!   [WHERE field op literal (AND field op literal)*]
//!   [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] (, …)*]
//!   [LIMIT n]
//! ```
//!
//! with `op` one of `= != <> < <= > >=` and a literal one of: an unquoted date-time
//! `2005-10-08T01:02:03Z` or `…+05:00` (the documented forms: no fraction, an offset *with* a
//! colon), an unquoted date `2005-10-08`, a quoted string with `\'` escapes, a number, `TRUE`,
//! `FALSE`, `NULL`. Keywords are case-insensitive. Anything else (OR, parentheses, IN, LIKE,
//! functions, relationship fields, date literals such as `YESTERDAY`) is refused as
//! `MALFORMED_QUERY` with the position, as Salesforce words it: `ERROR at Row:1:Column:N`.
//! Whether a literal suits its field (a quoted date for a date-time field is refused) is checked
//! later, against the schema, in `select`.

/// A parsed query, its names as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub fields: Vec<String>,
    pub object: String,
    pub conditions: Vec<Condition>,
    pub order: Vec<OrderKey>,
    pub limit: Option<usize>,
}

/// `field op literal`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: Literal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Epoch milliseconds (always whole seconds).
    DateTime(i64),
    /// `2005-10-08`.
    Date(String),
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub field: String,
    pub descending: bool,
    /// `NULLS LAST`; Salesforce puts nulls first unless told.
    pub nulls_last: bool,
}

/// A query that is not in the subset, with Salesforce-style wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Text(String),
    Literal(String),
    Comma,
    Op(Op),
    Other(char),
    End,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: Kind,
    /// Byte offset in the query, for the error's column.
    at: usize,
}

/// Keywords of full SOQL that the subset leaves out: named in the error, so a test author sees
/// the limit is the simulator's.
const OUTSIDE: &[&str] = &[
    "OR", "NOT", "IN", "LIKE", "INCLUDES", "EXCLUDES", "OFFSET", "GROUP", "HAVING", "WITH", "FOR",
    "USING", "TYPEOF", "ROLLUP", "CUBE",
];

fn error_at(at: usize, text: impl std::fmt::Display) -> Malformed {
    Malformed(format!("ERROR at Row:1:Column:{}\n{text}", at + 1))
}

fn unexpected(token: &Token) -> Malformed {
    let shown = match &token.kind {
        Kind::Word(word) => word.clone(),
        Kind::Text(text) => format!("'{text}'"),
        Kind::Literal(text) => text.clone(),
        Kind::Comma => ",".into(),
        Kind::Op(op) => op.symbol().into(),
        Kind::Other(c) => c.to_string(),
        Kind::End => return error_at(token.at, "unexpected token: <EOF>"),
    };
    let outside = matches!(&token.kind, Kind::Word(w) if OUTSIDE.iter().any(|k| k.eq_ignore_ascii_case(w)))
        || matches!(token.kind, Kind::Other('(' | ')' | ':'));
    if outside {
        error_at(
            token.at,
            format!("unexpected token: '{shown}' (outside the simulator's SOQL subset)"),
        )
    } else {
        error_at(token.at, format!("unexpected token: '{shown}'"))
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, Malformed> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let starts_number = c == '-' && chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit());
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].1.is_ascii_alphanumeric() || "_.".contains(chars[i].1))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().map(|(_, c)| c).collect();
            tokens.push(Token {
                kind: Kind::Word(word),
                at,
            });
        } else if c.is_ascii_digit() || starts_number {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].1.is_ascii_alphanumeric() || ".:+-".contains(chars[i].1))
            {
                i += 1;
            }
            let literal: String = chars[start..i].iter().map(|(_, c)| c).collect();
            tokens.push(Token {
                kind: Kind::Literal(literal),
                at,
            });
        } else if c == '\'' {
            let mut value = String::new();
            i += 1;
            loop {
                let Some(&(_, c)) = chars.get(i) else {
                    return Err(error_at(at, "unterminated string literal"));
                };
                i += 1;
                match c {
                    '\'' => break,
                    '\\' => {
                        let escaped = chars.get(i).map(|(_, c)| *c);
                        i += 1;
                        value.push(match escaped {
                            Some('\'') => '\'',
                            Some('"') => '"',
                            Some('\\') => '\\',
                            Some('n') => '\n',
                            Some('r') => '\r',
                            Some('t') => '\t',
                            Some('b') => '\u{8}',
                            Some('f') => '\u{c}',
                            _ => {
                                return Err(error_at(
                                    at,
                                    "Invalid string literal: Illegal escape sequence",
                                ));
                            }
                        });
                    }
                    other => value.push(other),
                }
            }
            tokens.push(Token {
                kind: Kind::Text(value),
                at,
            });
        } else {
            let next = chars.get(i + 1).map(|(_, c)| *c);
            let (kind, width) = match (c, next) {
                (',', _) => (Kind::Comma, 1),
                ('=', _) => (Kind::Op(Op::Eq), 1),
                ('!', Some('=')) => (Kind::Op(Op::Ne), 2),
                ('<', Some('>')) => (Kind::Op(Op::Ne), 2),
                ('<', Some('=')) => (Kind::Op(Op::Le), 2),
                ('>', Some('=')) => (Kind::Op(Op::Ge), 2),
                ('<', _) => (Kind::Op(Op::Lt), 1),
                ('>', _) => (Kind::Op(Op::Gt), 1),
                (other, _) => (Kind::Other(other), 1),
            };
            tokens.push(Token { kind, at });
            i += width;
        }
    }
    tokens.push(Token {
        kind: Kind::End,
        at: text.len(),
    });
    Ok(tokens)
}

/// The shape `YYYY-MM-DDThh:mm:ss` followed by `Z` or `±hh:mm`, as epoch ms.
fn datetime(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let body = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && bytes.get(10) == Some(&b'T')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19);
    let zone = match bytes.get(19..) {
        Some(b"Z") => true,
        Some([b'+' | b'-', ..]) => {
            bytes.len() == 25 && digits(20..22) && bytes[22] == b':' && digits(23..25)
        }
        _ => false,
    };
    if !(body && zone) {
        return None;
    }
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|ts| ts.as_millisecond())
}

fn literal(token: &Token) -> Result<Literal, Malformed> {
    match &token.kind {
        Kind::Text(text) => Ok(Literal::Text(text.clone())),
        Kind::Word(word) if word.eq_ignore_ascii_case("TRUE") => Ok(Literal::Bool(true)),
        Kind::Word(word) if word.eq_ignore_ascii_case("FALSE") => Ok(Literal::Bool(false)),
        Kind::Word(word) if word.eq_ignore_ascii_case("NULL") => Ok(Literal::Null),
        Kind::Literal(text) => {
            if let Some(ms) = datetime(text) {
                return Ok(Literal::DateTime(ms));
            }
            if text.len() == 10 && text.parse::<jiff::civil::Date>().is_ok() {
                return Ok(Literal::Date(text.clone()));
            }
            if let Ok(number) = text.parse::<f64>()
                && number.is_finite()
                && !text.contains(['e', 'E'])
            {
                return Ok(Literal::Number(number));
            }
            Err(error_at(
                token.at,
                format!(
                    "unexpected token: '{text}' (a date-time literal is \
                     YYYY-MM-DDThh:mm:ssZ or YYYY-MM-DDThh:mm:ss+hh:mm, unquoted)"
                ),
            ))
        }
        _ => Err(unexpected(token)),
    }
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `advance` never moves past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != Kind::End {
            self.next += 1;
        }
        token
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().kind, Kind::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), Malformed> {
        if self.at_keyword(keyword) {
            self.advance();
            Ok(())
        } else {
            Err(unexpected(self.peek()))
        }
    }

    /// A field or object name (a keyword of the subset is not one).
    fn name(&mut self) -> Result<String, Malformed> {
        const RESERVED: &[&str] = &[
            "SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "LIMIT", "ASC", "DESC", "NULLS",
            "TRUE", "FALSE", "NULL",
        ];
        let token = self.advance();
        match token.kind {
            Kind::Word(word)
                if !RESERVED.iter().any(|k| k.eq_ignore_ascii_case(&word))
                    && !OUTSIDE.iter().any(|k| k.eq_ignore_ascii_case(&word)) =>
            {
                Ok(word)
            }
            _ => Err(unexpected(&token)),
        }
    }
}

/// Parses a query of the subset.
pub fn parse(text: &str) -> Result<Query, Malformed> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        next: 0,
    };
    parser.keyword("SELECT")?;
    let mut fields = vec![parser.name()?];
    while parser.peek().kind == Kind::Comma {
        parser.advance();
        fields.push(parser.name()?);
    }
    parser.keyword("FROM")?;
    let object = parser.name()?;
    let mut conditions = Vec::new();
    if parser.at_keyword("WHERE") {
        parser.advance();
        loop {
            let field = parser.name()?;
            let token = parser.advance();
            let Kind::Op(op) = token.kind else {
                return Err(unexpected(&token));
            };
            let value = literal(&parser.advance())?;
            conditions.push(Condition { field, op, value });
            if !parser.at_keyword("AND") {
                break;
            }
            parser.advance();
        }
    }
    let mut order = Vec::new();
    if parser.at_keyword("ORDER") {
        parser.advance();
        parser.keyword("BY")?;
        loop {
            let field = parser.name()?;
            let mut descending = false;
            if parser.at_keyword("ASC") {
                parser.advance();
            } else if parser.at_keyword("DESC") {
                parser.advance();
                descending = true;
            }
            let mut nulls_last = false;
            if parser.at_keyword("NULLS") {
                parser.advance();
                if parser.at_keyword("LAST") {
                    nulls_last = true;
                } else if !parser.at_keyword("FIRST") {
                    return Err(unexpected(parser.peek()));
                }
                parser.advance();
            }
            order.push(OrderKey {
                field,
                descending,
                nulls_last,
            });
            if parser.peek().kind != Kind::Comma {
                break;
            }
            parser.advance();
        }
    }
    let mut limit = None;
    if parser.at_keyword("LIMIT") {
        parser.advance();
        let token = parser.advance();
        match &token.kind {
            Kind::Literal(text) => match text.parse::<usize>() {
                Ok(n) => limit = Some(n),
                Err(_) => return Err(unexpected(&token)),
            },
            _ => return Err(unexpected(&token)),
        }
    }
    if parser.peek().kind != Kind::End {
        return Err(unexpected(parser.peek()));
    }
    Ok(Query {
        fields,
        object,
        conditions,
        order,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checklist_query_parses_with_an_unquoted_date_time() {
        let query = parse(
            "select Id, SystemModstamp from Account \
             where SystemModstamp >= 2005-10-08T01:02:03Z and IsDeleted = TRUE \
             order by SystemModstamp, Id desc nulls last limit 10",
        )
        .expect("in the subset");
        assert_eq!(query.fields, ["Id", "SystemModstamp"]);
        assert_eq!(query.object, "Account");
        assert_eq!(
            query.conditions,
            [
                Condition {
                    field: "SystemModstamp".into(),
                    op: Op::Ge,
                    value: Literal::DateTime(1_128_733_323_000),
                },
                Condition {
                    field: "IsDeleted".into(),
                    op: Op::Eq,
                    value: Literal::Bool(true),
                },
            ]
        );
        assert_eq!(query.order.len(), 2);
        assert!(query.order[1].descending && query.order[1].nulls_last);
        assert_eq!(query.limit, Some(10));
    }

    #[test]
    fn date_times_take_z_or_an_offset_with_a_colon_and_nothing_else() {
        let at = |literal: &str| {
            parse(&format!(
                "SELECT Id FROM Lead WHERE SystemModstamp > {literal}"
            ))
            .map(|q| q.conditions[0].value.clone())
        };
        assert_eq!(
            at("2005-10-08T03:02:03+02:00"),
            Ok(Literal::DateTime(1_128_733_323_000))
        );
        assert_eq!(at("2005-10-08"), Ok(Literal::Date("2005-10-08".into())));
        for refused in [
            "2005-10-08T01:02:03.000Z",
            "2005-10-08T01:02:03+0000",
            "2005-10-08T01:02:03",
            "2005-10-08 01:02:03Z",
        ] {
            assert!(at(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn strings_unescape_quotes_and_backslashes() {
        let query =
            parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ Sons'").expect("valid");
        assert_eq!(
            query.conditions[0].value,
            Literal::Text(r"O'Brien \ Sons".into())
        );
        assert!(parse(r"SELECT Id FROM Account WHERE Name = 'a\qb'").is_err());
        assert!(parse("SELECT Id FROM Account WHERE Name = 'open").is_err());
    }

    #[test]
    fn anything_outside_the_subset_is_refused_with_its_position() {
        for (query, needle) in [
            (
                "SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'",
                "Column:41\nunexpected token: 'OR' (outside",
            ),
            ("SELECT COUNT() FROM Account", "(outside"),
            (
                "SELECT Id FROM Account WHERE CreatedDate = YESTERDAY",
                "unexpected token: 'YESTERDAY'",
            ),
            ("SELECT Id FROM Account LIMIT", "<EOF>"),
            ("SELECT FROM Account", "unexpected token: 'FROM'"),
            (
                "SELECT Id FROM Account LIMIT 5 OFFSET 5",
                "'OFFSET' (outside",
            ),
            ("SELECT Id, FROM Account", "unexpected token: 'FROM'"),
            ("DELETE FROM Account", "Column:1\n"),
        ] {
            let error = parse(query).expect_err(query).0;
            assert!(error.contains(needle), "{query}: {error}");
        }
    }
}
