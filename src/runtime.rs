//! The actor system of one Alfred process, composed in one place.
//!
//! ```text
//! root (one_for_one)
//! ├── skills (one_for_one): skill/grocery, skill/ping, …
//! ├── orchestrator
//! ├── ingest-reader-0 … ingest-reader-N   (consumers of «alfred-ingest»)
//! ├── outbound-sender
//! ├── outbox-reader-0                      (consumer of «alfred-outbox»)
//! ├── outbox-relay
//! └── scheduler                            (briefings, chore reminders)
//! ```
//!
//! Skills start first so the orchestrator can route to them; readers start after their
//! handlers. Every child is permanent: a reader, the orchestrator or the sender that dies is
//! always brought back, with its address (and the messages queued on it) intact.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use alfred_actors::bus::memory::MemoryBus;
use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::Bus;
use alfred_actors::channel::ChannelClient;
use alfred_actors::clock::{Clock, ManualClock, SystemClock};
use alfred_actors::households::{HouseholdDirectory, HouseholdInfo};
use alfred_actors::janitor::{Janitor, JanitorConfig};
use alfred_actors::messages::Platform;
use alfred_actors::metrics::Metrics;
use alfred_actors::names;
use alfred_actors::orchestrator::{Orchestrator, OrchestratorDeps, RoutedSkill};
use alfred_actors::outbound::{OutboundSender, SenderDeps, SenderPolicy};
use alfred_actors::relay::{OutboxRelay, RelayConfig};
use alfred_actors::scheduler::store::{JobStore, MemJobStore, PgJobStore};
use alfred_actors::scheduler::{ScheduledJob, Scheduler, SchedulerDeps};
use alfred_actors::skill::{Skill, SkillActor, SkillRoute};
use alfred_actors::store::memory::MemStore;
use alfred_actors::store::postgres::PgStore;
use alfred_actors::store::Store;
use alfred_actors::stream_reader::{ReaderConfig, StreamReader};
use alfred_actors::supervision::{Backoff, ChildSpec, Intensity, Restart, Strategy, Supervisor};
use alfred_config::{ClockSetting, ExposeSecret, Settings};
use anyhow::Context as _;

/// A skill to load: its route and a factory for a fresh skill (called on every restart).
#[derive(Clone)]
pub struct SkillEntry {
    pub route: Arc<dyn SkillRoute>,
    pub factory: Arc<dyn Fn() -> Box<dyn Skill> + Send + Sync>,
}

/// The skills of an instance, in routing order.
pub fn instance_skills(settings: &Settings) -> Vec<SkillEntry> {
    let mut skills = Vec::new();
    match settings.instance {
        alfred_config::Instance::Home => {
            #[cfg(feature = "home")]
            {
                let templates = Arc::new(briefing_templates(settings));
                skills.push(SkillEntry {
                    route: alfred_skills_home::briefing::route(),
                    factory: Arc::new(move || {
                        alfred_skills_home::briefing::skill(templates.clone())
                    }),
                });
                // Chores before the list: the list's grammar would take "add chore dishes
                // daily" for a shopping item; the chores grammar is strict.
                let quiet_hours = Arc::new(quiet_hours(settings));
                skills.push(SkillEntry {
                    route: alfred_skills_home::chores::route(),
                    factory: Arc::new(move || {
                        alfred_skills_home::chores::skill_with(quiet_hours.clone())
                    }),
                });
                skills.push(SkillEntry {
                    route: alfred_skills_home::grocery::route(),
                    factory: Arc::new(alfred_skills_home::grocery::skill),
                });
            }
        }
        alfred_config::Instance::Biz => {
            #[cfg(feature = "biz")]
            {
                skills.push(SkillEntry {
                    route: alfred_skills_biz::ping::route(),
                    factory: Arc::new(alfred_skills_biz::ping::skill),
                });
                skills.push(SkillEntry {
                    route: alfred_skills_biz::crm::route(),
                    factory: Arc::new(alfred_skills_biz::crm::skill),
                });
                let readers: Arc<[String]> = settings
                    .imap
                    .as_ref()
                    .map(|imap| imap.readers.clone())
                    .unwrap_or_default()
                    .into();
                skills.push(SkillEntry {
                    route: alfred_skills_biz::inbox::route(),
                    factory: Arc::new(move || alfred_skills_biz::inbox::skill(readers.clone())),
                });
            }
        }
    }
    skills
}

