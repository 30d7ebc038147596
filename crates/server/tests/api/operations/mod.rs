//! What an operator runs Tributary with: the OpenAPI document of every route, the Prometheus
//! exposition with its latency histograms, and JSON logs carrying the ids of their work.

mod exposition;
mod logs;
mod metrics;
mod openapi;
