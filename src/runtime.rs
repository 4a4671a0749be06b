//! The actor system of one Alfred process, composed in one place.
//!
//! ```text
//! root (one_for_one)
//! ├── skills (one_for_one): skill/grocery, skill/ping, …
//! ├── orchestrator
//! ├── ingest-reader-0 … ingest-reader-N   (consumers of «alfred-ingest»: INGEST_READERS of
//! │                                         them with INGEST_PARTITIONS=0, else one draining
//! │                                         what a single-stream run left)
//! ├── ingest-partitions                    (INGEST_PARTITIONS, default 8 with Redis and
//! │                                         Postgres: leases, one reader per owned partition
//! │                                         «alfred-ingest:{pN}»)
//! ├── outbound-sender
//! ├── outbox-reader-0                      (consumer of «alfred-outbox»)
//! ├── outbox-relay
//! └── scheduler                            (briefings, chore reminders, reminders)
//! ```
//!
//! Skills start first so the orchestrator can route to them; readers start after their
//! handlers. Every child is permanent: a reader, the orchestrator or the sender that dies is
//! always brought back, with its address (and the messages queued on it) intact.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::Recipient;
use alfred_actors::access::StrangerPolicy;
use alfred_actors::bus::Bus;
use alfred_actors::channel::ChannelClient;
use alfred_actors::clock::{Clock, ManualClock, SystemClock};
use alfred_actors::households::{HouseholdDirectory, HouseholdInfo};
use alfred_actors::janitor::{Janitor, JanitorConfig};
use alfred_actors::limits::Limiter;
use alfred_actors::llm::Llm;
use alfred_actors::messages::Platform;
use alfred_actors::metrics::Metrics;
use alfred_actors::names;
use alfred_actors::orchestrator::{Orchestrator, OrchestratorDeps, RoutedSkill};
use alfred_actors::outbound::{OutboundSender, SenderDeps, SenderPolicy};
use alfred_actors::partitions::{self, IngestRoute, OwnerConfig, PartitionOwner};
use alfred_actors::relay::{OutboxRelay, RelayConfig};
use alfred_actors::scheduler::store::JobStore;
use alfred_actors::scheduler::{DueRuns, ScheduledJob, Scheduler, SchedulerDeps};
use alfred_actors::skill::{SkillActor, SkillEntry};
use alfred_actors::store::Store;
use alfred_actors::stream_reader::{Delivery, ReaderConfig, StreamReader};
use alfred_actors::streams::ControlledStream;
use alfred_actors::supervision::{Backoff, ChildSpec, Intensity, Restart, Strategy, Supervisor};
use alfred_config::{ClockSetting, Settings};
use anyhow::Context as _;

use crate::catalogue::{ensure_built_with, instance_skills};
use crate::stores::Stores;
use alfred_actors::dead_letters::DeadLetters;

/// Builds the channel clients on the sender's thread.
pub type ClientFactory = Arc<dyn Fn() -> HashMap<Platform, Rc<dyn ChannelClient>> + Send + Sync>;

/// What an embedding of Alfred adds to what the settings describe: the end-to-end tests load a
/// skill that misbehaves on purpose, or drive the scheduler on durable stores with a clock they
/// move. No variable reaches it: the binary always passes `Extras::default()`, and `CLOCK=manual`
/// is refused with durable stores (config).
#[derive(Default)]
pub struct Extras {
    /// Skills routed before the instance's own.
    pub skills: Vec<SkillEntry>,
    /// A manual clock used instead of the one `CLOCK` selects; the admin API moves it.
    pub clock: Option<ManualClock>,
    /// WhatsApp chats are answered in this process — `alfred chat`, the playground — instead
    /// of through the Graph API: the households' briefings and chore reminders are then
    /// scheduled without WhatsApp settings, so that they show there too.
    pub local_chats: bool,
}

