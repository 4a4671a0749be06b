//! The admin page: a server-rendered web page for operators on the admin listener, `/admin/`.
//!
//! It shows what the bearer API shows (the supervision tree, jobs and missed runs, the work
//! inbox's polls, the clock, the streams, the dead letters) and offers the same operations as forms. HTML comes from `maud`
//! templates (checked at compile time, every interpolation escaped); there is no front-end
//! build, only one stylesheet and one small script ([`assets`]), allowed by a strict
//! Content-Security-Policy ([`layout`]). Read views work without JavaScript.
//!
//! Access: a login form takes `ADMIN_API_KEY` or `ADMIN_READONLY_KEY` (through the same
//! per-address slow-down as the bearer API) and opens a signed, stateless session cookie
//! ([`session`]); every form carries the session's CSRF token; the read-only role sees every
//! page, no buttons, and any change it posts is refused 403 (`guard`).
//!
//! Layout: [`nav`] lists the pages; one file per page (`tree`, `jobs`, `inbox`, `clock`,
//! `streams`, `dead_letters` with its bulk actions in `bulk`); `login` for logging in and out. Routes are mounted by [`configure`], next to the bearer API's.

pub mod assets;
mod bulk;
mod clock;
mod dead_letters;
mod guard;
mod inbox;
mod jobs;
pub mod layout;
mod login;
pub mod nav;
pub mod session;
mod streams;
mod tree;

use actix_web::web;

/// Mounts the admin page. It reads the same `web::Data<Admin>` as the bearer API
/// ([`crate::admin::configure`] registers it).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(home))
        .route(nav::TREE, web::get().to(tree::show))
        .route("/admin/page/actors", web::post().to(tree::act))
        .route(nav::JOBS, web::get().to(jobs::show))
        .route(nav::INBOX, web::get().to(inbox::show))
        .route(nav::CLOCK, web::get().to(clock::show))
        .route(nav::CLOCK, web::post().to(clock::move_clock))
        .route(nav::STREAMS, web::get().to(streams::show))
        .route(nav::STREAMS, web::post().to(streams::act))
        .route(nav::DEAD_LETTERS, web::get().to(dead_letters::list))
        .route(nav::BULK, web::get().to(bulk::confirm))
        .route(nav::BULK, web::post().to(bulk::act))
        .route(
            "/admin/page/dead-letters/{stream}/{id}",
            web::get().to(dead_letters::show),
        )
        .route(
            "/admin/page/dead-letters/{stream}/{id}",
            web::post().to(dead_letters::act),
        )
        .route(nav::LOGIN, web::get().to(login::form))
        .route(nav::LOGIN, web::post().to(login::login))
        .route(nav::LOGOUT, web::post().to(login::logout))
        .route(assets::CSS_PATH, web::get().to(assets::css))
        .route(assets::SCRIPT_PATH, web::get().to(assets::script));
}

async fn home() -> actix_web::HttpResponse {
    layout::see_other(nav::TREE)
}
