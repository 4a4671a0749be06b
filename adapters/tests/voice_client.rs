//! The voice-note client against the fake Graph API's media endpoints and a fake
//! OpenAI-compatible transcriber: the token goes only to allowed hosts, and a transcription
//! server's answer that is not `{"text": …}` is a failure.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alfred_actors::voice::{VoiceClient, VoiceError, VoiceNote};
use alfred_adapters::allowlist::Allowlist;
use alfred_adapters::voice::GraphWhisper;
use alfred_config::TranscribeSettings;
use alfred_testkit::graph::{FakeGraph, MediaFile};
use alfred_testkit::transcribe::{FakeTranscriber, Heard};

const TOKEN: &str = "meta-token-0123456789";
const MEDIA_ID: &str = "987654321";

fn client(graph: &FakeGraph, transcriber: &FakeTranscriber) -> GraphWhisper {
    let settings = TranscribeSettings {
        base_url: transcriber.url(),
        api_key: None,
        model: "Systran/faster-whisper-small".to_owned(),
        max_bytes: 1_000_000,
        timeout: Duration::from_secs(10),
    };
    GraphWhisper::new(
        &graph.url(),
        "v21.0",
        &TOKEN.to_owned().into(),
        &settings,
        Allowlist::new(["127.0.0.1"]),
    )
    .unwrap()
}

fn note() -> VoiceNote {
    VoiceNote {
        media_id: MEDIA_ID.to_owned(),
        mime_type: Some("audio/ogg; codecs=opus".to_owned()),
        sha256: None,
    }
}

#[actix_web::test]
async fn a_voice_note_is_fetched_with_the_token_and_transcribed_without_a_key_when_none_is_set() {
    let graph = FakeGraph::start().await;
    let transcriber = FakeTranscriber::start().await;
    transcriber.answer_always(Heard::Text("add milk".to_owned()));
    graph.add_media(MEDIA_ID, MediaFile::voice_note(b"OggS-bytes".to_vec()));

    let heard = client(&graph, &transcriber)
        .transcribe(&note())
        .await
        .unwrap();

    assert_eq!(heard, "add milk");
    assert_eq!(graph.media_downloads()[0].bearer.as_deref(), Some(TOKEN));
    let asked = transcriber.requests();
    assert_eq!(asked[0].bearer, None, "no key configured, none sent");
    assert_eq!(
        asked[0].model.as_deref(),
        Some("Systran/faster-whisper-small")
    );
    assert!(asked[0]
        .content_type
        .starts_with("multipart/form-data; boundary="));
}

#[actix_web::test]
async fn a_media_url_on_a_host_outside_the_allowlist_is_never_sent_the_token() {
    let graph = FakeGraph::start().await;
    let transcriber = FakeTranscriber::start().await;
    graph.add_media(MEDIA_ID, MediaFile::voice_note(b"OggS-bytes".to_vec()));
    let port = graph.url().rsplit(':').next().unwrap().to_owned();
    graph.set_media_host(&format!("localhost:{port}"));

    let error = client(&graph, &transcriber)
        .transcribe(&note())
        .await
        .unwrap_err();

    assert!(matches!(error, VoiceError::Download(_)), "{error}");
    assert!(error.to_string().contains("localhost"), "{error}");
    assert!(graph.media_downloads().is_empty(), "nothing was requested");
    assert!(transcriber.requests().is_empty());
}

#[actix_web::test]
async fn an_unknown_media_id_or_a_server_error_is_a_failure_naming_only_the_status() {
    let graph = FakeGraph::start().await;
    let transcriber = FakeTranscriber::start().await;

    let missing = client(&graph, &transcriber)
        .transcribe(&note())
        .await
        .unwrap_err();
    assert!(matches!(missing, VoiceError::Download(_)), "{missing}");

    graph.add_media(MEDIA_ID, MediaFile::voice_note(b"OggS-bytes".to_vec()));
    transcriber.answer_always(Heard::Status(503));
    let failed = client(&graph, &transcriber)
        .transcribe(&note())
        .await
        .unwrap_err();
    assert_eq!(failed.label(), "failed");
    assert!(failed.to_string().contains("503"), "{failed}");
}
