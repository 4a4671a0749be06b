//! Voice notes end to end: a WhatsApp `audio` message is fetched from the (fake) Graph API's
//! media endpoints, transcribed by a fake OpenAI-compatible `/audio/transcriptions`, and its
//! transcript handled like typed text, against real Redis and Postgres. The reply says what
//! was heard; a redelivery never transcribes again; a transcription server that fails, is
//! absent or is not configured gets a clear reply; a file over the cap is refused unread.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::graph::{MediaFile, RecordedRequest};
use alfred_testkit::transcribe::{FakeTranscriber, Heard};
use alfred_testkit::whatsapp::Notification;

use crate::helpers::*;

const DANA: &str = "4917011111111";
const MEDIA_ID: &str = "1467382016578900";
const FAILED: &str = "I couldn't make out that voice note — could you type it?";
const UNCONFIGURED: &str = "I can't listen to voice notes here yet — please type it.";

/// Bytes that stand for an OGG/Opus voice note (the fakes never decode them).
fn ogg(len: usize) -> Vec<u8> {
    let mut bytes = b"OggS\x00\x02".to_vec();
    bytes.extend((0..len.saturating_sub(6)).map(|i| (i % 251) as u8));
    bytes
}

/// An Alfred whose voice notes go to `transcriber` (`extra` adds settings). The claim time is
/// above the transcription timeout, so a slow transcription is not taken for a dead consumer.
async fn spawn_listening(transcriber: &FakeTranscriber, extra: &[(&str, String)]) -> TestApp {
    let mut vars = vec![
        ("TRANSCRIBE_URL", transcriber.url()),
        ("TRANSCRIBE_API_KEY", "sk-voice-e2e".to_owned()),
        ("TRANSCRIBE_TIMEOUT_MS", "3000".to_owned()),
        ("INGEST_CLAIM_IDLE_MS", "10000".to_owned()),
    ];
    vars.extend(extra.iter().cloned());
    TestApp::spawn_with(&vars, Vec::new()).await
}

/// The signed webhook of Dana's voice note `wamid`, whose file is `MEDIA_ID` with `file`'s
/// checksum.
fn voice_note(wamid: &str, file: &MediaFile) -> String {
    Notification::new(PHONE_ID)
        .voice_note(DANA, "Dana", wamid, MEDIA_ID, &file.sha256)
        .build()
}

/// Alfred's replies to `wamid` so far.
fn replies_to(app: &TestApp, wamid: &str) -> Vec<RecordedRequest> {
    app.backends
        .graph
        .requests()
        .into_iter()
        .filter(|send| send.reply_to() == Some(wamid))
        .collect()
}

/// Posts Dana's voice note and returns the text of Alfred's one reply to it.
async fn send_voice_note(app: &TestApp, wamid: &str, file: &MediaFile) -> String {
    app.post_signed(&voice_note(wamid, file)).await;
    let reply = eventually("Alfred's reply to the voice note", || async {
        replies_to(app, wamid).into_iter().next()
    })
    .await;
    reply.text().unwrap_or_default().to_owned()
}

async fn transcriptions(app: &TestApp, outcome: &str) -> u64 {
    app.metric(&format!(
        "alfred_transcriptions_total{{outcome=\"{outcome}\"}}"
    ))
    .await
}

async fn kept_transcripts(app: &TestApp) -> Vec<String> {
    app.backends
        .pg()
        .await
        .query(
            "SELECT transcript FROM transcripts ORDER BY message_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[actix_rt::test]
async fn a_voice_note_saying_add_milk_puts_milk_on_the_list_and_the_reply_says_what_was_heard() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("Add milk.".to_owned()));
    let app = spawn_listening(&transcriber, &[]).await;
    let file = MediaFile::voice_note(ogg(4_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V1", &file).await;

    assert!(
        text.starts_with("🎤 \"Add milk.\" →"),
        "the reply says what was heard: {text}"
    );
    assert!(text.to_lowercase().contains("milk"), "{text}");
    assert_eq!(app.backends.grocery_items().await, vec!["milk"]);
    // The media was asked for and downloaded with the bearer token.
    let lookups = app.backends.graph.media_lookups();
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].media_id, MEDIA_ID);
    assert_eq!(lookups[0].bearer.as_deref(), Some(META_TOKEN));
    let downloads = app.backends.graph.media_downloads();
    assert_eq!(downloads.len(), 1);
    assert_eq!(downloads[0].bearer.as_deref(), Some(META_TOKEN));
    // The OGG/Opus bytes went to the transcriber as they came, in OpenAI's form.
    let asked = transcriber.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].bearer.as_deref(), Some("sk-voice-e2e"));
    assert_eq!(asked[0].model.as_deref(), Some("whisper-1"));
    assert_eq!(asked[0].response_format.as_deref(), Some("json"));
    assert_eq!(asked[0].filename.as_deref(), Some("voice.ogg"));
    assert_eq!(asked[0].file_content_type.as_deref(), Some("audio/ogg"));
    assert_eq!(asked[0].file.as_deref(), Some(file.bytes.as_slice()));
    // Only the transcript is kept with the message.
    assert_eq!(kept_transcripts(&app).await, vec!["Add milk."]);
    assert_eq!(transcriptions(&app, "transcribed").await, 1);
}

