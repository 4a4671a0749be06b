//! Slack Socket Mode on the fake Slack: `apps.connections.open` and the WebSockets it hands out.
//!
//! * `POST /api/apps.connections.open` — checks the app token (`Authorization: Bearer xapp-…`,
//!   [`SOCKET_APP_TOKEN`]; `not_authed` without one, `invalid_auth` for another) and answers
//!   `{"ok":true,"url":"ws://127.0.0.1:{port}/socket/{id}?ticket=…"}`, as Slack answers with a
//!   `wss://` URL; [`SocketState::hold_connection_opens`] keeps the answers back until
//!   [`SocketState::release_connection_opens`], so a test can see what Alfred does meanwhile;
//! * `GET /socket/{id}` — a WebSocket (actix-ws) that says `{"type":"hello",…}` first and then
//!   records every acknowledgement (`{"envelope_id":…}`) with the connection it came on.
//!
//! The test pushes envelopes to a chosen connection ([`SocketState::send_envelope`], built with
//! [`events_api_envelope`] or [`slash_command_envelope`](crate::slack::slash_command_envelope)), asks for a new connection as Slack
//! does ([`SocketState::send_disconnect`] with `refresh_requested`), or cuts one
//! ([`SocketState::close_socket`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::fake_server::{bearer_token, poll_until};

/// The app-level token the fake accepts for `apps.connections.open`.
pub const SOCKET_APP_TOKEN: &str = "xapp-1-A0APPID1-1234567890-fakeslacksocketmode";

/// An `events_api` envelope carrying the Events API body `body` (JSON text).
pub fn events_api_envelope(envelope_id: &str, body: &str, retry_attempt: u32) -> Value {
    let payload: Value = serde_json::from_str(body).expect("an Events API body is JSON");
    json!({
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": false,
        "payload": payload,
        "retry_attempt": retry_attempt,
        "retry_reason": if retry_attempt > 0 { "timeout" } else { "" },
    })
}

/// One acknowledgement Alfred sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketAck {
    /// The connection it came on (the id in its URL, from 1).
    pub connection: usize,
    pub envelope_id: String,
    /// The acknowledgement's `payload`, when it had one (a slash command's answer).
    pub payload: Option<Value>,
}

struct Socket {
    id: usize,
    session: actix_ws::Session,
    /// False once either side closed it.
    open: Arc<AtomicBool>,
    /// True when Alfred closed it (sent a close frame).
    closed_by_client: Arc<AtomicBool>,
}

/// Socket Mode's part of the fake's state.
#[derive(Default)]
pub struct SocketState {
    next_id: AtomicUsize,
    /// The bearer tokens of the `apps.connections.open` calls, answered or held.
    opens: Mutex<Vec<Option<String>>>,
    held: AtomicBool,
    sockets: Mutex<Vec<Socket>>,
    acks: Mutex<Vec<SocketAck>>,
}

/// The routes of Socket Mode, added to the fake Slack's.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route(
            "/api/apps.connections.open",
            web::post().to(connections_open),
        )
        .route("/socket/{id}", web::get().to(socket));
}

