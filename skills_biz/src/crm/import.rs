//! Reading a CRM export: one CSV format, checked completely before anything is written.
//!
//! The file has a header row naming these columns (any order; names case-insensitive):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `company` | always | the company's name |
//! | `contact_name`, `contact_email` | no | a contact at the company (a name is needed when an e-mail is given, and the reverse is allowed) |
//! | `deal_name` | no | a deal with the company; when set, `stage`, `amount` and `currency` are required |
//! | `stage` | with a deal | e.g. `lead`, `proposal`, `negotiation`; `won`, `lost`, `closed won`, `closed lost` close the deal |
//! | `amount` | with a deal | `12000`, `12,000.50` (at most two decimals) |
//! | `currency` | with a deal | ISO 4217 code, e.g. `EUR` |
//! | `close_date` | no | `YYYY-MM-DD` |
//! | `owner` | no | the deal owner's name, as "my deals" matches it |
//! | `owner_slack_id` | no (column may be absent) | the owner's Slack user id (`U123…`); fills `crm_owners` for "my deals" |
//!
//! One row may describe a company, a contact and a deal at once; a row with only `company`
//! adds the company. [`parse_csv`] reports **every** bad row with its line number and reason
//! (as [`ImportError::Rows`]); nothing is written unless the whole file is good.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::model::{is_closed_stage, is_email, name_key, Amount};

/// The columns a file must have.
pub const REQUIRED_COLUMNS: [&str; 9] = [
    "company",
    "contact_name",
    "contact_email",
    "deal_name",
    "stage",
    "amount",
    "currency",
    "close_date",
    "owner",
];

/// The optional column mapping owners to Slack users.
pub const OWNER_SLACK_COLUMN: &str = "owner_slack_id";

/// One good row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The file line the row starts on (the header is line 1).
    pub line: u64,
    pub company: String,
    pub contact: Option<ContactRecord>,
    pub deal: Option<DealRecord>,
    /// `(Slack user id, owner)` from `owner_slack_id`.
    pub owner_slack: Option<(String, String)>,
}

/// A contact as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub name: String,
    /// Lower-case.
    pub email: Option<String>,
}

/// A deal as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRecord {
    pub name: String,
    pub stage: String,
    pub open: bool,
    pub amount: Amount,
    /// Upper-case ISO 4217 code.
    pub currency: String,
    pub close_date: Option<NaiveDate>,
    pub owner: Option<String>,
}

/// A bad row: its line and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why a file was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no header row, or its header is unreadable: {0}")]
    Header(String),
    #[error("the header lacks the column(s) {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("nothing was imported; {} bad row(s):\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
    #[error("could not write the import: {0}")]
    Store(#[from] alfred_actors::store::StoreError),
}

/// Reads a whole CSV file: its good rows, or every problem in it.
pub fn parse_csv(data: &[u8]) -> Result<Vec<Record>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(data);
    let headers = reader
        .headers()
        .map_err(|error| ImportError::Header(error.to_string()))?
        .clone();
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_lowercase(), i))
        .collect();
    let missing: Vec<String> = REQUIRED_COLUMNS
        .iter()
        .filter(|column| !index.contains_key(**column))
        .map(|column| (*column).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing));
    }
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut seen = Seen::default();
    let mut lines = Lines::new(data);
    for (i, result) in reader.records().enumerate() {
        let (line, fields) = match result {
            Ok(fields) => (
                fields
                    .position()
                    .map_or(i as u64 + 2, |p| lines.line_at(p.byte())),
                fields,
            ),
            Err(error) => {
                let line = error
                    .position()
                    .map_or(i as u64 + 2, |p| lines.line_at(p.byte()));
                errors.push(RowError {
                    line,
                    reason: format!("unreadable CSV ({error})"),
                });
                continue;
            }
        };
        if fields.len() != headers.len() {
            errors.push(RowError {
                line,
                reason: format!("{} fields, the header has {}", fields.len(), headers.len()),
            });
            continue;
        }
        let get = |column: &str| {
            index
                .get(column)
                .and_then(|i| fields.get(*i))
                .unwrap_or("")
                .to_owned()
        };
        match record(line, &get).and_then(|record| seen.check(&record).map(|()| record)) {
            Ok(record) => records.push(record),
            Err(reason) => errors.push(RowError { line, reason }),
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(ImportError::Rows(errors))
    }
}

/// The line each row starts on. The CSV reader's own count knows only `\n`, so it named every
/// row of a file with `\r` line endings (older spreadsheets on the Mac) line 1, and its offsets
/// point just after the previous row's first line-ending byte, so a `\r\n` file or blank lines
/// put rows a line or more too early. Here `\r\n`, `\n` and a lone `\r` each end a line, and
/// a row starts at its first byte that is not a line ending.
struct Lines<'a> {
    data: &'a [u8],
    /// Bytes before this offset are counted.
    at: usize,
    /// The line of offset `at` (the header is line 1).
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(data: &'a [u8]) -> Self {
        Lines {
            data,
            at: 0,
            line: 1,
        }
    }

    /// The line of the row the reader places at `byte`. Rows come in order, so counting
    /// resumes where it stopped.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        while matches!(self.data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        for i in self.at..start {
            let ends_line = match self.data[i] {
                b'\r' => true,
                // The `\n` of a `\r\n` was counted with its `\r`.
                b'\n' => i == 0 || self.data[i - 1] != b'\r',
                _ => false,
            };
            if ends_line {
                self.line += 1;
            }
        }
        self.at = self.at.max(start);
        self.line
    }
}

