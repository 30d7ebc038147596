//! A parser for the subset of QuickBooks' query language that pollers use
//! (`shared/research/providers.md` §4.4, §4.5):
//!
//! ```text
//! select * | count(*) | Field, … from Entity
//!   [where Field op value [and Field op value …]]
//!   [orderby Field [asc|desc]]
//!   [startposition n] [maxresults m]
//! ```
//!
//! Keywords are case-insensitive; `op` is `=`, `<`, `>`, `<=`, `>=`, `in (v, …)` or `like`;
//! values are single-quoted strings with backslash escapes (`'Amy\'s'`), bare numbers, or
//! `true`/`false`. Only `AND` combines conditions: `OR` is refused, as QuickBooks does.
//!
//! Choices where undocumented: `order by` (two words) is accepted beside `orderby`;
//! `startposition` and `maxresults` may come in either order; `!=` is refused like any other
//! unknown operator; a parse error names the token and its column, in the style of Intuit's
//! `QueryParserError: Encountered "…" at line 1, column N.`

use std::fmt;

/// What a query selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    All,
    Count,
    Fields(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    Like,
}

/// A value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A quoted string, unescaped.
    Text(String),
    /// A bare number, as written.
    Number(String),
    Bool(bool),
}

impl Literal {
    /// The value as text (`true`, `42`, `Amy's`).
    pub fn text(&self) -> String {
        match self {
            Literal::Text(text) | Literal::Number(text) => text.clone(),
            Literal::Bool(flag) => flag.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    /// One value, or the list of `in (…)`.
    pub values: Vec<Literal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub select: Select,
    pub entity: String,
    pub conditions: Vec<Condition>,
    /// The field and whether descending.
    pub order: Option<(String, bool)>,
    pub start_position: Option<i64>,
    pub max_results: Option<i64>,
}

/// Why a query does not parse: the text after `QueryParserError: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Number(String),
    Symbol(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(text) | Token::Number(text) => f.write_str(text),
            Token::Quoted(text) => write!(f, "'{text}'"),
            Token::Symbol(symbol) => f.write_str(symbol),
        }
    }
}

