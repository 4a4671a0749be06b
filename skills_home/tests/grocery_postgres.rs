//! What only Postgres can show about the shopping list: concurrent members serialized by the
//! household's lock, a change and its undo record committing together, the undo history's
//! depth in `grocery_changes`, and migration 0003 over lists written before it.

mod support;

use std::time::Duration;

use alfred_actors::store::{StoreError, Tx};
use alfred_skills_home::grocery;
use alfred_testkit::db::TestDb;
use alfred_testkit::eventually;
use alfred_testkit::stores::{Backend, TestStore};

use support::{dana, effect, reject_item_named, sam, Grocery};

#[tokio::test]
async fn two_members_adding_at_once_are_serialized_and_summed() {
    let store = TestStore::on_postgres().await;
    let db = store.db().unwrap();
    let mut first = db.connect().await;
    let mut second = db.connect().await;
    let observer = db.connect().await;

    let t1 = first.transaction().await.unwrap();
    effect("home", dana(), "add 2 kg apples")
        .apply(&mut Tx::Pg(&t1))
        .await
        .unwrap();
    let concurrent = tokio::spawn(async move {
        let t2 = second.transaction().await.unwrap();
        let replies = effect("home", sam(), "add 500 g apples")
            .apply(&mut Tx::Pg(&t2))
            .await
            .unwrap();
        t2.commit().await.unwrap();
        replies
    });
    // Sam's add must be waiting for Dana's transaction before Dana commits; without the lock
    // it would read the list without the apples and then fail on the open-line index.
    let observer = &observer;
    eventually(
        "the second add to wait",
        Duration::from_secs(10),
        || async move {
            let waiting: i64 = observer
                .query_one(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            (waiting == 1).then_some(())
        },
    )
    .await;
    t1.commit().await.unwrap();

    assert_eq!(
        concurrent.await.unwrap(),
        vec![alfred_actors::skill::Reply::text(
            "Apples: now 2.5 kg on the list."
        )]
    );
}

#[tokio::test]
async fn a_failed_change_leaves_no_undo_record() {
    let mut store = TestStore::on_postgres().await;
    store.say(dana(), "add 2 milk").await;
    reject_item_named(store.db().unwrap(), "poison").await;

    let result = store
        .apply(effect("home", dana(), "add 3 milk, eggs and poison"))
        .await;

    assert!(matches!(result, Err(StoreError::Db(_))), "{result:?}");
    assert_eq!(
        store.say(dana(), "undo").await,
        "Undid your last change (added 2 milk)."
    );
    assert_eq!(
        store.say(dana(), "list").await,
        "The shopping list is empty."
    );
}

#[tokio::test]
async fn each_member_keeps_the_last_twenty_changes() {
    let mut store = TestStore::on_postgres().await;
    for n in 1..=25 {
        store.say(dana(), &format!("add item {n}")).await;
    }
    store.say(sam(), "add bread").await;

    let client = store.db().unwrap().connect().await;
    let count = |actor: &'static str| {
        let client = &client;
        async move {
            let row = client
                .query_one(
                    "SELECT count(*) FROM grocery_changes WHERE actor = $1",
                    &[&actor],
                )
                .await
                .unwrap();
            row.get::<_, i64>(0)
        }
    };
    assert_eq!(count("447700900001").await, grocery::UNDO_DEPTH as i64);
    assert_eq!(count("447700900002").await, 1);
    for _ in 0..grocery::UNDO_DEPTH {
        assert!(store.say(dana(), "undo").await.starts_with("Undid"));
    }
    assert_eq!(
        store.say(dana(), "undo").await,
        "There's nothing of yours to undo on the shopping list."
    );
    assert_eq!(
        store.lines("home").await.len(),
        6,
        "items 1 to 5 and Sam's bread"
    );
}

#[tokio::test]
async fn migration_0003_folds_lines_kept_apart_by_unit_into_one() {
    let db = TestDb::create_migrated_up_to("0002_grocery.sql").await;
    db.connect()
        .await
        .batch_execute(
            "INSERT INTO grocery_items (household, name_key, name, quantity, unit, added_by, added_by_name)
             VALUES ('home', 'appl', 'apples', 2, 'kg', '447700900001', 'Dana'),
                    ('home', 'milk', 'milk', NULL, '', '447700900001', 'Dana'),
                    ('home', 'appl', 'apples', 500, 'g', '447700900002', 'Sam'),
                    ('home', 'appl', 'apples', 3, '', '447700900002', 'Sam'),
                    ('other', 'appl', 'apples', 500, 'g', '447700900002', 'Sam');",
        )
        .await
        .unwrap();

    db.migrate().await;

    let mut store = Backend::on_postgres(TestStore::Pg(db.connect().await), db);
    assert_eq!(
        store.say(dana(), "list").await,
        "Shopping list (3 items):\n*Produce*\n• 2.5 kg apples (Dana)\n• 3 apples (Sam)\n\
         *Dairy & eggs*\n• milk (Dana)"
    );
    assert_eq!(
        store.say(sam(), "add 500 g apples").await,
        "Apples: now 3 kg on the list."
    );
    assert_eq!(
        store.apply(effect("other", sam(), "list")).await.unwrap(),
        "Shopping list (1 item):\n*Produce*\n• 500 g apples (Sam)"
    );
}
