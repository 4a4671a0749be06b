//! `alfred inbox check`: connects to the configured mailbox the way the poller does (TLS,
//! login, read-only `EXAMINE`), fetches nothing, and says whether it worked — the quickest way
//! to try IMAP settings before `alfred serve`.

use alfred_adapters::imap::ImapClient;
use alfred_config::Settings;
use anyhow::Context as _;
use clap::Subcommand;

/// The `inbox` subcommands.
#[derive(Subcommand)]
pub enum InboxCommand {
    /// Log in to the configured mailbox (IMAP_*) and report, without reading any mail.
    Check,
}

/// Runs an `inbox` subcommand.
pub async fn run(settings: Settings, command: InboxCommand) -> anyhow::Result<()> {
    let InboxCommand::Check = command;
    let imap = settings
        .imap
        .context("the work inbox is not configured: set IMAP_HOST, IMAP_USER and IMAP_PASSWORD")?;
    let client = ImapClient::new(&imap).context("Invalid IMAP settings")?;
    let found = client
        .fetch_new(None, 0)
        .await
        .with_context(|| format!("Checking {} failed", client.account()))?;
    println!(
        "OK: logged in to {} and opened it read-only (UIDVALIDITY {}); {}.",
        client.account(),
        found.uid_validity,
        if found.more {
            "it holds mail"
        } else {
            "it is empty"
        }
    );
    Ok(())
}
