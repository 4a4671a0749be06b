//! The admin API's streams: their health, and pausing and resuming them for the deployment.
//!
//! * `GET /admin/streams` — per stream (`ingest`, `outbox`): key, group, length, lag,
//!   pending, age of the oldest pending entry, the group's consumers with their pending counts
//!   and idle times, the dead-letter count, whether it is paused (since when, by whom), and how
//!   many of this replica's readers of it are holding off for the pause;
//! * `POST /admin/streams/{ingest|outbox}/pause`, `…/resume` — sets or clears the stream's
//!   pause flag on the bus, which every replica's readers honour within about a second (see
//!   [`alfred_actors::streams`]); answers the new state; 404 for another stream or action.
//!   Pausing an already paused stream keeps its first pause.
//!
//! [`crate::admin`] mounts these and checks the admin key first; pause and resume are logged
//! (INFO) with the client's address, the stream and this replica.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse};
use alfred_actors::bus::{Bus, BusError};
use alfred_actors::metrics::Metrics;
use alfred_actors::streams::{self, stream_health, ControlledStream, Paused};
use serde_json::json;

/// What the streams endpoints need.
#[derive(Clone)]
pub struct StreamControls {
    pub bus: Arc<dyn Bus>,
    /// For this replica's readers that hold off (`alfred_stream_paused`).
    pub metrics: Metrics,
    /// The controlled streams, each with how many readers of it this replica runs.
    pub streams: Vec<(ControlledStream, usize)>,
    /// This replica's name (`HOSTNAME`), recorded with a pause.
    pub replica: String,
}

impl StreamControls {
    fn find(&self, name: &str) -> Option<&ControlledStream> {
        self.streams
            .iter()
            .map(|(stream, _)| stream)
            .find(|stream| stream.name == name)
    }
}

fn unavailable(error: &BusError) -> HttpResponse {
    tracing::error!(%error, "Could not read or change the streams on the bus.");
    HttpResponse::ServiceUnavailable().json(json!({ "error": "the message bus is unavailable" }))
}

/// `GET /admin/streams`, for an authorized request.
#[tracing::instrument(name = "admin_list_streams", skip_all)]
pub(crate) async fn list(controls: &StreamControls) -> HttpResponse {
    let mut listed = Vec::with_capacity(controls.streams.len());
    for (stream, readers) in &controls.streams {
        let health = match stream_health(&*controls.bus, stream).await {
            Ok(health) => health,
            Err(error) => return unavailable(&error),
        };
        let mut shown = match serde_json::to_value(&health) {
            Ok(shown) => shown,
            Err(error) => {
                tracing::error!(%error, "Could not serialize a stream's health.");
                return HttpResponse::InternalServerError().finish();
            }
        };
        let holding_off = controls
            .metrics
            .stream_paused
            .with_label_values(&[stream.stream.as_str()])
            .get();
        shown["readers_here"] = json!(readers);
        shown["readers_paused_here"] = json!(holding_off);
        listed.push(shown);
    }
    HttpResponse::Ok().json(json!({ "replica": controls.replica, "streams": listed }))
}

/// `POST /admin/streams/{name}/{action}`, for an authorized request.
#[tracing::instrument(name = "admin_stream_action", skip_all, fields(stream = %name, action = %action))]
pub(crate) async fn act(
    controls: &StreamControls,
    request: &HttpRequest,
    name: &str,
    action: &str,
) -> HttpResponse {
    let Some(stream) = controls.find(name) else {
        return HttpResponse::NotFound().json(
            json!({ "error": format!("no stream {name:?}; the streams are ingest and outbox") }),
        );
    };
    let peer = request
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string());
    let replica = &controls.replica;
    let result = match action {
        "pause" => {
            let by = format!("{peer} via {replica}");
            streams::pause(&controls.bus, stream, by).await.map(|pause| {
                tracing::info!(stream = stream.name, %peer, %replica, since = %pause.since, "Operator paused the stream for every replica: nothing is read from it until it is resumed.");
                Some(pause)
            })
        }
        "resume" => streams::resume(&controls.bus, stream).await.map(|()| {
            tracing::info!(stream = stream.name, %peer, %replica, "Operator resumed the stream for every replica.");
            None
        }),
        _ => {
            return HttpResponse::NotFound()
                .json(json!({ "error": format!("no action {action:?}; use pause or resume") }))
        }
    };
    match result {
        Ok(pause) => HttpResponse::Ok().json(state(stream, pause)),
        Err(error) => unavailable(&error),
    }
}

/// The answer to a pause or resume: the stream's new state.
fn state(stream: &ControlledStream, pause: Option<Paused>) -> serde_json::Value {
    json!({
        "stream": stream.name,
        "paused": pause.is_some(),
        "paused_since": pause.as_ref().map(|pause| &pause.since),
        "paused_by": pause.as_ref().map(|pause| &pause.by),
    })
}
