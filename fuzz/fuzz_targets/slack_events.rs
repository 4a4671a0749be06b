//! Slack's Events API body (`parse_events`) and the removal of the bot's mention
//! (`strip_bot_mention`).
//!
//! Properties beyond "does not panic":
//! * an envelope is a Slack one whose de-duplication key is `{team_id}:{event_id}` of the
//!   workspace it is checked against, and its text has no surrounding whitespace;
//! * every envelope survives the ingest stream's encoding (JSON out and back in);
//! * once the bot's mentions are stripped, none of a plain bot user id is left.
#![no_main]

use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform};
use alfred_adapters::slack::events::{parse_events, strip_bot_mention, EventsRequest};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(EventsRequest::Envelopes { envelopes, teams }) =
        parse_events(data, NOW, Some("00-trace-span-01"))
    {
        for envelope in envelopes {
            assert_eq!(envelope.platform, Platform::Slack);
            let team = teams
                .team_id
                .as_deref()
                .expect("an event names its workspace");
            assert_eq!(envelope.account, team);
            assert!(envelope.message_id.starts_with(&format!("{team}:")));
            let InboundKind::Text { body } = &envelope.kind else {
                panic!("a Slack event is text: {:?}", envelope.kind);
            };
            assert_eq!(body.trim(), body);
            let encoded = serde_json::to_string(&envelope).expect("an envelope encodes");
            let decoded: InboundEnvelope =
                serde_json::from_str(&encoded).expect("an encoded envelope decodes");
            assert_eq!(
                decoded, envelope,
                "the stream's encoding changed the envelope"
            );
        }
    }

    // The same bytes as a message text, with the first word as the bot's user id.
    let text = String::from_utf8_lossy(data);
    let bot = text.split_whitespace().next().unwrap_or("U0BOT");
    let stripped = strip_bot_mention(&text, &[bot]);
    assert_eq!(stripped.trim(), stripped);
    if bot.chars().all(|c| c.is_ascii_alphanumeric()) {
        assert!(
            !stripped.contains(&format!("<@{bot}>")),
            "{text:?} → {stripped:?}"
        );
        assert!(
            !stripped.contains(&format!("<@{bot}|")),
            "{text:?} → {stripped:?}"
        );
    }
    let _ = strip_bot_mention(&text, &[]);
});