#[actix_rt::test]
async fn the_same_webhook_delivered_twice_transcribes_once_and_is_answered_once() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("add milk".to_owned()));
    // Without the rate limit the gate does not look the message up: the voice path's own
    // look-up (and the kept transcript) must keep the second delivery from transcribing.
    let app = spawn_listening(
        &transcriber,
        &[("SENDER_RATE_PER_MINUTE", "off".to_owned())],
    )
    .await;
    let file = MediaFile::voice_note(ogg(2_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());
    let body = voice_note("wamid.V2", &file);

    app.post_signed(&body).await;
    app.post_signed(&body).await;

    eventually("the reply", || async {
        replies_to(&app, "wamid.V2").into_iter().next()
    })
    .await;
    app.quiescent().await;
    assert_eq!(transcriber.requests().len(), 1, "transcribed once");
    assert_eq!(app.backends.graph.media_downloads().len(), 1);
    assert_eq!(replies_to(&app, "wamid.V2").len(), 1, "answered once");
    assert_eq!(app.backends.grocery_items().await, vec!["milk"]);
}

#[actix_rt::test]
async fn a_transcript_kept_by_an_earlier_attempt_is_used_without_fetching_or_transcribing() {
    // An earlier delivery transcribed the note and kept the transcript, then its commit failed
    // (a crash, a deadlock victim): the redelivery must not download or transcribe again.
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("add bananas".to_owned()));
    let app = spawn_listening(&transcriber, &[]).await;
    let file = MediaFile::voice_note(ogg(2_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());
    app.backends
        .pg()
        .await
        .execute(
            "INSERT INTO transcripts (platform, message_id, transcript) \
             VALUES ('whatsapp', 'wamid.V3', 'add milk')",
            &[],
        )
        .await
        .unwrap();

    let text = send_voice_note(&app, "wamid.V3", &file).await;

    assert!(text.starts_with("🎤 \"add milk\" →"), "{text}");
    assert_eq!(app.backends.grocery_items().await, vec!["milk"]);
    assert!(transcriber.requests().is_empty(), "not transcribed again");
    assert!(app.backends.graph.media_lookups().is_empty(), "not fetched");
    assert_eq!(transcriptions(&app, "reused").await, 1);
}

