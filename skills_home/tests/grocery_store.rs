//! GroceryService effects applied to both stores: a real Postgres database (one per test, with
//! every migration applied) and the in-memory store of ephemeral mode. Every scenario
//! runs on both, as `pg::<scenario>` and `mem::<scenario>`. The list's newer behaviours
//! (merging units, check-off, undo, aisles) are in `grocery_lists.rs`.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use alfred_actors::store::{MemSlot, MemTx, StoreError};
use alfred_skills_home::grocery::{self, GroceryState};
use alfred_testkit::request::skill_request;
use alfred_testkit::stores::TestStore;

use support::{dana, effect, reject_item_named, rows, sam, Grocery};

/// Applies `text` as `who` in household `home` and commits; the reply.
async fn say(store: &mut TestStore, who: grocery::Who, text: &str) -> String {
    store.say(who, text).await
}

async fn adding_an_item_again_in_the_same_unit_sums_the_quantity(store: &mut TestStore) {
    assert_eq!(
        say(store, dana(), "add 3 bananas").await,
        "Added 3 bananas to the shopping list."
    );
    assert_eq!(
        say(store, sam(), "add 2 Bananas").await,
        "Bananas: now 5 on the list."
    );
    assert_eq!(
        say(store, sam(), "add 1.5 kg apples").await,
        "Added 1.5 kg apples to the shopping list."
    );
    assert_eq!(
        say(store, sam(), "add 500 g apples and 0.25 kg apples").await,
        "Apples: now 2.25 kg on the list."
    );
    assert_eq!(
        say(store, dana(), "list").await,
        "Shopping list (2 items):\n*Produce*\n• 5 bananas (Dana)\n• 2.25 kg apples (Sam)"
    );
}

async fn an_item_without_a_quantity_is_listed_once(store: &mut TestStore) {
    say(store, dana(), "add milk").await;
    assert_eq!(
        say(store, sam(), "add Milk and eggs").await,
        "Added eggs to the shopping list. Milk is already on the list."
    );
    assert_eq!(
        say(store, sam(), "add milk, eggs").await,
        "Milk and eggs are already on the list."
    );
    assert_eq!(
        say(store, sam(), "add 2 milk").await,
        "Milk: now 2 on the list."
    );
    assert_eq!(
        say(store, dana(), "show the list").await,
        "Shopping list (2 items):\n*Dairy & eggs*\n• 2 milk (Dana)\n• eggs (Sam)"
    );
}

async fn the_list_shows_each_item_in_order_with_who_added_it(store: &mut TestStore) {
    assert_eq!(
        say(store, dana(), "add milk, eggs and 2 kg apples").await,
        "Added milk, eggs and 2 kg apples to the shopping list."
    );
    say(store, sam(), "put a bottle of wine on the list").await;
    assert_eq!(
        say(store, sam(), "what's on the list?").await,
        "Shopping list (4 items):\n*Produce*\n• 2 kg apples (Dana)\n*Dairy & eggs*\n• milk (Dana)\n• eggs (Dana)\n*Drinks*\n• 1 bottle of wine (Sam)"
    );
}

async fn an_empty_list_says_so(store: &mut TestStore) {
    assert_eq!(
        say(store, dana(), "list").await,
        "The shopping list is empty."
    );
}

async fn removing_deletes_every_unit_and_names_what_was_missing(store: &mut TestStore) {
    say(store, dana(), "add 2 kg apples, 3 apples, milk and eggs").await;
    assert_eq!(
        say(store, sam(), "remove apple, cheese and milk").await,
        "Removed 2 kg apples, 3 apples and milk from the shopping list. Cheese isn't on the list. 1 item left."
    );
    assert_eq!(
        say(store, sam(), "delete cheese and ham").await,
        "Cheese and ham aren't on the list."
    );
    assert_eq!(
        say(store, sam(), "take EGGS off the list").await,
        "Removed eggs from the shopping list. The shopping list is now empty."
    );
    assert_eq!(
        say(store, dana(), "list").await,
        "The shopping list is empty."
    );
}

async fn clearing_empties_only_this_households_list(store: &mut TestStore) {
    say(store, dana(), "add milk and eggs").await;
    store
        .apply(effect("neighbours", sam(), "add bread"))
        .await
        .unwrap();
    assert_eq!(
        say(store, dana(), "clear the list").await,
        "Cleared the shopping list (2 items removed)."
    );
    assert_eq!(
        say(store, dana(), "clear the list").await,
        "The shopping list is already empty."
    );
    assert_eq!(
        say(store, dana(), "list").await,
        "The shopping list is empty."
    );
    assert_eq!(
        store
            .apply(effect("neighbours", sam(), "list"))
            .await
            .unwrap(),
        "Shopping list (1 item):\n*Bakery*\n• bread (Sam)"
    );
}

