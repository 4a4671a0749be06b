//! The shopping list's effects applied a batch at a time (as the Postgres store's group commit
//! hands them over) do exactly what the same messages do one after another: the same replies,
//! the same lines in the same order, the same undo history.

// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use alfred_actors::skill::{apply_batch, Effect, Reply};
use alfred_actors::store::{StoreError, Tx};
use alfred_skills_home::grocery::{self, ListedItem, Who};
use alfred_testkit::db::TestDb;
use alfred_testkit::stores::{Backend, TestStore};

use support::{dana, effect, reject_item_named, sam, Grocery};

/// A message: its household, its sender and its text.
type Message = (&'static str, fn() -> Who, &'static str);
type Script = [Message];

/// Messages of three households, interleaved, touching the same lines again and again: sums,
/// a fill-in, a part bought (a new ticked line), an item already listed, removes, clears.
const SCRIPT: &Script = &[
    ("h1", dana, "add 2 kg apples, milk"),
    ("h2", sam, "add bread"),
    ("h1", sam, "add 500 g apples"),
    ("h1", dana, "add 1 l milk"),
    ("h2", dana, "list"),
    ("h1", sam, "got 1 kg apples"),
    ("h3", dana, "add eggs and bananas"),
    ("h2", sam, "remove bread"),
    ("h1", dana, "add apples"),
    ("h3", sam, "got eggs"),
    ("h3", dana, "clear bought"),
    ("h1", sam, "list"),
    ("h2", dana, "add 3 bananas, 6 eggs"),
    ("h3", sam, "clear the list"),
    ("h3", dana, "add tea"),
    ("h1", dana, "got milk"),
    ("h1", sam, "add milk"),
    ("h2", sam, "remove oranges"),
    ("h1", dana, "list"),
];

/// What each household holds before the script.
const BEFORE: &Script = &[
    ("h1", sam, "add oranges"),
    ("h2", dana, "add 6 eggs"),
    ("h2", sam, "got eggs"),
];

fn effects(script: &Script) -> Vec<Box<dyn Effect>> {
    script
        .iter()
        .map(|(household, who, text)| effect(household, who(), text))
        .collect()
}

/// Applies `effects` one at a time, each in its own transaction (committed when it applied).
async fn one_by_one(store: &mut Backend<TestStore>, effects: &[Box<dyn Effect>]) -> Vec<String> {
    let mut replies = Vec::new();
    for effect in effects {
        let mut transaction = store.begin().await.unwrap();
        let applied = effect.apply(&mut transaction.tx()).await.unwrap();
        transaction.commit().await.unwrap();
        replies.push(texts(&applied));
    }
    replies
}

