//! Any text as a pattern, a zone id and a URL template: compiling never panics, and what
//! compiles formats and renders without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_domain::dates::{DatePattern, Zone};
use tributary_domain::placeholders::UrlTemplate;

const INSTANTS: [i64; 6] = [0, -1, 1_764_324_000_123, i64::MIN, i64::MAX, -62_135_596_800_000];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(pattern) = DatePattern::compile(&text) {
        for zone in ["UTC", "America/New_York", "Asia/Kathmandu"] {
            let zone = Zone::parse(zone).expect("known zone");
            for instant in INSTANTS {
                let formatted = pattern.format(instant, &zone);
                let _ = pattern.parse(&formatted, &zone);
            }
        }
        let _ = pattern.warnings();
    }
    let _ = Zone::parse(&text);
    if let Ok(template) = UrlTemplate::compile(&text) {
        for instant in INSTANTS {
            let _ = template.render(instant, instant);
        }
    }
});
