//! The composition root: settings in, a running Alfred out.
//!
//! [`App::build`] starts the [`Runtime`] (stores and actors) and binds the public listener
//! (webhooks, health, metrics) and, when a key is configured, the admin listener. Both may bind
//! port 0; [`App::http_port`] and [`App::admin_port`] say where they landed, so tests run many
//! Alfreds side by side.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse, HttpServer};
use alfred_actors::bus::Bus;
use alfred_actors::channel::{ChannelClient, SendError};
use alfred_actors::messages::Platform;
use alfred_actors::streams::ControlledStream;
use alfred_adapters::admin::{self, Admin};
use alfred_adapters::admin_auth::AdminKeys;
use alfred_adapters::admin_page;
use alfred_adapters::admin_streams::{PartitionControls, StreamControls};
use alfred_adapters::allowlist::Allowlist;
use alfred_adapters::health::{self, Readiness};
use alfred_adapters::slack::{
    self, ResponseUrls, SlackClient, SlackClientSettings, SlackEdge, SlackEdgeSettings, SocketMode,
    SocketSettings, WorkspaceLearner, Workspaces,
};
use alfred_adapters::whatsapp::{
    self, GraphClient, GraphSettings, WebhookSettings, WhatsAppWebhook,
};
use alfred_config::Settings;
use anyhow::Context as _;

use crate::playground::{self, Playground};
use crate::runtime::{ClientFactory, Extras, Runtime};
use alfred_actors::skill::SkillEntry;

/// A running Alfred.
pub struct App {
    http_port: u16,
    admin_port: Option<u16>,
    server: Server,
    admin_server: Option<Server>,
    runtime: Runtime,
}

impl App {
    /// Builds Alfred from settings. Must run inside an actix system.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        App::build_with(settings, Vec::new()).await
    }

    /// Builds Alfred with extra skills routed before the instance's own (tests use this to
    /// load a skill that misbehaves on purpose).
    pub async fn build_with(
        settings: Settings,
        extra_skills: Vec<SkillEntry>,
    ) -> anyhow::Result<App> {
        let extras = Extras {
            skills: extra_skills,
            clock: None,
            ..Extras::default()
        };
        App::build_with_extras(settings, extras).await
    }

    /// Builds Alfred with what an embedding adds to the settings ([`Extras`]: skills, a clock
    /// the tests move on durable stores).
    pub async fn build_with_extras(settings: Settings, mut extras: Extras) -> anyhow::Result<App> {
        tracing::info!(settings = %settings.summary(), "Starting Alfred.");
        // Slash commands' response URLs: filled by the Slack edge, read by the Slack client.
        let response_urls = ResponseUrls::new();
        let (mut clients, workspaces) = platform_clients(&settings, &response_urls)?;
        // The playground (ephemeral mode, no platform) keeps every reply for its page.
        let feed = Playground::wanted(&settings).then(|| playground::Feed::new(&settings));
        if let Some(feed) = &feed {
            clients = Playground::clients(feed);
            extras.local_chats = true;
        }
        let runtime = Runtime::start(settings.clone(), extras, clients).await?;
        let playground = feed.map(|feed| web::Data::new(Playground::new(feed, &runtime)));
        // Kept on Redis too, so a reply after a restart, or by another replica, still goes to the
        // command's response URL.
        response_urls.share_via(runtime.bus.clone(), &runtime.prefix);
        let root = runtime.root.clone();
        let readiness = Readiness::new(
            runtime.bus.clone(),
            runtime.store.clone(),
            Arc::new(move || root.escalation().map_or(Ok(()), Err)),
            not_durable(&settings),
        );
        // Checked once before listening, so the first probe already has an answer.
        readiness.refresh().await;
        readiness.spawn_refresher();
        let (server, http_port) = public_server(
            &settings,
            &runtime,
            readiness,
            response_urls,
            workspaces,
            playground,
        )?;
        let (admin_server, admin_port) = match admin_server(&settings, &runtime)? {
            Some((server, port)) => (Some(server), Some(port)),
            None => {
                tracing::info!("ADMIN_API_KEY is not set; the admin API is off.");
                (None, None)
            }
        };
        Ok(App {
            http_port,
            admin_port,
            server,
            admin_server,
            runtime,
        })
    }

    /// The port of the public listener.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The port of the admin listener, when it is on.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin_port
    }

    /// The running actor system.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Runs until a listener stops or the supervision tree escalates (then an error, so the
    /// process exits non-zero and the platform restarts it).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let admin = async move {
            match self.admin_server {
                Some(server) => server.await,
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            result = self.server => result.context("The public HTTP server failed"),
            result = admin => result.context("The admin HTTP server failed"),
            reason = self.runtime.root.escalated() => {
                anyhow::bail!("The supervision tree gave up: {reason}")
            }
        }
    }
}

