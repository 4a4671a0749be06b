//! The CRM in Postgres (`migrations/0008_crm.sql`): the import's upserts and the questions'
//! queries. Amounts cross the wire as text (`numeric` ⇄ [`Amount`]) so they stay exact.

use alfred_actors::store::StoreError;
use chrono::NaiveDate;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::import::Record;
use super::model::{contact_key, name_key, Amount, ContactView, DealFilter, DealView};

/// Upserts every record by its natural keys (see the migration).
pub(crate) async fn write(tx: &Transaction<'_>, records: &[Record]) -> Result<(), StoreError> {
    let company_sql = tx
        .prepare_cached(
            "INSERT INTO companies (name_key, name) VALUES ($1, $2) \
             ON CONFLICT (name_key) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        )
        .await?;
    let contact_sql = tx
        .prepare_cached(
            "INSERT INTO contacts (contact_key, company_id, name, name_key, email) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contact_key) DO UPDATE SET \
             company_id = EXCLUDED.company_id, name = EXCLUDED.name, \
             name_key = EXCLUDED.name_key, email = EXCLUDED.email RETURNING id",
        )
        .await?;
    let deal_sql = tx
        .prepare_cached(
            "INSERT INTO deals (company_id, contact_id, name_key, name, stage, open, amount, \
             currency, close_date, owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::numeric, $8, $9, $10) \
             ON CONFLICT (company_id, name_key) DO UPDATE SET \
             contact_id = COALESCE(EXCLUDED.contact_id, deals.contact_id), name = EXCLUDED.name, \
             stage = EXCLUDED.stage, open = EXCLUDED.open, amount = EXCLUDED.amount, \
             currency = EXCLUDED.currency, close_date = EXCLUDED.close_date, owner = EXCLUDED.owner",
        )
        .await?;
    let owner_sql = tx
        .prepare_cached(
            "INSERT INTO crm_owners (slack_user, owner) VALUES ($1, $2) \
             ON CONFLICT (slack_user) DO UPDATE SET owner = EXCLUDED.owner",
        )
        .await?;
    for record in records {
        let company_key = name_key(&record.company);
        let company: i64 = tx
            .query_one(&company_sql, &[&company_key, &record.company])
            .await?
            .try_get(0)?;
        let mut contact: Option<i64> = None;
        if let Some(c) = &record.contact {
            let key = contact_key(&company_key, &c.name, c.email.as_deref());
            let row = tx
                .query_one(
                    &contact_sql,
                    &[&key, &company, &c.name, &name_key(&c.name), &c.email],
                )
                .await?;
            contact = Some(row.try_get(0)?);
        }
        if let Some(d) = &record.deal {
            tx.execute(
                &deal_sql,
                &[
                    &company,
                    &contact,
                    &name_key(&d.name),
                    &d.name,
                    &d.stage,
                    &d.open,
                    &d.amount.to_decimal(),
                    &d.currency,
                    &d.close_date,
                    &d.owner,
                ],
            )
            .await?;
        }
        if let Some((slack, owner)) = &record.owner_slack {
            tx.execute(&owner_sql, &[slack, owner]).await?;
        }
    }
    Ok(())
}

/// Contacts whose e-mail is `email`, or whose name key is `key` or has `key` as one word.
pub(crate) async fn contacts(
    tx: &Transaction<'_>,
    key: &str,
) -> Result<Vec<ContactView>, StoreError> {
    let rows = tx
        .query(
            "SELECT ct.name, ct.email, c.name, \
                 (SELECT count(*) FROM deals d WHERE d.company_id = c.id AND d.open) \
             FROM contacts ct JOIN companies c ON c.id = ct.company_id \
             WHERE ct.email = $1 OR ct.name_key = $1 \
                OR (strpos($1, ' ') = 0 AND $1 = ANY (string_to_array(ct.name_key, ' '))) \
             ORDER BY ct.name_key, ct.email",
            &[&key],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let open: i64 = row.try_get(3)?;
            Ok(ContactView {
                name: row.try_get(0)?,
                email: row.try_get(1)?,
                company: row.try_get(2)?,
                open_deals: usize::try_from(open).unwrap_or(usize::MAX),
            })
        })
        .collect()
}

/// The company's stored name, if there is one with this key.
pub(crate) async fn company(tx: &Transaction<'_>, key: &str) -> Result<Option<String>, StoreError> {
    let row = tx
        .query_opt("SELECT name FROM companies WHERE name_key = $1", &[&key])
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// The Slack user's owner name, if mapped.
pub(crate) async fn owner(
    tx: &Transaction<'_>,
    slack_user: &str,
) -> Result<Option<String>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT owner FROM crm_owners WHERE slack_user = $1",
            &[&slack_user],
        )
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

const DEALS: &str =
    "SELECT c.name, d.name, d.stage, d.amount::text, d.currency, d.close_date, d.owner \
     FROM deals d JOIN companies c ON c.id = d.company_id WHERE d.open AND ";
const ORDER: &str = " ORDER BY d.close_date NULLS LAST, c.name_key, d.name_key";

/// Open deals passing `filter`, soonest close date first.
pub(crate) async fn deals(
    tx: &Transaction<'_>,
    filter: &DealFilter,
) -> Result<Vec<DealView>, StoreError> {
    let rows = match filter {
        DealFilter::Company(key) => {
            tx.query(&format!("{DEALS} c.name_key = $1{ORDER}"), &[key])
                .await?
        }
        DealFilter::ClosingBetween(from, to) => {
            tx.query(
                &format!("{DEALS} d.close_date BETWEEN $1 AND $2{ORDER}"),
                &[from, to],
            )
            .await?
        }
        DealFilter::Over(amount, currency) => {
            let sql = format!(
                "{DEALS} d.amount > $1::text::numeric AND ($2::text IS NULL OR d.currency = $2){ORDER}"
            );
            tx.query(&sql, &[&amount.to_decimal(), currency]).await?
        }
        DealFilter::Owner(owner) => {
            tx.query(
                &format!("{DEALS} lower(d.owner) = lower($1){ORDER}"),
                &[owner],
            )
            .await?
        }
    };
    rows.iter().map(deal).collect()
}

fn deal(row: &Row) -> Result<DealView, StoreError> {
    let amount: String = row.try_get(3)?;
    let close_date: Option<NaiveDate> = row.try_get(5)?;
    Ok(DealView {
        company: row.try_get(0)?,
        name: row.try_get(1)?,
        stage: row.try_get(2)?,
        amount: Amount::from_decimal(&amount)
            .ok_or_else(|| StoreError::Other(format!("deal amount {amount} out of range")))?,
        currency: row.try_get(4)?,
        close_date,
        owner: row.try_get(6)?,
    })
}