async fn sums_stop_at_the_largest_quantity(store: &mut TestStore) {
    for _ in 0..10 {
        say(store, dana(), "add 100000 bananas").await;
    }
    assert_eq!(
        say(store, dana(), "add 100000 bananas").await,
        "Bananas: now 1000000 on the list."
    );
}

async fn the_skill_records_the_sender_and_falls_back_to_their_id(store: &mut TestStore) {
    let request = skill_request("add tea")
        .from("447700900003", None)
        .message_id("wamid.1")
        .at(support::now())
        .build();
    let outcome = grocery::skill().handle(request).await.unwrap();
    assert_eq!(
        store.apply(outcome.effect).await.unwrap(),
        "Added tea to the shopping list."
    );
    assert_eq!(
        say(store, dana(), "list").await,
        "Shopping list (1 item):\n*Pantry*\n• tea (447700900003)"
    );
}

alfred_testkit::for_both_stores! {
    in_memory: TestStore::in_memory(),
    on_postgres: TestStore::on_postgres().await,
    scenarios: [
        adding_an_item_again_in_the_same_unit_sums_the_quantity,
        an_item_without_a_quantity_is_listed_once,
        the_list_shows_each_item_in_order_with_who_added_it,
        an_empty_list_says_so,
        removing_deletes_every_unit_and_names_what_was_missing,
        clearing_empties_only_this_households_list,
        sums_stop_at_the_largest_quantity,
        the_skill_records_the_sender_and_falls_back_to_their_id,
    ],
}

#[tokio::test]
async fn postgres_holds_the_rows_the_replies_describe() {
    let mut store = TestStore::on_postgres().await;
    say(&mut store, dana(), "add milk, 2 kg Apples and 3 bananas").await;
    say(&mut store, sam(), "add 1 kg apples and 2 bananas").await;

    let rows = rows(store.db().unwrap(), "home").await;
    assert_eq!(
        rows,
        vec![
            (
                "milk".to_owned(),
                "milk".to_owned(),
                None,
                String::new(),
                "447700900001".to_owned(),
                "Dana".to_owned()
            ),
            (
                "appl".to_owned(),
                "Apples".to_owned(),
                Some("3.000".to_owned()),
                "kg".to_owned(),
                "447700900001".to_owned(),
                "Dana".to_owned()
            ),
            (
                "banana".to_owned(),
                "bananas".to_owned(),
                Some("5.000".to_owned()),
                String::new(),
                "447700900001".to_owned(),
                "Dana".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn a_failing_add_in_postgres_leaves_no_partial_change() {
    let mut store = TestStore::on_postgres().await;
    say(&mut store, dana(), "add 2 milk").await;
    reject_item_named(store.db().unwrap(), "poison").await;

    let result = store
        .apply(effect("home", sam(), "add 3 milk, eggs and poison"))
        .await;

    assert!(matches!(result, Err(StoreError::Db(_))), "{result:?}");
    assert_eq!(
        say(&mut store, dana(), "list").await,
        "Shopping list (1 item):\n*Dairy & eggs*\n• 2 milk (Dana)"
    );
}

#[tokio::test]
async fn an_in_memory_slot_of_another_type_fails_the_effect_and_is_left_alone() {
    let foreign: Box<dyn MemSlot> = Box::new(7u32);
    let mut store = TestStore::Mem(MemTx::new([(grocery::SLOT, foreign)].into_iter().collect()));

    let result = store.apply(effect("home", dana(), "add milk")).await;

    assert!(matches!(result, Err(StoreError::Other(_))), "{result:?}");
    let TestStore::Mem(mem) = &mut store else {
        unreachable!()
    };
    assert_eq!(*mem.slot::<u32>(grocery::SLOT).unwrap(), 7);
}

#[tokio::test]
async fn in_memory_state_can_be_read_back_per_household() {
    let mut store = TestStore::in_memory();
    say(&mut store, dana(), "add milk and 2 kg apples").await;
    let TestStore::Mem(mem) = &mut *store else {
        unreachable!()
    };
    let state = mem.slot::<GroceryState>(grocery::SLOT).unwrap();
    let items: Vec<String> = state
        .items("home")
        .iter()
        .map(|item| item.render())
        .collect();
    assert_eq!(items, ["milk", "2 kg apples"]);
    assert!(state.items("elsewhere").is_empty());
}
