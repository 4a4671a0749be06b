//! The deterministic grammar of chores. Case-insensitive; sentence punctuation, a leading
//! "please", "alfred", "can you" and a trailing "please" or "thanks" are ignored. Understood:
//!
//! * add — `add chore take out the bins every Monday and Thursday for Sam`,
//!   `new chore dishes daily rotating Dana, Sam, Kim`, `add chore water plants every 3 days`,
//!   `add chore pay rent monthly on the 1st`, `create a chore hoover every other week for me`;
//!   recurrences: `daily`, `every day`, `every Monday and Thursday`, `on weekdays`,
//!   `weekly (on Friday)`, `every N days`, `every other day`, `every N weeks`, `fortnightly`,
//!   `monthly (on the 15th)`, `on the 1st of every month`; assignments: `for Sam`, `for me`,
//!   `assigned to Sam`, `rotating Dana, Sam and Kim`, `for Dana and Sam in turns`
//!   (several names rotate in the order given; none: anyone may do it);
//! * remove — `remove chore dishes`, `delete the dishes chore`;
//! * list — `chores`, `list chores`, `show the chores`, `my chores`;
//! * done — `done dishes`, `dishes done`, `I did the dishes`, `finished the dishes`,
//!   `mark dishes as done`, and on someone's behalf `Sam did the bins`;
//! * skip — `skip dishes today`; swap — `swap dishes with Kim`;
//! * `what's due today`, `what's overdue`, `chore stats` / `streaks`.
//!
//! Everything else is left alone, so the shopping list and help still get it: a command must
//! carry the word "chore(s)" or one of the chore verbs (did, done, skip, swap, due, overdue,
//! streaks) in a chore-shaped sentence.

mod create;
mod tokens;

use self::tokens::{after_any, before_any, is, text_of, tokenize, Token};
use super::model::{ChoreCommand, Member};

const PREFIXES: &[&[&str]] = &[
    &["please"],
    &["pls"],
    &["hey"],
    &["ok"],
    &["okay"],
    &["alfred"],
    &["can", "you"],
    &["could", "you"],
    &["would", "you"],
];

const SUFFIXES: &[&[&str]] = &[
    &["please"],
    &["pls"],
    &["thanks"],
    &["thx"],
    &["thank", "you"],
];

/// Time words after a chore's name that say nothing about which chore it is.
const WHEN: &[&[&str]] = &[
    &["today"],
    &["tonight"],
    &["already"],
    &["now"],
    &["just", "now"],
    &["this", "time"],
    &["this", "week"],
    &["this", "morning"],
    &["this", "afternoon"],
    &["this", "evening"],
];

/// Verbs that start a command to add something to a list; "X done" must not swallow them.
const OTHER_VERBS: &[&str] = &[
    "add", "put", "remove", "delete", "take", "list", "show", "clear", "buy", "get", "got",
    "bought", "skip", "swap", "help", "what", "what's", "whats", "new", "create",
];

/// Parses a message into a chore command, or `None` when it is not one.
pub fn parse(text: &str) -> Option<ChoreCommand> {
    let tokens = strip_fillers(tokenize(text));
    let t = tokens.as_slice();
    if t.is_empty() {
        return None;
    }
    if let Some(rest) = after_any(
        t,
        &[
            &["add", "chore"],
            &["add", "a", "chore"],
            &["add", "a", "new", "chore"],
            &["add", "new", "chore"],
            &["add", "the", "chore"],
            &["new", "chore"],
            &["create", "chore"],
            &["create", "a", "chore"],
            &["create", "a", "new", "chore"],
            &["set", "up", "a", "chore"],
            &["set", "up", "chore"],
        ],
    ) {
        return Some(create::parse_add(rest));
    }
    simple(t)
        .or_else(|| remove(t))
        .or_else(|| done(t))
        .or_else(|| skip_or_swap(t))
}

fn strip_fillers(mut tokens: Vec<Token>) -> Vec<Token> {
    while let Some(rest) = after_any(&tokens, PREFIXES) {
        if rest.is_empty() {
            break;
        }
        tokens = rest.to_vec();
    }
    while matches!(tokens.first(), Some(Token::Sep)) {
        tokens.remove(0);
    }
    while let Some(rest) = before_any(&tokens, SUFFIXES) {
        if rest.is_empty() {
            break;
        }
        tokens = rest.to_vec();
    }
    while matches!(tokens.last(), Some(Token::Sep)) {
        tokens.pop();
    }
    tokens
}

