//! Reminders through the whole app on real Redis and Postgres: set in the chat, sent by the
//! scheduler at their time — once with two Alfreds on the same stores and once when the real
//! binary is killed at the due minute (the run published, not handled) and started again —,
//! held until the end of quiet hours, sent to a member's own chat ("remind Sam …", as the
//! approved template outside WhatsApp's 24-hour window), and not at all once cancelled.
//!
//! A negative ("not sent") is only asserted after a positive that the same scheduler tick must
//! have produced (another reminder due at the same moment was sent), never after a sleep.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::whatsapp;

use crate::helpers::*;

const DANA: &str = "4917011111111";
const SAM: &str = "4917022222222";
const KIM: &str = "4917033333333";

/// Thursday 2026-11-26, 09:00 in Berlin.
const START: &str = "2026-11-26T08:00:00Z";

/// The Smiths in Berlin (Dana, Sam; quiet hours 21:30–07:30) and, with `extra`, more TOML.
fn households(extra: &str) -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir().join(format!("alfred-reminders-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("households.toml");
    std::fs::write(
        &path,
        format!(
            "[[household]]\nid = \"smiths\"\ntimezone = \"Europe/Berlin\"\n\
             members = [{{ name = \"Dana\", whatsapp = \"{DANA}\" }}, {{ name = \"Sam\", whatsapp = \"{SAM}\" }}]\n\
             [household.chores]\nquiet_hours = \"21:30-07:30\"\n{extra}"
        ),
    )
    .unwrap();
    vec![("HOUSEHOLDS_FILE", path.display().to_string())]
}

/// A second household without quiet hours, whose reminders show a scheduler tick happened.
const JONESES: &str = "[[household]]\nid = \"joneses\"\ntimezone = \"Europe/Berlin\"\n\
                       members = [{ name = \"Kim\", whatsapp = \"4917033333333\" }]\n";

/// `from` writes `text`; returns Alfred's answer.
async fn say(app: &TestApp, from: &str, wamid: &str, text: &str) -> String {
    let before = app.backends.graph.requests().len();
    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        from,
        "Dana Smith",
        wamid,
        text,
    ))
    .await;
    let sends = app
        .backends
        .graph
        .wait_for_requests(before + 1, DEADLINE)
        .await;
    sends
        .last()
        .and_then(|s| s.text().map(str::to_owned))
        .unwrap_or_default()
}

/// Every text sent by these Alfreds' fake Graph APIs.
fn texts(apps: &[&TestApp]) -> Vec<String> {
    apps.iter()
        .flat_map(|app| app.backends.graph.requests())
        .filter_map(|r| r.text().map(str::to_owned))
        .collect()
}

fn count(apps: &[&TestApp], text: &str) -> usize {
    texts(apps).iter().filter(|t| t.as_str() == text).count()
}

