//! Helpers of the chores tests: a household on a [`TestStore`] (the testkit's, a fresh database
//! with every migration on Postgres) whose clock the test moves, and what is due in it.
#![allow(dead_code)]
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_skills_home::chores::{self, ChoreEffect, Who};
use alfred_testkit::stores::TestStore;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

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

    /// [`chores::due_reminders`] for the household now, read in a transaction rolled back
    /// afterwards.
    pub async fn reminders(
        &mut self,
        quiet: Option<(NaiveTime, NaiveTime)>,
    ) -> Vec<chores::Reminder> {
        let mut transaction = self.store.begin().await.unwrap();
        let reminders = chores::due_reminders(
            &mut transaction.tx(),
            &self.household,
            self.now,
            self.tz,
            quiet,
        )
        .await
        .unwrap();
        transaction.rollback().await.unwrap();
        reminders
    }

    /// [`chores::chores_due_today`] for the household now, the same way.
    pub async fn due_today(&mut self) -> Vec<chores::DueChore> {
        let mut transaction = self.store.begin().await.unwrap();
        let due =
            chores::chores_due_today(&mut transaction.tx(), &self.household, self.now, self.tz)
                .await
                .unwrap();
        transaction.rollback().await.unwrap();
        due
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