/// Whether this binary was built with the instance's skills (cargo features `home`, `biz`).
pub fn built_with(instance: alfred_config::Instance) -> bool {
    match instance {
        alfred_config::Instance::Home => cfg!(feature = "home"),
        alfred_config::Instance::Biz => cfg!(feature = "biz"),
    }
}

/// Refuses an instance whose skills are not compiled in: a Biz release build contains no Home
/// code, so `INSTANCE=home` on it would start an assistant that understands nothing.
pub fn ensure_built_with(instance: alfred_config::Instance) -> anyhow::Result<()> {
    if built_with(instance) {
        return Ok(());
    }
    anyhow::bail!(
        "INSTANCE={instance}, but this alfred binary was built without the `{instance}` feature \
         (it contains only the other instance's skills); use the {instance} build or \
         `cargo build --features {instance}`"
    )
}

/// The households' chore quiet hours, by household.
#[cfg(feature = "home")]
fn quiet_hours(settings: &Settings) -> alfred_skills_home::chores::QuietHours {
    settings
        .households
        .iter()
        .filter_map(|household| {
            let quiet = household.chores.as_ref()?.quiet_hours?;
            Some((household.id.clone(), quiet))
        })
        .collect()
}

/// The households' briefing templates (sent outside WhatsApp's 24-hour window), by household.
#[cfg(feature = "home")]
fn briefing_templates(settings: &Settings) -> alfred_skills_home::briefing::Templates {
    settings
        .households
        .iter()
        .filter_map(|household| {
            let template = household.briefing.as_ref()?.template.as_ref()?;
            let mut briefing = alfred_skills_home::briefing::BriefingTemplate::new(
                &template.name,
                &template.language,
            );
            // Names were validated with the households file; none given means all fields.
            if !template.parameters.is_empty() {
                briefing.parameters = template
                    .parameters
                    .iter()
                    .filter_map(|key| alfred_skills_home::briefing::TemplateField::from_key(key))
                    .collect();
            }
            Some((household.id.clone(), briefing))
        })
        .collect()
}

/// Builds the channel clients on the sender's thread.
pub type ClientFactory = Arc<dyn Fn() -> HashMap<Platform, Rc<dyn ChannelClient>> + Send + Sync>;

/// The running actor system.
pub struct Runtime {
    pub settings: Settings,
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
}

