//! How the briefing goes out: free text inside WhatsApp's 24-hour customer-service window,
//! the household's approved template (its name, language and parameters as configured)
//! outside it; and which texts ask for a briefing on demand.

mod briefing_support;

use alfred_actors::messages::{OutboundBody, Platform};
use alfred_actors::skill::{Reply, ReplyTo, SkillRoute};
use alfred_skills_home::briefing::{
    self, outbound, within_service_window, BriefingRoute, BriefingTemplate, Outbound, TemplateField,
};
use chrono::Duration;

use alfred_testkit::stores::TestStore;

use briefing_support::{berlin_at, Household};

fn template() -> BriefingTemplate {
    BriefingTemplate {
        name: "morning_briefing".to_owned(),
        language: "de_DE".to_owned(),
        parameters: vec![
            TemplateField::Date,
            TemplateField::Shopping,
            TemplateField::Chores,
            TemplateField::Reminders,
        ],
    }
}

/// The template parameters of the seeded household's briefing on Wednesday morning.
fn seeded_parameters() -> Vec<String> {
    vec![
        "Wednesday, 25 November 2026".to_owned(),
        "2 items: milk, 2 kg apples".to_owned(),
        "dishes (Sam), water plants".to_owned(),
        "laundry (Dana, 2 days overdue)".to_owned(),
    ]
}

#[test]
fn the_service_window_is_open_for_24_hours_after_a_persons_last_message() {
    let now = berlin_at(2026, 11, 25, 7, 0);

    assert!(within_service_window(
        Some(now - Duration::hours(23) - Duration::minutes(59)),
        now
    ));
    assert!(!within_service_window(Some(now - Duration::hours(24)), now));
    assert!(!within_service_window(Some(now - Duration::days(3)), now));
    assert!(
        !within_service_window(None, now),
        "nobody ever wrote: closed"
    );
    assert!(within_service_window(Some(now + Duration::minutes(5)), now));
}

async fn inside_the_window_the_briefing_is_free_text(store: &mut TestStore) {
    store.seed().await;
    let now = berlin_at(2026, 11, 25, 7, 0);
    let briefing = store.gather(now).await;

    let sent = outbound(&briefing, Platform::WhatsApp, true, Some(&template()));

    assert_eq!(sent, Outbound::Text(briefing::render::text(&briefing)));
}

async fn outside_the_window_the_configured_template_goes_out_with_its_parameters(
    store: &mut TestStore,
) {
    store.seed().await;
    let now = berlin_at(2026, 11, 25, 7, 0);
    let briefing = store.gather(now).await;

    let sent = outbound(&briefing, Platform::WhatsApp, false, Some(&template()));

    assert_eq!(
        sent,
        Outbound::Template {
            name: "morning_briefing".to_owned(),
            language: "de_DE".to_owned(),
            parameters: seeded_parameters(),
        }
    );
}

async fn template_parameters_say_when_there_is_nothing_or_a_source_failed(store: &mut TestStore) {
    store.break_chores().await;
    let briefing = store.gather(berlin_at(2026, 11, 25, 7, 0)).await;
    let only_list_and_chores = BriefingTemplate {
        parameters: vec![TemplateField::Shopping, TemplateField::Chores],
        ..template()
    };

    let sent = outbound(
        &briefing,
        Platform::WhatsApp,
        false,
        Some(&only_list_and_chores),
    );

    let Outbound::Template { parameters, .. } = sent else {
        panic!("expected the template, got {sent:?}");
    };
    assert_eq!(parameters, vec!["nothing to buy", "unavailable"]);
}

async fn template_parameters_are_single_short_lines(store: &mut TestStore) {
    let now = berlin_at(2026, 11, 25, 6, 0);
    for n in 0..40 {
        store
            .list("Sam", &format!("add item number {n}"), now)
            .await;
    }
    let briefing = store.gather(now).await;

    let Outbound::Template { parameters, .. } =
        outbound(&briefing, Platform::WhatsApp, false, Some(&template()))
    else {
        panic!("expected the template");
    };

    let shopping = &parameters[1];
    assert!(
        shopping.starts_with("40 items: item number 0, "),
        "{shopping}"
    );
    assert!(shopping.ends_with('…'), "{shopping}");
    assert!(shopping.chars().count() <= 200, "{shopping}");
    assert!(parameters
        .iter()
        .all(|p| !p.is_empty() && !p.contains(['\n', '\t']) && !p.contains("     ")));
}