impl SocketState {
    /// Keeps `apps.connections.open` answers back until [`SocketState::release_connection_opens`].
    pub fn hold_connection_opens(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Answers the held `apps.connections.open` calls, and later ones at once.
    pub fn release_connection_opens(&self) {
        self.held.store(false, Ordering::SeqCst);
    }

    /// The bearer tokens of the `apps.connections.open` calls so far.
    pub fn connection_opens(&self) -> Vec<Option<String>> {
        self.opens.lock().unwrap().clone()
    }

    /// The ids of the WebSockets open now, oldest first.
    pub fn open_sockets(&self) -> Vec<usize> {
        let sockets = self.sockets.lock().unwrap();
        sockets
            .iter()
            .filter(|socket| socket.open.load(Ordering::SeqCst))
            .map(|socket| socket.id)
            .collect()
    }

    /// How many WebSockets were ever accepted.
    pub fn sockets_accepted(&self) -> usize {
        self.sockets.lock().unwrap().len()
    }

    /// Whether Alfred closed socket `id` itself (rather than the fake, or not at all).
    pub fn closed_by_alfred(&self, id: usize) -> bool {
        self.handle(id)
            .is_some_and(|socket| socket.closed_by_client.load(Ordering::SeqCst))
    }

    /// Polls until `n` sockets are open; returns their ids (fewer when the deadline passed).
    pub async fn wait_for_open_sockets(&self, n: usize, deadline: Duration) -> Vec<usize> {
        poll_until(deadline, || self.open_sockets(), |open| open.len() >= n).await
    }

    /// Every acknowledgement so far, in arrival order.
    pub fn acks(&self) -> Vec<SocketAck> {
        self.acks.lock().unwrap().clone()
    }

    /// The acknowledgements of `envelope_id`.
    pub fn acks_of(&self, envelope_id: &str) -> Vec<SocketAck> {
        self.acks()
            .into_iter()
            .filter(|ack| ack.envelope_id == envelope_id)
            .collect()
    }

    /// Sends `envelope` on socket `id`. Panics when the socket is unknown or closed.
    pub async fn send_envelope(&self, id: usize, envelope: &Value) {
        self.send_text(id, envelope.to_string()).await;
    }

    /// Sends Slack's `disconnect` notice (`refresh_requested`, `warning`, `link_disabled`) on
    /// socket `id`, leaving the socket open, as Slack does for a few seconds.
    pub async fn send_disconnect(&self, id: usize, reason: &str) {
        let notice = json!({
            "type": "disconnect",
            "reason": reason,
            "debug_info": { "host": "applink-fake-1" },
        });
        self.send_text(id, notice.to_string()).await;
    }

    /// Closes socket `id` from Slack's side.
    pub async fn close_socket(&self, id: usize) {
        let socket = self.handle(id).expect("a socket the fake accepted");
        socket.open.store(false, Ordering::SeqCst);
        let _ = socket.session.close(None).await;
    }

    fn handle(&self, id: usize) -> Option<SocketHandle> {
        let sockets = self.sockets.lock().unwrap();
        sockets
            .iter()
            .find(|socket| socket.id == id)
            .map(|socket| SocketHandle {
                session: socket.session.clone(),
                open: socket.open.clone(),
                closed_by_client: socket.closed_by_client.clone(),
            })
    }

    async fn send_text(&self, id: usize, text: String) {
        let mut socket = self.handle(id).expect("a socket the fake accepted");
        assert!(socket.open.load(Ordering::SeqCst), "socket {id} is closed");
        socket
            .session
            .text(text)
            .await
            .unwrap_or_else(|_| panic!("socket {id} is closed"));
    }
}

struct SocketHandle {
    session: actix_ws::Session,
    open: Arc<AtomicBool>,
    closed_by_client: Arc<AtomicBool>,
}

async fn connections_open(request: HttpRequest, state: web::Data<SocketState>) -> HttpResponse {
    let bearer = bearer_token(&request);
    state.opens.lock().unwrap().push(bearer.clone());
    while state.held.load(Ordering::SeqCst) {
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let answer = match bearer.as_deref() {
        None => error_body("not_authed"),
        Some(token) if token != SOCKET_APP_TOKEN => error_body("invalid_auth"),
        Some(_) => {
            let id = state.next_id.fetch_add(1, Ordering::SeqCst) + 1;
            let host = request.connection_info().host().to_owned();
            json!({
                "ok": true,
                "url": format!("ws://{host}/socket/{id}?ticket={}&app_id=A0APPID1", uuid::Uuid::new_v4().simple()),
            })
        }
    };
    HttpResponse::Ok().json(answer)
}

async fn socket(
    request: HttpRequest,
    path: web::Path<usize>,
    body: web::Payload,
    state: web::Data<SocketState>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = path.into_inner();
    let (response, mut session, mut messages) = actix_ws::handle(&request, body)?;
    let open = Arc::new(AtomicBool::new(true));
    let closed_by_client = Arc::new(AtomicBool::new(false));
    let hello = json!({
        "type": "hello",
        "num_connections": state.sockets.lock().unwrap().len() + 1,
        "debug_info": { "host": "applink-fake-1", "build_number": 1, "approximate_connection_time": 18060 },
        "connection_info": { "app_id": "A0APPID1" },
    });
    // Queued before the socket is listed, so hello is always the first frame.
    let _ = session.text(hello.to_string()).await;
    state.sockets.lock().unwrap().push(Socket {
        id,
        session: session.clone(),
        open: open.clone(),
        closed_by_client: closed_by_client.clone(),
    });
    actix_web::rt::spawn(async move {
        while let Some(Ok(message)) = messages.recv().await {
            match message {
                actix_ws::Message::Text(text) => {
                    let Ok(ack) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    if let Some(envelope_id) = ack.get("envelope_id").and_then(Value::as_str) {
                        state.acks.lock().unwrap().push(SocketAck {
                            connection: id,
                            envelope_id: envelope_id.to_owned(),
                            payload: ack.get("payload").cloned(),
                        });
                    }
                }
                actix_ws::Message::Ping(bytes) => {
                    let _ = session.pong(&bytes).await;
                }
                actix_ws::Message::Close(reason) => {
                    closed_by_client.store(true, Ordering::SeqCst);
                    open.store(false, Ordering::SeqCst);
                    let _ = session.close(reason).await;
                    return;
                }
                _ => {}
            }
        }
        open.store(false, Ordering::SeqCst);
    });
    Ok(response)
}

/// Slack's error answer.
fn error_body(error: &str) -> Value {
    json!({ "ok": false, "error": error })
}
