//! The shopping-list grammar: what it understands, how it reads items, and what it leaves alone.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_skills_home::grocery::{self, parse, GroceryCommand, ItemSpec, Quantity, Unit};

fn item(name: &str) -> ItemSpec {
    ItemSpec::new(name, None, Unit::Count).unwrap()
}

fn measured(quantity: &str, unit: Unit, name: &str) -> ItemSpec {
    ItemSpec::new(name, Some(Quantity::parse_decimal(quantity).unwrap()), unit).unwrap()
}

fn adds(text: &str) -> Vec<ItemSpec> {
    match parse(text) {
        Some(GroceryCommand::Add(items)) => items,
        other => panic!("{text:?} parsed as {other:?}"),
    }
}

fn checks_off(text: &str) -> Vec<ItemSpec> {
    match parse(text) {
        Some(GroceryCommand::CheckOff(items)) => items,
        other => panic!("{text:?} parsed as {other:?}"),
    }
}

fn removes(text: &str) -> Vec<ItemSpec> {
    match parse(text) {
        Some(GroceryCommand::Remove(items)) => items,
        other => panic!("{text:?} parsed as {other:?}"),
    }
}

#[test]
fn a_single_item_is_added_under_the_name_as_typed() {
    assert_eq!(adds("add bananas"), vec![item("bananas")]);
    assert_eq!(adds("Add Oat Milk!"), vec![item("Oat Milk")]);
    assert_eq!(adds("add Oat Milk")[0].key, "oat milk");
}

#[test]
fn politeness_and_punctuation_are_ignored() {
    for text in [
        "please add milk",
        "Please, add milk.",
        "can you add milk please?",
        "Could you add milk for me, thanks",
        "Alfred, add milk",
        "  add   milk  ",
        "add milk too",
    ] {
        assert_eq!(adds(text), vec![item("milk")], "{text:?}");
    }
    assert_eq!(adds("ADD MILK"), vec![item("MILK")]);
}

#[test]
fn several_items_split_on_commas_and_and() {
    let expected = vec![
        item("milk"),
        item("eggs"),
        measured("2", Unit::Kg, "apples"),
    ];
    assert_eq!(adds("add milk, eggs and 2 kg apples"), expected);
    assert_eq!(adds("add milk, eggs, and 2 kg apples"), expected);
    assert_eq!(adds("add milk & eggs plus 2kg apples"), expected);
    assert_eq!(adds("add milk; eggs; 2 kilos of apples"), expected);
}

#[test]
fn a_name_holding_and_is_kept_whole_only_in_quotes() {
    assert_eq!(
        adds("add \"salt and pepper crisps\" and milk"),
        vec![item("salt and pepper crisps"), item("milk")]
    );
    assert_eq!(
        adds("add \u{201C}mac and cheese\u{201D}"),
        vec![item("mac and cheese")]
    );
    assert_eq!(
        adds("add salt and pepper crisps"),
        vec![item("salt"), item("pepper crisps")]
    );
}

#[test]
fn quantities_and_units_are_read_and_normalised() {
    let cases = [
        ("add 3 bananas", measured("3", Unit::Count, "bananas")),
        ("add 2kg apples", measured("2", Unit::Kg, "apples")),
        ("add 2 KG apples", measured("2", Unit::Kg, "apples")),
        ("add 500 g flour", measured("500", Unit::G, "flour")),
        ("add 500g of flour", measured("500", Unit::G, "flour")),
        ("add 500 grams flour", measured("500", Unit::G, "flour")),
        ("add 1.5 l milk", measured("1.5", Unit::L, "milk")),
        ("add 1.5 litres of milk", measured("1.5", Unit::L, "milk")),
        ("add 250ML cream", measured("250", Unit::Ml, "cream")),
        ("add 3 pcs lemons", measured("3", Unit::Count, "lemons")),
        ("add 3 x lemons", measured("3", Unit::Count, "lemons")),
        ("add 3x lemons", measured("3", Unit::Count, "lemons")),
        ("add two avocados", measured("2", Unit::Count, "avocados")),
        ("add a dozen eggs", measured("12", Unit::Count, "eggs")),
        ("add 2 dozen eggs", measured("24", Unit::Count, "eggs")),
        ("add a bottle of wine", measured("1", Unit::Bottle, "wine")),
        (
            "add 2 tins of tomatoes",
            measured("2", Unit::Can, "tomatoes"),
        ),
        ("add apples x3", measured("3", Unit::Count, "apples")),
        ("add apples x 3", measured("3", Unit::Count, "apples")),
        ("add Apples \u{d7}3", measured("3", Unit::Count, "Apples")),
        ("add half a dozen eggs", measured("6", Unit::Count, "eggs")),
        (
            "add half a kilo of flour",
            measured("0.5", Unit::Kg, "flour"),
        ),
        ("add some bread", item("bread")),
        ("add an avocado", item("avocado")),
        ("add 7up", item("7up")),
    ];
    for (text, expected) in cases {
        assert_eq!(adds(text), vec![expected], "{text:?}");
    }
}

