//! Helpers of the work inbox tests: realistic raw mails, a migrated Postgres database per test
//! (all of `migrations/`, as `alfred migrate` applies them), and asking the skill as a reader
//! would — its decision and its effect applied in a committed transaction.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use alfred_actors::llm::Llm;
use alfred_actors::messages::Platform;
use alfred_actors::skill::SkillRequest;
use alfred_actors::store::{PgStore, Tx};
use alfred_adapters::llm::{OllamaClient, OpenAiClient};
use alfred_skills_biz::inbox::{self, MailStore};
use alfred_testkit::db::TestDb;
use alfred_testkit::llm::FakeLlm;
use alfred_testkit::request::skill_request;
use alfred_testkit::stores::TestStore;
use chrono::{DateTime, TimeZone, Utc};
use deadpool_postgres::Pool;

/// The reader of these tests (a Slack user id in INBOX_READERS).
pub const READER: &str = "U024BE7LH";
/// Someone in the same Slack workspace who is not a reader.
pub const STRANGER: &str = "U0STRANGER";

/// "Now" in these tests: Wednesday 2026-11-25 09:00 UTC.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

/// A multipart/alternative mail from Ana with an urgent subject, a question, and a quoted
/// earlier message.
pub const URGENT_ALTERNATIVE: &str = "Return-Path: <ana@acme.com>\r
Received: from mail.acme.com (mail.acme.com [203.0.113.5]) by mx.example.com; Wed, 25 Nov 2026 08:00:02 +0100\r
From: =?UTF-8?Q?Ana_L=C3=B3pez?= <ana@acme.com>\r
To: Owner <owner@example.com>\r
Subject: URGENT: contract renewal due Friday\r
Date: Wed, 25 Nov 2026 08:00:00 +0100\r
Message-ID: <CAF1234.renewal@mail.acme.com>\r
MIME-Version: 1.0\r
Content-Type: multipart/alternative; boundary=\"b1\"\r
\r
--b1\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: quoted-printable\r
\r
Hi,\r
\r
the renewal must be signed by Friday. Can you sign and return it?\r
\r
Thanks,\r
Ana\r
\r
> On Mon, Owner wrote:\r
> Any news on the renewal? Let me know.\r
--b1\r
Content-Type: text/html; charset=utf-8\r
\r
<html><body><p>Hi,</p><p>the renewal must be signed by <b>Friday</b>. Can you sign and return it?</p></body></html>\r
--b1--\r
";

/// An HTML-only mail from Bob (no question, no request): FYI.
pub const HTML_ONLY: &str = "From: Bob Stone <bob@globex.com>\r
To: owner@example.com\r
Subject: Notes from Tuesday's workshop\r
Date: Tue, 24 Nov 2026 16:30:00 +0000\r
Message-ID: <workshop-notes-42@globex.com>\r
MIME-Version: 1.0\r
Content-Type: text/html; charset=\"utf-8\"\r
\r
<html><head><style>p { color: red; }</style></head><body><h1>Workshop</h1>\r
<p>Here are the notes &amp; the slides: <a href=\"https://globex.com/notes?id=42\">notes</a>.</p>\r
<p>Cheers, Bob</p></body></html>\r
";

/// A plain mail with a base64 encoded-word subject in which Chen promises to send something.
pub const WAITING_ENCODED: &str = "From: Chen Wei <chen@initech.com>\r
To: owner@example.com\r
Subject: =?UTF-8?B?UmU6IFF1b3RlIGZvciB0aGUgbmV3IGxhcHRvcHMg4oCT?= =?UTF-8?B?IHVwZGF0ZQ==?=\r
Date: Wed, 25 Nov 2026 07:15:00 +0000\r
Message-ID: <quote-77@initech.com>\r
Content-Type: text/plain; charset=utf-8\r
\r
Hello,\r
\r
the supplier confirmed the prices. I will send the final quote on Monday.\r
\r
Chen\r
";

/// A mail with no Message-ID that asks a question: needs reply.
pub const NO_MESSAGE_ID: &str = "From: Dana Scully <dana@fbi.example>\r
To: owner@example.com\r
Subject: Lunch next week?\r
Date: Tue, 24 Nov 2026 12:00:00 +0000\r
Content-Type: text/plain; charset=us-ascii\r
\r
Are you free on Thursday?\r
";

/// A newsletter with List-Unsubscribe (and an urgent-sounding subject it must not be triaged on).
pub const NEWSLETTER: &str = "From: Acme Weekly <news@acme.com>\r
To: owner@example.com\r
Subject: Last chance today: 20% off\r
Date: Wed, 25 Nov 2026 06:00:00 +0000\r
Message-ID: <weekly-2026-48@news.acme.com>\r
List-Unsubscribe: <mailto:unsubscribe@acme.com>, <https://acme.com/unsub?u=1>\r
List-Unsubscribe-Post: List-Unsubscribe=One-Click\r
Content-Type: text/plain; charset=utf-8\r
\r
This week's news. Could you tell a friend?\r
";

/// A notification from a no-reply sender.
pub const NO_REPLY: &str = "From: GitHub <noreply@github.com>\r
To: owner@example.com\r
Subject: [acme/app] Pull request merged: can you review the release?\r
Date: Wed, 25 Nov 2026 05:00:00 +0000\r
Message-ID: <acme/app/pull/12/merged@github.com>\r
Content-Type: text/plain; charset=utf-8\r
\r
Your pull request was merged. Please review the release notes.\r
";

