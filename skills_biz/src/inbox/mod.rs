//! WorkInboxService: the owner's work mailbox, triaged.
//!
//! The inbox poller (the root crate's `inbox_poller`) reads the mailbox over IMAP and hands the
//! raw mails to [`ingest`], which stores each by Message-ID in Postgres
//! (`migrations/0010_work_inbox.sql`) — so no mail is stored or summarised twice, after a
//! restart or when fetched again — and triages every mail not yet summarised, once:
//!
//! * [`parse`] — raw RFC 5322 → [`Mail`] ([`parse_mail`]; never fails), including which mails
//!   are set aside ([`SetAside`]: newsletters, no-reply and automated mail: stored, listed
//!   separately, never sent to the LLM);
//! * [`triage`](mod@triage) — [`Category`] (urgent / needs reply / waiting / FYI) with a one-line
//!   *why* and a *next action*: by the LLM through the typed tool `triage_mail` when one is
//!   configured (validated here, the heuristic when it fails), else by the deterministic
//!   [`heuristic`], whose rules that module documents;
//! * [`store`] — [`MailStore`] (the IMAP cursor per account) and [`ingest`];
//! * [`command`] — the chat grammar (`inbox`, `summarise my inbox`, `inbox done #12 #14`,
//!   `done #12`, `inbox set aside`); [`route`] claims exactly what it parses and offers the
//!   tools `inbox_summary` and `inbox_done` to the LLM;
//! * [`InboxService`] — the skill: only the people in `INBOX_READERS` (platform user ids) get
//!   anything but [`reply::PRIVATE`], and only where no one else reads the answer (a direct
//!   chat, or a slash command answered to its caller: `InboundEnvelope::private`); the [`InboxEffect`] reads or
//!   marks the tables inside the message's transaction. In ephemeral mode (`Tx::Mem`) there are
//!   no tables: it answers that the work inbox is not set up.
//!
//! The inbox is the Biz instance's, not a household's: every reader sees the same mail.

pub mod command;
pub mod parse;
pub mod reply;
pub mod store;
mod tools;
pub mod triage;

use std::sync::Arc;

use alfred_actors::skill::{
    Effect, GrammarRoute, Reply, ReplyOnly, Skill, SkillError, SkillOutcome, SkillRequest,
    SkillRoute,
};
use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

pub use self::command::{parse as parse_command, InboxCommand};
pub use self::parse::{parse_mail, Mail, SetAside};
pub use self::store::{ingest, IngestReport, MailStore};
pub use self::triage::{heuristic, triage, Category, Triage, TriageBy};

/// The skill's name; its actor is `skill/inbox`.
pub const NAME: &str = "inbox";

const HELP: [&str; 3] = [
    "inbox / summarise my inbox — the open work mail: urgent, needs reply, waiting, FYI",
    "inbox done #12 #14 — mark work mails done",
    "inbox set aside — the newsletters and no-reply mails set aside",
];

/// The shared route, for the orchestrator's routing table: understands exactly what
/// [`parse_command`] accepts.
pub fn route() -> Arc<dyn SkillRoute> {
    Arc::new(
        GrammarRoute::new(NAME, &HELP, |text| parse_command(text).is_some())
            .with_tools(tools::specs, tools::command_for),
    )
}

/// A fresh skill. `readers`: the platform user ids (Slack user ids such as `U024BE7LH`,
/// WhatsApp numbers) allowed to see the inbox (`INBOX_READERS`).
pub fn skill(readers: Arc<[String]>) -> Box<dyn Skill> {
    Box::new(InboxService { readers })
}

/// The WorkInboxService skill. Deciding is checking the sender and parsing; the reading and
/// marking are the effect's.
#[derive(Debug, Clone)]
pub struct InboxService {
    readers: Arc<[String]>,
}

impl Skill for InboxService {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let reader = self.readers.contains(&request.sender.id);
        let effect: Box<dyn Effect> = if self.readers.is_empty() {
            // No INBOX_READERS means no IMAP settings either (config requires both together).
            Box::new(ReplyOnly(vec![reply::NOT_SET_UP.to_owned()]))
        } else if !reader {
            tracing::info!("Refused the work inbox to someone not in INBOX_READERS.");
            Box::new(ReplyOnly(vec![reply::PRIVATE.to_owned()]))
        } else if !request.envelope.private {
            Box::new(ReplyOnly(vec![reply::GROUP.to_owned()]))
        } else {
            match parse_command(&request.text) {
                Some(command) => Box::new(InboxEffect {
                    command,
                    reader: request.sender.id,
                    now: request.now,
                }),
                None => Box::new(ReplyOnly(vec![format!(
                    "I did not understand that. Try: {}",
                    HELP.join("; ")
                )])),
            }
        };
        Box::pin(futures::future::ready(Ok(SkillOutcome { effect })))
    }
}

/// One inbox command by a reader, applied in the message's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEffect {
    /// What was asked.
    pub command: InboxCommand,
    /// The reader's platform user id (recorded as `done_by`).
    pub reader: String,
    /// When the message is handled (the runtime's clock): `done_at`. Replies are plain text:
    /// the Slack client escapes Slack's markup in every reply.
    pub now: DateTime<Utc>,
}

impl InboxEffect {
    async fn run(&self, tx: &mut Tx<'_>) -> Result<String, StoreError> {
        let Tx::Pg(tx) = tx else {
            return Ok(reply::NOT_SET_UP.to_owned());
        };
        Ok(match &self.command {
            InboxCommand::Summary => {
                if !store::anything_read(tx).await? {
                    return Ok(reply::NOTHING_READ.to_owned());
                }
                let sections = store::open_sections(tx, reply::SECTION_CAP).await?;
                let set_aside = store::set_aside_count(tx).await?;
                reply::summary(&sections, set_aside)
            }
            InboxCommand::SetAside => {
                let (total, items) = store::set_aside(tx, reply::SET_ASIDE_CAP).await?;
                reply::set_aside_list(total, &items)
            }
            InboxCommand::Done(ids) => {
                let done = store::mark_done(tx, ids, self.now, &self.reader).await?;
                reply::done(&done, ids)
            }
        })
    }
}

impl Effect for InboxEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let text = self.run(tx).await?;
            Ok(vec![Reply::text(text)])
        })
    }
}