#[test]
fn items_render_with_their_quantity_and_unit() {
    assert_eq!(adds("add 2kg apples")[0].render(), "2 kg apples");
    assert_eq!(adds("add 3 bananas")[0].render(), "3 bananas");
    assert_eq!(
        adds("add 2 bottles of milk")[0].render(),
        "2 bottles of milk"
    );
    assert_eq!(adds("add a bottle of wine")[0].render(), "1 bottle of wine");
    assert_eq!(adds("add 1.50 l milk")[0].render(), "1.5 l milk");
}

#[test]
fn the_list_may_be_named_around_an_add() {
    for text in [
        "add milk to the list",
        "add milk to the shopping list",
        "add milk to my grocery list",
        "add milk to list",
        "put milk on the list",
        "put milk onto the shopping list",
        "add to the list: milk",
    ] {
        assert_eq!(adds(text), vec![item("milk")], "{text:?}");
    }
    assert_eq!(
        adds("put milk and eggs on the list"),
        vec![item("milk"), item("eggs")]
    );
}

#[test]
fn remove_delete_and_take_off_remove_items() {
    for text in [
        "remove milk",
        "delete milk",
        "Remove milk from the list",
        "delete milk from the shopping list",
        "take milk off the list",
        "take milk off",
        "take off milk",
        "take milk off of the list",
        "please remove the milk",
    ] {
        assert_eq!(removes(text), vec![item("milk")], "{text:?}");
    }
    assert_eq!(
        removes("remove milk and eggs"),
        vec![item("milk"), item("eggs")]
    );
    assert_eq!(
        removes("remove 2 kg apples")[0].key,
        grocery::name_key("apple")
    );
}

#[test]
fn many_phrasings_ask_for_the_list() {
    for text in [
        "list",
        "List.",
        "show the list",
        "show list",
        "show me the shopping list please",
        "what's on the list?",
        "What\u{2019}s on the list",
        "whats on the list",
        "what is on the shopping list",
        "shopping list",
        "the list",
        "grocery list",
        "groceries",
        "what do we need",
    ] {
        assert_eq!(parse(text), Some(GroceryCommand::List), "{text:?}");
    }
}

#[test]
fn clear_phrasings_empty_the_list() {
    for text in [
        "clear the list",
        "clear list",
        "Clear the shopping list!",
        "empty the list",
        "delete the list",
    ] {
        assert_eq!(parse(text), Some(GroceryCommand::Clear), "{text:?}");
    }
}

#[test]
fn unrelated_or_malformed_text_is_not_claimed() {
    for text in [
        "",
        "hello",
        "help",
        "please",
        "what's the weather",
        "what's the weather like?",
        "add",
        "add to the list",
        "add 3",
        "add 2 kg",
        "add 0 bananas",
        "add 1.2345 kg flour",
        "add 2000000 bananas",
        "add a meeting to my calendar",
        "remove the cat from the sofa",
        "take the bins out",
        "put the kettle on",
        "list chores",
        "clear",
        "clear the table",
        "remove",
        "listen",
        "adding milk",
        "add apples x0",
        "add 2 kg apples x3",
        // Everyday "got"/"bought" that is not shopping.
        "got it, thanks",
        "got it",
        "Got it!",
        "ok got it",
        "got you",
        "got to go",
        "I got home",
        "we got back",
        "I got the job!",
        "got a question",
        "bought tickets for friday",
        "I bought it",
        "got",
        "bought",
        // "undo" only alone or about the last change.
        "undo the chores",
        "undo everything",
        "clear what",
        "clear everything",
        "mark milk",
    ] {
        assert_eq!(parse(text), None, "{text:?}");
        assert!(!grocery::route().understands(text), "{text:?}");
    }
}

