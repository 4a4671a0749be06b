//! Helpers of the chores tests: what is due on a [`TestStore`] (the testkit's, a fresh database
//! with every migration on Postgres), and a household whose clock the test moves.
#![allow(dead_code)]
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_skills_home::chores::{self, ChoreEffect, Who};
use alfred_testkit::stores::TestStore;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// What is due on a [`TestStore`], each read in a transaction rolled back afterwards.
pub trait Chores {
    /// [`chores::due_reminders`] on this store.
    async fn reminders(
        &mut self,
        household: &str,
        now: DateTime<Utc>,
        tz: Tz,
        quiet: Option<(NaiveTime, NaiveTime)>,
    ) -> Vec<chores::Reminder>;

    /// [`chores::chores_due_today`] on this store.
    async fn due_today(
        &mut self,
        household: &str,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Vec<chores::DueChore>;
}

impl Chores for TestStore {
    async fn reminders(
        &mut self,
        household: &str,
        now: DateTime<Utc>,
        tz: Tz,
        quiet: Option<(NaiveTime, NaiveTime)>,
    ) -> Vec<chores::Reminder> {
        let mut transaction = self.begin().await.unwrap();
        let reminders = chores::due_reminders(&mut transaction.tx(), household, now, tz, quiet)
            .await
            .unwrap();
        transaction.rollback().await.unwrap();
        reminders
    }

    async fn due_today(
        &mut self,
        household: &str,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Vec<chores::DueChore> {
        let mut transaction = self.begin().await.unwrap();
        let due = chores::chores_due_today(&mut transaction.tx(), household, now, tz)
            .await
            .unwrap();
        transaction.rollback().await.unwrap();
        due
    }
}

/// A household in a time zone, on a clock the test moves; messages go through the grammar.
pub struct Home<'s> {
    pub store: &'s mut TestStore,
    pub household: String,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

impl<'s> Home<'s> {
    /// A household in `tz` whose clock stands at `local` (a local date and time).
    pub fn new(store: &'s mut TestStore, tz: Tz, local: (i32, u32, u32, u32, u32)) -> Home<'s> {
        let mut home = Home {
            store,
            household: "home".to_owned(),
            tz,
            now: DateTime::UNIX_EPOCH,
        };
        home.set_local(local);
        home
    }

    /// Moves the clock to a local date and time.
    pub fn set_local(&mut self, (y, m, d, hh, mm): (i32, u32, u32, u32, u32)) {
        self.now = self
            .tz
            .with_ymd_and_hms(y, m, d, hh, mm, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
    }

    /// Moves the clock on by whole days, keeping the local time of day.
    pub fn next_day(&mut self) {
        let local = self.now.with_timezone(&self.tz);
        let date = local.date_naive().succ_opt().unwrap();
        let time = local.time();
        self.now = self
            .tz
            .from_local_datetime(&date.and_time(time))
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
    }

    pub fn today(&self) -> NaiveDate {
        chores::local_today(self.now, self.tz)
    }

    /// `who` says `text` now; the reply.
    pub async fn say(&mut self, who: &str, text: &str) -> String {
        let command =
            chores::parse(text).unwrap_or_else(|| panic!("{text:?} is not a chore command"));
        let effect = ChoreEffect::new(&self.household, member(who), command, self.now, self.tz);
        self.store.apply(Box::new(effect)).await.unwrap()
    }
}

/// A member with a phone-number id and a display name.
pub fn member(name: &str) -> Who {
    Who {
        id: format!("id-{}", name.to_lowercase()),
        name: name.to_owned(),
    }
}
