//! `alfred [serve|migrate|healthcheck|chat|dead|crm|inbox]` — see the README.

use alfred::app::App;
use alfred::telemetry::{self, LogStyle};
use std::io::IsTerminal as _;

use alfred_config::Settings;
use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[cfg(feature = "biz")]
mod crm_cli;
#[cfg(feature = "biz")]
mod inbox_cli;

// mimalloc's per-thread free lists suit the webhook's many small, short-lived allocations
// (headers, envelopes, JSON strings) better than glibc's malloc: measured in BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Alfred: a self-hosted chat assistant runtime. Configured by environment variables (see
/// `.env.template`); with none it runs in ephemeral mode.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve webhooks, health, metrics and the admin API (the default).
    Serve,
    /// Apply pending database migrations to DATABASE_URL and exit.
    Migrate,
    /// Exit 0 when the Alfred serving on this machine answers `/healthz` with 200, else 1
    /// (a container's HEALTHCHECK; reads only HTTP_ADDR).
    Healthcheck {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Talk to Alfred in this terminal, as a family member, on the real actor system.
    Chat {
        /// The name you chat as.
        #[arg(long = "as", default_value = "you")]
        user: String,
        /// Run on a simulated clock that `/time +1d` moves (try a week of chores in minutes).
        #[arg(long)]
        simulated_time: bool,
    },
    /// Dead letters: `alfred dead list|show|replay|discard|audit` (works with the server down).
    Dead {
        #[command(subcommand)]
        command: alfred::dead_cli::DeadCommand,
    },
    /// Business CRM data (Biz): `alfred crm import FILE.csv`.
    #[cfg(feature = "biz")]
    Crm {
        #[command(subcommand)]
        command: crm_cli::CrmCommand,
    },
    /// The work inbox (Biz): `alfred inbox check` tries the IMAP settings.
    #[cfg(feature = "biz")]
    Inbox {
        #[command(subcommand)]
        command: inbox_cli::InboxCommand,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Before the settings: a health check must not depend on (or log about) the rest of them.
    if let Some(Command::Healthcheck { timeout }) = cli.command {
        return healthcheck(timeout);
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("Alfred cannot start; fix these settings:\n{error}");
            return std::process::ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    let style = match &command {
        // Their stdout is for people and pipes (`alfred dead show … | jq`): warnings on stderr.
        Command::Chat { .. } | Command::Dead { .. } => LogStyle::Console,
        _ => LogStyle::for_format(settings.log_format, std::io::stdout().is_terminal()),
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let _telemetry = telemetry::init(
            settings.instance.as_str(),
            style,
            settings.otlp_endpoint.as_deref(),
        )?;
        match command {
            Command::Serve => App::build(settings).await?.run_until_stopped().await,
            Command::Healthcheck { .. } => Ok(()),
            Command::Migrate => migrate(settings).await,
            Command::Chat {
                user,
                simulated_time,
            } => alfred::chat::run(settings, user, simulated_time).await,
            Command::Dead { command } => alfred::dead_cli::run(settings, command).await,
            #[cfg(feature = "biz")]
            Command::Crm { command } => crm_cli::run(settings, command).await,
            #[cfg(feature = "biz")]
            Command::Inbox { command } => inbox_cli::run(settings, command).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "Alfred stopped with an error."
            );
            eprintln!("Error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `alfred healthcheck`: asks `/healthz` on `HTTP_ADDR` (see [`alfred::healthcheck`]).
fn healthcheck(timeout: u64) -> std::process::ExitCode {
    let addr = std::env::var("HTTP_ADDR")
        .ok()
        .filter(|addr| !addr.trim().is_empty())
        .unwrap_or_else(|| alfred_config::defaults::HTTP_ADDR.to_owned());
    match alfred::healthcheck::check(addr.trim(), std::time::Duration::from_secs(timeout)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("unhealthy: {reason}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let stores = settings
        .stores
        .context("DATABASE_URL (and REDIS_URL) must be set to migrate")?;
    let store = alfred::stores::connect_postgres(&stores).await?;
    let applied = alfred_actors::store::migrate::migrate(store.pool())
        .await
        .context("Failed to apply migrations")?;
    if applied.is_empty() {
        println!("The database is up to date.");
    }
    for name in applied {
        println!("Applied {name}");
    }
    Ok(())
}