async fn outside_the_window_without_a_template_free_text_is_still_attempted(store: &mut TestStore) {
    let briefing = store.gather(berlin_at(2026, 11, 25, 7, 0)).await;

    let sent = outbound(&briefing, Platform::WhatsApp, false, None);

    assert!(matches!(sent, Outbound::Text(text) if text.starts_with("Good morning!")));
}

async fn other_platforms_have_no_window(store: &mut TestStore) {
    let briefing = store.gather(berlin_at(2026, 11, 25, 7, 0)).await;

    let sent = outbound(&briefing, Platform::Console, false, Some(&template()));

    assert!(matches!(sent, Outbound::Text(_)));
}

async fn a_scheduled_briefing_is_text_within_24_hours_of_a_persons_message_and_the_template_after(
    store: &mut TestStore,
) {
    store.seed().await;
    let wrote = berlin_at(2026, 11, 24, 7, 30);
    store.dana_wrote(wrote).await;

    let inside = store
        .briefing_replies(wrote + Duration::hours(23), Some(template()))
        .await;
    let outside = store
        .briefing_replies(berlin_at(2026, 11, 25, 7, 30), Some(template()))
        .await;

    assert_eq!(inside.len(), 1);
    assert_eq!(inside[0].to, ReplyTo::Conversation);
    assert!(
        matches!(&inside[0].body, OutboundBody::Text { text } if text.starts_with("Good morning!")),
        "{inside:?}"
    );
    assert_eq!(
        outside,
        vec![Reply {
            to: ReplyTo::Conversation,
            body: OutboundBody::Template {
                name: "morning_briefing".to_owned(),
                language: "de_DE".to_owned(),
                parameters: seeded_parameters(),
            },
        }]
    );
}

async fn a_household_nobody_ever_wrote_in_gets_the_template(store: &mut TestStore) {
    let replies = store
        .briefing_replies(berlin_at(2026, 11, 25, 7, 0), Some(template()))
        .await;

    assert!(
        matches!(&replies[..], [Reply { body: OutboundBody::Template { name, .. }, .. }] if name == "morning_briefing"),
        "{replies:?}"
    );
}

alfred_testkit::for_both_stores! {
    in_memory: TestStore::in_memory(),
    on_postgres: TestStore::on_postgres().await,
    scenarios: [
        a_scheduled_briefing_is_text_within_24_hours_of_a_persons_message_and_the_template_after,
        a_household_nobody_ever_wrote_in_gets_the_template,
        inside_the_window_the_briefing_is_free_text,
        outside_the_window_the_configured_template_goes_out_with_its_parameters,
        template_parameters_say_when_there_is_nothing_or_a_source_failed,
        template_parameters_are_single_short_lines,
        outside_the_window_without_a_template_free_text_is_still_attempted,
        other_platforms_have_no_window,
    ],
}

#[test]
fn the_route_runs_the_briefing_job_and_answers_only_an_explicit_request() {
    let route = BriefingRoute;

    assert_eq!(route.jobs(), vec!["briefing"]);
    for asked in [
        "briefing",
        "Briefing?",
        "morning briefing",
        "the morning briefing please",
        "today's briefing",
    ] {
        assert!(route.understands(asked), "{asked:?} asks for the briefing");
    }
    for other in [
        "",
        "add briefing paper",
        "briefing at 8",
        "what's due today",
        "list",
    ] {
        assert!(
            !route.understands(other),
            "{other:?} is not for the briefing"
        );
    }
}

#[test]
fn template_fields_are_named_as_in_the_households_file() {
    let keys: Vec<&str> = TemplateField::ALL.iter().map(|f| f.key()).collect();

    assert_eq!(keys, vec!["date", "chores", "shopping", "reminders"]);
    assert_eq!(
        TemplateField::from_key("shopping"),
        Some(TemplateField::Shopping)
    );
    assert_eq!(TemplateField::from_key("weather"), None);
    assert_eq!(
        BriefingTemplate::new("morning_briefing", "en_US").parameters,
        TemplateField::ALL.to_vec()
    );
}