#[test]
fn the_route_claims_what_the_grammar_parses() {
    let route = grocery::route();
    assert_eq!(route.name(), "grocery");
    assert!(route.understands("add milk, eggs and 2 kg apples"));
    assert!(route.understands("what's on the list?"));
    assert!(route.help().iter().any(|line| line.starts_with("add ")));
}

#[test]
fn too_many_or_too_long_items_are_refused() {
    let many = (0..51)
        .map(|i| format!("item{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(parse(&format!("add {many}")), None);
    assert_eq!(parse(&format!("add {}", "x".repeat(81))), None);
}

#[test]
fn got_bought_and_check_off_tick_items_off() {
    for text in [
        "got milk",
        "Got milk!",
        "bought milk",
        "I got the milk",
        "we just bought milk",
        "I've got the milk",
        "picked up milk",
        "check off milk",
        "check milk off",
        "check milk off the list",
        "tick off milk",
        "tick milk off the shopping list",
        "cross milk off",
        "cross milk off the list",
        "mark milk as bought",
        "mark milk bought",
        "got milk, thanks",
    ] {
        assert_eq!(checks_off(text), vec![item("milk")], "{text:?}");
    }
    assert_eq!(checks_off("I got the bread"), vec![item("bread")]);
    assert_eq!(
        checks_off("bought eggs and 2 kg apples"),
        vec![item("eggs"), measured("2", Unit::Kg, "apples")]
    );
}

#[test]
fn what_was_bought_can_be_cleared() {
    for text in [
        "clear bought",
        "clear what we bought",
        "Clear what I bought",
        "clear what's been bought",
        "clear the bought items",
        "clear all the bought items",
        "remove bought items from the list",
        "delete the checked items",
        "clear ticked off",
        "clear checked off items",
        "get rid of everything we bought",
    ] {
        assert_eq!(parse(text), Some(GroceryCommand::ClearBought), "{text:?}");
    }
    // Not "remove the item called 'bought items'", and not the whole list.
    assert_eq!(parse("clear the list"), Some(GroceryCommand::Clear));
}

#[test]
fn undo_phrasings_undo_the_last_change() {
    for text in [
        "undo",
        "Undo!",
        "undo that",
        "undo please",
        "oops, undo",
        "undo my last change",
        "undo the last change to the list",
        "revert that",
    ] {
        assert_eq!(parse(text), Some(GroceryCommand::Undo), "{text:?}");
    }
}

#[test]
fn help_names_every_command() {
    let help = grocery::route().help();
    for command in [
        "add ",
        "got ",
        "remove ",
        "list",
        "clear bought",
        "clear the list",
        "undo",
    ] {
        assert!(
            help.iter().any(|line| line.starts_with(command)),
            "{command:?} in {help:?}"
        );
    }
    for line in &help {
        let example = line.split(" — ").next().unwrap();
        assert!(grocery::route().understands(example), "{example:?}");
    }
}

#[test]
fn the_lists_commands_reach_the_list_in_the_home_routing_order() {
    let skills = alfred_skills_home::skills(&Default::default());
    for text in [
        "add 2 kg apples",
        "add apples x3",
        "got milk",
        "bought eggs",
        "I got the bread",
        "check off milk",
        "mark milk as bought",
        "remove milk",
        "list",
        "clear what we bought",
        "clear bought",
        "clear the list",
        "undo",
    ] {
        let first = skills
            .iter()
            .find(|entry| entry.route.understands(text))
            .map(|entry| entry.name());
        assert_eq!(first, Some("grocery"), "{text:?}");
    }
}