/// One row's fields into a record, or the first reason it is bad.
fn record(line: u64, get: &dyn Fn(&str) -> String) -> Result<Record, String> {
    let company = get("company");
    if company.is_empty() {
        return Err("company is empty".to_owned());
    }
    let (contact_name, contact_email) = (get("contact_name"), get("contact_email").to_lowercase());
    let contact = match (contact_name.is_empty(), contact_email.is_empty()) {
        (true, true) => None,
        (true, false) => return Err("contact_email given without contact_name".to_owned()),
        (false, _) if !contact_email.is_empty() && !is_email(&contact_email) => {
            return Err(format!(
                "contact_email {contact_email:?} is not an e-mail address"
            ))
        }
        (false, _) => Some(ContactRecord {
            name: contact_name,
            email: (!contact_email.is_empty()).then_some(contact_email),
        }),
    };
    let owner = Some(get("owner")).filter(|owner| !owner.is_empty());
    let slack = get(OWNER_SLACK_COLUMN);
    let owner_slack = match (&owner, slack.is_empty()) {
        (_, true) => None,
        (None, false) => return Err("owner_slack_id given without owner".to_owned()),
        (Some(owner), false) => Some((slack, owner.clone())),
    };
    let deal_name = get("deal_name");
    let deal = if deal_name.is_empty() {
        for column in ["stage", "amount", "currency", "close_date"] {
            if !get(column).is_empty() {
                return Err(format!("{column} given without deal_name"));
            }
        }
        None
    } else {
        Some(deal(deal_name, owner, get)?)
    };
    Ok(Record {
        line,
        company,
        contact,
        deal,
        owner_slack,
    })
}

fn deal(
    name: String,
    owner: Option<String>,
    get: &dyn Fn(&str) -> String,
) -> Result<DealRecord, String> {
    let stage = get("stage");
    if stage.is_empty() {
        return Err("stage is empty (a deal needs one)".to_owned());
    }
    let amount_text = get("amount");
    let amount = Amount::parse(&amount_text, false).ok_or_else(|| {
        format!("amount {amount_text:?} is not a non-negative number with at most two decimals")
    })?;
    let currency = get("currency");
    if !(currency.len() == 3 && currency.chars().all(|c| c.is_ascii_alphabetic())) {
        return Err(format!(
            "currency {currency:?} is not a three-letter code such as EUR"
        ));
    }
    let date_text = get("close_date");
    let close_date = match date_text.is_empty() {
        true => None,
        false => Some(
            NaiveDate::parse_from_str(&date_text, "%Y-%m-%d")
                .map_err(|_| format!("close_date {date_text:?} is not a date YYYY-MM-DD"))?,
        ),
    };
    Ok(DealRecord {
        open: !is_closed_stage(&stage),
        name,
        stage,
        amount,
        currency: currency.to_uppercase(),
        close_date,
        owner,
    })
}

/// What earlier rows said, so a file cannot contradict itself (the import would otherwise
/// depend on row order).
#[derive(Default)]
struct Seen {
    /// deal key → line.
    deals: HashMap<(String, String), u64>,
    /// e-mail → (company key, name, line).
    emails: HashMap<String, (String, String, u64)>,
    /// Slack id → (owner, line).
    slack: HashMap<String, (String, u64)>,
}

impl Seen {
    fn check(&mut self, record: &Record) -> Result<(), String> {
        let company = name_key(&record.company);
        if let Some(deal) = &record.deal {
            let key = (company.clone(), name_key(&deal.name));
            if let Some(line) = self.deals.get(&key) {
                return Err(format!(
                    "deal {:?} of {:?} is already on line {line}",
                    deal.name, record.company
                ));
            }
            self.deals.insert(key, record.line);
        }
        if let Some(ContactRecord {
            name,
            email: Some(email),
        }) = &record.contact
        {
            match self.emails.get(email) {
                Some((c, n, line)) if *c != company || name_key(n) != name_key(name) => {
                    return Err(format!(
                        "contact_email {email} is another contact's on line {line}"
                    ));
                }
                Some(_) => {}
                None => {
                    self.emails
                        .insert(email.clone(), (company, name.clone(), record.line));
                }
            }
        }
        if let Some((slack, owner)) = &record.owner_slack {
            match self.slack.get(slack) {
                Some((o, line)) if name_key(o) != name_key(owner) => {
                    return Err(format!(
                        "owner_slack_id {slack} is mapped to {o:?} on line {line}"
                    ));
                }
                Some(_) => {}
                None => {
                    self.slack
                        .insert(slack.clone(), (owner.clone(), record.line));
                }
            }
        }
        Ok(())
    }
}
