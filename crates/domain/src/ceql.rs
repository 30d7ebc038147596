//! CEQL, Cloud Elements' query language for `where` clauses: a parser into an AST with
//! byte-accurate error positions, and an evaluator of an AST against a JSON record.
//!
//! The provider client translates an AST into the provider's own filters where it can; the
//! evaluator applies the clauses a provider cannot express to the records it returns.
//!
//! Grammar (keywords ignore case):
//! ```text
//! expr       := and ( OR and )*
//! and        := primary ( AND primary )*
//! primary    := '(' expr ')' | field condition
//! condition  := ( = | != | <> | < | > | <= | >= ) literal
//!             | LIKE 'pattern' | IN '(' literal ( ',' literal )* ')'
//!             | IS NULL | IS NOT NULL
//! field      := name ( '.' name )*  |  `back-quoted name`
//! literal    := 'single-quoted, '' for a quote' | number | TRUE | FALSE
//! ```
//! Evaluation, where Cloud Elements says nothing: a field is a dotted path into the record (a
//! back-quoted name is first looked up whole, so `` `a.b` `` finds a key with a dot in it); a
//! missing field or JSON `null` makes every comparison false and only `IS NULL` true (SQL's
//! rule); numbers compare as numbers, and a string field compares with a number literal as a
//! number when it reads as one; strings compare by their bytes, which orders ISO-8601 dates of
//! one format correctly; `LIKE` takes `%` (any run) and `_` (one character) and ignores ASCII
//! case, as SOQL does. Parsing never recurses deeper than [`MAX_DEPTH`] parentheses.

use std::fmt;

use serde_json::Value;

/// Deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 64;

/// A parsed `where` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All of these (two or more).
    And(Vec<Expr>),
    /// Any of these (two or more).
    Or(Vec<Expr>),
    Compare {
        field: Field,
        op: CompareOp,
        value: Literal,
    },
    Like {
        field: Field,
        pattern: String,
    },
    In {
        field: Field,
        values: Vec<Literal>,
    },
    IsNull {
        field: Field,
        negated: bool,
    },
}

/// A field reference: a dotted path, or one back-quoted name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(serde_json::Number),
    Bool(bool),
}

/// A `where` clause that does not parse: what is wrong, and the byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeqlError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for CeqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

impl std::error::Error for CeqlError {}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Quoted(String),
    Str(String),
    Number(serde_json::Number),
    Op(CompareOp),
    LParen,
    RParen,
    Comma,
    End,
}

fn error(position: usize, message: impl Into<String>) -> CeqlError {
    CeqlError {
        position,
        message: message.into(),
    }
}

fn lex(text: &str) -> Result<Vec<(Token, usize)>, CeqlError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' | b')' | b',' => {
                i += 1;
                tokens.push((
                    match c {
                        b'(' => Token::LParen,
                        b')' => Token::RParen,
                        _ => Token::Comma,
                    },
                    start,
                ));
            }
            b'=' => {
                i += 1;
                tokens.push((Token::Op(CompareOp::Eq), start));
            }
            b'!' => {
                if bytes.get(i + 1) != Some(&b'=') {
                    return Err(error(start, "expected '=' after '!'"));
                }
                i += 2;
                tokens.push((Token::Op(CompareOp::Ne), start));
            }
            b'<' | b'>' => {
                let next = bytes.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    (b'<', Some(b'=')) => (CompareOp::Le, 2),
                    (b'<', Some(b'>')) => (CompareOp::Ne, 2),
                    (b'>', Some(b'=')) => (CompareOp::Ge, 2),
                    (b'<', _) => (CompareOp::Lt, 1),
                    _ => (CompareOp::Gt, 1),
                };
                i += len;
                tokens.push((Token::Op(op), start));
            }
            b'\'' | b'`' => {
                let quote = c;
                let mut value = Vec::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            let what = if quote == b'\'' {
                                "string"
                            } else {
                                "back-quoted name"
                            };
                            return Err(error(start, format!("unterminated {what}")));
                        }
                        Some(&b) if b == quote => {
                            if bytes.get(i + 1) == Some(&quote) {
                                value.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&b) => {
                            value.push(b);
                            i += 1;
                        }
                    }
                }
                // Only ASCII quotes were removed, so the bytes are still UTF-8.
                let value = String::from_utf8_lossy(&value).into_owned();
                if quote == b'`' && value.is_empty() {
                    return Err(error(start, "empty back-quoted name"));
                }
                tokens.push((
                    if quote == b'\'' {
                        Token::Str(value)
                    } else {
                        Token::Quoted(value)
                    },
                    start,
                ));
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_digit()
                        || matches!(bytes[i], b'.' | b'e' | b'E')
                        || (matches!(bytes[i], b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                tokens.push((Token::Number(number(&text[start..i], start)?), start));
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'$'))
                {
                    i += 1;
                }
                let name = &text[start..i];
                if name.ends_with('.') || name.contains("..") {
                    return Err(error(start, format!("invalid field name {name:?}")));
                }
                tokens.push((Token::Name(name.to_owned()), start));
            }
            _ => {
                let shown = text[start..].chars().next().unwrap_or('?');
                return Err(error(start, format!("unexpected character {shown:?}")));
            }
        }
    }
    tokens.push((Token::End, text.len()));
    Ok(tokens)
}