/// A mail `n` with a unique Message-ID, sent `minutes` after 2026-11-20 08:00 UTC, that says
/// nothing that needs doing: FYI.
pub fn fyi(n: u32, minutes: u32) -> String {
    let sent = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from(minutes));
    format!(
        "From: Eve Example <eve@example.org>\r\nTo: owner@example.com\r\nSubject: Report {n}\r\n\
         Date: {}\r\nMessage-ID: <report-{n}@example.org>\r\nContent-Type: text/plain\r\n\r\n\
         The weekly report number {n} is attached.\r\n",
        sent.to_rfc2822()
    )
}

/// A migrated database of its own and the inbox store on it.
pub struct Db {
    pub db: TestDb,
    pub pool: Pool,
    pub store: MailStore,
}

impl Db {
    /// A fresh database with every migration applied.
    pub async fn create() -> Db {
        let db = TestDb::create_migrated().await;
        let pool = PgStore::connect(db.url()).unwrap().pool().clone();
        Db {
            store: MailStore::new(pool.clone()),
            db,
            pool,
        }
    }

    /// Drops the database (a failed test leaves it for the test script to remove).
    pub async fn drop(self) {
        self.pool.close();
        self.db.drop().await;
    }

    /// Ingests `raws` without an LLM at [`now`].
    pub async fn ingest(&self, raws: &[&str]) -> inbox::IngestReport {
        let raws: Vec<Vec<u8>> = raws.iter().map(|raw| raw.as_bytes().to_vec()).collect();
        inbox::ingest(&self.store, &raws, None, now())
            .await
            .unwrap()
    }

    /// One value of a query.
    pub async fn value<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> T {
        let client = self.pool.get().await.unwrap();
        client.query_one(sql, params).await.unwrap().get(0)
    }

    /// Runs a statement.
    pub async fn execute(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
        let client = self.pool.get().await.unwrap();
        client.execute(sql, params).await.unwrap();
    }

    /// `(category, why, next_action, summarised_by)` of the mail with `message_id`.
    pub async fn triage_of(
        &self,
        message_id: &str,
    ) -> (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        let client = self.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT category, why, next_action, summarised_by FROM work_mails \
                 WHERE message_id = $1",
                &[&message_id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2), row.get(3))
    }

    /// Asks `text` as `sender` on `platform` (a direct chat), the effect applied and committed
    /// in one Postgres transaction; the reply.
    pub async fn ask_on(&self, platform: Platform, sender: &str, text: &str) -> String {
        let outcome = decide(platform, sender, text, false).await;
        let mut client = self.pool.get().await.unwrap();
        let transaction = client.transaction().await.unwrap();
        let replies = outcome
            .effect
            .apply(&mut Tx::Pg(&transaction))
            .await
            .unwrap();
        transaction.commit().await.unwrap();
        join(replies)
    }

    /// Asks `text` as `sender` in a Slack direct message.
    pub async fn ask(&self, sender: &str, text: &str) -> String {
        self.ask_on(Platform::Slack, sender, text).await
    }
}

/// Asks `text` as `sender` with the in-memory store (ephemeral mode); the reply.
pub async fn ask_in_memory(sender: &str, text: &str) -> String {
    let outcome = decide(Platform::Slack, sender, text, false).await;
    TestStore::in_memory().apply(outcome.effect).await.unwrap()
}

fn join(replies: Vec<alfred_actors::skill::Reply>) -> String {
    replies
        .iter()
        .map(|reply| reply.body.display_text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The skill's decision on `text` from `sender`, with [`READER`] as the only reader.
pub async fn decide(
    platform: Platform,
    sender: &str,
    text: &str,
    is_group: bool,
) -> alfred_actors::skill::SkillOutcome {
    let readers: Arc<[String]> = Arc::from(vec![READER.to_owned()]);
    let mut skill = inbox::skill(readers);
    skill
        .handle(request(platform, sender, text, is_group))
        .await
        .unwrap()
}

/// A request as the orchestrator builds it for a direct message (or a group's).
pub fn request(platform: Platform, sender: &str, text: &str, is_group: bool) -> SkillRequest {
    skill_request(text)
        .household("biz")
        .timezone(chrono_tz::Europe::Madrid)
        .on(platform, "T0001")
        .from(sender, None)
        .conversation("D0123")
        .in_group(is_group)
        .message_id(&format!("T0001:Ev{}", uuid::Uuid::new_v4().simple()))
        .at(now())
        .build()
}

/// How long the LLM may take in these tests (generous: only the fallback tests wait it out).
pub const LLM_TIMEOUT: Duration = Duration::from_secs(10);

/// The real Ollama client talking to `fake`.
pub fn ollama(fake: &FakeLlm, timeout: Duration) -> Llm {
    Llm {
        client: Arc::new(OllamaClient::new(&fake.ollama_url(), "llama3.2", timeout).unwrap()),
        timeout,
    }
}

/// The real OpenAI client talking to `fake`.
pub fn openai(fake: &FakeLlm, timeout: Duration) -> Llm {
    Llm {
        client: Arc::new(
            OpenAiClient::new(
                &fake.openai_url(),
                secrecy::SecretString::from("sk-test"),
                "gpt-4o-mini",
                timeout,
            )
            .unwrap(),
        ),
        timeout,
    }
}
