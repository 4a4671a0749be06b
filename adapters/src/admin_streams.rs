//! The admin API's streams: their health, and pausing and resuming them for the deployment.
//!
//! * `GET /admin/streams` — per stream (`ingest`, `outbox`): key, group, length, lag,
//!   pending, age of the oldest pending entry, the group's consumers with their pending counts
//!   and idle times, the dead-letter count, whether it is paused (since when, by whom), and how
//!   many of this replica's readers of it are holding off for the pause; and per ingest
//!   partition (`partitions`, empty with `INGEST_PARTITIONS=0`): its stream, the replica
//!   holding its lease and the lease's fencing token, the latest token drawn, length, lag,
//!   pending, its consumers, and whether this replica (`partition_replica`) owns it (the
//!   `ingest` pause holds the partitions too);
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
use alfred_actors::partitions::{partitions_health, IngestRoute, PartitionHealth};
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
    /// The ingest partitions, shown with their owners; `None` with `INGEST_PARTITIONS=0`.
    pub partitions: Option<PartitionControls>,
}

/// What the streams endpoints show of the ingest partitions.
#[derive(Debug, Clone)]
pub struct PartitionControls {
    /// The instance's key prefix (leases and fencing counters are read under it).
    pub prefix: String,
    /// The partition streams.
    pub route: IngestRoute,
    /// The ingest consumer group.
    pub group: String,
    /// This process's replica id among the partitions' owners (`{HOSTNAME}-{8 hex}`).
    pub replica: String,
}

/// One partition as the admin API and the admin page show it: its health and owner, and
/// whether this replica is that owner.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PartitionView {
    #[serde(flatten)]
    pub health: PartitionHealth,
    pub owned_here: bool,
}

/// Every partition's view, read from the bus now (none without partitions).
pub(crate) async fn partition_views(
    controls: &StreamControls,
) -> Result<Vec<PartitionView>, BusError> {
    let Some(partitions) = &controls.partitions else {
        return Ok(Vec::new());
    };
    let health = partitions_health(
        &*controls.bus,
        &partitions.prefix,
        partitions.route.partitions(),
        &partitions.group,
    )
    .await?;
    Ok(health
        .into_iter()
        .map(|health| PartitionView {
            owned_here: health.owner.as_deref() == Some(partitions.replica.as_str()),
            health,
        })
        .collect())
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

/// Every controlled stream's view, read from the bus now. With partitions, the `ingest`
/// readers here are the single stream's and one per partition this replica owns, and those
/// holding off for a pause are counted over all of them (the ingest pause holds them all).
pub(crate) async fn views(controls: &StreamControls) -> Result<Vec<StreamView>, BusError> {
    let partitions = partition_views(controls).await?;
    let paused_gauge = |key: &str| {
        controls
            .metrics
            .stream_paused
            .with_label_values(&[key])
            .get()
    };
    let mut views = Vec::with_capacity(controls.streams.len());
    for (stream, readers) in &controls.streams {
        let mut view = StreamView {
            health: stream_health(&*controls.bus, stream).await?,
            readers_here: *readers,
            readers_paused_here: paused_gauge(&stream.stream),
        };
        if stream.name == "ingest" {
            for partition in partitions.iter().filter(|p| p.owned_here) {
                view.readers_here += 1;
                view.readers_paused_here += paused_gauge(&partition.health.key);
            }
        }
        views.push(view);
    }
    Ok(views)
}

/// `GET /admin/streams`, for an authorized request.
#[tracing::instrument(name = "admin_list_streams", skip_all)]
pub(crate) async fn list(controls: &StreamControls) -> HttpResponse {
    let listed = match views(controls).await {
        Ok(listed) => listed,
        Err(error) => return unavailable(&error),
    };
    match partition_views(controls).await {
        Ok(partitions) => HttpResponse::Ok().json(json!({
            "replica": controls.replica,
            "partition_replica": controls.partitions.as_ref().map(|p| &p.replica),
            "streams": listed,
            "partitions": partitions,
        })),
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
