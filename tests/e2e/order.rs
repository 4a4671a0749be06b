//! Conversation order after a retryable failure: when a message fails its first delivery (a
//! skill error, as a panic or a deadlock victim would give) and the next message of the same
//! conversation is right behind it, the later one must not be committed — nor its reply sent —
//! before the earlier one comes back and is handled.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use alfred_actors::access::Access;
use alfred_actors::skill::{
    GrammarRoute, ReplyOnly, Skill, SkillEntry, SkillError, SkillOutcome, SkillRequest,
};
use alfred_testkit::whatsapp;
use futures::future::BoxFuture;

use crate::helpers::*;

const DANA: &str = "4917011111111";

/// Answers "flaky X" with "done X", except that the first request for "flaky A" fails with a
/// retryable error.
struct Flaky {
    asked_for_a: Arc<AtomicUsize>,
}

impl Skill for Flaky {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let what = request.text.trim_start_matches("flaky ").to_owned();
        let first_a = what == "A" && self.asked_for_a.fetch_add(1, Ordering::SeqCst) == 0;
        Box::pin(async move {
            if first_a {
                return Err(SkillError {
                    reason: "a deadlock victim, this time".to_owned(),
                    permanent: false,
                });
            }
            Ok(SkillOutcome {
                effect: Box::new(ReplyOnly(vec![format!("done {what}")])),
            })
        })
    }
}

fn flaky(asked_for_a: Arc<AtomicUsize>) -> SkillEntry {
    let route = GrammarRoute::new("flaky", &["flaky A"], |text| text.starts_with("flaky "));
    SkillEntry::new(Arc::new(route), Access::Members, move || {
        Box::new(Flaky {
            asked_for_a: asked_for_a.clone(),
        })
    })
}

#[actix_rt::test]
async fn a_message_that_fails_its_first_delivery_is_answered_before_the_one_right_behind_it() {
    let asked_for_a = Arc::new(AtomicUsize::new(0));
    let app = TestApp::spawn_with(&[], vec![flaky(asked_for_a.clone())]).await;
    let body = whatsapp::Notification::new(PHONE_ID)
        .text(DANA, "Dana", "wamid.A", "flaky A")
        .text(DANA, "Dana", "wamid.B", "flaky B")
        .build();

    assert_eq!(app.post_signed(&body).await.status(), 200);
    let sends = app.backends.graph.wait_for_requests(2, DEADLINE).await;
    app.quiescent().await;

    let answered: Vec<(&str, &str)> = sends
        .iter()
        .map(|send| {
            (
                send.body["context"]["message_id"].as_str().unwrap(),
                send.body["text"]["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        answered,
        vec![("wamid.A", "done A"), ("wamid.B", "done B")],
        "A is answered first, though its first delivery failed"
    );
    assert_eq!(app.backends.graph.requests().len(), 2, "one reply each");
    assert_eq!(asked_for_a.load(Ordering::SeqCst), 2, "A failed once");
    // Committed in that order too: the outbox ids follow the commits.
    let outbox: Vec<(String, i64)> = app
        .backends
        .pg()
        .await
        .query("SELECT body->>'text', id FROM outbox ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let texts: Vec<&str> = outbox.iter().map(|(text, _)| text.as_str()).collect();
    assert_eq!(texts, vec!["done A", "done B"], "A's reply committed first");
}