/// Commands that are fixed phrases.
fn simple(t: &[Token]) -> Option<ChoreCommand> {
    const LIST: &[&[&str]] = &[
        &["chores"],
        &["chore", "list"],
        &["list", "chores"],
        &["list", "the", "chores"],
        &["list", "all", "chores"],
        &["show", "chores"],
        &["show", "the", "chores"],
        &["show", "me", "the", "chores"],
        &["show", "all", "chores"],
        &["all", "chores"],
        &["the", "chores"],
        &["what", "are", "the", "chores"],
        &["what", "chores", "are", "there"],
        &["which", "chores", "are", "there"],
    ];
    const MINE: &[&[&str]] = &[
        &["my", "chores"],
        &["show", "my", "chores"],
        &["list", "my", "chores"],
    ];
    const DUE: &[&[&str]] = &[
        &["what's", "due"],
        &["whats", "due"],
        &["what", "is", "due"],
        &["what's", "due", "today"],
        &["whats", "due", "today"],
        &["what", "is", "due", "today"],
        &["due", "today"],
        &["chores", "today"],
        &["chores", "due", "today"],
        &["today's", "chores"],
        &["todays", "chores"],
        &["what", "chores", "are", "due"],
        &["what", "chores", "are", "due", "today"],
        &["which", "chores", "are", "due", "today"],
        &["anything", "due", "today"],
    ];
    const OVERDUE: &[&[&str]] = &[
        &["overdue"],
        &["what's", "overdue"],
        &["whats", "overdue"],
        &["what", "is", "overdue"],
        &["overdue", "chores"],
        &["chores", "overdue"],
        &["what", "chores", "are", "overdue"],
        &["which", "chores", "are", "overdue"],
        &["anything", "overdue"],
        &["is", "anything", "overdue"],
    ];
    const STATS: &[&[&str]] = &[
        &["chore", "stats"],
        &["chores", "stats"],
        &["chore", "statistics"],
        &["chore", "history"],
        &["chores", "history"],
        &["streaks"],
        &["chore", "streaks"],
        &["show", "streaks"],
        &["show", "chore", "stats"],
        &["stats"],
    ];
    let any = |phrases: &[&[&str]]| phrases.iter().any(|p| is(t, p));
    if any(LIST) {
        Some(ChoreCommand::List { mine: false })
    } else if any(MINE) {
        Some(ChoreCommand::List { mine: true })
    } else if any(DUE) {
        Some(ChoreCommand::DueToday)
    } else if any(OVERDUE) {
        Some(ChoreCommand::Overdue)
    } else if any(STATS) {
        Some(ChoreCommand::Stats)
    } else {
        None
    }
}

/// "remove chore dishes", "delete the dishes chore", "remove dishes from the chores".
fn remove(t: &[Token]) -> Option<ChoreCommand> {
    let rest = after_any(
        t,
        &[&["remove"], &["delete"], &["drop"], &["cancel"], &["stop"]],
    )?;
    let name =
        after_any(rest, &[&["chore"], &["the", "chore"], &["a", "chore"]]).or_else(|| {
            before_any(
                rest,
                &[&["chore"], &["from", "chores"], &["from", "the", "chores"]],
            )
        })?;
    chore_name(name).map(|chore| ChoreCommand::Remove { chore })
}

/// Marking done, by the sender or on someone's behalf.
fn done(t: &[Token]) -> Option<ChoreCommand> {
    const MINE: &[&[&str]] = &[
        &["done"],
        &["done", "with"],
        &["did"],
        &["i", "did"],
        &["we", "did"],
        &["i", "just", "did"],
        &["just", "did"],
        &["i've", "done"],
        &["ive", "done"],
        &["i", "have", "done"],
        &["we've", "done"],
        &["finished"],
        &["i", "finished"],
        &["i've", "finished"],
        &["i", "have", "finished"],
        &["completed"],
        &["i", "completed"],
        &["i've", "completed"],
    ];
    if let Some(rest) = after_any(t, MINE) {
        return done_chore(rest).map(|chore| ChoreCommand::Done {
            chore,
            by: Member::Me,
        });
    }
    // "dishes done", "the dishes are done", "mark dishes as done" (and "… today": the time
    // words go first, as `chore_name` drops them everywhere else)
    let mut marked = after_any(t, &[&["mark"]]).unwrap_or(t);
    while let Some(rest) = before_any(marked, WHEN) {
        marked = rest;
    }
    if let Some(name) = before_any(
        marked,
        &[
            &["done"],
            &["as", "done"],
            &["is", "done"],
            &["are", "done"],
            &["finished"],
            &["complete"],
            &["as", "complete"],
            &["completed"],
            &["as", "completed"],
        ],
    ) {
        let verb = name.first().map(Token::low).unwrap_or("");
        if !OTHER_VERBS.contains(&verb) && !name.is_empty() {
            return done_chore(name).map(|chore| ChoreCommand::Done {
                chore,
                by: Member::Me,
            });
        }
    }
    // "Sam did the bins", "Sam has done the bins", "Sam's done the bins"
    let (who, rest) = t.split_first()?;
    // A name that opens one of the sender's own phrases above could not be written back as
    // "{name} did {chore}" ("completed did the bins" is "completed …" by the sender): no
    // member is called that ("completed's done the bins" is no chore).
    let low = who.low();
    let name = low.strip_suffix("'s").unwrap_or(low);
    if MINE.iter().any(|phrase| phrase.first() == Some(&name)) {
        return None;
    }
    let (by, rest) = if let Some(name) = who.low().strip_suffix("'s") {
        let rest = after_any(rest, &[&["done"], &["finished"]])?;
        let token = Token::Word {
            text: who.text()[..name.len()].to_owned(),
            low: name.to_owned(),
        };
        (create::member(&token)?, rest)
    } else {
        let rest = after_any(
            rest,
            &[
                &["did"],
                &["has", "done"],
                &["finished"],
                &["has", "finished"],
                &["completed"],
                &["has", "completed"],
            ],
        )?;
        (create::member(who)?, rest)
    };
    done_chore(rest).map(|chore| ChoreCommand::Done { chore, by })
}