/// The channel clients: the Graph API when WhatsApp is configured, the Slack Web API when
/// Slack is. Without any, replies are logged (ephemeral bring-up, DESIGN.md §5). With Slack,
/// also the workspaces its edge answers: `SLACK_TEAM_IDS`, or the bot token's own, learned
/// from `auth.test` in the background.
fn platform_clients(
    settings: &Settings,
    response_urls: &ResponseUrls,
) -> anyhow::Result<(ClientFactory, Option<Workspaces>)> {
    let graph = settings.whatsapp.as_ref().map(|whatsapp| GraphSettings {
        base_url: whatsapp.graph_api_url.clone(),
        api_version: whatsapp.graph_api_version.clone(),
        phone_number_id: whatsapp.phone_id.clone(),
        token: whatsapp.token.clone(),
        timeout: settings.tuning.outbound_timeout,
    });
    // Build once here so that a bad URL or token stops start-up with a clear error instead of
    // every reply failing later.
    if let Some(graph) = &graph {
        GraphClient::new(graph.clone()).context("Invalid WhatsApp settings")?;
    }
    let slack = settings.slack.as_ref().map(|slack| SlackClientSettings {
        api_url: slack.api_url.clone(),
        bot_token: slack.bot_token.clone(),
        timeout: settings.tuning.outbound_timeout,
        channel_pace: slack::client::DEFAULT_CHANNEL_PACE,
    });
    // Every outbound request is checked against the instance's hosts (Home: the Graph API;
    // Biz: Slack, its hooks, and the Graph API with its own WhatsApp number).
    let allowlist = Allowlist::for_settings(settings);
    tracing::info!(hosts = ?allowlist.hosts().collect::<Vec<_>>(), "Outbound allowlist.");
    let mut workspaces = None;
    if let (Some(slack), Some(configured)) = (&slack, &settings.slack) {
        let client = SlackClient::new(slack.clone(), response_urls.clone())
            .context("Invalid Slack settings")?
            .with_allowlist(allowlist.clone());
        let learner = if configured.team_ids.is_empty() {
            let (learned, learner) = Workspaces::learned();
            workspaces = Some(learned);
            Some(learner)
        } else {
            workspaces = Some(Workspaces::fixed(configured.team_ids.clone()));
            None
        };
        actix_rt::spawn(async move { report_slack_identity(&client, learner).await });
    }
    let response_urls = response_urls.clone();
    let factory: ClientFactory = Arc::new(move || {
        let mut clients: HashMap<Platform, Rc<dyn ChannelClient>> = HashMap::new();
        if let Some(graph) = &graph {
            match GraphClient::new(graph.clone()) {
                Ok(client) => {
                    let client = client.with_allowlist(allowlist.clone());
                    clients.insert(Platform::WhatsApp, Rc::new(client));
                }
                Err(error) => tracing::error!(%error, "Could not build the Graph API client."),
            }
        }
        if let Some(slack) = &slack {
            match SlackClient::new(slack.clone(), response_urls.clone()) {
                Ok(client) => {
                    let client = client.with_allowlist(allowlist.clone());
                    clients.insert(Platform::Slack, Rc::new(client));
                }
                Err(error) => tracing::error!(%error, "Could not build the Slack client."),
            }
        }
        clients
    });
    Ok((factory, workspaces))
}

