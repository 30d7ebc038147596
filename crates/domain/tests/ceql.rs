//! CEQL: parse cases (valid and invalid, with the byte position of each error) and evaluation
//! against JSON records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use tributary_domain::ceql::{self, CompareOp, Expr, Field, Literal};

fn field(name: &str) -> Field {
    Field {
        name: name.into(),
        quoted: false,
    }
}

fn string(value: &str) -> Literal {
    Literal::String(value.into())
}

/// Clauses that parse; each from Cloud Elements' CEQL reference or tests where noted.
const VALID: &[&str] = &[
    "Name='Edge Communications'", // ceql-ref
    "Name='A' AND Industry='B'",  // ceql-ref
    "LastModifiedDate>'2018-01-15T00:00:00.000Z' AND (Name='x' OR Industry='y')", // ceql-ref
    "Name LIKE 'Acc%'",           // ceql-ref
    "AnnualRevenue >= 100000",    // ceql-ref
    "since='2018-03-19T06:30:04.000Z'", // CE tests, infusionsoftrest
    "since='2018-03-19T06:30:04.000-04:00'", // CE tests, orders
    "family_name='String'",       // CE tests
    "user_id= 1",                 // CE tests
    "permission = 'USER'",        // CE tests
    "a != 1",
    "a <> 1",
    "a < 1 and b > 2 or c <= 3 AND d >= -4.5",
    "a IN ('x', 'y', 'z')",
    "a in (1,2,3)",
    "a IS NULL",
    "a is not null",
    "`created.date` > '2020-01-01'",
    "`it``s` = 'x'",
    "name = 'O''Brien'",
    "_info.lastUpdated > '2024'",
    "((a = 1))",
    "active = TRUE",
    "active = false",
    "x = 1e3",
    "  a  =  'spaces around'  ",
    "a = ''",
    "a = 'ünïcode'",
];

/// Clauses that do not parse: (clause, byte position of the error).
const INVALID: &[(&str, usize)] = &[
    ("", 0),
    ("   ", 3),
    ("Name", 4),
    ("Name =", 6),
    ("= 'x'", 0),
    ("Name = 'unterminated", 7),
    ("Name = 'x' AND", 14),
    ("Name = 'x' OR OR b = 1", 14),
    ("(a = 1", 6),
    ("a = 1)", 5),
    ("a = 1 b = 2", 6),
    ("a ! 1", 2),
    ("a = #", 4),
    ("a LIKE 5", 7),
    ("a IN 'x'", 5),
    ("a IN ('x' 'y')", 10),
    ("a IN ()", 6),
    ("a IS 'x'", 5),
    ("a IS NOT", 8),
    ("`` = 1", 0),
    ("`open = 1", 0),
    ("AND = 1", 0),
    ("a = b", 4),
    ("a == 1", 3),
    ("a = 1.2.3", 4),
    ("a. = 1", 0),
    ("a..b = 1", 0),
    ("a = 'x' AND (b = 1 OR)", 21),
    ("a = -", 4),
    ("é = 1", 0),
];

#[test]
fn valid_clauses_parse() {
    for clause in VALID {
        if let Err(error) = ceql::parse(clause) {
            panic!("{clause:?}: {error}");
        }
    }
}

#[test]
fn invalid_clauses_fail_at_the_offending_byte() {
    for &(clause, position) in INVALID {
        match ceql::parse(clause) {
            Ok(expr) => panic!("{clause:?} parsed as {expr:?}"),
            Err(error) => assert_eq!(
                error.position, position,
                "{clause:?}: {error} (expected position {position})"
            ),
        }
    }
    assert!(VALID.len() + INVALID.len() >= 40);
}

#[test]
fn errors_name_the_problem_and_the_position() {
    let error = ceql::parse("Name = 'x' AND").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected a condition, found the end at position 14"
    );
    let error = ceql::parse("a = #").unwrap_err();
    assert_eq!(error.to_string(), "unexpected character '#' at position 4");
}

#[test]
fn the_ast_keeps_precedence_and_literals() {
    let expr = ceql::parse("a = 1 OR b = 'x' AND c IS NOT NULL").unwrap();
    let Expr::Or(any) = expr else {
        panic!("OR binds loosest")
    };
    assert_eq!(
        any[0],
        Expr::Compare {
            field: field("a"),
            op: CompareOp::Eq,
            value: Literal::Number(1.into()),
        }
    );
    assert_eq!(
        any[1],
        Expr::And(vec![
            Expr::Compare {
                field: field("b"),
                op: CompareOp::Eq,
                value: string("x"),
            },
            Expr::IsNull {
                field: field("c"),
                negated: true,
            },
        ])
    );
    assert_eq!(
        ceql::parse("name = 'O''Brien'").unwrap(),
        Expr::Compare {
            field: field("name"),
            op: CompareOp::Eq,
            value: string("O'Brien"),
        }
    );
    assert_eq!(
        ceql::parse("`a.b` IN ('x')").unwrap(),
        Expr::In {
            field: Field {
                name: "a.b".into(),
                quoted: true
            },
            values: vec![string("x")],
        }
    );
}

#[test]
fn a_long_chain_stays_flat_and_deep_nesting_is_refused() {
    let chain = vec!["a = 1"; 5000].join(" AND ");
    let Expr::And(all) = ceql::parse(&chain).unwrap() else {
        panic!("a flat AND")
    };
    assert_eq!(all.len(), 5000);
    let deep = format!("{}a = 1{}", "(".repeat(100), ")".repeat(100));
    let error = ceql::parse(&deep).unwrap_err();
    assert_eq!(error.position, 64);
}

#[test]
fn evaluation_follows_the_documented_rules() {
    let record = json!({
        "id": 42,
        "name": "Acme Corp",
        "owner": {"id": "7", "email": null},
        "a.b": "dotted key",
        "last_updated": "2024-11-07T20:35:13.000+0000",
        "active": true,
        "tags": ["x", "y"],
        "score": 3.5
    });
    let cases: &[(&str, bool)] = &[
        ("id = 42", true),
        ("id = 42.0", true),
        ("id != 42", false),
        ("id > 41 AND id < 43", true),
        ("id >= 42 AND id <= 42", true),
        ("id IN (1, 2, 42)", true),
        ("id IN ('42')", true),
        ("name = 'Acme Corp'", true),
        ("name = 'acme corp'", false),
        ("name LIKE 'acme%'", true),
        ("name LIKE '%Corp'", true),
        ("name LIKE 'A_me%'", true),
        ("name LIKE 'Acme'", false),
        ("id LIKE '4%'", true),
        ("owner.id = 7", true),
        ("owner.id = '7'", true),
        ("owner.email IS NULL", true),
        ("owner.email IS NOT NULL", false),
        ("owner.email = 'x'", false),
        ("owner.email != 'x'", false),
        ("missing IS NULL", true),
        ("missing != 1", false),
        ("`a.b` = 'dotted key'", true),
        ("last_updated > '2024-11-07T20:35:12'", true),
        ("last_updated < '2024-11-07T20:35:12'", false),
        ("active = TRUE", true),
        ("active = 'true'", true),
        ("tags.1 = 'y'", true),
        ("score > 3 AND score < 4", true),
        ("id = 1 OR name LIKE '%corp'", true),
        ("(id = 1 OR id = 2) AND name IS NOT NULL", false),
    ];
    for &(clause, expected) in cases {
        let expr = ceql::parse(clause).unwrap();
        assert_eq!(ceql::evaluate(&expr, &record), expected, "{clause}");
    }
}
