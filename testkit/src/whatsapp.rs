//! Realistic WhatsApp webhook bodies and their `X-Hub-Signature-256`.
//!
//! Shapes follow Meta's webhook reference for the `messages` field: one entry per business
//! account, one change per phone number, `contacts` naming each sender, timestamps as strings.
//!
//! ```ignore
//! let body = Notification::new(PHONE_ID)
//!     .text("491701111111", "Anna", "wamid.A1", "add bananas")
//!     .text("491702222222", "Ben", "wamid.B1", "list")
//!     .build();
//! let signature = sign(APP_SECRET, body.as_bytes());
//! ```

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The `X-Hub-Signature-256` value for `body`: `sha256=<hex HMAC-SHA256>`.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A body holding one text message.
pub fn text_message(phone_id: &str, from: &str, name: &str, wamid: &str, text: &str) -> String {
    Notification::new(phone_id)
        .text(from, name, wamid, text)
        .build()
}

/// A fresh, unique wamid (realistic prefix).
pub fn wamid() -> String {
    format!("wamid.HBgL{}", uuid::Uuid::new_v4().simple())
}

/// Builds one notification; every message and status goes into one change of `phone_id`,
/// further phone numbers into further changes ([`Notification::change_for`]).
#[derive(Debug, Clone)]
pub struct Notification {
    changes: Vec<Change>,
    timestamp: i64,
}

#[derive(Debug, Clone)]
struct Change {
    phone_id: String,
    contacts: Vec<Value>,
    messages: Vec<Value>,
    statuses: Vec<Value>,
}