/// The chore named in any of the forms of marking done ("done with the dishes", "the dishes
/// are done", "Sam did the dishes"), read the same way in each so that the canonical text the
/// tools produce ("done {chore}", "{name} did {chore}") reads back as the same chore: a leading
/// "with" is dropped (so no name starts with it), and a name that opens like praise ("very
/// Mma", as in "done very well") is chat, not a chore.
fn done_chore(mut rest: &[Token]) -> Option<String> {
    // "chore" too: `chore_name` drops it, and a "with" after it must go as well.
    while let Some(after) = after_any(rest, &[&["with"], &["chore"]]) {
        rest = after;
    }
    if is_praise(rest) {
        return None;
    }
    chore_name(rest)
}

/// What follows "did" or "finished" in praise or chat rather than a chore: "Sam did great",
/// "Kim did a good job", "I did my best", "Dana finished first".
fn is_praise(rest: &[Token]) -> bool {
    const OPENERS: &[&str] = &[
        "great",
        "good",
        "well",
        "fine",
        "ok",
        "okay",
        "awesome",
        "amazing",
        "brilliant",
        "fantastic",
        "excellent",
        "nicely",
        "badly",
        "perfectly",
        "wonderfully",
        "so",
        "really",
        "very",
        "super",
        "first",
        "last",
        "early",
        "late",
        "fast",
        "quickly",
        "nothing",
    ];
    let words: Vec<&str> = rest
        .iter()
        .filter(|token| !matches!(token, Token::Sep))
        .map(Token::low)
        .collect();
    match words.as_slice() {
        [] => false,
        ["a" | "an", second, ..] => {
            matches!(
                *second,
                "great" | "good" | "fine" | "nice" | "brilliant" | "super"
            ) || second.ends_with("job")
        }
        ["my" | "his" | "her" | "their" | "our" | "your", "best" | "part" | "bit", ..] => true,
        [first, ..] => OPENERS.contains(first),
    }
}

/// "skip dishes today", "swap dishes with Kim".
fn skip_or_swap(t: &[Token]) -> Option<ChoreCommand> {
    if let Some(rest) = after_any(t, &[&["skip"], &["skip", "chore"]]) {
        return chore_name(rest).map(|chore| ChoreCommand::Skip { chore });
    }
    let rest = after_any(t, &[&["swap"], &["switch"], &["trade"], &["swap", "chore"]])?;
    let rest = before_any(rest, WHEN).unwrap_or(rest);
    let with = rest.iter().rposition(|token| token.low() == "with")?;
    let [who] = &rest[with + 1..] else {
        return None;
    };
    let with_member = create::member(who)?;
    chore_name(&rest[..with]).map(|chore| ChoreCommand::Swap {
        chore,
        with: with_member,
    })
}

/// A chore's name as referred to: trailing time words, "chore" and thanks dropped; `None` when
/// nothing is left or it holds a separator (a list is never one chore).
fn chore_name(tokens: &[Token]) -> Option<String> {
    // No name starts with "chore" ("swap chore dishes", "skip chore dishes" take one as part
    // of the command), so that "swap {name} with Kim" reads back as the same name.
    let mut tokens = tokens;
    while let Some(rest) = after_any(tokens, &[&["chore"]]) {
        tokens = rest;
    }
    // Until none is left at the end, so that a name never ends in one and reads back as itself.
    while let Some(rest) = before_any(tokens, WHEN)
        .or_else(|| before_any(tokens, &[&["chore"]]))
        .or_else(|| before_any(tokens, SUFFIXES))
    {
        tokens = rest;
    }
    if tokens.is_empty() || tokens.iter().any(|t| matches!(t, Token::Sep)) {
        return None;
    }
    if let [only] = tokens {
        if matches!(
            only.low(),
            "the" | "it" | "that" | "this" | "them" | "everything" | "all" | "something"
        ) {
            return None;
        }
    }
    let name = text_of(tokens);
    (!name.is_empty() && name.len() <= 100).then_some(name)
}
