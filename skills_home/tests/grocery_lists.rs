//! The shopping list a family keeps using, on both stores (`pg::<scenario>` on a database of
//! its own, `mem::<scenario>` on the in-memory store): amounts summed across units, check-off
//! and "clear bought", aisles, two members sharing one household's list, and undo.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use alfred_testkit::stores::TestStore;

use support::{dana, effect, sam, Grocery};

async fn kilograms_and_grams_are_summed_into_one_line(store: &mut TestStore) {
    assert_eq!(
        store.say(dana(), "add 2 kg apples").await,
        "Added 2 kg apples to the shopping list."
    );
    assert_eq!(
        store.say(sam(), "add 500 g apples").await,
        "Apples: now 2.5 kg on the list."
    );
    assert_eq!(
        store.say(sam(), "add 1 l milk and 250 ml milk").await,
        "Added 1.25 l milk to the shopping list."
    );
    assert_eq!(
        store.say(dana(), "add 750 ml milk").await,
        "Milk: now 2 l on the list."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (2 items):\n*Produce*\n• 2.5 kg apples (Dana)\n*Dairy & eggs*\n• 2 l milk (Sam)"
    );
}

async fn amounts_in_units_that_do_not_convert_are_kept_apart(store: &mut TestStore) {
    store.say(dana(), "add 2 kg apples").await;
    assert_eq!(
        store.say(sam(), "add 3 apples").await,
        "Added 3 apples (you also have 2 kg apples on the list)."
    );
    assert_eq!(
        store.say(sam(), "add apples x2").await,
        "Apples: now 5 on the list."
    );
    assert_eq!(
        store.say(dana(), "add apples").await,
        "2 kg apples is already on the list."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (2 items):\n*Produce*\n• 2 kg apples (Dana)\n• 5 apples (Sam)"
    );
}

async fn a_dozen_and_six_make_eighteen(store: &mut TestStore) {
    assert_eq!(
        store.say(dana(), "add a dozen eggs").await,
        "Added 12 eggs to the shopping list."
    );
    assert_eq!(
        store.say(sam(), "add 6 eggs").await,
        "Eggs: now 18 on the list."
    );
    assert_eq!(
        store.say(sam(), "add half a dozen eggs").await,
        "Eggs: now 24 on the list."
    );
}

async fn a_checked_off_item_stays_ticked_until_what_was_bought_is_cleared(store: &mut TestStore) {
    store.say(dana(), "add milk, eggs and bread").await;
    assert_eq!(
        store.say(sam(), "got milk").await,
        "Ticked off milk. 2 items left to buy."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (3 items, 1 bought):\n*Dairy & eggs*\n✓ ~milk~ (Dana)\n• eggs (Dana)\n*Bakery*\n• bread (Dana)"
    );
    assert_eq!(
        store.say(dana(), "bought eggs and milk").await,
        "Ticked off eggs. Milk was already ticked off. 1 item left to buy."
    );
    assert_eq!(
        store.say(dana(), "check off cheese").await,
        "Cheese isn't on the list."
    );
    assert_eq!(
        store.say(sam(), "clear what we bought").await,
        "Cleared 2 bought items (milk and eggs). 1 item left."
    );
    assert_eq!(
        store.say(sam(), "clear bought").await,
        "Nothing on the list is ticked off."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (1 item):\n*Bakery*\n• bread (Dana)"
    );
}

async fn buying_part_of_a_line_ticks_that_part_off_and_keeps_the_rest(store: &mut TestStore) {
    store.say(dana(), "add 2 kg apples and 3 apples").await;
    assert_eq!(
        store.say(sam(), "got 500 g apples").await,
        "Ticked off 500 g apples. Apples: 1.5 kg still to buy. 2 items left to buy."
    );
    let list = store.say(dana(), "list").await;
    assert!(list.contains("✓ ~500 g apples~ (Dana)"), "{list}");
    assert!(list.contains("• 1.5 kg apples (Dana)"), "{list}");
    assert!(
        list.contains("• 3 apples (Dana)"),
        "only the kilograms: {list}"
    );

    // The rest of the kilograms, then undo of that: the open line comes back, nothing else.
    assert_eq!(
        store.say(sam(), "got 1.5 kg apples").await,
        "Ticked off 1.5 kg apples. 1 item left to buy."
    );
    store.say(sam(), "undo").await;
    let list = store.say(dana(), "list").await;
    assert!(list.contains("• 1.5 kg apples (Dana)"), "{list}");

    // Undo of the partial purchase restores the 2 kg line and drops the part bought.
    store.say(sam(), "undo").await;
    let list = store.say(dana(), "list").await;
    assert!(list.contains("• 2 kg apples (Dana)"), "{list}");
    assert!(!list.contains("500 g"), "{list}");
}

