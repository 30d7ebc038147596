//! Pagers: where the next page is, and when there is none — never trusting a `next` link that
//! a provider always sends.
//!
//! | kind | the next page | it ends when |
//! |---|---|---|
//! | `offset` | `{{page.offset}}`/`{{page.start}}` + records read | a short or empty page, or offset ≥ `total` |
//! | `page_number` | `{{page.number}}` + 1 | a short or empty page, or offset ≥ `total` |
//! | `next_url` | the URL at `next` (relative ones against the base URL's origin) | `done` is true, no URL, or an empty page |
//! | `cursor` | `{{page.cursor}}` = the value at `cursor` | no cursor, the same cursor again, or an empty page |
//! | `link_header` | `Link: <…>; rel="next"` | no such link, or an empty page |
//! | `none` | — | after the first page |
//!
//! `total` (a JSON pointer to the provider's count of matches) may be given for any kind; the
//! offset kinds also stop on it. A position is what a hub `nextPage` token carries
//! ([`Position::encode`]).

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::template::PageVars;

/// The pager kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PagerKind {
    Offset,
    PageNumber,
    NextUrl,
    Cursor,
    LinkHeader,
    None,
}

impl PagerKind {
    pub fn name(self) -> &'static str {
        match self {
            PagerKind::Offset => "offset",
            PagerKind::PageNumber => "page_number",
            PagerKind::NextUrl => "next_url",
            PagerKind::Cursor => "cursor",
            PagerKind::LinkHeader => "link_header",
            PagerKind::None => "none",
        }
    }
}

/// A list request's pager, as the definition declares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerSpec {
    pub kind: PagerKind,
    /// A JSON pointer to the provider's total of matching records.
    pub total: Option<String>,
    /// `next_url`: a JSON pointer to the next page's URL.
    pub next: Option<String>,
    /// `next_url`: a JSON pointer to a boolean that is true on the last page.
    pub done: Option<String>,
    /// `cursor`: a JSON pointer to the next page's cursor.
    pub cursor: Option<String>,
    /// The most records one query returns (HubSpot's search stops at 10,000; QuickBooks' CDC
    /// answers 1,000 at most and cuts the rest silently). A poll that reads this many asks
    /// again as `on_cap` says (`crate::walk`); hub calls meet the provider's own answer.
    pub max_results: Option<u64>,
    /// What a poll does at `max_results`: `rewindow`, query again from the last updated date
    /// read (`tie_field` says how records sharing it are told apart).
    pub on_cap: Option<String>,
    /// `rewindow`: the record field that orders records sharing an updated date (a declared
    /// filter, such as HubSpot's `id` → `hs_object_id`). With it, the records at the last
    /// date are read on their own, ordered by it and restarted after the last one read, so any
    /// number of them can share one date; without it, the next query starts at that date
    /// (inclusive), which moves on only while fewer than `max_results` share it.
    pub tie_field: Option<String>,
}

impl PagerSpec {
    /// Whether polls re-window at a result cap (`max_results` with `on_cap = "rewindow"`).
    pub fn cap(&self) -> Option<u64> {
        self.max_results
            .filter(|_| self.on_cap.as_deref() == Some(ON_CAP_REWINDOW))
    }
}

/// The one `on_cap` there is.
pub const ON_CAP_REWINDOW: &str = "rewindow";

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The first page, whatever the kind.
    Start,
    Offset(u64),
    Page(u64),
    Cursor(String),
    Url(String),
}

impl Position {
    /// The text of a hub page token (the hub base64s it).
    pub fn encode(&self) -> String {
        match self {
            Position::Start => "s".to_owned(),
            Position::Offset(n) => format!("o:{n}"),
            Position::Page(n) => format!("p:{n}"),
            Position::Cursor(cursor) => format!("c:{cursor}"),
            Position::Url(url) => format!("u:{url}"),
        }
    }

    /// Reads [`Position::encode`]'s text back.
    pub fn decode(text: &str) -> Option<Position> {
        if text == "s" {
            return Some(Position::Start);
        }
        let (kind, rest) = text.split_once(':')?;
        Some(match kind {
            "o" => Position::Offset(rest.parse().ok()?),
            "p" => Position::Page(rest.parse().ok().filter(|n| *n >= 1)?),
            "c" if !rest.is_empty() => Position::Cursor(rest.to_owned()),
            "u" if !rest.is_empty() => Position::Url(rest.to_owned()),
            _ => return None,
        })
    }

    /// The position of the 1-based page `number` of `size` records, where the pager can jump
    /// there (offset and page-number pagers, or the first page of any).
    pub fn of_page(kind: PagerKind, number: u64, size: u32) -> Option<Position> {
        match kind {
            _ if number == 1 => Some(Position::Start),
            PagerKind::Offset => Some(Position::Offset(
                (number - 1).saturating_mul(u64::from(size)),
            )),
            PagerKind::PageNumber => Some(Position::Page(number)),
            _ => None,
        }
    }

