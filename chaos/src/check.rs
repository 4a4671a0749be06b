//! The verdict: from what was sent, what the fake Graph API received and what Alfred
//! dead-lettered, count the lost, the duplicated and the reordered, and the latencies.
//!
//! * **lost**: an accepted, non-poison message with no delivered (2xx) reply quoting it;
//! * **duplicated**: one with more than one delivered reply (a 429 or 5xx is not a delivery);
//! * **reordered**: a conversation in which some message's first delivered reply arrived
//!   before the first delivered reply of an earlier message of that conversation;
//! * **poison**: each poison message must be in `alfred-ingest:dead` with a reason naming it;
//!   a poison message answered by a reply counts as a poison miss too;
//! * **latency**: first webhook attempt to the first delivered reply; "during faults" counts
//!   the messages first sent while a fault was under way.

use std::collections::HashMap;
use std::time::Instant;

use crate::load::Outcome;

/// One send the fake Graph API received.
#[derive(Debug, Clone)]
pub struct Send {
    /// `context.message_id`.
    pub quoted: Option<String>,
    pub at: Instant,
    pub delivered: bool,
}

/// When a fault was under way.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Window {
    pub fault: String,
    /// Seconds from the start of the load.
    pub start_secs: f64,
    pub end_secs: f64,
    #[serde(skip)]
    pub start: Instant,
    #[serde(skip)]
    pub end: Instant,
}

/// The counts.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct Findings {
    pub messages: usize,
    pub accepted: usize,
    pub not_accepted: usize,
    /// Webhook attempts beyond the first (a replica down, Redis down: 503 or no answer).
    pub webhook_retries: usize,
    pub poison: usize,
    pub answered: usize,
    pub lost: usize,
    pub duplicated: usize,
    /// Delivered replies quoting no message of this run.
    pub unexpected_replies: usize,
    pub conversations: usize,
    pub reordered_conversations: usize,
    pub poison_dead_lettered: usize,
    pub poison_missed: usize,
    /// Webhook-to-reply milliseconds, sorted.
    #[serde(skip)]
    pub latencies_ms: Vec<f64>,
    #[serde(skip)]
    pub latencies_during_faults_ms: Vec<f64>,
    /// A few examples of each miss, for the report.
    pub examples: Vec<String>,
    /// The slowest answered messages (wamid, webhook-to-reply milliseconds), slowest first,
    /// those over [`SLOW_MS`] only: the report shows their recipients' outbox rows.
    pub slowest: Vec<(String, f64)>,
}

/// A reply this much later than its message is worth explaining in the report.
pub const SLOW_MS: f64 = 10_000.0;

/// How many of the slowest replies the report explains.
const SLOWEST: usize = 3;

/// Judges a run.
pub fn check(
    outcomes: &[Outcome],
    sends: &[Send],
    dead_reasons: &[String],
    windows: &[Window],
) -> Findings {
    let mut replies: HashMap<&str, (usize, Instant)> = HashMap::new();
    for send in sends.iter().filter(|send| send.delivered) {
        let Some(quoted) = send.quoted.as_deref() else {
            continue;
        };
        let entry = replies.entry(quoted).or_insert((0, send.at));
        entry.0 += 1;
        entry.1 = entry.1.min(send.at);
    }
    let mut findings = Findings {
        messages: outcomes.len(),
        ..Findings::default()
    };
    let mut known = 0usize;
    // conversation → (seq, first reply) of its answered messages.
    let mut by_conversation: HashMap<u64, Vec<(u64, Instant)>> = HashMap::new();
    for outcome in outcomes {
        let message = &outcome.message;
        let reply = replies.get(message.wamid().as_str()).copied();
        findings.webhook_retries += outcome.attempts.saturating_sub(1) as usize;
        known += usize::from(reply.is_some());
        if outcome.accepted.is_none() {
            findings.not_accepted += 1;
            note(&mut findings, format!("not accepted: {}", message.wamid()));
            continue;
        }
        findings.accepted += 1;
        if message.poison {
            findings.poison += 1;
            let name = message.poison_name();
            let dead = dead_reasons.iter().any(|reason| reason.contains(&name));
            if dead && reply.is_none() {
                findings.poison_dead_lettered += 1;
            } else {
                findings.poison_missed += 1;
                note(&mut findings, format!("poison not dead-lettered: {name}"));
            }
            continue;
        }
        let Some((count, first)) = reply else {
            findings.lost += 1;
            note(&mut findings, format!("lost: {}", message.wamid()));
            continue;
        };
        findings.answered += 1;
        if count > 1 {
            findings.duplicated += 1;
            note(
                &mut findings,
                format!("answered {count} times: {}", message.wamid()),
            );
        }
        let latency = first.saturating_duration_since(outcome.first_sent);
        let ms = latency.as_secs_f64() * 1000.0;
        findings.latencies_ms.push(ms);
        if ms > SLOW_MS {
            findings.slowest.push((message.wamid(), ms));
        }
        let during = windows
            .iter()
            .any(|window| outcome.first_sent >= window.start && outcome.first_sent <= window.end);
        if during {
            findings.latencies_during_faults_ms.push(ms);
        }
        by_conversation
            .entry(message.conversation)
            .or_default()
            .push((message.seq, first));
    }
    findings.unexpected_replies = replies.len().saturating_sub(known);
    findings.conversations = by_conversation.len();
    for (conversation, mut answered) in by_conversation {
        answered.sort_by_key(|(seq, _)| *seq);
        let inverted = answered.windows(2).find(|pair| pair[1].1 < pair[0].1);
        if let Some(pair) = inverted {
            findings.reordered_conversations += 1;
            note(
                &mut findings,
                format!(
                    "conversation {conversation}: the reply to message {} came before the reply to message {}",
                    pair[1].0, pair[0].0
                ),
            );
        }
    }
    findings.latencies_ms.sort_by(f64::total_cmp);
    findings.latencies_during_faults_ms.sort_by(f64::total_cmp);
    findings.slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    findings.slowest.truncate(SLOWEST);
    findings
}

