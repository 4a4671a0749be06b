//! Scheduled jobs and missed runs (`GET /admin/page/jobs`): what `GET /admin/jobs` returns, as
//! tables.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

use super::guard;
use super::layout::{self, Frame};
use super::nav;
use crate::admin::{next_due, Admin, MISSED_SHOWN};

pub async fn show(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    let session = match guard::viewer(&request, &admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    let now = admin.clock.now();
    let missed = admin.jobs_store.missed(MISSED_SHOWN).await;
    if let Err(error) = &missed {
        tracing::error!(%error, "Could not read missed job runs for the admin page.");
    }
    let body = html! {
        p.hint { "Now: " time datetime=(now.to_rfc3339()) { (now.format("%Y-%m-%d %H:%M:%S UTC")) } }
        h2 { "Scheduled jobs" }
        @if admin.jobs.is_empty() {
            p { "No scheduled jobs on this Alfred." }
        } @else {
            table #jobs {
                thead { tr {
                    th scope="col" { "Job" } th scope="col" { "Household" } th scope="col" { "At" }
                    th scope="col" { "Time zone" } th scope="col" { "Next due (UTC)" }
                    th scope="col" { "Catch-up" }
                } }
                tbody {
                    @for job in &admin.jobs {
                        tr {
                            th scope="row" { (job.job) }
                            td { (job.household) }
                            td.num { (job.at.format("%H:%M")) }
                            td { (job.timezone.name()) }
                            td.num { (next_due(job, now).format("%Y-%m-%d %H:%M")) }
                            td.num { (job.catch_up.as_secs() / 60) " min" }
                        }
                    }
                }
            }
        }
        h2 { "Missed runs" }
        @match &missed {
            Err(_) => p.notice.error role="alert" { "The store is unavailable; missed runs cannot be read now." },
            Ok(missed) if missed.is_empty() => p #missed { "No missed runs." },
            Ok(missed) => table #missed {
                caption.hint { "Runs Alfred was down for past their catch-up window (newest " (MISSED_SHOWN) ")." }
                thead { tr {
                    th scope="col" { "Job" } th scope="col" { "Household" }
                    th scope="col" { "Local date" } th scope="col" { "Was due (UTC)" }
                } }
                tbody {
                    @for run in missed {
                        tr {
                            th scope="row" { (run.job) }
                            td { (run.household) }
                            td.num { (run.run_key) }
                            td.num { (run.due_at.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                }
            },
        }
    };
    let frame = Frame {
        title: "Jobs",
        current: nav::JOBS,
        refresh: true,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}