async fn buying_again_adds_a_new_line_next_to_the_ticked_one(store: &mut TestStore) {
    store.say(dana(), "add 2 kg apples").await;
    store.say(sam(), "I got the apples").await;
    assert_eq!(
        store.say(sam(), "add 1 kg apples").await,
        "Added 1 kg apples to the shopping list."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (2 items, 1 bought):\n*Produce*\n✓ ~2 kg apples~ (Dana)\n• 1 kg apples (Sam)"
    );
    assert_eq!(
        store.say(dana(), "remove apples").await,
        "Removed 2 kg apples and 1 kg apples from the shopping list. The shopping list is now empty."
    );
}

async fn the_list_is_grouped_by_aisle_with_who_added_each_item(store: &mut TestStore) {
    store
        .say(
            dana(),
            "add toilet paper, 2 kg apples, milk and birthday candles",
        )
        .await;
    store
        .say(
            sam(),
            "add frozen peas, sourdough bread, chicken breasts, rice",
        )
        .await;
    store.say(sam(), "add orange juice and a dozen eggs").await;
    assert_eq!(
        store.say(dana(), "what's on the list?").await,
        "Shopping list (10 items):\n\
         *Produce*\n• 2 kg apples (Dana)\n\
         *Dairy & eggs*\n• milk (Dana)\n• 12 eggs (Sam)\n\
         *Bakery*\n• sourdough bread (Sam)\n\
         *Meat & fish*\n• chicken breasts (Sam)\n\
         *Pantry*\n• rice (Sam)\n\
         *Frozen*\n• frozen peas (Sam)\n\
         *Drinks*\n• orange juice (Sam)\n\
         *Household*\n• toilet paper (Dana)\n\
         *Other*\n• birthday candles (Dana)"
    );
}

async fn two_members_of_one_household_share_its_list(store: &mut TestStore) {
    // The orchestrator maps Dana's and Sam's DMs to household "smiths"; the skill only sees it.
    let smiths = |who, text| effect("smiths", who, text);
    store.apply(smiths(dana(), "add milk")).await.unwrap();
    store
        .apply(smiths(sam(), "add 2 milk and bread"))
        .await
        .unwrap();
    store
        .apply(effect("neighbours", sam(), "add cake"))
        .await
        .unwrap();
    assert_eq!(
        store.apply(smiths(dana(), "list")).await.unwrap(),
        "Shopping list (2 items):\n*Dairy & eggs*\n• 2 milk (Dana)\n*Bakery*\n• bread (Sam)"
    );
    assert_eq!(
        store.apply(smiths(sam(), "got bread")).await.unwrap(),
        "Ticked off bread. 1 item left to buy."
    );
    assert_eq!(
        store
            .apply(effect("neighbours", dana(), "list"))
            .await
            .unwrap(),
        "Shopping list (1 item):\n*Bakery*\n• cake (Sam)"
    );
}

async fn undo_reverts_a_merge_exactly(store: &mut TestStore) {
    store.say(dana(), "add 2 kg apples and milk").await;
    store.say(sam(), "add eggs").await;
    let before = store.lines("home").await;
    store.say(dana(), "add 500 g apples").await;

    assert_eq!(
        store.say(dana(), "undo").await,
        "Undid your last change (added 500 g apples)."
    );
    assert_eq!(store.lines("home").await, before);
}

async fn undo_puts_a_removed_item_back_in_its_place_with_who_added_it(store: &mut TestStore) {
    store.say(sam(), "add milk, 2 kg apples and eggs").await;
    store.say(dana(), "got eggs").await;
    let before = store.lines("home").await;
    store.say(dana(), "remove apples and eggs").await;

    assert_eq!(
        store.say(dana(), "undo that").await,
        "Undid your last change (removed 2 kg apples and eggs)."
    );
    assert_eq!(store.lines("home").await, before);
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (3 items, 1 bought):\n*Produce*\n• 2 kg apples (Sam)\n*Dairy & eggs*\n• milk (Sam)\n✓ ~eggs~ (Sam)"
    );
}

