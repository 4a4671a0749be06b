//! Parsing Meta's webhook notifications into typed envelopes, one message type at a time.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform};
use alfred_adapters::whatsapp::{parse_notification, ParseError};
use alfred_testkit::whatsapp::Notification;
use serde_json::json;

const PHONE_ID: &str = "106540352242922";
const ANNA: &str = "491701111111";

fn parse(notification: Notification) -> Vec<InboundEnvelope> {
    parse_notification(notification.build().as_bytes(), PHONE_ID, None).unwrap()
}

fn only_kind(notification: Notification) -> InboundKind {
    let mut envelopes = parse(notification);
    assert_eq!(envelopes.len(), 1);
    envelopes.remove(0).kind
}

fn from_anna() -> Notification {
    Notification::new(PHONE_ID)
}

#[test]
fn a_text_message_becomes_a_text_envelope_with_sender_and_timestamp() {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Anna"}, "wa_id": ANNA}],
            "messages": [{"from": ANNA, "id": "wamid.A1", "timestamp": "1700000000",
                          "type": "text", "text": {"body": "add \"bananas\""}}]
        }}]}]
    });
    let envelopes = parse_notification(
        body.to_string().as_bytes(),
        PHONE_ID,
        Some("00-trace-span-01"),
    )
    .unwrap();

    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    assert_eq!(envelope.platform, Platform::WhatsApp);
    assert_eq!(envelope.message_id, "wamid.A1");
    assert_eq!(envelope.account, PHONE_ID);
    assert_eq!(envelope.conversation, ANNA);
    assert_eq!(envelope.sender.id, ANNA);
    assert_eq!(envelope.sender.name.as_deref(), Some("Anna"));
    assert_eq!(envelope.timestamp, 1_700_000_000);
    assert_eq!(
        envelope.kind,
        InboundKind::Text {
            body: "add \"bananas\"".into()
        }
    );
    assert_eq!(envelope.traceparent.as_deref(), Some("00-trace-span-01"));
}

#[test]
fn a_group_message_is_answered_in_the_group() {
    let envelopes = parse(from_anna().group_text("GROUP123", ANNA, "Anna", "wamid.G1", "list"));
    assert_eq!(envelopes[0].conversation, "GROUP123");
    assert_eq!(envelopes[0].sender.id, ANNA);
}

#[test]
fn interactive_button_and_list_replies_become_interactive_replies() {
    let button = only_kind(from_anna().button_reply(ANNA, "Anna", "wamid.I1", "clear-yes", "Yes"));
    assert_eq!(
        button,
        InboundKind::InteractiveReply {
            id: "clear-yes".into(),
            title: "Yes".into()
        }
    );

    let list = only_kind(from_anna().list_reply(ANNA, "Anna", "wamid.I2", "row-2", "Chores"));
    assert_eq!(
        list,
        InboundKind::InteractiveReply {
            id: "row-2".into(),
            title: "Chores".into()
        }
    );

    let template = only_kind(from_anna().template_button(ANNA, "Anna", "wamid.I3", "STOP", "Stop"));
    assert_eq!(
        template,
        InboundKind::InteractiveReply {
            id: "STOP".into(),
            title: "Stop".into()
        }
    );
}

#[test]
fn a_reaction_and_a_removed_reaction_become_reactions() {
    let added = only_kind(from_anna().reaction(ANNA, "Anna", "wamid.R1", "wamid.OUT1", "👍"));
    assert_eq!(
        added,
        InboundKind::Reaction {
            message_id: "wamid.OUT1".into(),
            emoji: "👍".into()
        }
    );

    let removed = only_kind(from_anna().reaction(ANNA, "Anna", "wamid.R2", "wamid.OUT1", ""));
    assert_eq!(
        removed,
        InboundKind::Reaction {
            message_id: "wamid.OUT1".into(),
            emoji: String::new()
        }
    );
}