/// Asks Slack whom the bot token belongs to (`auth.test`) and says so in the log: a wrong or
/// revoked token is an ERROR at start-up rather than a surprise at the first reply. Start-up
/// does not wait for it, and does not fail: Slack may be briefly unreachable.
///
/// With a `learner` (no `SLACK_TEAM_IDS`) the answer also names the one workspace the edge
/// serves, so Slack is asked again, with back-off, until it answers; until then Slack's
/// requests get 503 and are delivered again.
async fn report_slack_identity(client: &SlackClient, learner: Option<WorkspaceLearner>) {
    let mut wait = IDENTITY_RETRY_MIN;
    loop {
        match client.auth_test().await {
            Ok(identity) => {
                tracing::info!(
                    team = %identity.team,
                    team_id = %identity.team_id,
                    bot = %identity.user,
                    bot_user_id = %identity.user_id,
                    "Slack accepted SLACK_BOT_TOKEN."
                );
                if let Some(learner) = &learner {
                    tracing::info!(team_id = %identity.team_id, "Answering Slack requests from this workspace only (SLACK_TEAM_IDS is not set).");
                    learner.learn(identity.team_id);
                }
                return;
            }
            Err(SendError::Permanent { reason }) => tracing::error!(
                %reason,
                "Slack refused SLACK_BOT_TOKEN: every reply to Slack will fail until it is fixed."
            ),
            Err(error) => tracing::warn!(
                %error,
                "Could not check SLACK_BOT_TOKEN with Slack (auth.test); the first reply will tell."
            ),
        }
        if learner.is_none() {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(IDENTITY_RETRY_MAX);
    }
}

/// Ephemeral mode with a platform configured answers real people and keeps nothing: said
/// loudly now, and by `/readyz` (not ready) for as long as it runs. Not refused: `alfred chat`
/// and a first try against a platform's test number run this way on purpose
/// (docs/adr/2026-12-02-readiness-and-ephemeral-platforms.md).
fn not_durable(settings: &Settings) -> Option<String> {
    let platforms: Vec<&str> = [
        settings.whatsapp.as_ref().map(|_| "WhatsApp"),
        settings.slack.as_ref().map(|_| "Slack"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !settings.is_ephemeral() || platforms.is_empty() {
        return None;
    }
    let why = format!(
        "ephemeral mode with {} configured: messages are answered but kept only in memory, lost at a restart; set REDIS_URL and DATABASE_URL",
        platforms.join(" and ")
    );
    tracing::warn!(reason = %why, "Not ready: /readyz answers 503 in this mode.");
    Some(why)
}

/// The first and the longest pause between two `auth.test` calls while the workspace is not
/// known.
const IDENTITY_RETRY_MIN: std::time::Duration = std::time::Duration::from_secs(1);
const IDENTITY_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(60);

fn public_server(
    settings: &Settings,
    runtime: &Runtime,
    readiness: Readiness,
    response_urls: ResponseUrls,
    workspaces: Option<Workspaces>,
    playground: Option<web::Data<Playground>>,
) -> anyhow::Result<(Server, u16)> {
    let mounted = playground.is_some();
    let metrics = web::Data::new(runtime.metrics.clone());
    let readiness = web::Data::new(readiness);
    let webhook = match &settings.whatsapp {
        Some(whatsapp) => {
            let webhook = WhatsAppWebhook::new(
                WebhookSettings {
                    key_prefix: runtime.prefix.clone(),
                    ingest_partitions: settings.tuning.ingest_partitions,
                    app_secret: whatsapp.app_secret.clone(),
                    verify_token: whatsapp.verify_token.clone(),
                    phone_number_id: whatsapp.phone_id.clone(),
                    body_limit: settings.tuning.webhook_body_limit,
                },
                runtime.bus.clone() as Arc<dyn Bus>,
                &runtime.metrics,
            )
            .context("Invalid APP_SECRET")?;
            Some(web::Data::new(webhook))
        }
        None => None,
    };
    if webhook.is_none() {
        tracing::info!("WhatsApp is not configured (META_TOKEN, PHONE_ID, VERIFY_TOKEN, APP_SECRET); /webhook answers 404.");
    }
    let slack_edge = slack_edge(settings, runtime, response_urls, workspaces)?;
    let server = HttpServer::new(move || {
        let app = actix_web::App::new()
            .app_data(metrics.clone())
            .wrap(from_fn(health::count_requests))
            .configure(|cfg| health::configure(cfg, readiness.clone(), metrics.clone()))
            .configure(|cfg| playground::configure(cfg, playground.clone()));
        let app = match &slack_edge {
            Some(edge) if edge.serves_http() => {
                app.configure(|cfg| slack::configure(cfg, edge.clone()))
            }
            Some(_) => app.route("/slack/{endpoint}", web::route().to(slack_http_off)),
            None => app.route("/slack/{endpoint}", web::route().to(slack_off)),
        };
        match &webhook {
            Some(webhook) => app.configure(|cfg| whatsapp::configure(cfg, webhook.clone())),
            None => app.route("/webhook", web::route().to(whatsapp_off)),
        }
    })
    .bind(settings.http_addr)
    .with_context(|| format!("Failed to bind HTTP_ADDR {}", settings.http_addr))?;
    let port = server
        .addrs()
        .first()
        .map(|addr| addr.port())
        .unwrap_or_default();
    tracing::info!(addr = %settings.http_addr, port, "Listening for webhooks, health and metrics.");
    playground::announce(settings, port, mounted);
    Ok((server.run(), port))
}

/// The Slack edge when Slack is configured, and Socket Mode started on it when
/// `SLACK_APP_TOKEN` is set (its envelopes are stored by the edge's own code). Request
/// timestamps are checked against the system clock, never the runtime's (possibly manual) one:
/// Slack signs with real time.
fn slack_edge(
    settings: &Settings,
    runtime: &Runtime,
    response_urls: ResponseUrls,
    workspaces: Option<Workspaces>,
) -> anyhow::Result<Option<web::Data<SlackEdge>>> {
    let (Some(slack), Some(workspaces)) = (&settings.slack, workspaces) else {
        tracing::info!("Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET or SLACK_APP_TOKEN); /slack/* answers 404.");
        return Ok(None);
    };
    let edge = SlackEdge::new(
        SlackEdgeSettings {
            key_prefix: runtime.prefix.clone(),
            ingest_partitions: settings.tuning.ingest_partitions,
            signing_secret: slack.signing_secret.clone(),
            api_url: slack.api_url.clone(),
            body_limit: settings.tuning.webhook_body_limit,
            workspaces,
        },
        runtime.bus.clone() as Arc<dyn Bus>,
        &runtime.metrics,
        Arc::new(alfred_actors::clock::SystemClock),
        response_urls,
    )
    .context("Invalid SLACK_SIGNING_SECRET")?;
    let edge = web::Data::new(edge);
    if !edge.serves_http() {
        tracing::info!("SLACK_SIGNING_SECRET is not set: the Events API over HTTP is off (/slack/* answers 404); events arrive over Socket Mode.");
    }
    if let Some(app_token) = &slack.app_token {
        SocketMode::new(
            SocketSettings {
                api_url: slack.api_url.clone(),
                app_token: app_token.clone(),
                timeout: settings.tuning.outbound_timeout,
                backoff_min: slack::socket::DEFAULT_BACKOFF_MIN,
                backoff_max: slack::socket::DEFAULT_BACKOFF_MAX,
            },
            edge.clone().into_inner(),
            &runtime.metrics,
            Some(Allowlist::for_settings(settings)),
        )
        .start_under(&runtime.root);
    }
    Ok(Some(edge))
}

async fn slack_off() -> HttpResponse {
    HttpResponse::NotFound().body("Slack is not configured on this Alfred.")
}

async fn slack_http_off() -> HttpResponse {
    HttpResponse::NotFound().body(
        "Slack events reach this Alfred over Socket Mode; the Events API over HTTP is off (SLACK_SIGNING_SECRET is not set).",
    )
}

async fn whatsapp_off() -> HttpResponse {
    HttpResponse::NotFound().body("WhatsApp is not configured on this Alfred.")
}

/// The streams the admin API shows, pauses and resumes, with this replica's readers of each.
fn stream_controls(settings: &Settings, runtime: &Runtime) -> StreamControls {
    let instance = settings.instance.as_str();
    let readers = |stream: &ControlledStream| match stream.name {
        "ingest" => crate::runtime::single_stream_readers(settings),
        _ => 1,
    };
    StreamControls {
        bus: runtime.bus.clone(),
        metrics: runtime.metrics.clone(),
        streams: ControlledStream::all(&runtime.prefix, instance)
            .into_iter()
            .map(|stream| {
                let here = readers(&stream);
                (stream, here)
            })
            .collect(),
        replica: crate::runtime::consumer_base(settings),
        partitions: runtime
            .partition_replica
            .clone()
            .map(|replica| PartitionControls {
                prefix: runtime.prefix.clone(),
                route: runtime.ingest_route(),
                group: ControlledStream::ingest(&runtime.prefix, instance).group,
                replica,
            }),
    }
}

fn admin_server(settings: &Settings, runtime: &Runtime) -> anyhow::Result<Option<(Server, u16)>> {
    let Some(key) = settings.admin_api_key.clone() else {
        return Ok(None);
    };
    let admin = web::Data::new(Admin {
        keys: AdminKeys::new(key, settings.admin_readonly_key.clone()),
        root: runtime.root.clone(),
        clock: runtime.clock.clone(),
        manual_clock: runtime.manual_clock.clone(),
        jobs: runtime.jobs.clone(),
        jobs_store: runtime.jobs_store.clone(),
        inbox: runtime.inbox_status.clone(),
        attempts: Default::default(),
        streams: stream_controls(settings, runtime),
        dead_letters: runtime.dead_letters.clone(),
    });
    let metrics = web::Data::new(runtime.metrics.clone());
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(metrics.clone())
            .wrap(from_fn(health::count_requests))
            .configure(|cfg| admin::configure(cfg, admin.clone()))
            .configure(admin_page::configure)
    })
    .workers(1)
    .bind(settings.admin_addr)
    .with_context(|| format!("Failed to bind ADMIN_ADDR {}", settings.admin_addr))?;
    let port = server
        .addrs()
        .first()
        .map(|addr| addr.port())
        .unwrap_or_default();
    tracing::info!(addr = %settings.admin_addr, port, "Admin API listening.");
    Ok(Some((server.run(), port)))
}
