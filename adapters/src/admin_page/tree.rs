//! The live supervision tree (`GET /admin/`): state, incarnation, uptime, restarts and the last
//! exit of every node; restart, stop and start buttons for the admin role
//! (`POST /admin/page/actors`, the same operations as `POST /admin/actors/{name}/restart` etc.).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use alfred_actors::supervision::{ChildKind, ChildState, TreeNode};
use maud::{html, Markup};
use serde::Deserialize;

use super::guard;
use super::layout::{self, Frame};
use super::nav;
use super::session::Session;
use crate::admin::Admin;
use crate::admin_auth::Role;

/// The notice after an action (`?done=restart&actor=skill/grocery`).
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
    actor: Option<String>,
}

/// A button's post.
#[derive(Debug, Deserialize)]
pub struct ActorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    actor: String,
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
    let tree = admin.root.tree();
    // Only a known action on an actor that exists is echoed back.
    let notice = match (done.done.as_deref(), done.actor.as_deref()) {
        (Some(action @ ("restart" | "stop" | "start")), Some(actor)) if contains(&tree, actor) => {
            Some(format!("Asked {actor} to {action}."))
        }
        _ => None,
    };
    let body = html! {
        @if let Some(notice) = notice {
            p.notice role="status" { (notice) }
        }
        table {
            caption.hint { "Every supervisor and actor, in start order." }
            thead {
                tr {
                    th scope="col" { "Name" }
                    th scope="col" { "State" }
                    th scope="col" { "Incarnation" }
                    th scope="col" { "Uptime" }
                    th scope="col" { "Restarts" }
                    th scope="col" { "Last exit" }
                    @if session.role == Role::Admin { th scope="col" { "Actions" } }
                }
            }
            tbody { (rows(&tree, 0, &session)) }
        }
    };
    let frame = Frame {
        title: "Supervision tree",
        current: nav::TREE,
        refresh: true,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}

#[tracing::instrument(name = "admin_page_actor_action", skip_all, fields(actor = %form.actor))]
pub async fn act(
    request: HttpRequest,
    admin: web::Data<Admin>,
    form: web::Form<ActorForm>,
) -> HttpResponse {
    let session = match guard::changer(&request, &admin, &form.csrf) {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    let name = form.actor.as_str();
    let result = match form.action.as_str() {
        "restart" => admin.root.restart(name),
        "stop" => admin.root.stop(name),
        "start" => admin.root.start(name),
        _ => {
            return layout::message(
                StatusCode::BAD_REQUEST,
                &session,
                "Unknown action",
                "The action must be restart, stop or start.",
            )
        }
    };
    match result {
        Ok(()) => {
            tracing::info!(actor = %name, action = %form.action, via = "page", "Operator action on an actor.");
            layout::see_other(&format!(
                "{}?done={}&actor={}",
                nav::TREE,
                form.action,
                layout::percent_encode(name)
            ))
        }
        Err(error) => layout::message(
            StatusCode::NOT_FOUND,
            &session,
            "No such actor",
            &error.to_string(),
        ),
    }
}

fn rows(node: &TreeNode, depth: usize, session: &Session) -> Markup {
    let (state, state_class) = match node.state {
        ChildState::Running => ("running", "state state-running"),
        ChildState::Restarting => ("restarting", "state state-restarting"),
        ChildState::Stopped => ("stopped", "state state-stopped"),
        ChildState::Failed => ("failed", "state state-failed"),
    };
    let kind = match node.kind {
        ChildKind::Actor => "actor",
        ChildKind::Supervisor => "supervisor",
    };
    html! {
        tr data-actor=(node.name) {
            th scope="row" class=(format!("depth-{}", depth.min(6))) {
                (node.name) " " span.kind { (kind) }
            }
            td class=(state_class) { (state) }
            td.num.incarnation { (node.incarnation) }
            td.num {
                @if node.state == ChildState::Running { (uptime(node.uptime_secs)) } @else { "—" }
            }
            td.num.restarts { (node.restarts) }
            td {
                @if let Some(reason) = &node.last_exit_reason {
                    (reason)
                    @if let Some(at) = &node.last_exit_at { br; span.kind { (at) } }
                } @else { "—" }
            }
            @if session.role == Role::Admin {
                td {
                    // The root is the process itself: restarting it is restarting Alfred.
                    @if depth > 0 { (buttons(node, session)) }
                }
            }
        }
        @for child in &node.children { (rows(child, depth + 1, session)) }
    }
}

fn buttons(node: &TreeNode, session: &Session) -> Markup {
    let running = matches!(node.state, ChildState::Running | ChildState::Restarting);
    html! {
        form.actions method="post" action="/admin/page/actors" {
            (layout::csrf_field(session))
            input type="hidden" name="actor" value=(node.name);
            button type="submit" name="action" value="restart" aria-label=(format!("Restart {}", node.name)) { "Restart" }
            @if running {
                button type="submit" name="action" value="stop" aria-label=(format!("Stop {}", node.name)) { "Stop" }
            } @else {
                button type="submit" name="action" value="start" aria-label=(format!("Start {}", node.name)) { "Start" }
            }
        }
    }
}

fn contains(node: &TreeNode, name: &str) -> bool {
    node.name == name || node.children.iter().any(|child| contains(child, name))
}

fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}
