//! A reader of the OpenMetrics text format (what Prometheus scrapes), strict enough to fail on
//! what Prometheus would refuse: every sample under a declared family and named as its type
//! allows, labels well quoted, values numbers, histograms with cumulative buckets up to
//! `+Inf` equal to their count, and `# EOF` last.

use std::collections::BTreeMap;

/// One series: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A metric family: its type, help and samples.
#[derive(Debug, Default, Clone)]
pub struct Family {
    pub kind: String,
    pub help: String,
    pub samples: Vec<Sample>,
}

/// Parses an exposition into its families, or says which line breaks the format.
pub fn parse(text: &str) -> Result<BTreeMap<String, Family>, String> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current: Option<String> = None;
    let lines: Vec<&str> = text.lines().collect();
    if lines.last() != Some(&"# EOF") {
        return Err("the exposition does not end with # EOF".into());
    }
    for (number, line) in lines[..lines.len() - 1].iter().enumerate() {
        let fail = |why: &str| format!("line {}: {why}: {line:?}", number + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name, value) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            if !valid_name(name) {
                return Err(fail("a bad metric name"));
            }
            let family = families.entry(name.to_owned()).or_default();
            match keyword {
                "HELP" => family.help = value.to_owned(),
                "TYPE" => {
                    if ![
                        "counter",
                        "gauge",
                        "histogram",
                        "summary",
                        "info",
                        "stateset",
                        "unknown",
                    ]
                    .contains(&value)
                    {
                        return Err(fail("an unknown type"));
                    }
                    family.kind = value.to_owned();
                }
                "UNIT" => {}
                _ => return Err(fail("an unknown descriptor")),
            }
            current = Some(name.to_owned());
            continue;
        }
        let sample = sample(line).map_err(|why| fail(&why))?;
        let family_name = current
            .clone()
            .ok_or_else(|| fail("a sample before any family"))?;
        let family = families.get_mut(&family_name).expect("declared");
        let suffix = sample
            .name
            .strip_prefix(family_name.as_str())
            .ok_or_else(|| fail("a sample outside its family"))?;
        let allowed: &[&str] = match family.kind.as_str() {
            "counter" => &["_total", "_created"],
            "gauge" | "unknown" => &[""],
            "histogram" => &["_bucket", "_sum", "_count", "_created"],
            _ => &["", "_sum", "_count", "_created", "_info"],
        };
        if !allowed.contains(&suffix) {
            return Err(fail(&format!("a {} sample named {suffix:?}", family.kind)));
        }
        family.samples.push(sample);
    }
    for (name, family) in &families {
        if family.kind == "histogram" {
            check_histogram(name, family)?;
        }
    }
    Ok(families)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn sample(line: &str) -> Result<Sample, String> {
    let (series, value) = line.rsplit_once(' ').ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse::<f64>()
            .map_err(|_| "a value that is no number")?,
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, BTreeMap::new()),
        Some((name, rest)) => (
            name,
            labels(rest.strip_suffix('}').ok_or("unclosed labels")?)?,
        ),
    };
    if !valid_name(name) {
        return Err("a bad sample name".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn labels(mut text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    while !text.is_empty() {
        let (key, rest) = text.split_once("=\"").ok_or("a label without =\"")?;
        if !valid_name(key) || key.contains(':') {
            return Err(format!("a bad label name {key:?}"));
        }
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err("a bad escape in a label value".into()),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("an unterminated label value".into()),
            }
        };
        labels.insert(key.to_owned(), value);
        text = rest[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&rest[end + 1..]);
    }
    Ok(labels)
}

/// One histogram series: its buckets (bound, cumulative count) and its `_count`.
type Buckets = (Vec<(f64, f64)>, Option<f64>);

/// Per series (labels but `le`): buckets cumulative, `+Inf` last and equal to `_count`.
fn check_histogram(name: &str, family: &Family) -> Result<(), String> {
    let mut series: BTreeMap<String, Buckets> = BTreeMap::new();
    for sample in &family.samples {
        let mut labels = sample.labels.clone();
        let le = labels.remove("le");
        let key = format!("{labels:?}");
        let entry = series.entry(key).or_default();
        if sample.name.ends_with("_bucket") {
            let le = le.ok_or_else(|| format!("{name}: a bucket without le"))?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().map_err(|_| format!("{name}: le {le:?}"))?
            };
            entry.0.push((bound, sample.value));
        } else if sample.name.ends_with("_count") {
            entry.1 = Some(sample.value);
        }
    }
    for (labels, (buckets, count)) in series {
        let bounds_rise = buckets.windows(2).all(|w| w[0].0 < w[1].0);
        let counts_rise = buckets.windows(2).all(|w| w[0].1 <= w[1].1);
        let last = buckets.last().copied();
        if !bounds_rise || !counts_rise || last.map(|b| b.0) != Some(f64::INFINITY) {
            return Err(format!("{name}{labels}: buckets not cumulative up to +Inf"));
        }
        if last.map(|b| b.1) != count {
            return Err(format!("{name}{labels}: the +Inf bucket is not the count"));
        }
    }
    Ok(())
}
