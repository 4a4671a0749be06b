//! Slash commands: the form body (`parse_command`, `is_ssl_check`) and what is answered or
//! deferred (`decide`).
//!
//! Properties beyond "does not panic":
//! * a command's fields survive form encoding: encoded again and parsed, they are the same;
//! * `ping` is answered `pong` at once and nothing is stored for it; a deferred command's
//!   envelope carries the de-duplication key `{team_id}:{trigger_id}`, a non-empty trimmed
//!   text, and the `response_url` it came with; an ephemeral answer's conversation is the
//!   caller's own.
#![no_main]

use alfred_actors::messages::InboundKind;
use alfred_adapters::slack::commands::{
    decide, is_ssl_check, parse_command, CommandAction, SlashCommand, PONG,
};
use alfred_adapters::slack::Visibility;
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

fn fields(command: &SlashCommand) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("team_id", Some(command.team_id.clone())),
        ("channel_id", Some(command.channel_id.clone())),
        ("user_id", Some(command.user_id.clone())),
        ("user_name", command.user_name.clone()),
        ("command", Some(command.command.clone())),
        ("text", Some(command.text.clone())),
        ("response_url", Some(command.response_url.clone())),
        ("trigger_id", Some(command.trigger_id.clone())),
    ]
}

fuzz_target!(|body: &[u8]| {
    let _ = is_ssl_check(body);
    let Ok(command) = parse_command(body) else {
        return;
    };

    let present: Vec<(&str, String)> = fields(&command)
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .collect();
    let encoded = serde_urlencoded::to_string(&present).expect("a form encodes");
    let again = parse_command(encoded.as_bytes()).expect("an encoded command parses");
    assert_eq!(fields(&again), fields(&command), "form: {encoded}");

    let text = command.text.trim().to_owned();
    match decide(command.clone(), NOW, None) {
        CommandAction::Answer(reply) => {
            if text.eq_ignore_ascii_case("ping") {
                assert_eq!(reply.text, PONG);
            }
        }
        CommandAction::Defer {
            envelope,
            response_url,
            visibility,
        } => {
            assert!(!text.eq_ignore_ascii_case("ping"), "ping was deferred");
            assert_eq!(
                envelope.message_id,
                format!("{}:{}", command.team_id, command.trigger_id)
            );
            assert_eq!(response_url, command.response_url);
            let InboundKind::Text { body } = &envelope.kind else {
                panic!("a command is text: {:?}", envelope.kind);
            };
            assert!(!body.is_empty() && body.trim() == body, "{body:?}");
            if visibility == Visibility::Ephemeral {
                assert_eq!(envelope.conversation, command.user_id);
                assert!(envelope.private);
            }
        }
    }
});
