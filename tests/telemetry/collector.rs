//! A fake OpenTelemetry collector that speaks OTLP/HTTP with protobuf bodies, as the exporter
//! of `src/telemetry.rs` does: `POST /v1/traces`, `Content-Type: application/x-protobuf`, an
//! `ExportTraceServiceRequest` in, an `ExportTraceServiceResponse` out.
//!
//! It runs on 127.0.0.1:0 in its own thread and actix system (so any test runtime can use it)
//! and records the identity of every span it receives.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use alfred_testkit::fake_server::RunningServer;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;

/// One exported span: enough to check how spans link into traces.
#[derive(Debug, Clone)]
pub struct RecordedSpan {
    pub name: String,
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    /// String, integer and boolean attributes, as text.
    pub attributes: HashMap<String, String>,
    /// The attributes of the resource (the process) that produced the span.
    pub resource: HashMap<String, String>,
}

#[derive(Default)]
struct State {
    spans: Mutex<Vec<RecordedSpan>>,
    /// Requests refused because they were not protobuf (should stay empty).
    refused: Mutex<Vec<String>>,
}

/// The running collector; dropping it stops the server.
pub struct Collector {
    state: Arc<State>,
    server: RunningServer,
}

impl Collector {
    pub async fn start() -> Collector {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let server = RunningServer::start("fake-otlp", "fake collector", 0, move |config| {
            config
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/v1/traces", web::post().to(traces));
        })
        .await;
        Collector { state, server }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT` (Alfred appends `/v1/traces`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    pub fn spans(&self) -> Vec<RecordedSpan> {
        self.state.spans.lock().unwrap().clone()
    }

    pub fn refused(&self) -> Vec<String> {
        self.state.refused.lock().unwrap().clone()
    }
}

async fn traces(request: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type != "application/x-protobuf" {
        state.refused.lock().unwrap().push(content_type);
        return HttpResponse::UnsupportedMediaType().finish();
    }
    let Ok(export) = ExportTraceServiceRequest::decode(body) else {
        state.refused.lock().unwrap().push("undecodable".to_owned());
        return HttpResponse::BadRequest().finish();
    };
    let mut recorded = Vec::new();
    for resource_spans in export.resource_spans {
        let resource = resource_spans
            .resource
            .map(|resource| text_attributes(resource.attributes))
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                recorded.push(RecordedSpan {
                    name: span.name,
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: (!span.parent_span_id.is_empty())
                        .then(|| hex::encode(&span.parent_span_id)),
                    attributes: text_attributes(span.attributes),
                    resource: resource.clone(),
                });
            }
        }
    }
    state.spans.lock().unwrap().extend(recorded);
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(ExportTraceServiceResponse::default().encode_to_vec())
}

/// String, integer and boolean attributes as text; others are left out.
fn text_attributes(attributes: Vec<KeyValue>) -> HashMap<String, String> {
    attributes
        .into_iter()
        .filter_map(|kv| {
            let value = match kv.value?.value? {
                Value::StringValue(s) => s,
                Value::IntValue(i) => i.to_string(),
                Value::BoolValue(b) => b.to_string(),
                _ => return None,
            };
            Some((kv.key, value))
        })
        .collect()
}