impl Runtime {
    /// Connects the stores, applies migrations and starts every actor. Must run inside an
    /// actix system.
    pub async fn start(
        settings: Settings,
        extra_skills: Vec<SkillEntry>,
        clients: ClientFactory,
    ) -> anyhow::Result<Runtime> {
        ensure_built_with(settings.instance)?;
        let metrics = Metrics::new().context("Failed to register metrics")?;
        let (clock, manual_clock) = match settings.clock {
            ClockSetting::System => (Arc::new(SystemClock) as Arc<dyn Clock>, None),
            ClockSetting::Manual { start } => {
                tracing::warn!(%start, "CLOCK=manual: time moves only through the admin API. Never use this in production.");
                let manual = ManualClock::new(start);
                (Arc::new(manual.clone()) as Arc<dyn Clock>, Some(manual))
            }
        };
        let (bus, store, jobs_store, pool) = connect(&settings).await?;
        let instance = settings.instance.as_str();
        let prefix = names::instance_prefix(&settings.redis_key_prefix, instance);
        let tuning = settings.tuning.clone();

        let root = Supervisor::new(
            "root",
            Strategy::OneForOne,
            ROOT_INTENSITY,
            Backoff::default(),
        )
        .with_metrics(&metrics);
        // A skill that panics on one message is restarted for each delivery of that message
        // until the reader dead-letters it, so the skills supervisor tolerates more restarts.
        let skills_sup = root.child_supervisor(
            "skills",
            Strategy::OneForOne,
            SKILLS_INTENSITY,
            Backoff::default(),
        );
        let mut routed = Vec::new();
        for entry in extra_skills.into_iter().chain(instance_skills(&settings)) {
            let factory = entry.factory.clone();
            let name = format!("skill/{}", entry.route.name());
            let addr = skills_sup.spawn(
                ChildSpec::new(name, move || SkillActor::new(factory()))
                    .restart(Restart::Permanent),
            );
            routed.push(RoutedSkill {
                route: entry.route,
                actor: addr.recipient(),
            });
        }

        // Plain language: text no skill's grammar understands goes to the LLM when configured.
        let llm = settings
            .llm
            .as_ref()
            .map(alfred_adapters::llm::from_settings)
            .transpose()
            .context("Invalid LLM settings")?;
        let llm_for_inbox = llm.clone();
        let orchestrator_deps = OrchestratorDeps {
            store: store.clone(),
            bus: bus.clone(),
            outbox_stream: names::key(&prefix, names::OUTBOX_STREAM),
            skills: routed,
            households: Arc::new(household_directory(&settings)),
            invoke_prefixes: Arc::new(settings.invoke_prefixes.clone()),
            clock: clock.clone(),
            llm,
            metrics: metrics.clone(),
        };
        let orchestrator = root.spawn(
            ChildSpec::new("orchestrator", move || {
                Orchestrator::new(orchestrator_deps.clone())
            })
            .restart(Restart::Permanent),
        );

        let consumer_base = consumer_base();
        for i in 0..tuning.ingest_readers.max(1) {
            let config = ReaderConfig {
                bus: bus.clone(),
                stream: names::key(&prefix, names::INGEST_STREAM),
                group: names::group(instance, names::INGEST_GROUP),
                consumer: format!("{consumer_base}-ingest-{i}"),
                dead_stream: names::key(&prefix, names::INGEST_DEAD_STREAM),
                batch: tuning.ingest_batch,
                block: Duration::from_secs(2),
                claim_idle: tuning.ingest_claim_idle,
                max_deliveries: tuning.ingest_max_deliveries,
                metrics: metrics.clone(),
            };
            let handler = orchestrator.clone().recipient();
            root.spawn(
                ChildSpec::new(format!("ingest-reader-{i}"), move || {
                    StreamReader::new(config.clone(), handler.clone())
                })
                .restart(Restart::Permanent),
            );
        }

        let sender_deps = SenderDeps {
            store: store.clone(),
            bus: bus.clone(),
            dead_stream: names::key(&prefix, names::OUTBOX_DEAD_STREAM),
            clients,
            policy: SenderPolicy {
                max_attempts: tuning.outbound_max_attempts,
                lease: tuning.outbound_claim_lease,
                enabled: settings.outbound_enabled,
                ..SenderPolicy::default()
            },
            metrics: metrics.clone(),
        };
        let sender = root.spawn(
            ChildSpec::new("outbound-sender", move || {
                OutboundSender::new(sender_deps.clone())
            })
            .restart(Restart::Permanent),
        );
        let outbox_reader = ReaderConfig {
            bus: bus.clone(),
            stream: names::key(&prefix, names::OUTBOX_STREAM),
            group: names::group(instance, names::OUTBOX_GROUP),
            consumer: format!("{consumer_base}-outbox-0"),
            dead_stream: names::key(&prefix, names::OUTBOX_DEAD_STREAM),
            batch: tuning.ingest_batch,
            block: Duration::from_secs(2),
            claim_idle: tuning.ingest_claim_idle,
            max_deliveries: tuning.ingest_max_deliveries,
            metrics: metrics.clone(),
        };
        let sender_recipient = sender.recipient();
        root.spawn(
            ChildSpec::new("outbox-reader-0", move || {
                StreamReader::new(outbox_reader.clone(), sender_recipient.clone())
            })
            .restart(Restart::Permanent),
        );

        let relay = RelayConfig {
            interval: tuning.relay_interval,
            lease: tuning.outbound_claim_lease,
            stream: names::key(&prefix, names::OUTBOX_STREAM),
            ..RelayConfig::default()
        };
        let (relay_store, relay_bus, relay_metrics) = (store.clone(), bus.clone(), metrics.clone());
        root.spawn(
            ChildSpec::new("outbox-relay", move || {
                OutboxRelay::new(
                    relay_store.clone(),
                    relay_bus.clone(),
                    relay_metrics.clone(),
                    relay.clone(),
                )
            })
            .restart(Restart::Permanent),
        );

        let janitor = JanitorConfig {
            bus: bus.clone(),
            store: store.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            streams: vec![
                names::key(&prefix, names::INGEST_STREAM),
                names::key(&prefix, names::OUTBOX_STREAM),
            ],
            retention: tuning.retention,
            interval: tuning.janitor_interval,
        };
        root.spawn(
            ChildSpec::new("janitor", move || Janitor::new(janitor.clone()))
                .restart(Restart::Permanent),
        );

        let jobs = crate::jobs::scheduled_jobs(&settings);
        let scheduler = SchedulerDeps {
            bus: bus.clone(),
            jobs_store: jobs_store.clone(),
            clock: clock.clone(),
            ingest_stream: names::key(&prefix, names::INGEST_STREAM),
            jobs: jobs.clone(),
            tick: SCHEDULER_TICK,
        };
        root.spawn(
            ChildSpec::new("scheduler", move || Scheduler::new(scheduler.clone()))
                .restart(Restart::Permanent),
        );

        #[allow(unused_mut)]
        let mut inbox_status: Option<StatusReport> = None;
        #[cfg(feature = "biz")]
        if let (Some(imap), Some(pool)) = (&settings.imap, &pool) {
            let status = crate::inbox_poller::PollStatus::default();
            let shown = status.clone();
            inbox_status = Some(Arc::new(move || shown.json()));
            let deps = crate::inbox_poller::PollerDeps {
                imap: imap.clone(),
                store: alfred_skills_biz::inbox::MailStore::new(pool.clone()),
                pool: pool.clone(),
                llm: llm_for_inbox.clone(),
                clock: clock.clone(),
                metrics: metrics.clone(),
                status,
            };
            root.spawn(
                ChildSpec::new("inbox-poller", move || {
                    crate::inbox_poller::InboxPoller::new(deps.clone())
                })
                .restart(Restart::Permanent),
            );
        }
        #[cfg(not(feature = "biz"))]
        let _ = (&pool, &llm_for_inbox);

        Ok(Runtime {
            settings,
            bus,
            store,
            metrics,
            root,
            clock,
            manual_clock,
            jobs,
            jobs_store,
            inbox_status,
        })
    }
}

