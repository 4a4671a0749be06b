//! The scheduler: one run per household per local day — across a DST change, a restart at the
//! due minute and two Alfreds on the same Redis and Postgres — caught up within the window after
//! downtime, and recorded as missed beyond it.
//!
//! A stand-in briefing skill answers each run with its run key, so these tests check the
//! scheduling guarantees independently of the briefing's content.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use alfred_actors::skill::SkillEntry;
use alfred_actors::skill::{ReplyOnly, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute};
use futures::future::BoxFuture;

use crate::helpers::*;

const DANA: &str = "4917011111111";

struct BriefingRoute;

impl SkillRoute for BriefingRoute {
    fn name(&self) -> &'static str {
        "test-briefing"
    }
    fn help(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn understands(&self, _text: &str) -> bool {
        false
    }
    fn jobs(&self) -> Vec<&'static str> {
        vec!["briefing"]
    }
}

struct BriefingSkill;

impl Skill for BriefingSkill {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let (_, run_key) = request.job.unwrap_or_default();
        let text = format!("Good morning, {}! ({run_key})", request.household);
        Box::pin(async move {
            Ok(SkillOutcome {
                effect: Box::new(ReplyOnly(vec![text])),
            })
        })
    }
}

fn briefing_skill() -> SkillEntry {
    SkillEntry {
        route: Arc::new(BriefingRoute),
        access: alfred_actors::access::Access::Members,
        factory: Arc::new(|| Box::new(BriefingSkill) as Box<dyn Skill>),
    }
}

/// A household in Berlin with a 07:00 briefing to Dana's chat, written to `file`.
fn household(file: &std::path::Path) -> Vec<(&'static str, String)> {
    write_household(file, "Europe/Berlin", "07:00");
    vec![("HOUSEHOLDS_FILE", file.display().to_string())]
}

fn write_household(file: &std::path::Path, timezone: &str, time: &str) {
    std::fs::write(
        file,
        format!(
            "[[household]]\nid = \"smiths\"\ntimezone = \"{timezone}\"\n\
             members = [{{ name = \"Dana\", whatsapp = \"{DANA}\" }}]\n\
             [household.briefing]\ntime = \"{time}\"\nto = \"Dana\"\ncatch_up_minutes = 120\n"
        ),
    )
    .unwrap();
}

