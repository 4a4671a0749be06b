//! The run's report, as text for a person and as JSON for a file, and its verdict.

use serde::Serialize;

use crate::check::{Findings, Window};

/// What was left in flight once the run settled (all zero when nothing is stuck).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Leftovers {
    pub ingest_pending: u64,
    pub ingest_lag: u64,
    pub outbox_pending: u64,
    pub outbox_lag: u64,
    /// Outbox rows neither `sent` nor `dead`.
    pub outbox_unsent: i64,
    /// Outbox rows `dead` (a reply the Graph API refused for good).
    pub outbox_dead: i64,
    /// Whether the run settled before its deadline.
    pub settled: bool,
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(sorted: &[f64]) -> Latency {
        let at = |p: f64| {
            if sorted.is_empty() {
                return 0.0;
            }
            let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index]
        };
        Latency {
            samples: sorted.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// Everything the run reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub replicas: usize,
    pub order_required: bool,
    pub faults: Vec<Window>,
    pub findings: Findings,
    pub latency: Latency,
    pub latency_during_faults: Latency,
    pub leftovers: Leftovers,
    /// Why the run failed; empty when it passed.
    pub failures: Vec<String>,
    /// The slowest replies and what they waited for.
    pub slow_replies: Vec<SlowReply>,
}

/// A reply that came late, with its recipient's outbox rows (see `outbox_history`).
#[derive(Debug, Clone, Serialize)]
pub struct SlowReply {
    pub wamid: String,
    pub latency_ms: f64,
    pub outbox: Vec<String>,
}

impl Report {
    /// Builds the report and its verdict.
    pub fn new(
        replicas: usize,
        order_required: bool,
        faults: Vec<Window>,
        findings: Findings,
        leftovers: Leftovers,
    ) -> Report {
        let mut failures = Vec::new();
        let mut fail = |count: usize, what: &str| {
            if count > 0 {
                failures.push(format!("{count} {what}"));
            }
        };
        fail(
            findings.not_accepted,
            "messages never accepted by a webhook",
        );
        fail(findings.lost, "messages lost (accepted, never answered)");
        fail(findings.duplicated, "messages answered more than once");
        fail(findings.unexpected_replies, "replies to unknown messages");
        fail(findings.poison_missed, "poison messages not dead-lettered");
        if order_required {
            fail(
                findings.reordered_conversations,
                "conversations answered out of order",
            );
        }
        let stuck = leftovers.ingest_pending
            + leftovers.ingest_lag
            + leftovers.outbox_pending
            + leftovers.outbox_lag
            + u64::try_from(leftovers.outbox_unsent).unwrap_or(0);
        fail(
            usize::try_from(stuck).unwrap_or(usize::MAX),
            "entries or replies stuck",
        );
        if !leftovers.settled {
            failures.push("the run did not settle before its deadline".to_owned());
        }
        Report {
            replicas,
            order_required,
            latency: Latency::of(&findings.latencies_ms),
            latency_during_faults: Latency::of(&findings.latencies_during_faults_ms),
            faults,
            findings,
            leftovers,
            failures,
            slow_replies: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The report for a person.
    pub fn text(&self) -> String {
        let f = &self.findings;
        let l = &self.leftovers;
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|w| format!("{} {:.0}–{:.0} s", w.fault, w.start_secs, w.end_secs))
            .collect();
        let order = if self.order_required {
            "required"
        } else {
            "reported, not required"
        };
        let mut out = format!(
            "chaos run: {} replicas, {} messages in {} conversations ({} poison)\n\
             faults injected ({}): {}\n\
             webhook retries {}  accepted {}  not accepted {}  answered {}  lost {}  duplicated {}  unexpected replies {}\n\
             reordered conversations {} of {} (order {order})\n\
             poison dead-lettered {} of {}  missed {}\n\
             latency webhook→send: p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms ({} messages)\n\
             during faults:        p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms ({} messages)\n\
             left over: ingest pending {} lag {}, outbox pending {} lag {}, outbox rows unsent {} dead {}; settled {}\n",
            self.replicas, f.messages, f.conversations, f.poison,
            faults.len(), faults.join(", "),
            f.webhook_retries, f.accepted, f.not_accepted, f.answered, f.lost, f.duplicated, f.unexpected_replies,
            f.reordered_conversations, f.conversations,
            f.poison_dead_lettered, f.poison, f.poison_missed,
            self.latency.p50_ms, self.latency.p99_ms, self.latency.max_ms, self.latency.samples,
            self.latency_during_faults.p50_ms, self.latency_during_faults.p99_ms,
            self.latency_during_faults.max_ms, self.latency_during_faults.samples,
            l.ingest_pending, l.ingest_lag, l.outbox_pending, l.outbox_lag, l.outbox_unsent,
            l.outbox_dead, l.settled,
        );
        for example in &f.examples {
            out.push_str(&format!("  e.g. {example}\n"));
        }
        for slow in &self.slow_replies {
            out.push_str(&format!(
                "slow reply to {} after {:.0} ms; its recipient's outbox rows (times in s from this reply's creation):\n",
                slow.wamid, slow.latency_ms
            ));
            for row in &slow.outbox {
                out.push_str(&format!("    {row}\n"));
            }
        }
        if self.passed() {
            out.push_str("PASS\n");
        } else {
            out.push_str(&format!("FAIL: {}\n", self.failures.join("; ")));
        }
        out
    }
}
