//! A skill that panics: restarted under supervision, the rest keeps flowing, and the poison
//! message ends in the dead-letter stream.

use std::sync::Arc;

use alfred_actors::skill::SkillEntry;
use alfred_actors::skill::{ReplyOnly, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute};
use alfred_testkit::whatsapp;
use futures::future::BoxFuture;

use crate::helpers::*;

/// Understands only "poison", and panics on it.
struct PoisonRoute;

impl SkillRoute for PoisonRoute {
    fn name(&self) -> &'static str {
        "poison"
    }
    fn help(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn understands(&self, text: &str) -> bool {
        text.eq_ignore_ascii_case("poison")
    }
}

struct PoisonSkill;

impl Skill for PoisonSkill {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        if request.text.eq_ignore_ascii_case("poison") {
            panic!("the poison skill panics on purpose");
        }
        Box::pin(async {
            Ok(SkillOutcome {
                effect: Box::new(ReplyOnly(vec!["fine".to_owned()])),
            })
        })
    }
}

#[actix_rt::test]
async fn a_panicking_skill_is_restarted_others_are_answered_and_the_poison_is_dead_lettered() {
    let poison = SkillEntry {
        route: Arc::new(PoisonRoute),
        access: alfred_actors::access::Access::Members,
        factory: Arc::new(|| Box::new(PoisonSkill) as Box<dyn Skill>),
    };
    let app = TestApp::spawn_with(&[], vec![poison]).await;

    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        "15550009999",
        "Pat",
        "wamid.POISON",
        "poison",
    ))
    .await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        "15550001234",
        "Jo",
        "wamid.OK1",
        "add rice",
    ))
    .await;

    // The poison is delivered again until it is dead-lettered, so the skill may be between a
    // crash and its next start at any one look: wait for it to be running after a restart.
    eventually("skill/poison to be restarted and running again", || async {
        let actor = app.actor("skill/poison").await?;
        (actor["restarts"].as_u64()? >= 1 && actor["state"] == "running").then_some(())
    })
    .await;
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(
        sends[0].body["to"], "15550001234",
        "the other message is answered"
    );
    let dead = eventually("the poison message to be dead-lettered", || async {
        let entries = app.backends.stream_entries("alfred-ingest:dead").await;
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    let payload = &dead[0].iter().find(|(k, _)| k == "payload").unwrap().1;
    assert!(payload.contains("wamid.POISON"));
    app.quiescent().await;
    assert_eq!(
        app.backends.graph.requests().len(),
        1,
        "the poison message is never answered twice or at all"
    );
}
