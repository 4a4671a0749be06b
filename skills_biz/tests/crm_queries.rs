//! The CRM's questions answered from the sample export, on Postgres (`pg::<scenario>`) and in
//! memory (`mem::<scenario>`) alike.

mod crm_support;

use alfred_testkit::stores::TestStore;

use crm_support::{with_sample, Crm};

async fn a_contact_is_found_by_full_name_by_email_and_by_one_name(store: &mut TestStore) {
    assert_eq!(
        store.ask("who is Jane Doe?").await,
        "Jane Doe <jane@acme.com>, Acme (2 open deals)"
    );
    assert_eq!(
        store.ask("contact BOB@acme.com").await,
        "Bob Stone <bob@acme.com>, Acme (2 open deals)"
    );
    assert_eq!(
        store.ask("who is doe").await,
        "Jane Doe <jane@acme.com>, Acme (2 open deals)\nJohn Doe, Globex (1 open deal)"
    );
    assert_eq!(
        store.ask("who is Max Power").await,
        "I have no contact matching Max Power."
    );
}

async fn a_companys_open_deals_leave_out_won_deals(store: &mut TestStore) {
    assert_eq!(
        store.ask("open deals for acme").await,
        "Open deals for Acme:\n\
         • Acme renewal: negotiation, 12,000 EUR, closes 2026-11-27, owner Jane\n\
         • Acme expansion: proposal, 8,000.50 USD, closes 2026-12-15, owner Max"
    );
    assert_eq!(
        store.ask("open deals for Initech").await,
        "Initech has no open deals."
    );
    assert_eq!(
        store.ask("open deals at Umbrella").await,
        "I have no company called Umbrella."
    );
}

async fn deals_closing_this_week_and_month_follow_the_local_calendar(store: &mut TestStore) {
    assert_eq!(
        store.ask("deals closing this week").await,
        "Open deals closing this week (2026-11-23 to 2026-11-29):\n\
         • Acme — Acme renewal: negotiation, 12,000 EUR, closes 2026-11-27, owner Jane"
    );
    assert_eq!(
        store.ask("closing this month").await,
        "Open deals closing this month (2026-11-01 to 2026-11-30):\n\
         • Acme — Acme renewal: negotiation, 12,000 EUR, closes 2026-11-27, owner Jane"
    );
}

async fn deals_over_an_amount_compare_exactly_and_by_currency_when_given(store: &mut TestStore) {
    assert_eq!(
        store.ask("deals over 10k").await,
        "Open deals over 10,000:\n\
         • Acme — Acme renewal: negotiation, 12,000 EUR, closes 2026-11-27, owner Jane\n\
         • Globex — Globex deal: lead, 20,000 EUR, owner Max"
    );
    assert_eq!(
        store.ask("deals over 10,000 USD").await,
        "No open deals over 10,000 USD."
    );
    assert_eq!(
        store.ask("deals over 8000.49 usd").await,
        "Open deals over 8,000.49 USD:\n\
         • Acme — Acme expansion: proposal, 8,000.50 USD, closes 2026-12-15, owner Max"
    );
    assert_eq!(
        store.ask("deals over 8000.50 USD").await,
        "No open deals over 8,000.50 USD."
    );
}

async fn my_deals_are_the_open_deals_of_the_owner_mapped_to_my_slack_user(store: &mut TestStore) {
    assert_eq!(
        store.ask_as("U456", "my deals").await,
        "Your open deals (Max):\n\
         • Acme — Acme expansion: proposal, 8,000.50 USD, closes 2026-12-15, owner Max\n\
         • Globex — Globex deal: lead, 20,000 EUR, owner Max"
    );
    assert!(store
        .ask_as("U999", "my deals")
        .await
        .starts_with("I don't know which deal owner you are"));
}

alfred_testkit::for_both_stores! {
    in_memory: with_sample(TestStore::in_memory()).await,
    on_postgres: with_sample(TestStore::on_postgres().await).await,
    scenarios: [
        a_contact_is_found_by_full_name_by_email_and_by_one_name,
        a_companys_open_deals_leave_out_won_deals,
        deals_closing_this_week_and_month_follow_the_local_calendar,
        deals_over_an_amount_compare_exactly_and_by_currency_when_given,
        my_deals_are_the_open_deals_of_the_owner_mapped_to_my_slack_user,
    ],
}