impl Notification {
    /// An empty notification for our phone number id.
    pub fn new(phone_id: &str) -> Self {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1_700_000_000, |elapsed| elapsed.as_secs() as i64);
        Notification {
            changes: vec![Change::new(phone_id)],
            timestamp,
        }
    }

    /// Starts a further change, addressed to `phone_id` (e.g. a number that is not ours).
    pub fn change_for(mut self, phone_id: &str) -> Self {
        self.changes.push(Change::new(phone_id));
        self
    }

    /// A text message.
    pub fn text(self, from: &str, name: &str, wamid: &str, text: &str) -> Self {
        self.message(from, name, wamid, "text", json!({ "body": text }))
    }

    /// A text message sent in a group (`group_id` on the message).
    pub fn group_text(
        mut self,
        group_id: &str,
        from: &str,
        name: &str,
        wamid: &str,
        text: &str,
    ) -> Self {
        self = self.text(from, name, wamid, text);
        if let Some(message) = self.current().messages.last_mut() {
            message["group_id"] = json!(group_id);
        }
        self
    }

    /// A tap on a reply button (`interactive.button_reply`).
    pub fn button_reply(self, from: &str, name: &str, wamid: &str, id: &str, title: &str) -> Self {
        let content =
            json!({ "type": "button_reply", "button_reply": { "id": id, "title": title } });
        self.message(from, name, wamid, "interactive", content)
    }

    /// A chosen list row (`interactive.list_reply`).
    pub fn list_reply(self, from: &str, name: &str, wamid: &str, id: &str, title: &str) -> Self {
        let content = json!({
            "type": "list_reply",
            "list_reply": { "id": id, "title": title, "description": "" }
        });
        self.message(from, name, wamid, "interactive", content)
    }

    /// A tap on a template's quick-reply button (`button`).
    pub fn template_button(
        self,
        from: &str,
        name: &str,
        wamid: &str,
        payload: &str,
        text: &str,
    ) -> Self {
        self.message(
            from,
            name,
            wamid,
            "button",
            json!({ "payload": payload, "text": text }),
        )
    }

    /// A reaction; an empty `emoji` is a removed reaction (Meta then omits the field).
    pub fn reaction(
        self,
        from: &str,
        name: &str,
        wamid: &str,
        reacted_to: &str,
        emoji: &str,
    ) -> Self {
        let content = if emoji.is_empty() {
            json!({ "message_id": reacted_to })
        } else {
            json!({ "message_id": reacted_to, "emoji": emoji })
        };
        self.message(from, name, wamid, "reaction", content)
    }

    /// A media message: `media_type` is `image`, `audio`, `video`, `document` or `sticker`.
    pub fn media(
        self,
        from: &str,
        name: &str,
        wamid: &str,
        media_type: &str,
        caption: Option<&str>,
    ) -> Self {
        let mime_type = match media_type {
            "image" => "image/jpeg",
            "audio" => "audio/ogg; codecs=opus",
            "video" => "video/mp4",
            "sticker" => "image/webp",
            _ => "application/pdf",
        };
        let mut content =
            json!({ "id": "1234567890123456", "mime_type": mime_type, "sha256": "c2hhMjU2" });
        if let Some(caption) = caption {
            content["caption"] = json!(caption);
        }
        self.message(from, name, wamid, media_type, content)
    }

    /// A voice note (`audio` with `voice: true`), as Meta sends one recorded in the chat:
    /// `sha256` is what Meta says of the file (the fake Graph API's media are described by
    /// their hex SHA-256).
    pub fn voice_note(
        self,
        from: &str,
        name: &str,
        wamid: &str,
        media_id: &str,
        sha256: &str,
    ) -> Self {
        let content = json!({
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": sha256,
            "id": media_id,
            "voice": true
        });
        self.message(from, name, wamid, "audio", content)
    }

    /// A shared location.
    pub fn location(
        self,
        from: &str,
        name: &str,
        wamid: &str,
        latitude: f64,
        longitude: f64,
    ) -> Self {
        let content = json!({
            "latitude": latitude, "longitude": longitude,
            "name": "Market", "address": "1 Market Square"
        });
        self.message(from, name, wamid, "location", content)
    }

    /// A message of a type Alfred does not handle (Meta's own `unsupported`, `contacts`, …).
    pub fn other(self, from: &str, name: &str, wamid: &str, type_name: &str) -> Self {
        self.message(from, name, wamid, type_name, json!({}))
    }

    /// A status callback for one of our messages; `failed` carries an error.
    pub fn status(self, wamid: &str, status: &str, recipient: &str) -> Self {
        self.status_with_callback(wamid, status, recipient, None)
    }

    /// A status callback echoing the `biz_opaque_callback_data` the message was sent with.
    pub fn status_with_callback(
        mut self,
        wamid: &str,
        status: &str,
        recipient: &str,
        callback_data: Option<&str>,
    ) -> Self {
        let timestamp = self.timestamp.to_string();
        let mut value = json!({
            "id": wamid, "status": status, "timestamp": timestamp, "recipient_id": recipient,
            "conversation": { "id": "CONVERSATION_ID", "origin": { "type": "service" } },
            "pricing": { "billable": false, "pricing_model": "PMP", "category": "service" }
        });
        if let Some(callback_data) = callback_data {
            value["biz_opaque_callback_data"] = json!(callback_data);
        }
        if status == "failed" {
            value["errors"] = json!([{
                "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                "error_data": { "details": "Message Undeliverable." }
            }]);
        }
        self.current().statuses.push(value);
        self
    }

    /// Adds a message of any type with `content` under the key of its type.
    pub fn message(
        mut self,
        from: &str,
        name: &str,
        wamid: &str,
        type_name: &str,
        content: Value,
    ) -> Self {
        let timestamp = self.timestamp.to_string();
        let change = self.current();
        if !change
            .contacts
            .iter()
            .any(|contact| contact["wa_id"] == from)
        {
            change
                .contacts
                .push(json!({ "profile": { "name": name }, "wa_id": from }));
        }
        let mut message =
            json!({ "from": from, "id": wamid, "timestamp": timestamp, "type": type_name });
        message[type_name] = content;
        change.messages.push(message);
        self
    }

    /// The notification as a JSON value.
    pub fn to_value(&self) -> Value {
        let changes: Vec<Value> = self.changes.iter().map(Change::to_value).collect();
        json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "102290129340398", "changes": changes }]
        })
    }

    /// The body as sent by Meta.
    pub fn build(&self) -> String {
        self.to_value().to_string()
    }

    fn current(&mut self) -> &mut Change {
        self.changes
            .last_mut()
            .expect("a notification has at least one change")
    }
}

impl Change {
    fn new(phone_id: &str) -> Self {
        Change {
            phone_id: phone_id.to_owned(),
            contacts: Vec::new(),
            messages: Vec::new(),
            statuses: Vec::new(),
        }
    }

    fn to_value(&self) -> Value {
        let mut value = json!({
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550001234", "phone_number_id": self.phone_id }
        });
        if !self.contacts.is_empty() {
            value["contacts"] = json!(self.contacts);
        }
        if !self.messages.is_empty() {
            value["messages"] = json!(self.messages);
        }
        if !self.statuses.is_empty() {
            value["statuses"] = json!(self.statuses);
        }
        json!({ "value": value, "field": "messages" })
    }
}