/// A number literal, with JSON's grammar. A fraction or exponent is read by Rust's correctly
/// rounded `f64` parser: serde_json's default one is off by an ulp for some literals
/// (`-1.5e38`), so the value written back, or sent to the provider, was not the one written.
fn number(literal: &str, start: usize) -> Result<serde_json::Number, CeqlError> {
    let invalid = || error(start, format!("invalid number {literal:?}"));
    let number = literal
        .parse::<serde_json::Number>()
        .map_err(|_| invalid())?;
    if !number.is_f64() {
        return Ok(number);
    }
    literal
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .ok_or_else(invalid)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &(Token, usize) {
        // lex always ends with End, and the parser never moves past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> (Token, usize) {
        let token = self.peek().clone();
        if self.next < self.tokens.len() - 1 {
            self.next += 1;
        }
        token
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(&self.peek().0, Token::Name(name) if name.eq_ignore_ascii_case(word))
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, CeqlError> {
        let mut any = vec![self.and(depth)?];
        while self.keyword("OR") {
            self.bump();
            any.push(self.and(depth)?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Or(any)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, CeqlError> {
        let mut all = vec![self.primary(depth)?];
        while self.keyword("AND") {
            self.bump();
            all.push(self.primary(depth)?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Expr::And(all)
        })
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, CeqlError> {
        let (token, at) = self.bump();
        let field = match token {
            Token::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(error(
                        at,
                        format!("more than {MAX_DEPTH} nested parentheses"),
                    ));
                }
                let inner = self.expr(depth + 1)?;
                let (close, close_at) = self.bump();
                if close != Token::RParen {
                    return Err(error(close_at, "expected ')'"));
                }
                return Ok(inner);
            }
            Token::Name(name) if is_reserved(&name) => {
                return Err(error(
                    at,
                    format!("expected a field name, found keyword {name}"),
                ));
            }
            Token::Name(name) => Field {
                name,
                quoted: false,
            },
            Token::Quoted(name) => Field { name, quoted: true },
            Token::End => return Err(error(at, "expected a condition, found the end")),
            _ => return Err(error(at, "expected a field name")),
        };
        let (token, at) = self.bump();
        match token {
            Token::Op(op) => {
                let value = self.literal()?;
                Ok(Expr::Compare { field, op, value })
            }
            Token::Name(word) if word.eq_ignore_ascii_case("LIKE") => match self.bump() {
                (Token::Str(pattern), _) => Ok(Expr::Like { field, pattern }),
                (_, at) => Err(error(at, "expected a quoted pattern after LIKE")),
            },
            Token::Name(word) if word.eq_ignore_ascii_case("IN") => {
                let (open, open_at) = self.bump();
                if open != Token::LParen {
                    return Err(error(open_at, "expected '(' after IN"));
                }
                let mut values = vec![self.literal()?];
                loop {
                    match self.bump() {
                        (Token::Comma, _) => values.push(self.literal()?),
                        (Token::RParen, _) => break,
                        (_, at) => return Err(error(at, "expected ',' or ')' in the IN list")),
                    }
                }
                Ok(Expr::In { field, values })
            }
            Token::Name(word) if word.eq_ignore_ascii_case("IS") => {
                let negated = self.keyword("NOT");
                if negated {
                    self.bump();
                }
                if !self.keyword("NULL") {
                    let at = self.peek().1;
                    return Err(error(at, "expected NULL"));
                }
                self.bump();
                Ok(Expr::IsNull { field, negated })
            }
            Token::End => Err(error(at, "expected an operator, found the end")),
            _ => Err(error(
                at,
                "expected an operator (= != < > <= >= LIKE IN IS)",
            )),
        }
    }

    fn literal(&mut self) -> Result<Literal, CeqlError> {
        match self.bump() {
            (Token::Str(value), _) => Ok(Literal::String(value)),
            (Token::Number(number), _) => Ok(Literal::Number(number)),
            (Token::Name(word), _) if word.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            (Token::Name(word), _) if word.eq_ignore_ascii_case("false") => {
                Ok(Literal::Bool(false))
            }
            (Token::End, at) => Err(error(at, "expected a value, found the end")),
            (_, at) => Err(error(
                at,
                "expected a value: 'text', a number, TRUE or FALSE",
            )),
        }
    }
}

fn is_reserved(name: &str) -> bool {
    ["AND", "OR", "LIKE", "IN", "IS", "NOT", "NULL"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
}

/// Parses a `where` clause.
pub fn parse(text: &str) -> Result<Expr, CeqlError> {
    let mut parser = Parser {
        tokens: lex(text)?,
        next: 0,
    };
    let expr = parser.expr(0)?;
    match parser.peek() {
        (Token::End, _) => Ok(expr),
        (Token::RParen, at) => Err(error(*at, "unbalanced ')'")),
        (_, at) => Err(error(*at, "expected AND, OR or the end")),
    }
}

/// Whether a record satisfies a clause (see the module docs for the rules).
pub fn evaluate(expr: &Expr, record: &Value) -> bool {
    match expr {
        Expr::And(all) => all.iter().all(|e| evaluate(e, record)),
        Expr::Or(any) => any.iter().any(|e| evaluate(e, record)),
        Expr::IsNull { field, negated } => {
            let null = lookup(record, field).is_none_or(Value::is_null);
            null != *negated
        }
        Expr::Compare { field, op, value } => match lookup(record, field) {
            None | Some(Value::Null) => false,
            Some(found) => compare(found, value).is_some_and(|ordering| match op {
                CompareOp::Eq => ordering.is_eq(),
                CompareOp::Ne => ordering.is_ne(),
                CompareOp::Lt => ordering.is_lt(),
                CompareOp::Gt => ordering.is_gt(),
                CompareOp::Le => ordering.is_le(),
                CompareOp::Ge => ordering.is_ge(),
            }),
        },
        Expr::In { field, values } => match lookup(record, field) {
            None | Some(Value::Null) => false,
            Some(found) => values
                .iter()
                .any(|v| compare(found, v).is_some_and(|o| o.is_eq())),
        },
        Expr::Like { field, pattern } => match lookup(record, field) {
            Some(Value::String(s)) => like(s.as_bytes(), pattern.as_bytes()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                like(v.to_string().as_bytes(), pattern.as_bytes())
            }
            _ => false,
        },
    }
}

fn lookup<'a>(record: &'a Value, field: &Field) -> Option<&'a Value> {
    if field.quoted
        && let Some(found) = record.get(&field.name)
    {
        return Some(found);
    }
    field
        .name
        .split('.')
        .try_fold(record, |value, key| match value {
            Value::Object(map) => map.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

fn compare(found: &Value, literal: &Literal) -> Option<std::cmp::Ordering> {
    match (found, literal) {
        (Value::Number(a), Literal::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Literal::Number(b)) => {
            a.trim().parse::<f64>().ok()?.partial_cmp(&b.as_f64()?)
        }
        (Value::Number(a), Literal::String(b)) => {
            a.as_f64()?.partial_cmp(&b.trim().parse::<f64>().ok()?)
        }
        (Value::String(a), Literal::String(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Literal::String(b)) => {
            Some(a.to_string().as_str().cmp(&b.to_ascii_lowercase()))
        }
        _ => None,
    }
}

/// SQL LIKE with `%` and `_`, ignoring ASCII case; iterative, linear in practice.
fn like(text: &[u8], pattern: &[u8]) -> bool {
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'_' || pattern[p].eq_ignore_ascii_case(&text[t])) {
            // `_` matches one byte; good enough for the ASCII ids and codes it is used on.
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == b'%' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'%')
}