/// Waits until `text` was sent by one of `apps`.
async fn sent(apps: &[&TestApp], text: &str) {
    eventually(&format!("{text:?} to be sent"), || async {
        (count(apps, text) > 0).then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn a_reminder_in_two_minutes_is_sent_once_at_that_time() {
    let app = TestApp::spawn_at(START, &households(""), Vec::new()).await;

    let set = say(
        &app,
        DANA,
        "wamid.R1",
        "remind me in 2 minutes to water the plants",
    )
    .await;
    say(
        &app,
        DANA,
        "wamid.R2",
        "remind me in 1 minute to feed the cat",
    )
    .await;
    app.set_clock("2026-11-26T08:01:30Z").await;
    sent(&[&app], "⏰ Reminder: feed the cat").await;
    app.quiescent().await;
    let early = count(&[&app], "⏰ Reminder: water the plants");
    app.set_clock("2026-11-26T08:02:30Z").await;
    sent(&[&app], "⏰ Reminder: water the plants").await;
    app.set_clock("2026-11-26T09:00:00Z").await;
    say(&app, DANA, "wamid.R3", "reminders").await;
    app.quiescent().await;

    assert_eq!(
        set,
        "⏰ OK, I'll remind you to water the plants today at 09:02 (reminder 1)."
    );
    assert_eq!(early, 0, "not sent a minute early");
    assert_eq!(count(&[&app], "⏰ Reminder: water the plants"), 1);
    let sends = app.backends.graph.requests();
    let reminder = sends
        .iter()
        .find(|s| s.text() == Some("⏰ Reminder: water the plants"))
        .unwrap();
    assert_eq!(reminder.to(), Some(DANA));
    assert_eq!(reminder.reply_to(), None, "a reminder quotes nothing");
    assert!(
        texts(&[&app]).iter().any(|t| t.starts_with("No reminders")),
        "both were sent, none is left: {:?}",
        texts(&[&app])
    );
}

/// `POST` to the admin API at `admin`.
async fn admin_post(admin: &str, path: &str) {
    let response = reqwest::Client::new()
        .post(format!("{admin}{path}"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
}

/// Waits until ingest is paused and every ingest reader of the Alfred at `admin` holds off.
async fn ingest_held_off(admin: &str) {
    eventually("the replica's ingest readers to hold off", || async {
        let listed: serde_json::Value = reqwest::Client::new()
            .get(format!("{admin}/admin/streams"))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let view = listed["streams"]
            .as_array()?
            .iter()
            .find(|stream| stream["stream"] == "ingest")?
            .clone();
        (view["paused"] == true
            && view["readers_here"].as_u64()? > 0
            && view["readers_paused_here"] == view["readers_here"])
            .then_some(())
    })
    .await;
}

/// How many times the run `message_id` was published on the ingest streams.
async fn publications(backends: &Backends, message_id: &str) -> usize {
    let needle = format!("\"message_id\":\"{message_id}\"");
    let mut total = 0;
    for stream in backends.ingest_streams() {
        total += backends
            .stream_entries(&stream)
            .await
            .iter()
            .flatten()
            .filter(|(_, value)| value.contains(&needle))
            .count();
    }
    total
}

#[actix_rt::test]
async fn two_alfreds_on_the_same_stores_send_a_reminder_once() {
    let settings = households("");
    let first = TestApp::spawn_at(START, &settings, Vec::new()).await;
    let backends_again = Backends {
        db: first.backends.db.clone(),
        prefix: first.backends.prefix.clone(),
        redis_url: first.backends.redis_url.clone(),
        graph: alfred_testkit::graph::FakeGraph::start().await,
        instance: first.backends.instance,
    };
    let second = TestApp::spawn_on_at(backends_again, START, &settings, Vec::new()).await;
    say(
        &first,
        DANA,
        "wamid.T1",
        "remind me in 2 minutes to water the plants",
    )
    .await;

    // Ingest held, so that both replicas' schedulers publish the due run before either
    // handles it: only the inbox (and the reminder's own state) can keep it to one message.
    admin_post(&first.admin, "/admin/streams/ingest/pause").await;
    ingest_held_off(&first.admin).await;
    ingest_held_off(&second.admin).await;
    first.set_clock("2026-11-26T08:02:30Z").await;
    second.set_clock("2026-11-26T08:02:30Z").await;
    let run = "reminder:1:2026-11-26T08:02:00Z";
    eventually("both replicas to publish the run", || async {
        (publications(&first.backends, run).await == 2).then_some(())
    })
    .await;
    admin_post(&second.admin, "/admin/streams/ingest/resume").await;
    sent(&[&first, &second], "⏰ Reminder: water the plants").await;
    first.backends.quiescent().await;

    assert_eq!(
        count(&[&first, &second], "⏰ Reminder: water the plants"),
        1
    );
}

/// The message ids of the reminder runs published on the ingest streams, one per publication.
async fn reminder_runs(backends: &Backends) -> Vec<String> {
    let mut runs = Vec::new();
    for stream in backends.ingest_streams() {
        for fields in backends.stream_entries(&stream).await {
            let Some((_, payload)) = fields.iter().find(|(key, _)| key == "payload") else {
                continue;
            };
            let envelope: serde_json::Value = serde_json::from_str(payload).unwrap();
            if let Some(id) = envelope["message_id"].as_str() {
                if id.starts_with("reminder:") {
                    runs.push(id.to_owned());
                }
            }
        }
    }
    runs
}

/// The real `alfred` binary on `backends` with `settings`, and the address of its admin API.
async fn start_process(
    backends: &Backends,
    settings: &[(&'static str, String)],
) -> (AlfredProcess, String) {
    let admin = format!("127.0.0.1:{}", free_port());
    let mut settings = settings.to_vec();
    settings.push(("ADMIN_ADDR", admin.clone()));
    let process = AlfredProcess::start_with(backends, free_port(), &settings).await;
    (process, format!("http://{admin}"))
}

/// How long a test on the real clock waits for a reminder set "in 1 minute" to fall due and
/// be published: the minute itself, a scheduler tick, and a loaded machine's slack.
const REAL_MINUTE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(150);

#[actix_rt::test]
async fn a_reminder_published_when_alfred_is_killed_at_the_due_minute_is_sent_once_after_the_restart(
) {
    // The real binary (it can be killed) on the real clock (a manual one is refused with
    // durable stores); Kim's household has no quiet hours, so the reminder is due whenever
    // this runs.
    let backends = Backends::new().await;
    let settings = households(JONESES);
    let (mut first, admin) = start_process(&backends, &settings).await;
    let http = reqwest::Client::new();
    let body = whatsapp::text_message(
        PHONE_ID,
        KIM,
        "Kim Jones",
        "wamid.K1",
        "remind me in 1 minute to water the plants",
    );
    assert!(post_signed_to(&http, &first.base, &body).await);
    let confirmation = backends.graph.wait_for_requests(1, DEADLINE).await;

    // Ingest held: the scheduler publishes the due run, and nothing handles it.
    admin_post(&admin, "/admin/streams/ingest/pause").await;
    ingest_held_off(&admin).await;
    let published = alfred_testkit::eventually(
        "the due run to be published",
        REAL_MINUTE_DEADLINE,
        || async { reminder_runs(&backends).await.first().cloned() },
    )
    .await;

    // kill -9 at the due minute; the same deployment comes up again on the same stores, its
    // ingest still paused (the pause is in Redis).
    first.kill();
    let (restarted, admin) = start_process(&backends, &settings).await;
    ingest_held_off(&admin).await;
    eventually(
        "the restarted scheduler to publish the run again",
        || async { (reminder_runs(&backends).await.len() >= 2).then_some(()) },
    )
    .await;
    let runs = reminder_runs(&backends).await;
    admin_post(&admin, "/admin/streams/ingest/resume").await;
    eventually("the reminder to be sent", || async {
        let sends = backends.graph.requests();
        sends
            .iter()
            .any(|s| s.text() == Some("⏰ Reminder: water the plants"))
            .then_some(())
    })
    .await;
    backends.quiescent().await;

    assert!(
        confirmation[0]
            .text()
            .is_some_and(|t| t.starts_with("⏰ OK, I'll remind you to water the plants")),
        "{:?}",
        confirmation[0].text()
    );
    let sends = backends.graph.requests();
    let reminders: Vec<_> = sends
        .iter()
        .filter(|s| s.text() == Some("⏰ Reminder: water the plants"))
        .collect();
    assert_eq!(reminders.len(), 1, "{sends:?}");
    assert_eq!(reminders[0].to(), Some(KIM));
    // The second publication reached the orchestrator and its inbox dropped it (not only the
    // reminder's own state, which the run's effect checks too).
    assert!(
        restarted
            .metric("alfred_messages_processed_total{result=\"duplicate\"}")
            .await
            >= 1,
        "the inbox dropped the run published again"
    );
    assert!(published.starts_with("reminder:1:"), "{published}");
    assert_eq!(
        runs,
        vec![published.clone(), published],
        "the same run, twice"
    );
}

#[actix_rt::test]
async fn a_reminder_due_in_quiet_hours_is_sent_at_their_end() {
    // Thursday 21:00 in Berlin; the Smiths' quiet hours start at 21:30, the Joneses have none.
    let app = TestApp::spawn_at("2026-11-26T20:00:00Z", &households(JONESES), Vec::new()).await;
    say(
        &app,
        DANA,
        "wamid.Q1",
        "remind me in 45 minutes to lock the door",
    )
    .await;
    say(
        &app,
        KIM,
        "wamid.Q2",
        "remind me in 45 minutes to feed the cat",
    )
    .await;

    app.set_clock("2026-11-26T21:00:00Z").await; // 22:00: both due, the Smiths' in quiet hours
    sent(&[&app], "⏰ Reminder: feed the cat").await;
    app.quiescent().await;
    let in_quiet_hours = count(&[&app], "⏰ Reminder: lock the door");
    app.set_clock("2026-11-27T06:30:10Z").await; // 07:30:10 on Friday: quiet hours are over
    sent(&[&app], "⏰ Reminder: lock the door").await;
    app.quiescent().await;

    assert_eq!(in_quiet_hours, 0, "held in quiet hours");
    assert_eq!(count(&[&app], "⏰ Reminder: lock the door"), 1);
}

#[actix_rt::test]
async fn a_reminder_for_sam_goes_to_sams_chat_as_the_template_outside_the_window() {
    let template = "[household.reminders]\n\
                    template = { name = \"family_reminder\", language = \"en_US\" }\n";
    let app = TestApp::spawn_at(START, &households(template), Vec::new()).await;

    let set = say(
        &app,
        DANA,
        "wamid.M1",
        "remind Sam in 2 minutes to put the bins out",
    )
    .await;
    say(
        &app,
        DANA,
        "wamid.M2",
        "remind me in 2 minutes to call grandma",
    )
    .await;
    app.set_clock("2026-11-26T08:02:30Z").await;
    let sends = app.backends.graph.wait_for_requests(4, DEADLINE).await;
    app.quiescent().await;

    assert_eq!(
        set,
        "⏰ OK, I'll remind Sam to put the bins out today at 09:02 (reminder 1)."
    );
    let to_sam: Vec<_> = sends.iter().filter(|s| s.to() == Some(SAM)).collect();
    assert_eq!(to_sam.len(), 1, "{sends:?}");
    // Sam never wrote: outside the 24-hour window, the approved template carries the text.
    let body = &to_sam[0].body;
    assert_eq!(body["type"], "template", "{body}");
    assert_eq!(body["template"]["name"], "family_reminder");
    assert_eq!(
        body["template"]["components"][0]["parameters"][0]["text"],
        "⏰ Sam, Dana asked me to remind you: put the bins out"
    );
    // Dana just wrote: free text to her.
    assert_eq!(count(&[&app], "⏰ Reminder: call grandma"), 1);
}

#[actix_rt::test]
async fn a_cancelled_reminder_is_not_sent() {
    let app = TestApp::spawn_at(START, &households(""), Vec::new()).await;
    say(
        &app,
        DANA,
        "wamid.C1",
        "remind me in 2 minutes to water the plants",
    )
    .await;
    say(
        &app,
        DANA,
        "wamid.C2",
        "remind me in 3 minutes to feed the cat",
    )
    .await;
    let cancelled = say(&app, DANA, "wamid.C3", "cancel reminder 1").await;

    app.set_clock("2026-11-26T08:05:00Z").await;
    sent(&[&app], "⏰ Reminder: feed the cat").await;
    app.quiescent().await;

    assert_eq!(cancelled, "Cancelled reminder 1: water the plants.");
    assert_eq!(count(&[&app], "⏰ Reminder: water the plants"), 0);
}

#[actix_rt::test]
async fn a_daily_reminder_comes_back_each_day_and_can_be_snoozed() {
    let app = TestApp::spawn_at(START, &households(""), Vec::new()).await;
    let set = say(
        &app,
        DANA,
        "wamid.D1",
        "remind me every day at 9:05 to take the pills",
    )
    .await;

    app.set_clock("2026-11-26T08:05:30Z").await;
    sent(&[&app], "⏰ Reminder: take the pills").await;
    let snoozed = say(&app, DANA, "wamid.D2", "snooze 10 min").await;
    app.set_clock("2026-11-26T08:16:00Z").await;
    eventually("the snoozed reminder", || async {
        (count(&[&app], "⏰ Reminder: take the pills") == 2).then_some(())
    })
    .await;
    app.set_clock("2026-11-27T08:05:30Z").await; // Friday 09:05:30
    eventually("Friday's reminder", || async {
        (count(&[&app], "⏰ Reminder: take the pills") == 3).then_some(())
    })
    .await;
    let listed = say(&app, DANA, "wamid.D3", "reminders").await;
    app.quiescent().await;

    assert_eq!(
        set,
        "⏰ OK, I'll remind you to take the pills every day at 09:05, first today at 09:05 (reminder 1)."
    );
    assert_eq!(
        snoozed,
        "⏰ Snoozed: I'll remind you again today at 09:15 — take the pills (reminder 2)."
    );
    assert_eq!(
        listed,
        "Reminders:\n1. take the pills — every day at 09:05, next tomorrow at 09:05"
    );
    assert_eq!(count(&[&app], "⏰ Reminder: take the pills"), 3);
}

#[actix_rt::test]
async fn todays_reminders_appear_in_the_briefing() {
    let app = TestApp::spawn_at(START, &households(""), Vec::new()).await;
    say(&app, DANA, "wamid.B1", "remind me at 5 to call grandma").await;
    say(
        &app,
        DANA,
        "wamid.B2",
        "remind Sam tomorrow at 7 to put the bins out",
    )
    .await;

    let briefing = say(&app, DANA, "wamid.B3", "briefing").await;

    assert!(
        briefing.ends_with("⏰ *Reminders*\n• 17:00 call grandma"),
        "only today's: {briefing}"
    );
}

/// `alfred chat --simulated-time`, its standard output collected as it comes.
struct Console {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Console {
    fn start() -> Console {
        use std::io::Read as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_alfred"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("INSTANCE", "home")
            .args(["chat", "--simulated-time"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let collected = output.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Console {
            child,
            stdin,
            output,
        }
    }

    fn type_line(&mut self, line: &str) {
        use std::io::Write as _;
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn shows(&self, text: &str) -> usize {
        self.output.lock().unwrap().matches(text).count()
    }

    async fn wait_for(&self, text: &str) {
        eventually(&format!("the console to show {text:?}"), || async {
            (self.shows(text) > 0).then_some(())
        })
        .await;
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[actix_rt::test]
async fn in_the_console_a_reminder_fires_when_the_simulated_clock_passes_its_time() {
    let mut console = Console::start();
    console.type_line("remind me in 2 hours to water the plants");
    console
        .wait_for("I'll remind you to water the plants")
        .await;
    console.type_line("remind me in 3 hours to feed the cat");
    console.wait_for("I'll remind you to feed the cat").await;

    console.type_line("/time +150m");
    console.wait_for("⏰ Reminder: water the plants").await;
    console.type_line("reminders");
    console.wait_for("2. feed the cat").await;

    assert_eq!(console.shows("⏰ Reminder: water the plants"), 1);
    assert_eq!(console.shows("⏰ Reminder: feed the cat"), 0, "not yet due");
}

#[actix_rt::test]
async fn a_reminder_the_llm_proposes_is_set_through_the_grammar_and_sent() {
    let llm = alfred_testkit::llm::FakeLlm::start().await;
    llm.answer_always(alfred_testkit::llm::Answer::tool(
        "reminders_add",
        serde_json::json!({"text": "water the plants", "when": "in 2 minutes"}),
    ));
    let mut vars = households("");
    vars.push(("OLLAMA_URL", llm.ollama_url()));
    vars.push(("INGEST_CLAIM_IDLE_MS", "10000".to_owned()));
    let app = TestApp::spawn_at(START, &vars, Vec::new()).await;

    let set = say(
        &app,
        DANA,
        "wamid.L1",
        "could you nudge me about the plants in a couple of minutes",
    )
    .await;
    app.set_clock("2026-11-26T08:02:30Z").await;
    sent(&[&app], "⏰ Reminder: water the plants").await;

    assert_eq!(
        set,
        "⏰ OK, I'll remind you to water the plants today at 09:02 (reminder 1)."
    );
    assert!(llm.requests()[0]
        .tool_names()
        .contains(&"reminders_add".to_owned()));
}
