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
use alfred_actors::streams::{self, stream_health, ControlledStream, Paused, StreamHealth};
use serde::Serialize;
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
    /// The controlled stream called `name` (`ingest`, `outbox`).
    pub(crate) fn find(&self, name: &str) -> Option<&ControlledStream> {
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

/// One stream as the admin API and the admin page show it: its health, and this replica's
/// readers of it (all of them, and those holding off for a pause).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StreamView {
    #[serde(flatten)]
    pub health: StreamHealth,
    pub readers_here: usize,
    pub readers_paused_here: i64,
}

/// Every controlled stream's view, read from the bus now.
pub(crate) async fn views(controls: &StreamControls) -> Result<Vec<StreamView>, BusError> {
    let mut views = Vec::with_capacity(controls.streams.len());
    for (stream, readers) in &controls.streams {
        views.push(StreamView {
            health: stream_health(&*controls.bus, stream).await?,
            readers_here: *readers,
            readers_paused_here: controls
                .metrics
                .stream_paused
                .with_label_values(&[stream.stream.as_str()])
                .get(),
        });
    }
    Ok(views)
}

/// `GET /admin/streams`, for an authorized request.
#[tracing::instrument(name = "admin_list_streams", skip_all)]
pub(crate) async fn list(controls: &StreamControls) -> HttpResponse {
    match views(controls).await {
        Ok(listed) => {
            HttpResponse::Ok().json(json!({ "replica": controls.replica, "streams": listed }))
        }
        Err(error) => unavailable(&error),
    }
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
    let Some(switch) = Switch::parse(action) else {
        return HttpResponse::NotFound()
            .json(json!({ "error": format!("no action {action:?}; use pause or resume") }));
    };
    match switch_stream(controls, stream, switch, request).await {
        Ok(pause) => HttpResponse::Ok().json(state(stream, pause)),
        Err(error) => unavailable(&error),
    }
}

/// Pausing or resuming a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Switch {
    Pause,
    Resume,
}

impl Switch {
    /// `pause` or `resume`.
    pub(crate) fn parse(name: &str) -> Option<Switch> {
        match name {
            "pause" => Some(Switch::Pause),
            "resume" => Some(Switch::Resume),
            _ => None,
        }
    }
}

/// Pauses or resumes `stream` for every replica, logged with the client's address (the admin
/// API and the admin page both come here); the pause in force afterwards.
pub(crate) async fn switch_stream(
    controls: &StreamControls,
    stream: &ControlledStream,
    switch: Switch,
    request: &HttpRequest,
) -> Result<Option<Paused>, BusError> {
    let peer = request
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string());
    let replica = &controls.replica;
    match switch {
        Switch::Pause => {
            let by = format!("{peer} via {replica}");
            let pause = streams::pause(&controls.bus, stream, by).await?;
            tracing::info!(stream = stream.name, %peer, %replica, since = %pause.since, "Operator paused the stream for every replica: nothing is read from it until it is resumed.");
            Ok(Some(pause))
        }
        Switch::Resume => {
            streams::resume(&controls.bus, stream).await?;
            tracing::info!(stream = stream.name, %peer, %replica, "Operator resumed the stream for every replica.");
            Ok(None)
        }
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
