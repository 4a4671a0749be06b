//! Prometheus metrics, one registry per process, every name documented here.
//!
//! Names follow Prometheus conventions (`_total` for counters, base units in the name).

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// All of Alfred's metrics. Cheap to clone (the collectors are reference counted).
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// `alfred_http_requests_total{route,status}`: HTTP requests answered.
    pub http_requests: IntCounterVec,
    /// `alfred_http_request_duration_seconds{route}`: time to answer.
    pub http_duration: HistogramVec,
    /// `alfred_messages_ingested_total{platform}`: envelopes stored on `alfred-ingest`.
    pub ingested: IntCounterVec,
    /// `alfred_messages_processed_total{result}`: ingest entries handled
    /// (`committed`, `duplicate`, `status`: a status callback about one of our replies).
    pub processed: IntCounterVec,
    /// `alfred_messages_dead_lettered_total{stream,reason}`: entries moved to a dead-letter stream.
    pub dead_lettered: IntCounterVec,
    /// `alfred_actor_restarts_total{actor}`: supervised restarts.
    pub actor_restarts: IntCounterVec,
    /// `alfred_outbound_sends_total{platform,result}`: send attempts (`sent`, `retry`, `dead`,
    /// `skipped`, `logged`).
    pub outbound_sends: IntCounterVec,
    /// `alfred_outbox_relayed_total`: outbox rows republished by the relay.
    pub relayed: IntCounter,
    /// `alfred_llm_requests_total{result}`: plain-language requests put to the LLM
    /// (`accepted`, `refused`, `no_call`, `failed`, `timeout`).
    pub llm_requests: IntCounterVec,
    /// `alfred_transcriptions_total{outcome}`: voice notes, by how their transcription ended
    /// (`transcribed`; `reused`: a redelivery found the kept transcript; `unconfigured`: no
    /// `TRANSCRIBE_URL`; `too_large`, `download_failed`, `checksum_mismatch`, `failed`,
    /// `empty`, `timeout`).
    pub transcriptions: IntCounterVec,
    /// `alfred_transcription_duration_seconds{outcome}`: time to fetch and transcribe one voice
    /// note (download included), by the same outcome (only attempts that were made).
    pub transcription_duration: HistogramVec,
    /// `alfred_inbox_polls_total{result}`: polls of the work inbox (`ok`, `failed`).
    pub inbox_polls: IntCounterVec,
    /// `alfred_inbox_mails_total{result}`: mails taken in (`stored`, `duplicate`, `set_aside`,
    /// `summarised`).
    pub inbox_mails: IntCounterVec,
    /// `alfred_janitor_removed_total{what}`: what the janitor removed (`stream_entries`,
    /// `stale_consumers`: former replicas' consumers with nothing pending, `inbox`,
    /// `llm_answers`, `transcripts`: voice notes' kept transcripts, `outbox`, `refusals`:
    /// strangers' daily refusal counters).
    pub janitor_removed: IntCounterVec,
    /// `alfred_stream_pending{stream}`: entries of the stream delivered to its consumer group
    /// and not yet acknowledged, as its reader last sampled (every half claim-idle time).
    pub stream_pending: IntGaugeVec,
    /// `alfred_stream_lag{stream}`: entries added to the stream and not yet delivered to its
    /// consumer group (absent when Redis cannot tell).
    pub stream_lag: IntGaugeVec,
    /// `alfred_stream_oldest_pending_age_seconds{stream}`: how long ago the oldest pending entry
    /// was added (0 with nothing pending).
    pub stream_oldest_pending_age: GaugeVec,
    /// `alfred_stream_paused{stream}`: this process's readers of the stream that are holding
    /// off because the stream is paused (0 while it is not; see
    /// [`streams`](crate::streams)).
    pub stream_paused: IntGaugeVec,
    /// `alfred_stream_dead_letters{stream}`: entries in the stream's dead-letter stream, as
    /// its reader last sampled.
    pub stream_dead_letters: IntGaugeVec,
    /// `alfred_stream_consumers{stream}`: consumers in the stream's group (live ones and
    /// former replicas' not removed yet), as its reader last sampled.
    pub stream_consumers: IntGaugeVec,
    /// `alfred_refused_total{reason}`: messages answered with a refusal or not handled because
    /// of who sent them or how much (`stranger`: a conversation no household claims, with a
    /// households file; `other_workspace`: a Slack request from a workspace not in
    /// `SLACK_TEAM_IDS`, dropped at the edge; `external_user`: a Slack Connect user of another
    /// workspace, dropped at the edge; `not_reader`: a skill limited to readers, such as the
    /// CRM or the work inbox, asked by someone else; `rate_limited`, `too_long`, `llm_budget`).
    /// Refusals are never dead letters.
    pub refused: IntCounterVec,
    /// `alfred_fenced_commits_total`: ingest entries whose commit Postgres refused because the
    /// entry's partition has a newer owner (`INGEST_PARTITIONS`: the fencing token the entry was
    /// read under is older than the partition's latest). Each is left to the new owner; a rise
    /// shows a replica that was paused or cut off past its lease and woke with work in hand.
    pub fenced_commits: IntCounter,
    /// `alfred_slack_socket_connections`: Slack Socket Mode WebSockets open now (two while all
    /// is well; one during a reconnect; 0 without `SLACK_APP_TOKEN`).
    pub slack_socket_connections: IntGauge,
    /// `alfred_slack_socket_envelopes_total{type}`: envelopes Slack sent over Socket Mode, by
    /// envelope type (`events_api`, `slash_commands`, `interactive`, …).
    pub slack_socket_envelopes: IntCounterVec,
    /// `alfred_slack_socket_acks_total`: envelopes acknowledged (each after it was stored, or
    /// known to need nothing stored); fewer than received means Slack will deliver some again.
    pub slack_socket_acks: IntCounter,
    /// `alfred_slack_socket_reconnects_total{reason}`: Socket Mode connections replaced
    /// (`refresh_requested`, `warning`, `link_disabled`, `dropped`, `failed`: a connection
    /// that could not be opened).
    pub slack_socket_reconnects: IntCounterVec,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "alfred_http_requests_total",
                "HTTP requests answered, by route and status.",
            ),
            &["route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "alfred_http_request_duration_seconds",
                "Time to answer an HTTP request.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["route"],
        )?;
        let ingested = IntCounterVec::new(
            Opts::new(
                "alfred_messages_ingested_total",
                "Inbound envelopes stored on the ingest stream.",
            ),
            &["platform"],
        )?;
        let processed = IntCounterVec::new(
            Opts::new(
                "alfred_messages_processed_total",
                "Ingest entries handled, by result.",
            ),
            &["result"],
        )?;
        let dead_lettered = IntCounterVec::new(
            Opts::new(
                "alfred_messages_dead_lettered_total",
                "Entries moved to a dead-letter stream.",
            ),
            &["stream", "reason"],
        )?;
        let actor_restarts = IntCounterVec::new(
            Opts::new("alfred_actor_restarts_total", "Supervised actor restarts."),
            &["actor"],
        )?;
        let outbound_sends = IntCounterVec::new(
            Opts::new(
                "alfred_outbound_sends_total",
                "Outbound send attempts, by platform and result.",
            ),
            &["platform", "result"],
        )?;
        let relayed = IntCounter::new(
            "alfred_outbox_relayed_total",
            "Outbox rows republished by the relay.",
        )?;
        let llm_requests = IntCounterVec::new(
            Opts::new(
                "alfred_llm_requests_total",
                "Plain-language requests put to the LLM, by result.",
            ),
            &["result"],
        )?;
        let transcriptions = IntCounterVec::new(
            Opts::new(
                "alfred_transcriptions_total",
                "Voice notes, by how their transcription ended.",
            ),
            &["outcome"],
        )?;
        let transcription_duration = HistogramVec::new(
            HistogramOpts::new(
                "alfred_transcription_duration_seconds",
                "Time to download and transcribe one voice note, by outcome.",
            )
            .buckets(vec![0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0]),
            &["outcome"],
        )?;
        let inbox_polls = IntCounterVec::new(
            Opts::new(
                "alfred_inbox_polls_total",
                "Polls of the work inbox's IMAP mailbox, by result (ok, failed).",
            ),
            &["result"],
        )?;
        let inbox_mails = IntCounterVec::new(
            Opts::new(
                "alfred_inbox_mails_total",
                "Mails the work inbox took in, by result (stored, duplicate, set_aside, summarised).",
            ),
            &["result"],
        )?;
        let janitor_removed = IntCounterVec::new(
            Opts::new(
                "alfred_janitor_removed_total",
                "What the janitor removed: handled stream entries, old inbox keys, old sent replies, old refusal counters.",
            ),
            &["what"],
        )?;
        let stream_pending = IntGaugeVec::new(
            Opts::new(
                "alfred_stream_pending",
                "Entries delivered to the stream's consumer group and not yet acknowledged.",
            ),
            &["stream"],
        )?;
        let stream_lag = IntGaugeVec::new(
            Opts::new(
                "alfred_stream_lag",
                "Entries added to the stream and not yet delivered to its consumer group.",
            ),
            &["stream"],
        )?;
        let stream_oldest_pending_age = GaugeVec::new(
            Opts::new(
                "alfred_stream_oldest_pending_age_seconds",
                "How long ago the oldest pending entry of the stream's group was added.",
            ),
            &["stream"],
        )?;
        let stream_paused = IntGaugeVec::new(
            Opts::new(
                "alfred_stream_paused",
                "Readers of the stream in this process holding off because the stream is paused.",
            ),
            &["stream"],
        )?;
        let stream_dead_letters = IntGaugeVec::new(
            Opts::new(
                "alfred_stream_dead_letters",
                "Entries in the stream's dead-letter stream.",
            ),
            &["stream"],
        )?;
        let stream_consumers = IntGaugeVec::new(
            Opts::new(
                "alfred_stream_consumers",
                "Consumers in the stream's consumer group, former replicas' included until removed.",
            ),
            &["stream"],
        )?;
        let refused = IntCounterVec::new(
            Opts::new(
                "alfred_refused_total",
                "Messages refused or not handled because of who sent them or how much, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(ingested.clone()))?;
        registry.register(Box::new(processed.clone()))?;
        registry.register(Box::new(dead_lettered.clone()))?;
        registry.register(Box::new(actor_restarts.clone()))?;
        registry.register(Box::new(outbound_sends.clone()))?;
        registry.register(Box::new(relayed.clone()))?;
        registry.register(Box::new(llm_requests.clone()))?;
        registry.register(Box::new(transcriptions.clone()))?;
        registry.register(Box::new(transcription_duration.clone()))?;
        registry.register(Box::new(inbox_polls.clone()))?;
        registry.register(Box::new(inbox_mails.clone()))?;
        registry.register(Box::new(janitor_removed.clone()))?;
        registry.register(Box::new(stream_pending.clone()))?;
        registry.register(Box::new(stream_lag.clone()))?;
        registry.register(Box::new(stream_oldest_pending_age.clone()))?;
        registry.register(Box::new(stream_paused.clone()))?;
        registry.register(Box::new(stream_dead_letters.clone()))?;
        registry.register(Box::new(stream_consumers.clone()))?;
        let fenced_commits = IntCounter::new(
            "alfred_fenced_commits_total",
            "Ingest entries whose commit was refused because their partition has a newer owner.",
        )?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(fenced_commits.clone()))?;
        let slack_socket_connections = IntGauge::new(
            "alfred_slack_socket_connections",
            "Slack Socket Mode WebSocket connections open now.",
        )?;
        let slack_socket_envelopes = IntCounterVec::new(
            Opts::new(
                "alfred_slack_socket_envelopes_total",
                "Envelopes received over Slack Socket Mode, by envelope type.",
            ),
            &["type"],
        )?;
        let slack_socket_acks = IntCounter::new(
            "alfred_slack_socket_acks_total",
            "Slack Socket Mode envelopes acknowledged.",
        )?;
        let slack_socket_reconnects = IntCounterVec::new(
            Opts::new(
                "alfred_slack_socket_reconnects_total",
                "Slack Socket Mode connections replaced, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(slack_socket_connections.clone()))?;
        registry.register(Box::new(slack_socket_envelopes.clone()))?;
        registry.register(Box::new(slack_socket_acks.clone()))?;
        registry.register(Box::new(slack_socket_reconnects.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            ingested,
            processed,
            dead_lettered,
            actor_restarts,
            outbound_sends,
            relayed,
            llm_requests,
            transcriptions,
            transcription_duration,
            inbox_polls,
            inbox_mails,
            janitor_removed,
            stream_pending,
            stream_lag,
            stream_oldest_pending_age,
            stream_paused,
            stream_dead_letters,
            stream_consumers,
            refused,
            fenced_commits,
            slack_socket_connections,
            slack_socket_envelopes,
            slack_socket_acks,
            slack_socket_reconnects,
        })
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        use prometheus::Encoder;
        let mut buffer = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        // Encoding into a Vec cannot fail for the text encoder except on invalid metric
        // families, which registration already rules out.
        if encoder
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