/// Keeps the first 20 examples of misses.
fn note(findings: &mut Findings, example: String) {
    if findings.examples.len() < 20 {
        findings.examples.push(example);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Message;
    use std::time::Duration;

    fn outcome(conversation: u64, seq: u64, poison: bool, at: Instant) -> Outcome {
        Outcome {
            message: Message {
                conversation,
                seq,
                poison,
            },
            first_sent: at,
            accepted: Some(at),
            attempts: 1,
        }
    }

    fn reply(conversation: u64, seq: u64, at: Instant, delivered: bool) -> Send {
        Send {
            quoted: Some(format!("wamid.CHAOS.{conversation}.{seq}")),
            at,
            delivered,
        }
    }

    #[test]
    fn a_clean_run_has_no_misses() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let outcomes = [outcome(0, 0, false, ms(0)), outcome(0, 1, false, ms(10))];
        let sends = [reply(0, 0, ms(5), true), reply(0, 1, ms(20), true)];

        let findings = check(&outcomes, &sends, &[], &[]);

        assert_eq!(
            (findings.answered, findings.lost, findings.duplicated),
            (2, 0, 0)
        );
        assert_eq!(findings.reordered_conversations, 0);
        assert_eq!(findings.latencies_ms, vec![5.0, 10.0]);
    }

    #[test]
    fn lost_duplicated_and_reordered_are_counted_and_a_refused_send_is_no_delivery() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let outcomes = [
            outcome(0, 0, false, ms(0)),
            outcome(0, 1, false, ms(1)),
            outcome(1, 0, false, ms(2)),
            outcome(2, 0, false, ms(3)),
        ];
        let sends = [
            reply(0, 1, ms(5), true),
            reply(0, 0, ms(6), true),
            reply(1, 0, ms(7), true),
            reply(1, 0, ms(8), true),
            reply(2, 0, ms(9), false),
        ];

        let findings = check(&outcomes, &sends, &[], &[]);

        assert_eq!(findings.lost, 1);
        assert_eq!(findings.duplicated, 1);
        assert_eq!(findings.reordered_conversations, 1);
    }

    #[test]
    fn poison_must_be_dead_lettered_by_name_and_never_answered() {
        let t0 = Instant::now();
        let outcomes = [
            outcome(0, 0, true, t0),
            outcome(0, 1, true, t0),
            outcome(0, 2, true, t0),
        ];
        let reasons = [
            "notification object is \"chaos-poison-0-0\", not \"whatsapp_business_account\""
                .to_owned(),
            "notification object is \"chaos-poison-0-2\", not \"whatsapp_business_account\""
                .to_owned(),
        ];
        let sends = [reply(0, 2, t0, true)];

        let findings = check(&outcomes, &sends, &reasons, &[]);

        assert_eq!(
            (findings.poison_dead_lettered, findings.poison_missed),
            (1, 2)
        );
        assert_eq!(findings.lost, 0);
    }

    #[test]
    fn latency_during_a_fault_counts_messages_first_sent_in_its_window() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let outcomes = [outcome(0, 0, false, ms(0)), outcome(1, 0, false, ms(100))];
        let sends = [reply(0, 0, ms(10), true), reply(1, 0, ms(400), true)];
        let window = Window {
            fault: "kill".into(),
            start_secs: 0.05,
            end_secs: 0.2,
            start: ms(50),
            end: ms(200),
        };

        let findings = check(&outcomes, &sends, &[], &[window]);

        assert_eq!(findings.latencies_during_faults_ms, vec![300.0]);
    }
}
