//! The streams (`GET /admin/page/streams`): per stream (ingest, outbox) what
//! `GET /admin/streams` returns — length, lag, pending, the oldest pending entry's age, the
//! consumers, the dead letters, the pause, and each ingest partition's owner, fencing token and
//! backlog — and for the admin role Pause and Resume buttons
//! (`POST /admin/page/streams`, the same switch as `POST /admin/streams/{stream}/{action}`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::guard;
use super::layout::{self, Frame};
use super::nav;
use super::session::Session;
use crate::admin::Admin;
use crate::admin_auth::Role;
use crate::admin_streams::{self, PartitionView, StreamView, Switch};

/// The notice after a button (`?done=pause&stream=ingest`).
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
    stream: Option<String>,
}

/// A button's post.
#[derive(Debug, Deserialize)]
pub struct StreamForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    stream: String,
    #[serde(default)]
    action: String,
}

pub async fn show(
    request: HttpRequest,
    admin: web::Data<Admin>,
    done: web::Query<Done>,
) -> HttpResponse {
    let session = match guard::viewer(&request, &admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    let views = match admin_streams::views(&admin.streams).await {
        Ok(views) => admin_streams::partition_views(&admin.streams)
            .await
            .map(|partitions| (views, partitions)),
        Err(error) => Err(error),
    };
    if let Err(error) = &views {
        tracing::error!(%error, "Could not read the streams for the admin page.");
    }
    // Only a known action on a known stream is echoed back.
    let notice = match (done.done.as_deref(), done.stream.as_deref()) {
        (Some("pause"), Some(name)) if admin.streams.find(name).is_some() => Some(format!(
            "Paused {name} for every replica: nothing is read from it until it is resumed."
        )),
        (Some("resume"), Some(name)) if admin.streams.find(name).is_some() => Some(format!(
            "Resumed {name}: its backlog is worked off in order."
        )),
        _ => None,
    };
    let body = html! {
        @if let Some(notice) = notice {
            p.notice role="status" { (notice) }
        }
        @match &views {
            Err(_) => p.notice.error role="alert" { "Redis is unavailable; the streams cannot be read now." },
            Ok((views, partitions)) => {
                p.hint { "Replica " (admin.streams.replica) ". A pause holds every replica's readers of the stream within about a second; what arrives meanwhile waits in the stream, in order." }
                (summary(views, &session))
                @if let Some(controls) = &admin.streams.partitions {
                    (partitions_table(partitions, &controls.replica))
                }
                @for view in views { (consumers(view)) }
            }
        }
    };
    let frame = Frame {
        title: "Streams",
        current: nav::STREAMS,
        refresh: true,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}

#[tracing::instrument(name = "admin_page_stream_action", skip_all, fields(stream = %form.stream, action = %form.action))]
pub async fn act(
    request: HttpRequest,
    admin: web::Data<Admin>,
    form: web::Form<StreamForm>,
) -> HttpResponse {
    let session = match guard::changer(&request, &admin, &form.csrf) {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    let (Some(stream), Some(switch)) = (
        admin.streams.find(&form.stream),
        Switch::parse(&form.action),
    ) else {
        return layout::message(
            StatusCode::BAD_REQUEST,
            &session,
            "Unknown stream or action",
            "The stream must be ingest or outbox, the action pause or resume.",
        );
    };
    match admin_streams::switch_stream(&admin.streams, stream, switch, &request).await {
        Ok(_) => layout::see_other(&format!(
            "{}?done={}&stream={}",
            nav::STREAMS,
            form.action,
            stream.name
        )),
        Err(error) => {
            tracing::error!(%error, "Could not pause or resume a stream from the admin page.");
            layout::message(
                StatusCode::SERVICE_UNAVAILABLE,
                &session,
                "Not changed",
                "Redis is unavailable; the stream was not paused or resumed. Try again.",
            )
        }
    }
}

fn summary(views: &[StreamView], session: &Session) -> Markup {
    html! {
        table #streams {
            caption.hint { "Length counts handled entries too until the janitor trims them; lag is what the group has not read yet." }
            thead { tr {
                th scope="col" { "Stream" } th scope="col" { "State" } th scope="col" { "Length" }
                th scope="col" { "Lag" } th scope="col" { "Pending" } th scope="col" { "Oldest pending" }
                th scope="col" { "Dead letters" } th scope="col" { "Readers here" }
                @if session.role == Role::Admin { th scope="col" { "Actions" } }
            } }
            tbody {
                @for view in views {
                    @let health = &view.health;
                    tr data-stream=(health.stream) {
                        th scope="row" { (health.stream) br; span.kind { (health.key) } }
                        td {
                            @if health.paused {
                                span.state.state-restarting.paused { "paused" }
                                @if let Some(since) = health.paused_since.as_deref().filter(|since| !since.is_empty()) {
                                    br; span.kind { "since " time datetime=(since) { (since) } }
                                }
                                @if let Some(by) = &health.paused_by { br; span.kind { "by " (by) } }
                            } @else {
                                span.state.state-running { "running" }
                            }
                        }
                        td.num.length { (health.length) }
                        td.num.lag { @match health.lag { Some(lag) => (lag), None => "unknown" } }
                        td.num.pending { (health.pending) }
                        td.num.oldest {
                            @match health.oldest_pending_age_secs { Some(secs) => (age(secs)), None => "—" }
                        }
                        td.num.dead {
                            a href=(format!("{}?stream={}", nav::DEAD_LETTERS, health.stream)) { (health.dead_letters) }
                        }
                        td.num {
                            (view.readers_here)
                            @if view.readers_paused_here > 0 { br; span.kind { (view.readers_paused_here) " holding off" } }
                        }
                        @if session.role == Role::Admin { td { (button(health.stream, health.paused, session)) } }
                    }
                }
            }
        }
    }
}

/// The ingest partitions: each one's stream, owner, fencing token and backlog.
fn partitions_table(partitions: &[PartitionView], replica: &str) -> Markup {
    html! {
        h2 { "Ingest partitions" }
        table #partitions {
            caption.hint { "Each partition is read by the replica holding its lease; commits carry the lease's fencing token, and Postgres refuses an older one. This replica is " (replica) ". A partition without an owner is taken within about a lease time; the ingest pause holds every partition." }
            thead { tr {
                th scope="col" { "Partition" } th scope="col" { "Owner" } th scope="col" { "Token" }
                th scope="col" { "Length" } th scope="col" { "Lag" } th scope="col" { "Pending" }
                th scope="col" { "Oldest pending" }
            } }
            tbody {
                @for view in partitions {
                    @let health = &view.health;
                    tr data-partition=(health.partition) {
                        th scope="row" { (health.partition) br; span.kind { (health.key) } }
                        td.owner {
                            @match &health.owner {
                                Some(owner) => {
                                    (owner)
                                    @if view.owned_here { br; span.kind { "this replica" } }
                                }
                                None => span.state.state-restarting { "no owner" },
                            }
                        }
                        td.num.token {
                            @match health.token { Some(token) => (token), None => "—" }
                            @if health.token != Some(health.latest_token) && health.latest_token > 0 {
                                br; span.kind { "latest " (health.latest_token) }
                            }
                        }
                        td.num.length { (health.length) }
                        td.num.lag { @match health.lag { Some(lag) => (lag), None => "unknown" } }
                        td.num.pending { (health.pending) }
                        td.num.oldest {
                            @match health.oldest_pending_age_secs { Some(secs) => (age(secs)), None => "—" }
                        }
                    }
                }
            }
        }
    }
}

fn button(stream: &str, paused: bool, session: &Session) -> Markup {
    let (action, label) = if paused {
        ("resume", "Resume")
    } else {
        ("pause", "Pause")
    };
    html! {
        form.actions method="post" action=(nav::STREAMS) {
            (layout::csrf_field(session))
            input type="hidden" name="stream" value=(stream);
            button type="submit" name="action" value=(action) aria-label=(format!("{label} {stream}")) { (label) }
        }
    }
}

fn consumers(view: &StreamView) -> Markup {
    let health = &view.health;
    html! {
        h2 { "Consumers of " (health.stream) }
        @if health.consumers.is_empty() {
            p.hint { "No consumers in group " (health.group) " yet." }
        } @else {
            table.consumers data-stream=(health.stream) {
                caption.hint { "Group " (health.group) "." }
                thead { tr { th scope="col" { "Consumer" } th scope="col" { "Pending" } th scope="col" { "Idle" } } }
                tbody {
                    @for consumer in &health.consumers {
                        tr {
                            th scope="row" { (consumer.name) }
                            td.num { (consumer.pending) }
                            td.num { (age(consumer.idle_ms as f64 / 1000.0)) }
                        }
                    }
                }
            }
        }
    }
}

/// A duration in seconds, as an operator reads it.
fn age(secs: f64) -> String {
    match secs {
        s if s < 10.0 => format!("{s:.1} s"),
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}