/// The running actor system.
pub struct Runtime {
    pub settings: Settings,
    /// The instance's Redis key prefix (`REDIS_KEY_PREFIX`, then the instance): every stream
    /// and key of this process is built from it with [`names::key`].
    pub prefix: String,
    pub bus: Arc<dyn Bus>,
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    pub root: Supervisor,
    /// The clock skills and the scheduler see.
    pub clock: Arc<dyn Clock>,
    /// The same clock when it is manual (`CLOCK=manual`), for the admin API to move.
    pub manual_clock: Option<ManualClock>,
    /// The households' scheduled jobs.
    pub jobs: Vec<ScheduledJob>,
    /// Where missed job runs are recorded.
    pub jobs_store: Arc<dyn JobStore>,
    /// How the work inbox's polls have gone (Biz with `IMAP_HOST`).
    pub inbox_status: Option<StatusReport>,
    /// The dead letters operators act on (durable mode only).
    pub dead_letters: Option<Arc<DeadLetters>>,
    /// This process's replica id among the ingest partitions' owners (`{HOSTNAME}-{8 hex}`);
    /// `None` without partitions.
    pub partition_replica: Option<String>,
}

/// What every actor's dependencies are built from.
struct Wiring<'a> {
    settings: &'a Settings,
    prefix: &'a str,
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    root: &'a Supervisor,
}

/// Which stream a reader consumes (its keys, group and pause flag, with the instance's
/// prefix), as which consumer, and how it is tuned.
struct ReaderOf {
    stream: ControlledStream,
    consumer: String,
    batch: usize,
    claim_idle: Duration,
    max_deliveries: u32,
}

impl Runtime {
    /// Connects the stores, applies migrations and starts every actor. Must run inside an
    /// actix system.
    pub async fn start(
        settings: Settings,
        extras: Extras,
        clients: ClientFactory,
    ) -> anyhow::Result<Runtime> {
        ensure_built_with(settings.instance)?;
        let metrics = Metrics::new().context("Failed to register metrics")?;
        let (clock, manual_clock) = match extras.clock {
            Some(manual) => (Arc::new(manual.clone()) as Arc<dyn Clock>, Some(manual)),
            None => clock(&settings),
        };
        let Stores {
            bus,
            store,
            jobs: jobs_store,
            pool,
            dead_letters,
            mem,
        } = crate::stores::connect(&settings).await?;
        let prefix = names::instance_prefix(&settings.redis_key_prefix, settings.instance.as_str());
        let dead_letters = dead_letters.map(|store| {
            Arc::new(DeadLetters::new(
                bus.clone(),
                store,
                prefix.clone(),
                settings.tuning.ingest_partitions,
            ))
        });
        // Plain language: text no skill's grammar understands goes to the LLM when configured.
        let llm = settings
            .llm
            .as_ref()
            .map(alfred_adapters::llm::from_settings)
            .transpose()
            .context("Invalid LLM settings")?;
        // Voice notes: fetched from the Graph API and transcribed when TRANSCRIBE_URL is set.
        let voice = alfred_adapters::voice::from_settings(&settings)
            .context("Invalid voice-note settings (TRANSCRIBE_*)")?;

        let root = Supervisor::new(
            "root",
            Strategy::OneForOne,
            ROOT_INTENSITY,
            Backoff::default(),
        )
        .with_metrics(&metrics);
        let wiring = Wiring {
            settings: &settings,
            prefix: &prefix,
            bus: bus.clone(),
            store: store.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            root: &root,
        };
        let skills = extras
            .skills
            .into_iter()
            .chain(instance_skills(&settings))
            .collect();
        let skills = wiring.spawn_skills(skills);
        let orchestrator = wiring.spawn_orchestrator(skills, llm.clone(), voice);
        if settings.tuning.ingest_partitions > 0 && settings.tuning.ingest_readers > 1 {
            tracing::info!(
                ingest_readers = settings.tuning.ingest_readers,
                partitions = settings.tuning.ingest_partitions,
                "INGEST_READERS does not apply with partitions: each owned partition has its own reader, and one reader drains the single stream."
            );
        }
        for i in 0..single_stream_readers(&settings) {
            wiring.spawn_reader(
                format!("ingest-reader-{i}"),
                wiring.ingest_reader(i),
                orchestrator.clone().recipient(),
            );
        }
        // The reader of the single stream above keeps running with partitions: it drains
        // what that stream held before they were turned on (the partition readers wait for
        // that).
        let partition_replica = (settings.tuning.ingest_partitions > 0)
            .then(|| wiring.spawn_partition_owner(orchestrator.clone().recipient()));
        let sender = wiring.spawn_sender(clients);
        wiring.spawn_reader(
            "outbox-reader-0".to_owned(),
            wiring.outbox_reader(),
            sender.recipient(),
        );
        wiring.spawn_relay();
        wiring.spawn_janitor();
        let jobs = crate::jobs::scheduled_jobs(&settings, extras.local_chats);
        let due_runs = crate::catalogue::instance_due_runs(&settings, pool.as_ref(), mem.as_ref());
        wiring.spawn_scheduler(jobs_store.clone(), jobs.clone(), due_runs);
        let inbox_status = wiring.spawn_inbox_poller(pool.as_ref(), llm.as_ref());

        Ok(Runtime {
            settings,
            prefix,
            bus,
            store,
            metrics,
            root,
            clock,
            manual_clock,
            jobs,
            jobs_store,
            inbox_status,
            dead_letters,
            partition_replica,
        })
    }
}

