//! Helpers of the briefing tests: a household whose chores and list are filled through the
//! skills' own grammar, and one way to run a briefing on a [`TestStore`] (the testkit's, a fresh
//! database with every migration on Postgres) and commit it as the orchestrator would.
#![allow(dead_code)]
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::Platform;
use alfred_actors::skill::Reply;
use alfred_actors::store::{Activity, MemTx, ACTIVITY_SLOT};
use alfred_skills_home::briefing::{self, Briefing, BriefingEffect, BriefingTemplate, Outbound};
use alfred_skills_home::{chores, grocery};
use alfred_testkit::stores::{StoreTx, TestStore};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Dana's direct chat, where the test briefings go.
pub const DANA: &str = "4917011111111";

/// The household's time zone in every test.
pub fn berlin() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

/// An instant given as a Berlin local date and time.
pub fn berlin_at(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> DateTime<Utc> {
    berlin()
        .with_ymd_and_hms(y, m, d, hh, mm, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// The scheduled briefing of household `home` at `now`, to Dana's WhatsApp chat.
fn scheduled(now: DateTime<Utc>, template: Option<BriefingTemplate>) -> BriefingEffect {
    BriefingEffect::new(
        "home",
        now,
        berlin(),
        Platform::WhatsApp,
        DANA,
        template,
        false,
    )
}

/// A household's chores, list and briefings on a [`TestStore`].
pub trait Household {
    /// The household of most tests: Dana's laundry has waited since Monday; the dishes (Sam's
    /// turn) and the plants are due today, Wednesday 25 November 2026; milk and 2 kg apples are
    /// still to buy and the bread was bought.
    async fn seed(&mut self);

    /// `who` tells the chores skill `text` at `now` in household `home`.
    async fn chore(&mut self, who: &str, text: &str, now: DateTime<Utc>);

    /// `who` tells the shopping list `text` at `now` in household `home`.
    async fn list(&mut self, who: &str, text: &str, now: DateTime<Utc>);

    /// The scheduled briefing of household `home` at `now`, sent to a WhatsApp chat, run in a
    /// transaction that is then committed (so a poisoned transaction would fail the test).
    async fn briefing(
        &mut self,
        now: DateTime<Utc>,
        template: Option<BriefingTemplate>,
    ) -> Outbound;

    /// What household `home`'s briefing at `now` says, read (and committed) on this store.
    async fn gather(&mut self, now: DateTime<Utc>) -> Briefing;

    /// Records that Dana wrote in her chat at `at`, as the orchestrator's inbox does.
    async fn dana_wrote(&mut self, at: DateTime<Utc>);

    /// The replies of the scheduled briefing of household `home` at `now` to Dana's chat, as
    /// the orchestrator gets them from the effect.
    async fn briefing_replies(
        &mut self,
        now: DateTime<Utc>,
        template: Option<BriefingTemplate>,
    ) -> Vec<Reply>;

    /// The briefing's free text (fails the test if it went out as a template).
    async fn briefing_text(&mut self, now: DateTime<Utc>) -> String;

    /// Makes the chores unreadable: on Postgres the table is gone, in memory its slot holds
    /// something else. Either way the chores' query fails.
    async fn break_chores(&mut self);

    /// Makes the shopping list unreadable, the same way.
    async fn break_list(&mut self);
}

impl Household for TestStore {
    async fn seed(&mut self) {
        let monday = berlin_at(2026, 11, 23, 8, 0);
        self.chore("Dana", "add chore laundry daily for Dana", monday)
            .await;
        let wednesday = berlin_at(2026, 11, 25, 6, 0);
        self.chore(
            "Dana",
            "add chore dishes daily rotating Sam, Dana",
            wednesday,
        )
        .await;
        self.chore("Sam", "add chore water plants every 3 days", wednesday)
            .await;
        self.list("Dana", "add milk, 2 kg apples and bread", wednesday)
            .await;
        self.list("Sam", "got bread", wednesday).await;
    }

    async fn chore(&mut self, who: &str, text: &str, now: DateTime<Utc>) {
        let command =
            chores::parse(text).unwrap_or_else(|| panic!("{text:?} is not a chore command"));
        let who = chores::Who {
            id: format!("id-{}", who.to_lowercase()),
            name: who.to_owned(),
        };
        let effect = chores::ChoreEffect::new("home", who, command, now, berlin());
        self.apply(Box::new(effect)).await.unwrap();
    }

    async fn list(&mut self, who: &str, text: &str, now: DateTime<Utc>) {
        let command =
            grocery::parse(text).unwrap_or_else(|| panic!("{text:?} is not a list command"));
        let who = grocery::Who {
            id: format!("id-{}", who.to_lowercase()),
            name: who.to_owned(),
        };
        let effect = grocery::GroceryEffect::new("home", who, now, command);
        self.apply(Box::new(effect)).await.unwrap();
    }

    async fn briefing(
        &mut self,
        now: DateTime<Utc>,
        template: Option<BriefingTemplate>,
    ) -> Outbound {
        let mut transaction = self.begin().await.unwrap();
        let outbound = scheduled(now, template)
            .run(&mut transaction.tx())
            .await
            .unwrap();
        if let StoreTx::Pg(pg) = &transaction {
            // A statement after the briefing still works: the transaction is healthy.
            pg.execute("SELECT 1", &[]).await.unwrap();
        }
        transaction.commit().await.unwrap();
        outbound
    }

    async fn gather(&mut self, now: DateTime<Utc>) -> Briefing {
        let mut transaction = self.begin().await.unwrap();
        let briefing = briefing::gather(&mut transaction.tx(), "home", now, berlin())
            .await
            .unwrap();
        transaction.commit().await.unwrap();
        briefing
    }

    async fn dana_wrote(&mut self, at: DateTime<Utc>) {
        match self {
            TestStore::Pg(client) => {
                client
                    .execute(
                        "INSERT INTO inbox (platform, message_id, conversation, person_at) \
                         VALUES ('whatsapp', $1, $2, $3)",
                        &[&format!("wamid.{}", at.timestamp()), &DANA, &at],
                    )
                    .await
                    .unwrap();
            }
            TestStore::Mem(mem) => {
                mem.slot::<Activity>(ACTIVITY_SLOT)
                    .unwrap()
                    .insert((Platform::WhatsApp, DANA.to_owned()), at);
            }
        }
    }

    async fn briefing_replies(
        &mut self,
        now: DateTime<Utc>,
        template: Option<BriefingTemplate>,
    ) -> Vec<Reply> {
        self.replies(Box::new(scheduled(now, template)))
            .await
            .unwrap()
    }

    async fn briefing_text(&mut self, now: DateTime<Utc>) -> String {
        match self.briefing(now, None).await {
            Outbound::Text(text) => text,
            other => panic!("expected free text, got {other:?}"),
        }
    }

    async fn break_chores(&mut self) {
        match self {
            TestStore::Pg(client) => client
                .batch_execute("DROP TABLE chore_history; DROP TABLE chores")
                .await
                .unwrap(),
            TestStore::Mem(mem) => poison(mem, chores::SLOT),
        }
    }

    async fn break_list(&mut self) {
        match self {
            TestStore::Pg(client) => client
                .batch_execute("DROP TABLE grocery_changes; DROP TABLE grocery_items")
                .await
                .unwrap(),
            TestStore::Mem(mem) => poison(mem, grocery::SLOT),
        }
    }
}

/// Replaces the in-memory slot `key` with a value of another type, so reading it fails.
fn poison(mem: &mut MemTx, key: &'static str) {
    let mut slots = std::mem::take(mem).into_slots();
    slots.insert(key, Box::new(0_u8));
    *mem = MemTx::new(slots);
}