/// A household whose briefing is due this very minute on the system clock, for the real
/// binary (which has no manual clock on durable stores): its time zone is chosen so that it is
/// about noon there, far from a change of day. Returns its variables and the local weekday.
fn household_due_now(file: &std::path::Path) -> (Vec<(&'static str, String)>, String) {
    use chrono::Timelike as _;
    let now = chrono::Utc::now();
    let offset = 12 - i32::try_from(now.hour()).unwrap();
    // IANA's Etc zones count the other way round: Etc/GMT-3 is three hours ahead of UTC.
    let timezone = match offset {
        0 => "UTC".to_owned(),
        ahead if ahead > 0 => format!("Etc/GMT-{ahead}"),
        behind => format!("Etc/GMT+{}", -behind),
    };
    let local = now.with_timezone(&chrono::FixedOffset::east_opt(offset * 3600).unwrap());
    write_household(file, &timezone, &local.format("%H:%M").to_string());
    let vars = vec![("HOUSEHOLDS_FILE", file.display().to_string())];
    (vars, local.format("%A").to_string())
}

fn temp_file() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("alfred-schedule-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("households.toml")
}

fn briefings(backends: &Backends) -> Vec<String> {
    backends
        .graph
        .requests()
        .iter()
        .filter_map(|r| r.text().map(str::to_owned))
        .collect()
}

#[actix_rt::test]
async fn the_briefing_is_sent_once_per_local_day_across_a_dst_change() {
    let file = temp_file();
    // 2026-03-28 06:00 in Berlin (winter time), an hour before the briefing.
    let app = TestApp::spawn_at(
        "2026-03-28T05:00:00Z",
        &household(&file),
        vec![briefing_skill()],
    )
    .await;

    app.set_clock("2026-03-28T06:30:00Z").await; // 07:30 CET
    app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.set_clock("2026-03-29T05:30:00Z").await; // 07:30 CEST: the clocks went forward overnight
    app.backends.graph.wait_for_requests(2, DEADLINE).await;
    app.set_clock("2026-03-29T20:00:00Z").await; // the same local day, later
    app.set_clock("2026-03-30T05:30:00Z").await;
    app.backends.graph.wait_for_requests(3, DEADLINE).await;
    app.quiescent().await;

    let sent = briefings(&app.backends);
    assert_eq!(
        sent,
        vec![
            "Good morning, smiths! (2026-03-28)",
            "Good morning, smiths! (2026-03-29)",
            "Good morning, smiths! (2026-03-30)",
        ]
    );
    assert!(app
        .backends
        .graph
        .requests()
        .iter()
        .all(|r| r.to() == Some(DANA) && r.reply_to().is_none()));
}

#[actix_rt::test]
async fn two_alfreds_on_the_same_stores_send_one_briefing_and_a_restart_sends_none() {
    let file = temp_file();
    let settings = household(&file);
    let due = "2026-11-26T06:00:30Z"; // 07:00:30 in Berlin: just due
    let first = TestApp::spawn_at(due, &settings, vec![briefing_skill()]).await;
    let backends_again = Backends {
        db: first.backends.db.clone(),
        prefix: first.backends.prefix.clone(),
        redis_url: first.backends.redis_url.clone(),
        graph: alfred_testkit::graph::FakeGraph::start().await,
        instance: first.backends.instance,
    };
    // A second Alfred (another replica, or the same one restarted) sending to its own fake
    // Graph API, so each one's sends can be told apart.
    let second = TestApp::spawn_on_at(backends_again, due, &settings, vec![briefing_skill()]).await;

    eventually("the briefing to be sent", || async {
        let total = first.backends.graph.requests().len() + second.backends.graph.requests().len();
        (total > 0).then_some(total)
    })
    .await;
    first.backends.quiescent().await;

    let total = first.backends.graph.requests().len() + second.backends.graph.requests().len();
    assert_eq!(total, 1, "exactly one briefing between the two Alfreds");
}

#[actix_rt::test]
async fn a_briefing_due_while_alfred_was_down_is_caught_up_within_the_window() {
    let file = temp_file();
    // Alfred comes up at 08:30 in Berlin; the 07:00 briefing is 90 minutes late, the window 120.
    let app = TestApp::spawn_at(
        "2026-11-26T07:30:00Z",
        &household(&file),
        vec![briefing_skill()],
    )
    .await;

    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;

    assert_eq!(sends[0].text(), Some("Good morning, smiths! (2026-11-26)"));
}

#[actix_rt::test]
async fn a_briefing_missed_beyond_the_window_is_recorded_and_shown_to_operators() {
    let file = temp_file();
    // Alfred comes up at 10:00 in Berlin: three hours after the briefing, beyond the window.
    let app = TestApp::spawn_at(
        "2026-11-26T09:00:00Z",
        &household(&file),
        vec![briefing_skill()],
    )
    .await;

    let jobs: serde_json::Value = eventually("the missed run to be recorded", || async {
        let jobs: serde_json::Value = app.admin_get("/admin/jobs").await.json().await.ok()?;
        (jobs["missed"].as_array()?.len() == 1).then_some(jobs)
    })
    .await;

    assert_eq!(jobs["missed"][0]["job"], "briefing");
    assert_eq!(jobs["missed"][0]["household"], "smiths");
    assert_eq!(jobs["missed"][0]["run_key"], "2026-11-26");
    assert_eq!(jobs["jobs"][0]["next_due"], "2026-11-27T06:00:00Z");
    app.quiescent().await;
    assert!(
        app.backends.graph.requests().is_empty(),
        "a missed briefing is not sent late"
    );
}

/// The real binary with the real briefing skill: a briefing due this minute is sent by the first
/// Alfred, which is killed right after; the restarted one and a second replica started at the
/// same minute send nothing more. The binary refuses `CLOCK=manual` on durable stores, so the
/// household's briefing time is set to the system clock's current minute instead.
#[actix_rt::test]
async fn real_processes_restarted_at_the_due_minute_and_a_second_replica_send_one_briefing() {
    let file = temp_file();
    let (settings, weekday) = household_due_now(&file);
    let backends = Backends::new().await;
    let replica = |name: &str| {
        let mut extra = settings.clone();
        extra.push(("HOSTNAME", name.to_owned()));
        extra
    };

    // The restarted Alfred listens where the first did: Meta's webhook URL does not change, and
    // the status callback of the briefing sent just before the kill must reach it.
    let port = free_port();
    let mut first = AlfredProcess::start_with(&backends, port, &replica("home-a")).await;
    backends.graph.wait_for_requests(1, DEADLINE).await;
    first.kill();
    let _restarted = AlfredProcess::start_with(&backends, port, &replica("home-a")).await;
    let _second = AlfredProcess::start_with(&backends, free_port(), &replica("home-b")).await;
    eventually("both to have handled the run again", || async {
        let ingest = backends.ingest_len().await;
        // One run published by each of the three schedulers.
        (ingest >= 3).then_some(())
    })
    .await;
    backends.quiescent().await;

    let sends = backends.graph.requests();
    assert_eq!(sends.len(), 1, "one briefing for the day: {sends:?}");
    assert!(
        sends[0].text().unwrap_or_default().contains(&weekday),
        "{:?}",
        sends[0].text()
    );
}