impl Runtime {
    /// Where this instance's edges put an inbound message: its conversation's partition
    /// stream, or the single `alfred-ingest` with `INGEST_PARTITIONS=0`.
    pub fn ingest_route(&self) -> IngestRoute {
        IngestRoute::new(&self.prefix, self.settings.tuning.ingest_partitions)
    }
}

/// The system clock, or the manual one (`CLOCK=manual`) that only the admin API moves.
fn clock(settings: &Settings) -> (Arc<dyn Clock>, Option<ManualClock>) {
    match settings.clock {
        ClockSetting::System => (Arc::new(SystemClock), None),
        ClockSetting::Manual { start } => {
            tracing::warn!(%start, "CLOCK=manual: time moves only through the admin API. Never use this in production.");
            let manual = ManualClock::new(start);
            (Arc::new(manual.clone()), Some(manual))
        }
    }
}

impl Wiring<'_> {
    /// One supervised actor per skill, under a supervisor of their own, in routing order.
    ///
    /// A skill that panics on one message is restarted for each delivery of that message
    /// until the reader dead-letters it, so the skills supervisor tolerates more restarts.
    fn spawn_skills(&self, skills: Vec<SkillEntry>) -> Vec<RoutedSkill> {
        let supervisor = self.root.child_supervisor(
            "skills",
            Strategy::OneForOne,
            SKILLS_INTENSITY,
            Backoff::default(),
        );
        skills
            .into_iter()
            .map(|entry| {
                let factory = entry.factory.clone();
                let addr = supervisor.spawn(
                    ChildSpec::new(format!("skill/{}", entry.name()), move || {
                        SkillActor::new(factory())
                    })
                    .restart(Restart::Permanent),
                );
                RoutedSkill {
                    route: entry.route,
                    access: entry.access,
                    actor: addr.recipient(),
                }
            })
            .collect()
    }

    fn spawn_orchestrator(
        &self,
        skills: Vec<RoutedSkill>,
        llm: Option<Llm>,
        voice: Option<alfred_actors::voice::Voice>,
    ) -> actix::Addr<Orchestrator> {
        let deps = OrchestratorDeps {
            store: self.store.clone(),
            bus: self.bus.clone(),
            outbox_stream: self.key(names::OUTBOX_STREAM),
            outbox_dead_stream: self.key(names::OUTBOX_DEAD_STREAM),
            skills,
            households: Arc::new(household_directory(self.settings)),
            invoke_prefixes: Arc::new(self.settings.invoke_prefixes.clone()),
            strangers: match self.settings.strangers {
                alfred_config::Strangers::Refuse => StrangerPolicy::Refuse,
                alfred_config::Strangers::Ignore => StrangerPolicy::Ignore,
            },
            clock: self.clock.clone(),
            llm,
            voice,
            limiter: Limiter::new(self.bus.clone(), self.prefix, self.settings.limits),
            metrics: self.metrics.clone(),
        };
        self.root.spawn(
            ChildSpec::new("orchestrator", move || Orchestrator::new(deps.clone()))
                .restart(Restart::Permanent),
        )
    }

    /// The `i`-th consumer of `alfred-ingest`, tuned by the `INGEST_*` settings.
    fn ingest_reader(&self, i: usize) -> ReaderConfig {
        let tuning = &self.settings.tuning;
        self.reader(ReaderOf {
            stream: ControlledStream::ingest(self.prefix, self.settings.instance.as_str()),
            consumer: format!("{}-ingest-{i}", consumer_base(self.settings)),
            batch: tuning.ingest_batch,
            claim_idle: tuning.ingest_claim_idle,
            max_deliveries: tuning.ingest_max_deliveries,
        })
    }

    /// The consumer of `alfred-outbox`, tuned by the `OUTBOX_*` settings.
    fn outbox_reader(&self) -> ReaderConfig {
        let tuning = &self.settings.tuning;
        self.reader(ReaderOf {
            stream: ControlledStream::outbox(self.prefix, self.settings.instance.as_str()),
            consumer: format!("{}-outbox-0", consumer_base(self.settings)),
            batch: tuning.outbox_batch,
            claim_idle: tuning.outbox_claim_idle,
            max_deliveries: tuning.outbox_max_deliveries,
        })
    }

    /// The one place a [`ReaderConfig`] is written out: the instance's keys, group and pause
    /// flag of the stream `of` names, and its tuning.
    fn reader(&self, of: ReaderOf) -> ReaderConfig {
        ReaderConfig {
            bus: self.bus.clone(),
            stream: of.stream.stream,
            group: of.stream.group,
            consumer: of.consumer,
            dead_stream: of.stream.dead_stream,
            batch: of.batch,
            block: READ_BLOCK,
            claim_idle: of.claim_idle,
            max_deliveries: of.max_deliveries,
            metrics: self.metrics.clone(),
            pause_key: Some(of.stream.pause_key),
            lease: None,
        }
    }

    /// The owner of this replica's ingest partitions (`INGEST_PARTITIONS`): a member of the
    /// live set, holding leases and running one reader per owned partition. Returns its
    /// replica id.
    fn spawn_partition_owner(&self, handler: Recipient<Delivery>) -> String {
        let tuning = &self.settings.tuning;
        let replica = partitions::replica_id(&consumer_base(self.settings));
        let reader = self.reader(ReaderOf {
            stream: ControlledStream::ingest(self.prefix, self.settings.instance.as_str()),
            consumer: replica.clone(),
            batch: tuning.ingest_batch,
            claim_idle: tuning.ingest_claim_idle,
            max_deliveries: tuning.ingest_max_deliveries,
        });
        let config = OwnerConfig {
            bus: self.bus.clone(),
            store: self.store.clone(),
            prefix: self.prefix.to_owned(),
            partitions: tuning.ingest_partitions,
            replica: replica.clone(),
            lease: tuning.ingest_lease,
            legacy_stream: Some(reader.stream.clone()),
            reader,
        };
        self.root.spawn(
            ChildSpec::new("ingest-partitions", move || {
                PartitionOwner::new(config.clone(), handler.clone())
            })
            .restart(Restart::Permanent),
        );
        replica
    }

    fn spawn_reader(&self, name: String, config: ReaderConfig, handler: Recipient<Delivery>) {
        self.root.spawn(
            ChildSpec::new(name, move || {
                StreamReader::new(config.clone(), handler.clone())
            })
            .restart(Restart::Permanent),
        );
    }

    fn spawn_sender(&self, clients: ClientFactory) -> actix::Addr<OutboundSender> {
        let tuning = &self.settings.tuning;
        let deps = SenderDeps {
            store: self.store.clone(),
            bus: self.bus.clone(),
            stream: self.key(names::OUTBOX_STREAM),
            dead_stream: self.key(names::OUTBOX_DEAD_STREAM),
            clients,
            policy: SenderPolicy {
                max_attempts: tuning.outbound_max_attempts,
                lease: tuning.outbound_claim_lease,
                enabled: self.settings.outbound_enabled,
                ..SenderPolicy::default()
            },
            metrics: self.metrics.clone(),
        };
        self.root.spawn(
            ChildSpec::new("outbound-sender", move || OutboundSender::new(deps.clone()))
                .restart(Restart::Permanent),
        )
    }

    fn spawn_relay(&self) {
        let tuning = &self.settings.tuning;
        let config = RelayConfig {
            interval: tuning.relay_interval,
            lease: tuning.outbound_claim_lease,
            stream: self.key(names::OUTBOX_STREAM),
            ..RelayConfig::default()
        };
        let (store, bus, metrics) = (self.store.clone(), self.bus.clone(), self.metrics.clone());
        self.root.spawn(
            ChildSpec::new("outbox-relay", move || {
                OutboxRelay::new(store.clone(), bus.clone(), metrics.clone(), config.clone())
            })
            .restart(Restart::Permanent),
        );
    }

    fn spawn_janitor(&self) {
        // The partition streams are trimmed and their stale consumers (former replicas')
        // removed like the single stream's.
        let partitions = IngestRoute::new(self.prefix, self.settings.tuning.ingest_partitions)
            .partition_streams();
        let ingest_group =
            ControlledStream::ingest(self.prefix, self.settings.instance.as_str()).group;
        let config = JanitorConfig {
            bus: self.bus.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            streams: [
                self.key(names::INGEST_STREAM),
                self.key(names::OUTBOX_STREAM),
            ]
            .into_iter()
            .chain(partitions.clone())
            .collect(),
            retention: self.settings.tuning.retention,
            interval: self.settings.tuning.janitor_interval,
            groups: ControlledStream::all(self.prefix, self.settings.instance.as_str())
                .into_iter()
                .map(|controlled| (controlled.stream, controlled.group))
                .chain(
                    partitions
                        .into_iter()
                        .map(|stream| (stream, ingest_group.clone())),
                )
                .collect(),
            stale_consumer_idle: self.settings.tuning.stale_consumer_idle,
        };
        self.root.spawn(
            ChildSpec::new("janitor", move || Janitor::new(config.clone()))
                .restart(Restart::Permanent),
        );
    }

    /// The scheduler, when there is something to schedule: with no job it would only stop,
    /// which the supervision tree reports like a failure.
    fn spawn_scheduler(
        &self,
        jobs_store: Arc<dyn JobStore>,
        jobs: Vec<ScheduledJob>,
        sources: Vec<Arc<dyn DueRuns>>,
    ) {
        const HINT: &str = "morning briefings and chore reminders come from households with [household.briefing] or [household.chores] in HOUSEHOLDS_FILE";
        // One INFO line says what the scheduler does, and what to configure when it has no
        // job of its own (the Home reminders are the skill's, and need no configuration).
        match (jobs.is_empty(), sources.is_empty()) {
            (true, true) => {
                tracing::info!("No scheduled jobs: {HINT}.");
                return;
            }
            (true, false) => tracing::info!(
                sources = sources.len(),
                "Scheduler started for reminders only: {HINT}."
            ),
            (false, _) => tracing::info!(
                jobs = jobs.len(),
                sources = sources.len(),
                "Scheduler started."
            ),
        }
        let deps = SchedulerDeps {
            bus: self.bus.clone(),
            jobs_store,
            clock: self.clock.clone(),
            ingest: IngestRoute::new(self.prefix, self.settings.tuning.ingest_partitions),
            jobs,
            sources,
            tick: SCHEDULER_TICK,
        };
        self.root.spawn(
            ChildSpec::new("scheduler", move || Scheduler::new(deps.clone()))
                .restart(Restart::Permanent),
        );
    }

    /// The work inbox's poller (Biz with `IMAP_HOST` and Postgres), and the status of its
    /// polls for the admin API.
    #[cfg(feature = "biz")]
    fn spawn_inbox_poller(
        &self,
        pool: Option<&deadpool_postgres::Pool>,
        llm: Option<&Llm>,
    ) -> Option<StatusReport> {
        use crate::inbox_poller::{InboxPoller, PollStatus, PollerDeps};

        let (Some(imap), Some(pool)) = (&self.settings.imap, pool) else {
            return None;
        };
        let status = PollStatus::default();
        let deps = PollerDeps {
            imap: imap.clone(),
            store: alfred_skills_biz::inbox::MailStore::new(pool.clone()),
            pool: pool.clone(),
            llm: llm.cloned(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            status: status.clone(),
        };
        self.root.spawn(
            ChildSpec::new("inbox-poller", move || InboxPoller::new(deps.clone()))
                .restart(Restart::Permanent),
        );
        Some(Arc::new(move || status.json()))
    }

    /// A build without the Biz skills has no work inbox.
    #[cfg(not(feature = "biz"))]
    fn spawn_inbox_poller(
        &self,
        _pool: Option<&deadpool_postgres::Pool>,
        _llm: Option<&Llm>,
    ) -> Option<StatusReport> {
        None
    }

    /// The instance's key of the stream or key `name`.
    fn key(&self, name: &str) -> String {
        names::key(self.prefix, name)
    }
}

