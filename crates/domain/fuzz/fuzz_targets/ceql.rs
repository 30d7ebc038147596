//! Any text as a CEQL where clause: parsing never panics, errors point inside the text, and
//! what parses evaluates without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_domain::ceql;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match ceql::parse(&text) {
        Ok(expr) => {
            let record = serde_json::json!({
                "a": 1, "b": "x%_", "c": null, "d": {"e": [1, "2"]}, "a.b": true
            });
            let _ = ceql::evaluate(&expr, &record);
        }
        Err(error) => assert!(text.is_char_boundary(error.position)),
    }
});