fn texts(replies: &[Reply]) -> String {
    replies
        .iter()
        .map(|reply| reply.body.display_text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Applies `effects` as one batch, in one transaction (committed when it applied).
async fn as_one_batch(
    store: &mut Backend<TestStore>,
    effects: &[Box<dyn Effect>],
) -> Result<Vec<String>, StoreError> {
    let batched: Vec<_> = effects
        .iter()
        .map(|effect| effect.batch().expect("grocery effects batch"))
        .collect();
    let applier = batched[0].applier;
    let any: Vec<_> = batched.iter().map(|batched| batched.effect).collect();
    let mut transaction = store.begin().await?;
    let result = apply_batch(applier, &any, &mut transaction.tx()).await;
    match result {
        Ok(replies) => {
            transaction.commit().await?;
            Ok(replies.iter().map(|replies| texts(replies)).collect())
        }
        Err(error) => {
            transaction.rollback().await?;
            Err(error)
        }
    }
}

/// Two stores on Postgres holding the same lines ([`BEFORE`]), and `script`'s effects (each
/// with its own time, the same for both stores).
async fn two_stores(
    script: &Script,
) -> (Backend<TestStore>, Backend<TestStore>, Vec<Box<dyn Effect>>) {
    let mut batched = TestStore::on_postgres().await;
    let mut reference = TestStore::on_postgres().await;
    let before = effects(BEFORE);
    one_by_one(&mut batched, &before).await;
    one_by_one(&mut reference, &before).await;
    (batched, reference, effects(script))
}

/// A household's lines without their ids (two databases draw different ids), in list order.
async fn lines(store: &mut Backend<TestStore>, household: &str) -> Vec<ListedItem> {
    store
        .lines(household)
        .await
        .into_iter()
        .map(|line| ListedItem { id: 0, ..line })
        .collect()
}

async fn assert_same_lists(batched: &mut Backend<TestStore>, reference: &mut Backend<TestStore>) {
    for household in ["h1", "h2", "h3"] {
        assert_eq!(
            lines(batched, household).await,
            lines(reference, household).await,
            "{household}"
        );
    }
}

async fn history(db: &TestDb) -> Vec<(String, String, String)> {
    db.connect()
        .await
        .query(
            "SELECT household, actor, summary FROM grocery_changes ORDER BY household, actor, id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

#[tokio::test]
async fn a_batch_does_what_its_messages_do_one_after_another() {
    let (mut batched, mut reference, script) = two_stores(SCRIPT).await;

    let replies = as_one_batch(&mut batched, &script).await.unwrap();

    let expected = one_by_one(&mut reference, &script).await;
    assert_eq!(replies, expected);
    assert!(
        replies[2].contains("2.5 kg") && replies[5].contains("1 kg"),
        "later messages saw the earlier ones: {replies:#?}"
    );
    assert_same_lists(&mut batched, &mut reference).await;
    assert_eq!(
        history(batched.db().unwrap()).await,
        history(reference.db().unwrap()).await
    );
}

#[tokio::test]
async fn what_a_batch_did_is_undone_as_if_sent_one_by_one() {
    let (mut batched, mut reference, script) = two_stores(SCRIPT).await;
    as_one_batch(&mut batched, &script).await.unwrap();
    one_by_one(&mut reference, &script).await;

    // Every member's changes undone in each household, newest first, until none is left.
    for household in ["h1", "h2", "h3"] {
        for who in [dana, sam] {
            loop {
                let undo = [effect(household, who(), "undo")];
                let reply = one_by_one(&mut batched, &undo).await;
                assert_eq!(
                    reply,
                    one_by_one(&mut reference, &undo).await,
                    "{household}"
                );
                assert_same_lists(&mut batched, &mut reference).await;
                if reply[0].starts_with("There's nothing") {
                    break;
                }
            }
        }
    }
}

#[tokio::test]
async fn a_batch_holding_an_undo_is_applied_one_message_after_another() {
    const WITH_UNDO: &Script = &[
        ("h1", dana, "add 2 kg apples"),
        ("h1", sam, "add bread"),
        ("h1", dana, "undo"),
        ("h1", dana, "add tea"),
        ("h1", sam, "undo"),
        ("h1", dana, "list"),
    ];
    let (mut batched, mut reference, script) = two_stores(WITH_UNDO).await;

    let replies = as_one_batch(&mut batched, &script).await.unwrap();

    assert_eq!(replies, one_by_one(&mut reference, &script).await);
    assert_same_lists(&mut batched, &mut reference).await;
}

#[tokio::test]
async fn a_batch_keeps_each_members_last_twenty_changes() {
    let script: Vec<Message> = (0..25)
        .map(|n| {
            let text: &'static str = Box::leak(format!("add item {n}").into_boxed_str());
            ("h1", dana as fn() -> Who, text)
        })
        .chain([("h1", sam as fn() -> Who, "add bread")])
        .collect();
    let mut store = TestStore::on_postgres().await;
    // Three changes of Dana's before the batch, so that the trim meets stored rows too.
    one_by_one(&mut store, &effects(&script[..3])).await;

    as_one_batch(&mut store, &effects(&script)).await.unwrap();

    let kept = history(store.db().unwrap()).await;
    let dana_kept: Vec<_> = kept
        .iter()
        .filter(|(_, actor, _)| actor == &dana().id)
        .collect();
    assert_eq!(dana_kept.len(), grocery::UNDO_DEPTH);
    assert_eq!(
        dana_kept[0].2, "added item 5",
        "the oldest kept: {dana_kept:#?}"
    );
    assert_eq!(kept.iter().filter(|(_, a, _)| a == &sam().id).count(), 1);
}

#[tokio::test]
async fn a_batch_that_fails_in_postgres_fails_whole() {
    let mut store = TestStore::on_postgres().await;
    reject_item_named(store.db().unwrap(), "poison").await;
    const POISONED: &Script = &[
        ("h1", dana, "add milk"),
        ("h2", sam, "add poison"),
        ("h3", dana, "add tea"),
    ];

    let result = as_one_batch(&mut store, &effects(POISONED)).await;

    assert!(matches!(result, Err(StoreError::Db(_))), "{result:?}");
    for household in ["h1", "h2", "h3"] {
        assert!(lines(&mut store, household).await.is_empty(), "{household}");
    }
    assert!(history(store.db().unwrap()).await.is_empty());
}

#[tokio::test]
async fn in_memory_a_batch_is_applied_one_message_after_another() {
    let mut batched = TestStore::in_memory();
    let mut reference = TestStore::in_memory();
    let script = effects(SCRIPT);

    let replies = as_one_batch(&mut batched, &script).await.unwrap();

    assert_eq!(replies, one_by_one(&mut reference, &script).await);
    assert_same_lists(&mut batched, &mut reference).await;
}

/// An effect of another skill is refused rather than misapplied.
#[tokio::test]
async fn another_kind_of_effect_is_refused() {
    let mut store = TestStore::on_postgres().await;
    let grocery = effect("h1", dana(), "add milk");
    let applier = grocery.batch().unwrap().applier;
    let other: Box<dyn std::any::Any + Send + Sync> = Box::new(42_u32);
    let mut transaction = store.begin().await.unwrap();
    let mut tx = transaction.tx();
    let Tx::Pg(_) = &tx else { unreachable!() };

    let result = apply_batch(
        applier,
        &[grocery.batch().unwrap().effect, other.as_ref()],
        &mut tx,
    )
    .await;

    assert!(matches!(result, Err(StoreError::Other(_))), "{result:?}");
}

/// The list's statements never read a whole table as Alfred's connections plan them, on tables
/// grown to thousands of rows and never analyzed.
#[tokio::test]
async fn hot_statements_use_indexes_on_grown_tables() {
    let db = TestDb::create_migrated().await;
    db.connect()
        .await
        .batch_execute(
            "INSERT INTO grocery_items (household, name_key, family, name, unit, added_by,
                 added_by_name, added_at)
                 SELECT 'key-' || n % 5000, 'item' || n / 5000, 'count', 'item', '', 'a', 'A',
                        now()
                 FROM generate_series(1, 10000) n;
             INSERT INTO grocery_changes (household, actor, summary, made_at, before, after)
                 SELECT 'key-' || n % 5000, 'key-' || n % 7, 'added', now(), '[]', '[]'
                 FROM generate_series(1, 20000) n;",
        )
        .await
        .unwrap();

    let scans = alfred_testkit::plans::full_scans(
        &db,
        grocery::HOT_STATEMENTS,
        &[grocery::TABLE, grocery::CHANGES_TABLE],
    )
    .await;

    assert!(
        scans.is_empty(),
        "full scans:

{}",
        scans.join("\n\n")
    );
}