#[actix_rt::test]
async fn a_failing_transcription_server_gets_a_clear_reply_and_changes_nothing() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Status(500));
    let app = spawn_listening(&transcriber, &[]).await;
    let file = MediaFile::voice_note(ogg(2_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V4", &file).await;

    assert_eq!(text, FAILED);
    assert_eq!(transcriber.requests().len(), 1);
    assert!(app.backends.grocery_items().await.is_empty());
    assert!(kept_transcripts(&app).await.is_empty());
    assert_eq!(transcriptions(&app, "failed").await, 1);
}

#[actix_rt::test]
async fn a_transcription_server_that_is_not_there_gets_a_clear_reply() {
    let app = TestApp::spawn_with(
        &[
            (
                "TRANSCRIBE_URL",
                format!("http://127.0.0.1:{}/v1", alfred_testkit::free_port()),
            ),
            ("TRANSCRIBE_TIMEOUT_MS", "3000".to_owned()),
            ("INGEST_CLAIM_IDLE_MS", "10000".to_owned()),
        ],
        Vec::new(),
    )
    .await;
    let file = MediaFile::voice_note(ogg(2_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V5", &file).await;

    assert_eq!(text, FAILED);
    assert_eq!(transcriptions(&app, "failed").await, 1);
}

#[actix_rt::test]
async fn without_a_transcription_server_configured_a_voice_note_gets_a_short_reply() {
    let app = TestApp::spawn().await;
    let file = MediaFile::voice_note(ogg(2_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V6", &file).await;

    assert_eq!(text, UNCONFIGURED);
    assert!(
        app.backends.graph.media_lookups().is_empty(),
        "nothing is fetched"
    );
    assert_eq!(transcriptions(&app, "unconfigured").await, 1);
}

#[actix_rt::test]
async fn a_voice_note_over_the_cap_is_refused_without_downloading_or_storing_it() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("add milk".to_owned()));
    let app = spawn_listening(
        &transcriber,
        &[("TRANSCRIBE_MAX_BYTES", "10000".to_owned())],
    )
    .await;
    let file = MediaFile::voice_note(ogg(50_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V7", &file).await;

    assert!(text.contains("too long"), "{text}");
    assert_eq!(app.backends.graph.media_lookups().len(), 1);
    assert!(
        app.backends.graph.media_downloads().is_empty(),
        "refused by its announced size"
    );
    assert!(transcriber.requests().is_empty());
    assert!(kept_transcripts(&app).await.is_empty());
    assert!(app.backends.grocery_items().await.is_empty());
    assert_eq!(transcriptions(&app, "too_large").await, 1);
}

#[actix_rt::test]
async fn a_voice_note_larger_than_it_announced_is_cut_off_while_downloading() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("add milk".to_owned()));
    let app = spawn_listening(
        &transcriber,
        &[("TRANSCRIBE_MAX_BYTES", "10000".to_owned())],
    )
    .await;
    let mut file = MediaFile::voice_note(ogg(50_000));
    file.file_size = 1_000;
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V8", &file).await;

    assert!(text.contains("too long"), "{text}");
    assert_eq!(app.backends.graph.media_downloads().len(), 1);
    assert!(transcriber.requests().is_empty());
    assert_eq!(transcriptions(&app, "too_large").await, 1);
}

#[actix_rt::test]
async fn a_download_that_does_not_match_metas_checksum_is_not_transcribed() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("add milk".to_owned()));
    let app = spawn_listening(&transcriber, &[]).await;
    let mut file = MediaFile::voice_note(ogg(2_000));
    file.sha256 = hex::encode([7u8; 32]);
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V9", &file).await;

    assert_eq!(text, FAILED);
    assert!(transcriber.requests().is_empty());
    assert!(app.backends.grocery_items().await.is_empty());
    assert_eq!(transcriptions(&app, "checksum_mismatch").await, 1);
}

#[actix_rt::test]
async fn a_biz_whatsapp_number_hears_voice_notes_too_and_its_access_rules_still_apply() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("Deals over 1000.".to_owned()));
    let app = spawn_listening(
        &transcriber,
        &[
            ("INSTANCE", "biz".to_owned()),
            ("CRM_READERS", format!("+{DANA}")),
        ],
    )
    .await;
    app.backends
        .pg()
        .await
        .batch_execute(
            "WITH company AS (INSERT INTO companies (name_key, name) VALUES ('globex', 'Globex') \
             RETURNING id) \
             INSERT INTO deals (company_id, name_key, name, stage, open, amount, currency) \
             SELECT id, 'big renewal', 'Big Renewal', 'proposal', true, 5000, 'EUR' FROM company",
        )
        .await
        .unwrap();
    let file = MediaFile::voice_note(ogg(2_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.B1", &file).await;

    assert!(text.starts_with("🎤 \"Deals over 1000.\" →"), "{text}");
    assert!(
        text.contains("Big Renewal") && text.contains("Globex"),
        "a CRM reader's spoken question is answered like a typed one: {text}"
    );
    assert_eq!(transcriber.requests().len(), 1);
}

#[actix_rt::test]
async fn a_transcript_longer_than_the_text_cap_is_not_acted_on() {
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text(
        "add milk and eggs and bread and butter and cheese".to_owned(),
    ));
    let app = spawn_listening(&transcriber, &[("MAX_TEXT_CHARS", "20".to_owned())]).await;
    let file = MediaFile::voice_note(ogg(2_000));
    app.backends.graph.add_media(MEDIA_ID, file.clone());

    let text = send_voice_note(&app, "wamid.V10", &file).await;

    assert!(text.contains("at most 20 characters"), "{text}");
    assert!(app.backends.grocery_items().await.is_empty());
    assert_eq!(
        app.metric("alfred_refused_total{reason=\"too_long\"}")
            .await,
        1
    );
}
