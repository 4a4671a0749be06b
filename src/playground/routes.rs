//! The playground's HTTP handlers: the page and its two files, posting a message and reading
//! the feed.
//!
//! Errors are JSON (`{"error": "…"}`) with a sentence saying what to send instead. The posting
//! endpoint accepts only `application/json`: a cross-site HTML form cannot send that without
//! the browser asking first, so another site open in the same browser cannot type into the
//! playground.

use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse};
use alfred_actors::store::Prior;
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use super::edge::Playground;
use super::feed::Entry;
use super::page;
use crate::chat::{hand_over, LocalSpeaker};

/// The conversation of playground users who are not household members (its own household).
const PLAYGROUND_CONVERSATION: &str = "playground";

/// The longest name accepted in `from`, in characters.
const MAX_NAME_CHARS: usize = 40;

/// After a message is handled, its replies arrive within milliseconds, all together (one
/// commit publishes them): this long without a new one means they are all there.
const REPLIES_SETTLED: Duration = Duration::from_millis(100);

/// A handled message with no reply (a sender over their rate hears nothing) is given up on
/// after this.
const NO_REPLY_GRACE: Duration = Duration::from_secs(2);

/// How often the store is asked whether the message was handled, between feed changes.
const HANDLED_POLL: Duration = Duration::from_millis(20);

/// The strict policy of every playground response: nothing inline, nothing from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Mounts `GET /` and `/playground/*` when there is a playground; without one nothing is
/// mounted and those paths answer 404 like any unknown path.
pub fn configure(cfg: &mut web::ServiceConfig, playground: Option<web::Data<Playground>>) {
    let Some(playground) = playground else {
        return;
    };
    cfg.app_data(playground)
        .route("/", web::get().to(show_page))
        .route("/playground/playground.js", web::get().to(script))
        .route("/playground/playground.css", web::get().to(style))
        .route("/playground/messages", web::post().to(post_message))
        .route("/playground/messages", web::get().to(read_feed));
}

async fn show_page(playground: web::Data<Playground>) -> HttpResponse {
    let html = page::render(&playground.settings, &playground.feed.after(0));
    guarded(HttpResponse::Ok())
        .content_type("text/html; charset=utf-8")
        .body(html)
}

async fn script() -> HttpResponse {
    guarded(HttpResponse::Ok())
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("playground.js"))
}

async fn style() -> HttpResponse {
    guarded(HttpResponse::Ok())
        .content_type("text/css; charset=utf-8")
        .body(include_str!("playground.css"))
}

/// `POST /playground/messages`.
#[derive(Deserialize)]
struct Posted {
    from: String,
    text: String,
}

async fn post_message(
    request: HttpRequest,
    body: web::Payload,
    playground: web::Data<Playground>,
) -> HttpResponse {
    if request.content_type() != "application/json" {
        return error(
            HttpResponse::UnsupportedMediaType(),
            "Send JSON with Content-Type: application/json, e.g. {\"from\": \"Dana\", \"text\": \"add milk\"}.",
        );
    }
    let limit = playground.settings.tuning.webhook_body_limit;
    let body = match read_limited(body, limit).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let posted: Posted = match serde_json::from_slice(&body) {
        Ok(posted) => posted,
        Err(why) => {
            return error(
                HttpResponse::BadRequest(),
                &format!("Send {{\"from\": \"Dana\", \"text\": \"add milk\"}}: {why}."),
            )
        }
    };
    let from = posted.from.trim();
    if from.is_empty()
        || from.chars().count() > MAX_NAME_CHARS
        || from.chars().any(char::is_control)
    {
        return error(
            HttpResponse::BadRequest(),
            &format!("\"from\" is who you are: a name of 1 to {MAX_NAME_CHARS} characters, e.g. \"Dana\"."),
        );
    }
    let text = posted.text.trim();
    if text.is_empty() {
        return error(
            HttpResponse::BadRequest(),
            "\"text\" is empty: say something, e.g. \"add milk\" or \"help\".",
        );
    }
    let speaker = LocalSpeaker::named(&playground.settings, from, PLAYGROUND_CONVERSATION);
    let envelope = speaker.says(text);
    let message = playground
        .feed
        .record_message(speaker.name(), text, &envelope.message_id);
    if let Err(why) = hand_over(playground.bus.as_ref(), &playground.ingest, &envelope).await {
        tracing::error!(
            error = format!("{why:#}"),
            "The playground could not hand a message to Alfred."
        );
        return error(
            HttpResponse::ServiceUnavailable(),
            "Alfred could not take the message; the log says why.",
        );
    }
    let (replies, complete) = wait_for_replies(&playground, &envelope).await;
    guarded(HttpResponse::Ok()).json(json!({
        "message": message,
        "as": { "name": speaker.name(), "household": speaker.household() },
        "replies": replies,
        "complete": complete,
    }))
}

/// The replies to `envelope`, once it is handled and they have all arrived (`true`), or those
/// that came by the deadline (`false`; the rest appear in the feed when they come).
async fn wait_for_replies(
    playground: &Playground,
    envelope: &alfred_actors::messages::InboundEnvelope,
) -> (Vec<Entry>, bool) {
    let feed = &playground.feed;
    let deadline = Instant::now() + playground.reply_deadline;
    let mut handled_at = None;
    let mut seen = 0;
    let mut last_change = Instant::now();
    loop {
        let changed = feed.changed().notified();
        let replies = feed.replies_to(&envelope.message_id);
        let now = Instant::now();
        if replies.len() != seen {
            seen = replies.len();
            last_change = now;
        }
        if handled_at.is_none() {
            let prior = playground
                .store
                .prior(envelope.platform, &envelope.message_id)
                .await;
            if matches!(prior, Ok(Prior::Handled)) {
                handled_at = Some(now);
            }
        }
        if let Some(handled) = handled_at {
            let settled = seen > 0 && now >= last_change.max(handled) + REPLIES_SETTLED;
            if settled || now >= handled + NO_REPLY_GRACE {
                return (replies, true);
            }
        }
        if now >= deadline {
            return (replies, false);
        }
        let _ = tokio::time::timeout(HANDLED_POLL, changed).await;
    }
}

/// `GET /playground/messages?after=SEQ`.
#[derive(Deserialize)]
struct FeedQuery {
    #[serde(default)]
    after: u64,
}

async fn read_feed(request: HttpRequest, playground: web::Data<Playground>) -> HttpResponse {
    let query =
        match web::Query::<FeedQuery>::from_query(request.query_string()) {
            Ok(query) => query,
            Err(_) => return error(
                HttpResponse::BadRequest(),
                "?after= takes the seq of the last message you have, a whole number (0 for all).",
            ),
        };
    guarded(HttpResponse::Ok()).json(json!({
        "messages": playground.feed.after(query.after),
        "last_seq": playground.feed.last_seq(),
    }))
}

/// The body, or the answer when it is longer than `limit` bytes or cannot be read.
async fn read_limited(mut body: web::Payload, limit: usize) -> Result<web::BytesMut, HttpResponse> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|why| {
            error(
                HttpResponse::BadRequest(),
                &format!("The body could not be read: {why}."),
            )
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(error(
                HttpResponse::PayloadTooLarge(),
                &format!("The body is larger than {limit} bytes (WEBHOOK_BODY_LIMIT)."),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn error(response: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    guarded(response).json(json!({ "error": message }))
}

/// A response with the playground's security headers: the strict policy, no sniffing, no
/// referrer, not cached.
fn guarded(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    response
}
