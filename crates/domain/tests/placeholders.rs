//! URL placeholders: compiling, rendering with the cursor and the poll start, encoding, errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tributary_domain::placeholders::UrlTemplate;

/// 2017-09-27T20:35:12.258Z, the `${epoch}` example of Cloud Elements' documentation.
const CURSOR: i64 = 1_506_544_512_258;
/// 2026-07-01T12:00:00Z.
const POLL_START: i64 = 1_782_907_200_000;

fn render(url: &str) -> String {
    UrlTemplate::compile(url)
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .render(CURSOR, POLL_START)
}

#[test]
fn each_placeholder_renders_the_cursor_or_the_poll_start() {
    let cases = [
        (
            "/hubs/crm/contacts?where=lastUpdated>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'",
            "/hubs/crm/contacts?where=lastUpdated>'2017-09-27T20%3A35%3A12Z'",
        ),
        ("?d=${date:yyyy-MM-dd}", "?d=2017-09-27"),
        ("?d=${date}", "?d=2017-09-27T20%3A35%3A12Z"),
        (
            "?d=${dateTimeZone:America/Denver:yyyy-MM-dd HH:mm}",
            "?d=2017-09-27%2014%3A35",
        ),
        (
            "?d=${DateTimeZone:PST:yyyy-MM-dd'T'HH:mm:ssXXX}",
            "?d=2017-09-27T13%3A35%3A12-07%3A00",
        ),
        ("?d=${dateTimeZone:-8:00:HH:mm}", "?d=12%3A35"),
        ("?d=${dateTimeZone:+6:00:HH:mm}", "?d=02%3A35"),
        (
            "?d=${dateTimeZone:GMT+02:00:HH:mm Z}",
            "?d=22%3A35%20%2B0200",
        ),
        (
            "?to=${nowTimeZone:GMT:yyyy-MM-dd'T'HH:mm:ss}",
            "?to=2026-07-01T12%3A00%3A00",
        ),
        ("?since=${epoch}", "?since=1506544512258"),
        ("?since=${epoch:ms}", "?since=1506544512258"),
        ("?since=${epoch:s}", "?since=1506544512"),
        ("?since=${epoch:us}", "?since=1506544512258000"),
        ("?since=${milliseconds}", "?since=1506544512258"),
        (
            "?q=${gmtDate:'{'yyyy'}'}&r=${epoch:s}",
            "?q=%7B2017%7D&r=1506544512",
        ),
        ("/plain/url?x=1", "/plain/url?x=1"),
        ("", ""),
        ("$notaplaceholder {x}", "$notaplaceholder {x}"),
    ];
    for (url, expected) in cases {
        assert_eq!(render(url), expected, "{url}");
    }
}

#[test]
fn has_placeholders_tells_static_urls_apart() {
    assert!(
        UrlTemplate::compile("/a?x=${epoch}")
            .unwrap()
            .has_placeholders()
    );
    assert!(!UrlTemplate::compile("/a?x=1").unwrap().has_placeholders());
}

#[test]
fn errors_point_into_the_url() {
    let cases = [
        (
            "/a?x=${epoch",
            5,
            "placeholder not closed with '}' at position 5",
        ),
        (
            "/a?x=${gmtDate:yyyy-qq}",
            20,
            "invalid date format: unknown pattern letter 'q' at position 5 at position 20",
        ),
        (
            "/a?x=${gmtDate:yyyy-'MM}",
            5,
            "placeholder not closed with '}' at position 5",
        ),
        ("/a?x=${dateTimeZone:Mars/Olympus:yyyy}", 20, ""),
        ("/a?x=${dateTimeZone:yyyy}", 20, ""),
        ("/a?x=${nowTimeZone}", 7, ""),
        (
            "/a?x=${epoch:ns}",
            13,
            "unknown epoch unit \"ns\" (expected s, ms or us) at position 13",
        ),
        ("/a?x=${lastPoll}", 7, ""),
    ];
    for (url, position, message) in cases {
        let error = UrlTemplate::compile(url).expect_err(url);
        assert_eq!(error.position, position, "{url}: {error}");
        if !message.is_empty() {
            assert_eq!(error.to_string(), message, "{url}");
        }
    }
}