/// A status shown to operators as JSON (e.g. `GET /admin/inbox`).
pub type StatusReport = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

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
/// process re-reads the entries it had not finished (its pending entries).
fn consumer_base() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "alfred".to_owned())
}

/// The bus, the store, the job store and (durable mode) the Postgres pool.
type Connected = (
    Arc<dyn Bus>,
    Arc<dyn Store>,
    Arc<dyn JobStore>,
    Option<deadpool_postgres::Pool>,
);

/// The bus and store: Redis and Postgres, or in-process and in-memory in ephemeral mode.
async fn connect(settings: &Settings) -> anyhow::Result<Connected> {
    let Some(stores) = &settings.stores else {
        tracing::warn!(
            "EPHEMERAL MODE: no REDIS_URL/DATABASE_URL; messages and state live in memory and are lost when Alfred stops. Set both for production."
        );
        return Ok((
            Arc::new(MemoryBus::new()),
            Arc::new(MemStore::new()),
            Arc::new(MemJobStore::default()),
            None,
        ));
    };
    let bus =
        RedisBus::connect(stores.redis_url.expose_secret()).context("Failed to set up Redis")?;
    let store =
        PgStore::connect(stores.database_url.expose_secret()).context("Invalid DATABASE_URL")?;
    let applied = alfred_actors::store::migrate::migrate(store.pool())
        .await
        .context("Failed to apply migrations")?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "Applied database migrations.");
    }
    claim_database(&store, settings.instance.as_str()).await?;
    let jobs = PgJobStore::new(store.pool().clone());
    let pool = store.pool().clone();
    Ok((Arc::new(bus), Arc::new(store), Arc::new(jobs), Some(pool)))
}

/// Home and Biz never share a database: the first start writes its instance into the database,
/// and every later start of the other instance on it refuses to run.
async fn claim_database(store: &PgStore, instance: &str) -> anyhow::Result<()> {
    let client = store
        .pool()
        .get()
        .await
        .context("Failed to connect to Postgres")?;
    client
        .execute(
            "INSERT INTO alfred_instance (instance) VALUES ($1) ON CONFLICT (only_row) DO NOTHING",
            &[&instance],
        )
        .await
        .context("Failed to record the database's instance")?;
    let owner: String = client
        .query_one("SELECT instance FROM alfred_instance", &[])
        .await
        .context("Failed to read the database's instance")?
        .get(0);
    if owner != instance {
        anyhow::bail!(
            "DATABASE_URL is the {owner} instance's database and this is INSTANCE={instance}: \
             each instance needs its own database"
        );
    }
    Ok(())
}