/// Tokens with their 1-based columns.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ParseError(format!(
                            "Lexical error at line 1, column {column}: unterminated string"
                        )));
                    }
                    Some('\\') => {
                        if let Some(next) = chars.get(i + 1) {
                            value.push(*next);
                        }
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        value.push(*other);
                        i += 1;
                    }
                }
            }
            tokens.push((Token::Quoted(value), column));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_.".contains(chars[i])) {
                i += 1;
            }
            tokens.push((Token::Word(chars[start..i].iter().collect()), column));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            tokens.push((Token::Number(chars[start..i].iter().collect()), column));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let symbol = match (two.as_str(), c) {
                ("<=", _) => "<=",
                (">=", _) => ">=",
                ("!=", _) => "!=",
                ("<>", _) => "<>",
                (_, '<') => "<",
                (_, '>') => ">",
                (_, '=') => "=",
                (_, '*') => "*",
                (_, '(') => "(",
                (_, ')') => ")",
                (_, ',') => ",",
                _ => {
                    return Err(ParseError(format!(
                        "Lexical error at line 1, column {column}: encountered \"{c}\""
                    )));
                }
            };
            i += symbol.len();
            tokens.push((Token::Symbol(symbol), column));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    end_column: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(token, _)| token)
    }

    fn unexpected(&self) -> ParseError {
        match self.tokens.get(self.at) {
            Some((token, column)) => ParseError(format!(
                "Encountered \"{token}\" at line 1, column {column}."
            )),
            None => ParseError(format!(
                "Encountered \"<EOF>\" at line 1, column {}.",
                self.end_column
            )),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), ParseError> {
        if self.is_keyword(keyword) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn symbol(&mut self, symbol: &str) -> Result<(), ParseError> {
        if matches!(self.peek(), Some(Token::Symbol(found)) if *found == symbol) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn word(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::Word(word)) => {
                let word = word.clone();
                self.at += 1;
                Ok(word)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn number(&mut self) -> Result<i64, ParseError> {
        match self.peek() {
            Some(Token::Number(text)) => {
                let parsed = text.parse().map_err(|_| self.unexpected())?;
                self.at += 1;
                Ok(parsed)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let literal = match self.peek() {
            Some(Token::Quoted(text)) => Literal::Text(text.clone()),
            Some(Token::Number(text)) => Literal::Number(text.clone()),
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("false") => Literal::Bool(false),
            _ => return Err(self.unexpected()),
        };
        self.at += 1;
        Ok(literal)
    }

    fn select(&mut self) -> Result<Select, ParseError> {
        if self.peek() == Some(&Token::Symbol("*")) {
            self.at += 1;
            return Ok(Select::All);
        }
        if self.is_keyword("count")
            && self.tokens.get(self.at + 1).map(|(t, _)| t) == Some(&Token::Symbol("("))
        {
            self.at += 1;
            self.symbol("(")?;
            self.symbol("*")?;
            self.symbol(")")?;
            return Ok(Select::Count);
        }
        let mut fields = vec![self.word()?];
        while self.peek() == Some(&Token::Symbol(",")) {
            self.at += 1;
            fields.push(self.word()?);
        }
        Ok(Select::Fields(fields))
    }

    fn condition(&mut self) -> Result<Condition, ParseError> {
        let field = self.word()?;
        let op = match self.peek() {
            Some(Token::Symbol("=")) => Op::Eq,
            Some(Token::Symbol("<")) => Op::Lt,
            Some(Token::Symbol(">")) => Op::Gt,
            Some(Token::Symbol("<=")) => Op::Le,
            Some(Token::Symbol(">=")) => Op::Ge,
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("in") => Op::In,
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("like") => Op::Like,
            _ => return Err(self.unexpected()),
        };
        self.at += 1;
        let values = if op == Op::In {
            self.symbol("(")?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Token::Symbol(",")) {
                self.at += 1;
                values.push(self.literal()?);
            }
            self.symbol(")")?;
            values
        } else {
            vec![self.literal()?]
        };
        Ok(Condition { field, op, values })
    }
}

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
        end_column: text.chars().count() + 1,
    };
    parser.keyword("select")?;
    let select = parser.select()?;
    parser.keyword("from")?;
    let entity = parser.word()?;
    let mut conditions = Vec::new();
    if parser.is_keyword("where") {
        parser.at += 1;
        conditions.push(parser.condition()?);
        while parser.is_keyword("and") {
            parser.at += 1;
            conditions.push(parser.condition()?);
        }
    }
    let mut order = None;
    if parser.is_keyword("orderby") || parser.is_keyword("order") {
        if parser.is_keyword("order") {
            parser.at += 1;
            parser.keyword("by")?;
        } else {
            parser.at += 1;
        }
        let field = parser.word()?;
        let descending = if parser.is_keyword("desc") {
            parser.at += 1;
            true
        } else {
            if parser.is_keyword("asc") {
                parser.at += 1;
            }
            false
        };
        order = Some((field, descending));
    }
    let (mut start_position, mut max_results) = (None, None);
    loop {
        if start_position.is_none() && parser.is_keyword("startposition") {
            parser.at += 1;
            start_position = Some(parser.number()?);
        } else if max_results.is_none() && parser.is_keyword("maxresults") {
            parser.at += 1;
            max_results = Some(parser.number()?);
        } else {
            break;
        }
    }
    if parser.peek().is_some() {
        return Err(parser.unexpected());
    }
    Ok(Query {
        select,
        entity,
        conditions,
        order,
        start_position,
        max_results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polling_query_parses_with_any_keyword_case() {
        let query = parse(
            "SELECT * FROM Customer WHERE Metadata.LastUpdatedTime > '2015-03-01T00:00:00-07:00' \
             and Active IN (true, false) OrderBy Metadata.LastUpdatedTime DESC \
             STARTPOSITION 101 MAXRESULTS 100",
        )
        .expect("valid");
        assert_eq!(query.select, Select::All);
        assert_eq!(query.entity, "Customer");
        assert_eq!(
            query.conditions,
            [
                Condition {
                    field: "Metadata.LastUpdatedTime".into(),
                    op: Op::Gt,
                    values: vec![Literal::Text("2015-03-01T00:00:00-07:00".into())],
                },
                Condition {
                    field: "Active".into(),
                    op: Op::In,
                    values: vec![Literal::Bool(true), Literal::Bool(false)],
                },
            ]
        );
        assert_eq!(query.order, Some(("Metadata.LastUpdatedTime".into(), true)));
        assert_eq!(
            (query.start_position, query.max_results),
            (Some(101), Some(100))
        );
    }

    #[test]
    fn quoted_values_unescape_backslashes_and_other_forms_parse() {
        let query = parse(r"select count(*) from Vendor where DisplayName = 'Bob\'s Burger Joint'")
            .expect("valid");
        assert_eq!(query.select, Select::Count);
        assert_eq!(
            query.conditions[0].values,
            [Literal::Text("Bob's Burger Joint".into())]
        );
        let query =
            parse("select Id, DisplayName from Customer order by Id maxresults 5 startposition 6")
                .expect("valid");
        assert_eq!(
            query.select,
            Select::Fields(vec!["Id".into(), "DisplayName".into()])
        );
        assert_eq!(query.order, Some(("Id".into(), false)));
        assert_eq!(
            (query.start_position, query.max_results),
            (Some(6), Some(5))
        );
    }

    #[test]
    fn or_unknown_operators_and_loose_ends_are_refused_with_their_column() {
        let or = parse("select * from Customer where Id = '1' or Id = '2'").unwrap_err();
        assert_eq!(or.0, "Encountered \"or\" at line 1, column 39.");
        assert!(parse("select * from Customer where Id != '1'").is_err());
        assert!(parse("select * from Customer where DisplayName = 'open").is_err());
        assert!(parse("select * from").unwrap_err().0.contains("<EOF>"));
        assert!(parse("select * from Customer maxresults ten").is_err());
        assert!(parse("delete from Customer").is_err());
    }
}
