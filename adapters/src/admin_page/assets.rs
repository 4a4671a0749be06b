//! The admin page's two static files, compiled into the binary: one stylesheet and the small
//! script that reloads read views. Served without a session (they hold nothing secret), so the
//! login form is styled too.

use actix_web::http::header;
use actix_web::HttpResponse;

pub const CSS_PATH: &str = "/admin/static/admin.css";
pub const SCRIPT_PATH: &str = "/admin/static/refresh.js";

const CSS: &str = include_str!("admin.css");
const SCRIPT: &str = include_str!("refresh.js");

pub async fn css() -> HttpResponse {
    file("text/css; charset=utf-8", CSS)
}

pub async fn script() -> HttpResponse {
    file("text/javascript; charset=utf-8", SCRIPT)
}

fn file(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "max-age=300"))
        .body(body)
}