#[test]
fn every_media_type_becomes_a_media_envelope() {
    for media_type in ["image", "audio", "video", "document", "sticker"] {
        let kind =
            only_kind(from_anna().media(ANNA, "Anna", "wamid.M1", media_type, Some("receipt")));
        let InboundKind::Media {
            media_type: parsed,
            media_id,
            mime_type,
            caption,
            sha256,
        } = kind
        else {
            panic!("{media_type} parsed as {kind:?}");
        };
        assert_eq!(parsed, media_type);
        assert_eq!(media_id, "1234567890123456");
        assert!(mime_type.is_some());
        assert_eq!(caption.as_deref(), Some("receipt"));
        assert_eq!(
            sha256.as_deref(),
            Some("c2hhMjU2"),
            "Meta's checksum is kept"
        );
    }
}

/// Found by fuzzing (fuzz/fuzz_targets/whatsapp_payload.rs): without serde_json's exact float
/// parsing, a coordinate read back from the ingest stream differed in its last bit.
#[test]
fn a_location_survives_the_ingest_streams_encoding_exactly() {
    let envelopes =
        parse(from_anna().location(ANNA, "Anna", "wamid.L2", 52.520008, 13.40222222222222));
    let envelope = &envelopes[0];

    let stored = serde_json::to_string(envelope).unwrap();
    let read: InboundEnvelope = serde_json::from_str(&stored).unwrap();

    assert_eq!(&read, envelope);
    assert!(
        matches!(read.kind, InboundKind::Location { longitude, .. } if longitude == 13.40222222222222)
    );
}

#[test]
fn a_location_becomes_a_location_envelope() {
    let kind = only_kind(from_anna().location(ANNA, "Anna", "wamid.L1", 52.52, 13.405));
    assert_eq!(
        kind,
        InboundKind::Location {
            latitude: 52.52,
            longitude: 13.405,
            name: Some("Market".into()),
            address: Some("1 Market Square".into())
        }
    );
}

#[test]
fn unknown_message_types_and_missing_content_become_unsupported() {
    for type_name in ["unsupported", "contacts", "order", "system"] {
        let kind = only_kind(from_anna().other(ANNA, "Anna", "wamid.U1", type_name));
        assert_eq!(
            kind,
            InboundKind::Unsupported {
                type_name: type_name.into()
            }
        );
    }
    let no_text = only_kind(from_anna().message(ANNA, "Anna", "wamid.U2", "text", json!(null)));
    assert_eq!(
        no_text,
        InboundKind::Unsupported {
            type_name: "text".into()
        }
    );
}

#[test]
fn status_callbacks_become_status_envelopes_keyed_by_wamid_and_status() {
    let envelopes = parse(
        from_anna()
            .status("wamid.OUT1", "delivered", ANNA)
            .status("wamid.OUT1", "read", ANNA)
            .status("wamid.OUT2", "failed", ANNA),
    );
    let keys: Vec<&str> = envelopes.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(
        keys,
        [
            "wamid.OUT1:delivered",
            "wamid.OUT1:read",
            "wamid.OUT2:failed"
        ]
    );
    assert!(envelopes
        .iter()
        .all(|e| !e.kind.is_from_person() && e.conversation == ANNA));
    let InboundKind::Status {
        message_id,
        status,
        recipient,
        errors,
        callback_data,
    } = &envelopes[2].kind
    else {
        panic!("not a status: {:?}", envelopes[2].kind);
    };
    assert_eq!(
        (message_id.as_str(), status.as_str(), recipient.as_str()),
        ("wamid.OUT2", "failed", ANNA)
    );
    assert_eq!(errors, &["131026: Message undeliverable"]);
    assert_eq!(callback_data, &None);
}

#[test]
fn a_status_carries_the_callback_data_we_sent_with_the_message() {
    let body = Notification::new(PHONE_ID)
        .status_with_callback("wamid.OUT9", "sent", ANNA, Some("alfred-outbox:42"))
        .build();

    let envelopes = parse_notification(body.as_bytes(), PHONE_ID, None).unwrap();

    let InboundKind::Status { callback_data, .. } = &envelopes[0].kind else {
        panic!("not a status: {:?}", envelopes[0].kind);
    };
    assert_eq!(callback_data.as_deref(), Some("alfred-outbox:42"));
    assert_eq!(
        alfred_actors::messages::outbox_id_of("alfred-outbox:42"),
        Some(42)
    );
}

