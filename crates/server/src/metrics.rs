//! The process's Prometheus metrics, written through `prometheus-client` (the Prometheus
//! project's own Rust client): the latency histograms the workers feed as they go, and the
//! exposition of `/metrics`, which adds the counters and gauges read at scrape time (provider
//! pacing, delivery counters, and what only the database knows: the queue, sends in flight,
//! deletes lost).
//!
//! Histograms, so a p99 alert works: `tributary_delivery_latency_seconds` (from the poll that
//! found a change to its delivery), `tributary_poll_duration_seconds{element, resource}` (one
//! resource's poll, pages and commit), `tributary_provider_request_duration_seconds{element,
//! status}` (one provider API request, its body read; `status="none"` when no answer came).
//! Labels are element keys, resource names and status codes — never an id, a URL or a secret.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// What `/metrics` is served as: OpenMetrics text, the format Prometheus negotiates first.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Seconds from a poll to the delivery of what it found: a second to an hour.
const DELIVERY_BUCKETS: [f64; 13] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
/// Seconds one resource's poll takes: pages and the commit.
const POLL_BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];
/// Seconds one provider request takes.
const REQUEST_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    pub element: String,
    pub resource: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub element: String,
    pub status: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The histograms of one process, and the registry they are written from.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    delivery_latency: Histogram,
    poll_duration: Histograms<PollLabels>,
    provider_requests: Histograms<RequestLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let delivery_latency = Histogram::new(DELIVERY_BUCKETS);
        let poll_duration: Histograms<PollLabels> =
            Family::new_with_constructor(|| Histogram::new(POLL_BUCKETS));
        let provider_requests: Histograms<RequestLabels> =
            Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS));
        let mut registry = Registry::default();
        registry.register(
            "tributary_delivery_latency_seconds",
            "Seconds from the poll that found a change to its delivery (a 2xx from the callback).",
            delivery_latency.clone(),
        );
        registry.register(
            "tributary_poll_duration_seconds",
            "Seconds one resource's poll took: its pages, its delete sweep and its commit.",
            poll_duration.clone(),
        );
        registry.register(
            "tributary_provider_request_duration_seconds",
            "Seconds one provider API request took, its answer read, by element and status \
             (none: no answer).",
            provider_requests.clone(),
        );
        Metrics {
            registry,
            delivery_latency,
            poll_duration,
            provider_requests,
        }
    }

    /// A delivery, `latency` after the poll that found its change.
    pub fn delivered(&self, latency: Duration) {
        self.delivery_latency.observe(latency.as_secs_f64());
    }

    /// One resource's poll took `took`.
    pub fn polled(&self, element: &str, resource: &str, took: Duration) {
        self.poll_duration
            .get_or_create(&PollLabels {
                element: element.to_owned(),
                resource: resource.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// One provider request answered `status` (`None`: no answer) after `took`.
    pub fn provider_request(&self, element: &str, status: Option<u16>, took: Duration) {
        self.provider_requests
            .get_or_create(&RequestLabels {
                element: element.to_owned(),
                status: status.map_or_else(|| "none".to_owned(), |s| s.to_string()),
            })
            .observe(took.as_secs_f64());
    }

    /// The observer the provider clients' pacers tell of each request.
    pub fn request_observer(self: &Arc<Self>) -> tributary_elements::pacer::RequestObserver {
        let metrics = Arc::downgrade(self);
        Arc::new(move |element, status, took| {
            if let Some(metrics) = metrics.upgrade() {
                metrics.provider_request(element, status, took);
            }
        })
    }

    /// The exposition: the histograms, then the values read at scrape time, then `# EOF`.
    pub fn encode(&self, scraped: &Scraped) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode_registry(&mut text, &self.registry)?;
        prometheus_client::encoding::text::encode_registry(&mut text, &scraped.registry)?;
        prometheus_client::encoding::text::encode_eof(&mut text)?;
        Ok(text)
    }
}

/// Values read at scrape time (counters kept elsewhere, gauges from the database), each
/// written once per scrape.
#[derive(Debug, Default)]
pub struct Scraped {
    registry: Registry,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ElementLabel {
    element: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    element: String,
    app: String,
}

impl Scraped {
    /// A counter; `name` without its `_total`, which the exposition adds.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.registry.register(name, help, ConstCounter::new(value));
    }

    /// A counter of seconds (fractional).
    pub fn seconds_counter(&mut self, name: &str, help: &str, seconds: f64) {
        self.registry
            .register(name, help, ConstCounter::new(seconds));
    }

    /// A counter with one series per element.
    pub fn element_counter(&mut self, name: &str, help: &str, values: &[(String, f64)]) {
        let family: Family<
            ElementLabel,
            prometheus_client::metrics::counter::Counter<f64, std::sync::atomic::AtomicU64>,
        > = Family::default();
        for (element, value) in values {
            family
                .get_or_create(&ElementLabel {
                    element: element.clone(),
                })
                .inc_by(*value);
        }
        self.registry.register(name, help, family);
    }

    /// A gauge with one series per provider app (element and app fingerprint).
    pub fn app_gauge(&mut self, name: &str, help: &str, values: &[(String, String, f64)]) {
        let family: Family<
            AppLabels,
            prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
        > = Family::default();
        for (element, app, value) in values {
            family
                .get_or_create(&AppLabels {
                    element: element.clone(),
                    app: app.clone(),
                })
                .set(*value);
        }
        self.registry.register(name, help, family);
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: i64) {
        self.registry.register(name, help, ConstGauge::new(value));
    }
}
