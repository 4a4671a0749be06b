//! The load: M messages from C conversations at a steady rate, as signed WhatsApp webhooks
//! spread round-robin over the replicas, each retried (on the next replica) until accepted, as
//! Meta retries.
//!
//! Message `i` belongs to conversation `i mod C` with sequence number `i div C`, so every
//! conversation receives one message per C at a steady pace. Its wamid is
//! `wamid.CHAOS.{conv}.{seq}` and its text `add item-{conv}-{seq}`: the grocery skill answers
//! it deterministically and the reply quotes the wamid (`context.message_id`), so each reply is
//! matched to its message without reading the text.
//!
//! A conversation's messages are sent one after the other — the next only once the previous
//! was accepted — because that is the order the platform delivers one chat in, and the order
//! the checker expects the replies in.
//!
//! A poison message (a deterministic `poison_percent` of them) is a body that is signed but
//! not a WhatsApp notification: `{"object":"chaos-poison-{conv}-{seq}",…}`. Alfred answers
//! 200 and keeps it in `alfred-ingest:dead` with the reason `notification object is
//! "chaos-poison-{conv}-{seq}", not …`, so the checker finds each one by its name.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alfred_testkit::whatsapp::{sign, text_message};
use tokio::sync::mpsc;

use crate::cluster::{APP_SECRET, PHONE_ID};

/// What to send.
#[derive(Debug, Clone)]
pub struct Plan {
    pub messages: u64,
    pub conversations: u64,
    /// Messages per second, all conversations together.
    pub rate: f64,
    pub poison_percent: f64,
    /// How long one message is retried before it counts as not accepted.
    pub accept_within: Duration,
}

/// One message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub conversation: u64,
    pub seq: u64,
    pub poison: bool,
}

impl Message {
    /// Message `n` of `plan`.
    pub fn nth(plan: &Plan, n: u64) -> Message {
        let conversations = plan.conversations.max(1);
        // Spread poison over conversations and time: a multiplicative hash of n.
        let bucket = (n.wrapping_mul(2_654_435_761) % 10_000) as f64;
        Message {
            conversation: n % conversations,
            seq: n / conversations,
            poison: bucket < plan.poison_percent * 100.0,
        }
    }

    /// What the reply quotes.
    pub fn wamid(&self) -> String {
        format!("wamid.CHAOS.{}.{}", self.conversation, self.seq)
    }

    /// The name the dead letter's reason carries.
    pub fn poison_name(&self) -> String {
        format!("chaos-poison-{}-{}", self.conversation, self.seq)
    }

    /// The signed body.
    pub fn body(&self) -> String {
        if self.poison {
            return serde_json::json!({ "object": self.poison_name(), "entry": [] }).to_string();
        }
        let from = format!("4917{:08}", self.conversation);
        let text = format!("add item-{}-{}", self.conversation, self.seq);
        text_message(PHONE_ID, &from, "Chaos", &self.wamid(), &text)
    }
}

/// What became of one message.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub message: Message,
    /// The first attempt: when the platform sent it (latency starts here).
    pub first_sent: Instant,
    /// The first 200.
    pub accepted: Option<Instant>,
    pub attempts: u32,
}

/// Sends the whole plan and returns every message's outcome.
pub async fn run(plan: Plan, webhook_urls: Vec<String>) -> anyhow::Result<Vec<Outcome>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(32)
        .build()?;
    let balancer = Arc::new(Balancer {
        urls: webhook_urls,
        next: AtomicUsize::new(0),
    });
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut queues = Vec::new();
    for _ in 0..plan.conversations.max(1) {
        let (tx, rx) = mpsc::unbounded_channel::<Message>();
        queues.push(tx);
        let worker = Worker {
            client: client.clone(),
            balancer: balancer.clone(),
            accept_within: plan.accept_within,
            done: done_tx.clone(),
        };
        tokio::spawn(worker.run(rx));
    }
    drop(done_tx);
    let started = tokio::time::Instant::now();
    let rate = plan.rate.max(0.001);
    for n in 0..plan.messages {
        tokio::time::sleep_until(started + Duration::from_secs_f64(n as f64 / rate)).await;
        let message = Message::nth(&plan, n);
        let queue = &queues[message.conversation as usize];
        if queue.send(message).is_err() {
            anyhow::bail!("a conversation's sender stopped early");
        }
    }
    drop(queues);
    let mut outcomes = Vec::with_capacity(plan.messages as usize);
    while let Some(outcome) = done_rx.recv().await {
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Round-robin over the replicas, as a load balancer without health checks.
struct Balancer {
    urls: Vec<String>,
    next: AtomicUsize,
}

impl Balancer {
    fn pick(&self) -> &str {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        &self.urls[n % self.urls.len()]
    }
}

/// One conversation's sender.
struct Worker {
    client: reqwest::Client,
    balancer: Arc<Balancer>,
    accept_within: Duration,
    done: mpsc::UnboundedSender<Outcome>,
}

impl Worker {
    async fn run(self, mut queue: mpsc::UnboundedReceiver<Message>) {
        while let Some(message) = queue.recv().await {
            let outcome = self.deliver(message).await;
            if self.done.send(outcome).is_err() {
                return;
            }
        }
    }

    /// Posts until a 200 or until `accept_within` has passed, on the next replica each time.
    async fn deliver(&self, message: Message) -> Outcome {
        let body = message.body();
        let signature = sign(APP_SECRET, body.as_bytes());
        let first_sent = Instant::now();
        let mut attempts = 0;
        let mut accepted = None;
        while first_sent.elapsed() < self.accept_within {
            attempts += 1;
            let answer = self
                .client
                .post(self.balancer.pick())
                .header("content-type", "application/json")
                .header("x-hub-signature-256", &signature)
                .body(body.clone())
                .send()
                .await;
            if answer.is_ok_and(|response| response.status().is_success()) {
                accepted = Some(Instant::now());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Outcome {
            message,
            first_sent,
            accepted,
            attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(poison_percent: f64) -> Plan {
        Plan {
            messages: 10_000,
            conversations: 500,
            rate: 50.0,
            poison_percent,
            accept_within: Duration::from_secs(1),
        }
    }

    #[test]
    fn messages_walk_the_conversations_in_turn() {
        let plan = plan(0.0);
        let third = Message::nth(&plan, 1_002);
        assert_eq!((third.conversation, third.seq), (2, 2));
        assert_eq!(third.wamid(), "wamid.CHAOS.2.2");
        assert!(third.body().contains("add item-2-2"));
    }

    #[test]
    fn about_one_percent_are_poison_and_their_reason_names_them() {
        let plan = plan(1.0);
        let poison: Vec<Message> = (0..plan.messages)
            .map(|n| Message::nth(&plan, n))
            .filter(|message| message.poison)
            .collect();
        assert!((50..=150).contains(&poison.len()), "{}", poison.len());
        assert!(poison[0].body().contains(&poison[0].poison_name()));
        assert!(!(0..plan.messages).any(|n| Message::nth(&self::plan(0.0), n).poison));
    }
}
