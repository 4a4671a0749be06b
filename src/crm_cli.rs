//! `alfred crm import FILE.csv`: loads a CRM export into DATABASE_URL (after applying pending
//! migrations, as `alfred migrate` does) in one transaction. The file is checked whole first
//! (format: skills_biz/src/crm/import.rs); a file with any bad row writes nothing and every bad
//! row is printed with its line and reason.

use alfred_actors::store::Tx;
use alfred_config::{ExposeSecret, Settings};
use alfred_skills_biz::crm;
use anyhow::Context as _;
use clap::Subcommand;

/// The `crm` subcommands.
#[derive(Subcommand)]
pub enum CrmCommand {
    /// Import companies, contacts and deals from a CSV file (all or nothing; re-imports update).
    Import {
        /// The CSV file (columns documented in the README).
        file: std::path::PathBuf,
    },
}

/// Runs a `crm` subcommand.
pub async fn run(settings: Settings, command: CrmCommand) -> anyhow::Result<()> {
    let CrmCommand::Import { file } = command;
    let data =
        std::fs::read(&file).with_context(|| format!("Failed to read {}", file.display()))?;
    let records = crm::parse_csv(&data).map_err(|error| anyhow::anyhow!("{error}"))?;
    let stores = settings
        .stores
        .context("DATABASE_URL (and REDIS_URL) must be set to import")?;
    let store = alfred_actors::store::PgStore::open(
        stores.database_url.expose_secret(),
        stores.database_statement_cache,
    )
    .await
    .context("Failed to connect to Postgres")?;
    alfred_actors::store::migrate::migrate(store.pool())
        .await
        .context("Failed to apply migrations")?;
    let mut client = store
        .pool()
        .get()
        .await
        .context("Failed to connect to Postgres")?;
    let transaction = client.transaction().await.context("Failed to begin")?;
    crm::import_records(&mut Tx::Pg(&transaction), &records)
        .await
        .context("Failed to write the import; nothing was imported")?;
    alfred_actors::store::postgres::statements::before_commit(&transaction);
    transaction
        .commit()
        .await
        .context("Failed to commit the import")?;
    println!("Imported {} row(s) from {}.", records.len(), file.display());
    Ok(())
}
