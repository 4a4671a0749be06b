//! Plain language through the optional LLM, asked at most once per message.
//!
//! Text no skill's grammar understands may go to the LLM (see [`crate::llm`]). Asking is slow,
//! may cost money and is not deterministic, so it happens at most once per platform message:
//!
//! * the store is asked first ([`Store::prior`](crate::store::Store::prior)): a message the
//!   inbox holds is not interpreted again (a duplicate webhook; its commit then finds it
//!   handled), and with Postgres down the look-up fails (Unavailable) before the LLM is asked,
//!   so a redelivery held during an outage does not ask again and again;
//! * an answer kept for the message (a redelivery after a failed commit) is used as it is;
//! * otherwise the sender's daily budget is spent (`LLM_DAILY_BUDGET`; beyond it: help,
//!   counted as `alfred_refused_total{reason="llm_budget"}`), the LLM asked, and its answer —
//!   the command it proposed, or that it had none — kept with the message
//!   ([`Store::keep_llm_answer`](crate::store::Store::keep_llm_answer)) before the effect
//!   commits.

use super::status::store_failure;
use super::{OrchestratorDeps, RoutedSkill};
use crate::bus::BusError;
use crate::llm::Llm;
use crate::messages::InboundEnvelope;
use crate::skill::SkillRoute;
use crate::store::{LlmAnswer, Prior};
use crate::stream_reader::DeliveryError;

/// Text the grammar cannot parse, put to the LLM when one is configured: the skill to ask and
/// the canonical command the LLM's tool call became, routed exactly as if typed. `None`
/// answers help.
pub(super) async fn plain_language<'a>(
    deps: &'a OrchestratorDeps,
    envelope: &InboundEnvelope,
    text: &str,
) -> Result<Option<(&'a RoutedSkill, String)>, DeliveryError> {
    let Some(llm) = deps.llm.as_ref() else {
        return Ok(None);
    };
    // Asking for help is not a request to interpret.
    if text.is_empty() || text.eq_ignore_ascii_case("help") {
        return Ok(None);
    }
    let answer = match deps
        .store
        .prior(envelope.platform, &envelope.message_id)
        .await
    {
        Ok(Prior::New) => match ask(deps, llm, envelope, text).await? {
            Some(answer) => answer,
            None => return Ok(None),
        },
        Ok(Prior::Interpreted(answer)) => {
            tracing::info!(outcome = %answer.outcome, "The LLM answered this message before; its answer is used again.");
            answer
        }
        // Handled meanwhile (by another replica): the commit will find it a duplicate.
        Ok(Prior::Handled) => return Ok(None),
        Err(error) => {
            let reason = format!("the look-up before asking the LLM failed: {error}");
            return Err(store_failure(reason, &error));
        }
    };
    let Some(command) = answer.command else {
        return Ok(None);
    };
    let skill = deps
        .skills
        .iter()
        .find(|skill| skill.route.understands(&command));
    Ok(skill.map(|skill| (skill, command)))
}

/// Asks the LLM within the sender's daily budget and keeps its answer with the message;
/// `None` when it was not asked (budget spent, no tools to offer).
async fn ask(
    deps: &OrchestratorDeps,
    llm: &Llm,
    envelope: &InboundEnvelope,
    text: &str,
) -> Result<Option<LlmAnswer>, DeliveryError> {
    let today = deps.clock.now().date_naive();
    let spent = deps
        .limiter
        .spend_llm_request(envelope.platform, &envelope.sender.id, today)
        .await;
    match spent {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!("The sender's LLM budget for today is spent; answering with help.");
            deps.metrics
                .refused
                .with_label_values(&["llm_budget"])
                .inc();
            return Ok(None);
        }
        Err(BusError::Unavailable(reason)) => {
            return Err(DeliveryError::Unavailable(format!(
                "the sender's LLM budget could not be checked: {reason}"
            )));
        }
        // As for the rate (see `gate`): a fault in a safeguard does not silence Alfred.
        Err(error) => {
            tracing::warn!(%error, "The sender's LLM budget could not be checked; asking anyway.");
        }
    }
    let routes: Vec<&dyn SkillRoute> = deps.skills.iter().map(|s| s.route.as_ref()).collect();
    let outcome = llm.consult(text, &routes).await;
    let Some(label) = outcome.label() else {
        return Ok(None);
    };
    deps.metrics.llm_requests.with_label_values(&[label]).inc();
    let answer = LlmAnswer {
        outcome: label.to_owned(),
        command: outcome.proposal().map(|proposal| proposal.command),
    };
    let kept = deps
        .store
        .keep_llm_answer(envelope.platform, &envelope.message_id, &answer)
        .await;
    if let Err(error) = kept {
        // The commit decides: it fails too if the store is gone (and the redelivery asks
        // again, the one case the promise cannot cover), or succeeds and nothing is lost.
        tracing::warn!(%error, "Could not keep the LLM's answer with the message.");
    }
    Ok(Some(answer))
}