#[test]
fn messages_come_before_statuses_and_keep_their_order_across_senders() {
    let envelopes = parse(
        from_anna()
            .text(ANNA, "Anna", "wamid.A1", "add milk")
            .status("wamid.OUT1", "sent", ANNA)
            .text("491702222222", "Ben", "wamid.B1", "add eggs"),
    );
    let ids: Vec<&str> = envelopes.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(ids, ["wamid.A1", "wamid.B1", "wamid.OUT1:sent"]);
    assert_eq!(envelopes[1].sender.name.as_deref(), Some("Ben"));
}

#[test]
fn changes_for_another_phone_number_are_skipped() {
    let envelopes = parse(
        Notification::new("999")
            .text(ANNA, "Anna", "wamid.X1", "hi")
            .change_for(PHONE_ID)
            .text(ANNA, "Anna", "wamid.A1", "hi"),
    );
    let ids: Vec<&str> = envelopes.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(ids, ["wamid.A1"]);
}

#[test]
fn unknown_fields_and_other_change_fields_are_ignored() {
    let body = json!({
        "object": "whatsapp_business_account",
        "future_field": {"nested": [1, 2, 3]},
        "entry": [{"id": "WABA", "time": 1700000000, "changes": [
            {"field": "account_update", "value": {"phone_number": "15550001234", "event": "VERIFIED_ACCOUNT"}},
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001234", "phone_number_id": PHONE_ID, "extra": true},
                "contacts": [{"profile": {"name": "Anna"}, "wa_id": ANNA, "identity_key_hash": "abc"}],
                "messages": [{"from": ANNA, "id": "wamid.A1", "timestamp": 1700000000, "type": "text",
                              "text": {"body": "hi"}, "context": {"from": "x", "id": "wamid.PREV"}}]
            }}
        ]}]
    });
    let envelopes = parse_notification(body.to_string().as_bytes(), PHONE_ID, None).unwrap();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0].timestamp, 1_700_000_000);
}

#[test]
fn a_sender_missing_from_contacts_has_no_name() {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": PHONE_ID},
            "messages": [{"from": ANNA, "id": "wamid.A1", "timestamp": "1", "type": "text", "text": {"body": "hi"}}]
        }}]}]
    });
    let envelopes = parse_notification(body.to_string().as_bytes(), PHONE_ID, None).unwrap();
    assert_eq!(envelopes[0].sender.name, None);
}

#[test]
fn a_body_that_is_not_a_whatsapp_notification_is_a_parse_error() {
    let not_json = parse_notification(b"not json", PHONE_ID, None);
    assert!(matches!(not_json, Err(ParseError::Json(_))), "{not_json:?}");

    let wrong_object = parse_notification(br#"{"object":"page","entry":[]}"#, PHONE_ID, None);
    assert!(
        matches!(wrong_object, Err(ParseError::WrongObject(ref o)) if o == "page"),
        "{wrong_object:?}"
    );

    let message_without_id = json!({
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": PHONE_ID},
            "messages": [{"from": ANNA, "timestamp": "1", "type": "text", "text": {"body": "hi"}}]
        }}]}]
    });
    let missing_id = parse_notification(message_without_id.to_string().as_bytes(), PHONE_ID, None);
    assert!(
        matches!(missing_id, Err(ParseError::Json(_))),
        "{missing_id:?}"
    );
}

#[test]
fn a_notification_without_entries_is_an_empty_batch() {
    let envelopes = parse_notification(
        br#"{"object":"whatsapp_business_account","entry":[]}"#,
        PHONE_ID,
        None,
    )
    .unwrap();
    assert!(envelopes.is_empty());
}