    /// The page variables of a request at this position.
    pub fn vars(&self, size: u32) -> PageVars {
        let size64 = u64::from(size.max(1));
        let (offset, number, cursor) = match self {
            Position::Start | Position::Url(_) => (0, 1, None),
            Position::Offset(offset) => (*offset, offset / size64 + 1, None),
            Position::Page(number) => (
                number.saturating_sub(1).saturating_mul(size64),
                *number,
                None,
            ),
            Position::Cursor(cursor) => (0, 1, Some(cursor.clone())),
        };
        PageVars {
            size,
            offset,
            number,
            cursor,
        }
    }
}

/// What a page says about the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    pub next: Option<Position>,
    pub total: Option<u64>,
}

/// A JSON value as a cursor or URL: a non-empty string, or a number written out.
fn text_at(body: &Value, pointer: Option<&str>) -> Option<String> {
    match body.pointer(pointer?)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `rel="next"` target of a `Link` header.
fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        for link in value.to_str().ok()?.split(',') {
            let mut pieces = link.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            if is_next {
                return target
                    .strip_prefix('<')
                    .and_then(|t| t.strip_suffix('>'))
                    .map(str::to_owned);
            }
        }
    }
    None
}

/// Where the page after this one starts, if there is one.
pub fn advance(
    spec: &PagerSpec,
    at: &Position,
    size: u32,
    got: usize,
    body: &Value,
    headers: &HeaderMap,
) -> Advance {
    let total = spec
        .total
        .as_deref()
        .and_then(|p| body.pointer(p))
        .and_then(Value::as_u64);
    let got64 = got as u64;
    let vars = at.vars(size);
    let full = got > 0 && got64 >= u64::from(size);
    let next = match spec.kind {
        PagerKind::Offset | PagerKind::PageNumber => {
            let read = vars.offset.saturating_add(got64);
            if full && total.is_none_or(|t| read < t) {
                Some(match spec.kind {
                    PagerKind::Offset => Position::Offset(read),
                    _ => Position::Page(vars.number.saturating_add(1)),
                })
            } else {
                None
            }
        }
        PagerKind::NextUrl => {
            let done = spec
                .done
                .as_deref()
                .and_then(|p| body.pointer(p))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            (!done && got > 0)
                .then(|| text_at(body, spec.next.as_deref()))
                .flatten()
                .map(Position::Url)
        }
        PagerKind::Cursor => (got > 0)
            .then(|| text_at(body, spec.cursor.as_deref()))
            .flatten()
            .filter(|c| vars.cursor.as_ref() != Some(c))
            .map(Position::Cursor),
        PagerKind::LinkHeader => (got > 0)
            .then(|| link_next(headers))
            .flatten()
            .map(Position::Url),
        PagerKind::None => None,
    };
    Advance { next, total }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(kind: PagerKind) -> PagerSpec {
        PagerSpec {
            kind,
            total: None,
            next: None,
            done: None,
            cursor: None,
            max_results: None,
            on_cap: None,
            tie_field: None,
        }
    }

    fn none() -> HeaderMap {
        HeaderMap::new()
    }

    #[test]
    fn an_offset_pager_stops_on_a_short_page_an_empty_one_or_the_total_never_on_next() {
        let keap = PagerSpec {
            total: Some("/count".into()),
            ..spec(PagerKind::Offset)
        };
        // Keap's `next` is always there; it is never read.
        let page =
            |count: u64| json!({"contacts": [], "count": count, "next": "https://x/?offset=99"});
        let a = advance(&keap, &Position::Start, 7, 7, &page(20), &none());
        assert_eq!(
            a,
            Advance {
                next: Some(Position::Offset(7)),
                total: Some(20)
            }
        );
        let a = advance(&keap, &Position::Offset(7), 7, 7, &page(14), &none());
        assert_eq!(
            a.next, None,
            "offset 14 reached count 14: no empty third page"
        );
        let a = advance(&keap, &Position::Offset(7), 7, 6, &page(100), &none());
        assert_eq!(a.next, None, "a short page ends");
        let a = advance(&keap, &Position::Start, 7, 0, &page(100), &none());
        assert_eq!(a.next, None, "an empty page ends");
        let a = advance(
            &spec(PagerKind::Offset),
            &Position::Offset(3),
            3,
            3,
            &json!({}),
            &none(),
        );
        assert_eq!(
            a.next,
            Some(Position::Offset(6)),
            "no total: a full page goes on"
        );
        assert_eq!(Position::Offset(14).vars(7).number, 3);
        assert_eq!(Position::Offset(14).vars(7).offset, 14);
    }

    #[test]
    fn a_page_number_pager_counts_pages_from_one() {
        let pager = spec(PagerKind::PageNumber);
        let a = advance(&pager, &Position::Start, 2, 2, &json!({}), &none());
        assert_eq!(a.next, Some(Position::Page(2)));
        let a = advance(&pager, &Position::Page(2), 2, 2, &json!({}), &none());
        assert_eq!(a.next, Some(Position::Page(3)));
        let vars = Position::Page(3).vars(2);
        assert_eq!((vars.number, vars.offset), (3, 4));
        assert_eq!(
            advance(&pager, &Position::Page(3), 2, 1, &json!({}), &none()).next,
            None
        );
    }

    #[test]
    fn a_next_url_pager_follows_the_url_until_done() {
        let salesforce = PagerSpec {
            next: Some("/nextRecordsUrl".into()),
            done: Some("/done".into()),
            total: Some("/totalSize".into()),
            ..spec(PagerKind::NextUrl)
        };
        let more = json!({"totalSize": 3, "done": false, "nextRecordsUrl": "/services/data/v60.0/query/01g-2", "records": [{}, {}]});
        let a = advance(&salesforce, &Position::Start, 2000, 2, &more, &none());
        assert_eq!(
            a,
            Advance {
                next: Some(Position::Url("/services/data/v60.0/query/01g-2".into())),
                total: Some(3)
            },
            "a short page does not end it: the batch size is not guaranteed"
        );
        let last =
            json!({"totalSize": 3, "done": true, "nextRecordsUrl": "/stale", "records": [{}]});
        assert_eq!(
            advance(
                &salesforce,
                &Position::Url("/x".into()),
                2000,
                1,
                &last,
                &none()
            )
            .next,
            None
        );
    }

    #[test]
    fn a_cursor_pager_stops_without_a_cursor_or_on_the_same_cursor_again() {
        let hubspot = PagerSpec {
            cursor: Some("/paging/next/after".into()),
            ..spec(PagerKind::Cursor)
        };
        let more = json!({"results": [{}], "paging": {"next": {"after": "200"}}});
        let a = advance(&hubspot, &Position::Start, 100, 1, &more, &none());
        assert_eq!(a.next, Some(Position::Cursor("200".into())));
        assert_eq!(
            Position::Cursor("200".into()).vars(100).cursor.as_deref(),
            Some("200")
        );
        let same = advance(
            &hubspot,
            &Position::Cursor("200".into()),
            100,
            1,
            &more,
            &none(),
        );
        assert_eq!(same.next, None, "a cursor that does not move would loop");
        let last = json!({"results": [{}]});
        assert_eq!(
            advance(&hubspot, &Position::Start, 100, 1, &last, &none()).next,
            None
        );
        let numeric = json!({"results": [{}], "paging": {"next": {"after": 7}}});
        assert_eq!(
            advance(&hubspot, &Position::Start, 100, 1, &numeric, &none()).next,
            Some(Position::Cursor("7".into()))
        );
    }

    #[test]
    fn a_link_header_pager_follows_rel_next() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            "<https://api.example/items?page=1>; rel=\"prev\", <https://api.example/items?page=3>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        let pager = spec(PagerKind::LinkHeader);
        let a = advance(&pager, &Position::Start, 10, 10, &json!([]), &headers);
        assert_eq!(
            a.next,
            Some(Position::Url("https://api.example/items?page=3".into()))
        );
        assert_eq!(
            advance(&pager, &Position::Start, 10, 10, &json!([]), &none()).next,
            None
        );
        assert_eq!(
            advance(
                &spec(PagerKind::None),
                &Position::Start,
                1,
                1,
                &json!([]),
                &headers
            )
            .next,
            None
        );
    }

    #[test]
    fn positions_round_trip_through_their_token_text_and_pages_map_where_they_can() {
        for position in [
            Position::Start,
            Position::Offset(0),
            Position::Offset(u64::MAX),
            Position::Page(4),
            Position::Cursor("a:b".into()),
            Position::Url("/q/01g-2000".into()),
        ] {
            assert_eq!(Position::decode(&position.encode()), Some(position));
        }
        for bad in ["", "o:x", "p:0", "c:", "x:1"] {
            assert_eq!(Position::decode(bad), None, "{bad}");
        }
        assert_eq!(
            Position::of_page(PagerKind::Offset, 3, 7),
            Some(Position::Offset(14))
        );
        assert_eq!(
            Position::of_page(PagerKind::PageNumber, 3, 7),
            Some(Position::Page(3))
        );
        assert_eq!(
            Position::of_page(PagerKind::Cursor, 1, 7),
            Some(Position::Start)
        );
        assert_eq!(Position::of_page(PagerKind::Cursor, 2, 7), None);
    }
}