async fn undo_restores_a_cleared_list_with_its_bought_items(store: &mut TestStore) {
    store.say(dana(), "add milk, 3 bananas and 1 l juice").await;
    store.say(sam(), "add bread").await;
    store.say(sam(), "got milk").await;
    let before = store.lines("home").await;
    assert_eq!(
        store.say(dana(), "clear the list").await,
        "Cleared the shopping list (4 items removed)."
    );

    assert_eq!(
        store.say(dana(), "undo").await,
        "Undid your last change (cleared the list of 4 items)."
    );
    assert_eq!(store.lines("home").await, before);
}

async fn undo_twice_undoes_the_change_before_that(store: &mut TestStore) {
    store.say(dana(), "add 2 kg apples").await;
    let first = store.lines("home").await;
    store.say(dana(), "got apples").await;
    store.say(dana(), "add 3 eggs").await;

    store.say(dana(), "undo").await;
    assert_eq!(
        store.say(dana(), "undo").await,
        "Undid your last change (ticked off 2 kg apples)."
    );
    assert_eq!(store.lines("home").await, first);
    store.say(dana(), "undo").await;
    assert_eq!(
        store.say(dana(), "undo").await,
        "There's nothing of yours to undo on the shopping list."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "The shopping list is empty."
    );
}

async fn undo_reverts_only_the_senders_own_changes(store: &mut TestStore) {
    store.say(dana(), "add milk").await;
    store.say(sam(), "add bread").await;
    // Dana's "add milk" again changed nothing, so her last change is still the first add.
    store.say(dana(), "add milk").await;

    assert_eq!(
        store.say(dana(), "undo").await,
        "Undid your last change (added milk)."
    );
    assert_eq!(
        store.say(sam(), "list").await,
        "Shopping list (1 item):\n*Bakery*\n• bread (Sam)"
    );
    assert_eq!(
        store.say(dana(), "undo").await,
        "There's nothing of yours to undo on the shopping list."
    );
}

async fn undo_leaves_a_line_someone_changed_since_alone(store: &mut TestStore) {
    store.say(dana(), "add 2 kg apples").await;
    store.say(sam(), "add 1 kg apples").await;

    assert_eq!(
        store.say(dana(), "undo").await,
        "Couldn't undo your last change (added 2 kg apples): apples changed since, so I left \
         the list as it is."
    );
    assert_eq!(
        store.say(sam(), "undo").await,
        "Undid your last change (added 1 kg apples)."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (1 item):\n*Produce*\n• 2 kg apples (Dana)"
    );
    // Dana's conflicting change was dropped from her history.
    assert_eq!(
        store.say(dana(), "undo").await,
        "There's nothing of yours to undo on the shopping list."
    );
}

async fn undo_does_not_put_back_a_second_open_line_of_an_item(store: &mut TestStore) {
    store.say(dana(), "add milk").await;
    store.say(dana(), "remove milk").await;
    store.say(sam(), "add milk").await;

    assert_eq!(
        store.say(dana(), "undo").await,
        "Couldn't undo your last change (removed milk): milk changed since, so I left the \
         list as it is."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (1 item):\n*Dairy & eggs*\n• milk (Sam)"
    );
}

alfred_testkit::for_both_stores! {
    in_memory: TestStore::in_memory(),
    on_postgres: TestStore::on_postgres().await,
    scenarios: [
        kilograms_and_grams_are_summed_into_one_line,
        amounts_in_units_that_do_not_convert_are_kept_apart,
        a_dozen_and_six_make_eighteen,
        a_checked_off_item_stays_ticked_until_what_was_bought_is_cleared,
        buying_part_of_a_line_ticks_that_part_off_and_keeps_the_rest,
        buying_again_adds_a_new_line_next_to_the_ticked_one,
        the_list_is_grouped_by_aisle_with_who_added_each_item,
        two_members_of_one_household_share_its_list,
        undo_reverts_a_merge_exactly,
        undo_puts_a_removed_item_back_in_its_place_with_who_added_it,
        undo_restores_a_cleared_list_with_its_bought_items,
        undo_twice_undoes_the_change_before_that,
        undo_reverts_only_the_senders_own_changes,
        undo_leaves_a_line_someone_changed_since_alone,
        undo_does_not_put_back_a_second_open_line_of_an_item,
    ],
}