/// A status shown to operators as JSON (e.g. `GET /admin/inbox`).
pub type StatusReport = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Readers of the single `alfred-ingest` stream in this process. Without partitions,
/// `INGEST_READERS` (more than one gives up per-conversation order). With partitions the
/// single stream only holds what an earlier single-stream run left (and what an older replica
/// still writes during a rolling deploy): one reader drains it in order, whatever
/// `INGEST_READERS` says, and every owned partition gets its own reader — so readers never
/// share a conversation and order holds with any number of them.
pub fn single_stream_readers(settings: &Settings) -> usize {
    if settings.tuning.ingest_partitions == 0 {
        settings.tuning.ingest_readers.max(1)
    } else {
        1
    }
}

/// How long a stream read waits for new entries (the Redis client's response timeout is
/// longer).
const READ_BLOCK: Duration = Duration::from_secs(2);

/// How often the scheduler looks for due job runs.
const SCHEDULER_TICK: Duration = Duration::from_secs(1);

/// More than 10 restarts of the root's own children in a minute: something is badly wrong;
/// exit so the platform restarts the process.
const ROOT_INTENSITY: Intensity = Intensity {
    max_restarts: 10,
    period: Duration::from_secs(60),
};
/// Skills may be restarted more often (once per delivery of a poison message).
const SKILLS_INTENSITY: Intensity = Intensity {
    max_restarts: 30,
    period: Duration::from_secs(60),
};

/// Conversations to households, from `HOUSEHOLDS_FILE`: each group and each member's direct
/// chat belongs to its household.
fn household_directory(settings: &Settings) -> HouseholdDirectory {
    let mut directory = HouseholdDirectory::new(settings.default_timezone);
    for household in &settings.households {
        let groups = household
            .groups
            .iter()
            .map(|g| (Platform::WhatsApp, g.clone()));
        let members = household
            .members
            .iter()
            .filter_map(|m| m.whatsapp.clone())
            .map(|wa_id| (Platform::WhatsApp, wa_id));
        let info = HouseholdInfo {
            id: household.id.clone(),
            timezone: household.timezone,
        };
        directory.add(info, groups.chain(members).collect::<Vec<_>>());
    }
    directory
}

/// A consumer name stable across restarts of this process on this host, so that a restarted
/// process re-reads the entries it had not finished (its pending entries): `HOSTNAME` (from
/// the settings, so that two Alfreds in one test process can be two replicas), else
/// `/etc/hostname`.
pub fn consumer_base(settings: &Settings) -> String {
    settings
        .hostname
        .clone()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "alfred".to_owned())
}
