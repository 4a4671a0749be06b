//! Aisles: the built-in keyword → category table the list is grouped by.
//!
//! An item's category is found from its name, in this order:
//!
//! 1. a word marking frozen food (`frozen`) anywhere in the name → *Frozen*;
//! 2. the longest ending of the name that is a keyword: "vanilla ice cream" → `ice cream`
//!    (*Frozen*), "apple juice" → `juice` (*Drinks*), "peanut butter" → `peanut butter`
//!    (*Pantry*, before `butter` would say *Dairy*);
//! 3. any other word of the name, from the right: "chicken breast" → `chicken` (*Meat & fish*);
//! 4. otherwise *Other*.
//!
//! Keywords are compared by their [`name_key`], so singular and plural meet ("apples",
//! "apple"). The table is deliberately small and English; an item it does not know is still
//! listed, under *Other*. Extend [`KEYWORDS`] to teach it more.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::model::name_key;

/// The aisles, in the order the list shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Produce,
    DairyEggs,
    Bakery,
    MeatFish,
    Pantry,
    Frozen,
    Drinks,
    Household,
    Other,
}

impl Category {
    /// The heading shown in the list.
    pub fn title(self) -> &'static str {
        match self {
            Category::Produce => "Produce",
            Category::DairyEggs => "Dairy & eggs",
            Category::Bakery => "Bakery",
            Category::MeatFish => "Meat & fish",
            Category::Pantry => "Pantry",
            Category::Frozen => "Frozen",
            Category::Drinks => "Drinks",
            Category::Household => "Household",
            Category::Other => "Other",
        }
    }

    /// The category of an item, from its matching key (see the module doc).
    pub fn of(key: &str) -> Category {
        let words: Vec<&str> = key.split(' ').collect();
        if words.contains(&"frozen") {
            return Category::Frozen;
        }
        let table = table();
        // Endings, longest first: the whole key is already folded like a keyword.
        for start in 0..words.len() {
            if let Some(category) = table.get(&words[start..].join(" ")) {
                return *category;
            }
        }
        // Other single words, right to left, folded as a last word would be.
        words
            .iter()
            .rev()
            .skip(1)
            .find_map(|word| table.get(&name_key(word)).copied())
            .unwrap_or(Category::Other)
    }
}

/// Keywords per category. Several words make a phrase matched as the ending of a name.
#[rustfmt::skip]
pub const KEYWORDS: &[(Category, &[&str])] = &[
    (Category::Produce, &[
        "apple", "banana", "orange", "lemon", "lime", "pear", "peach", "plum", "grape", "cherry",
        "strawberry", "raspberry", "blueberry", "berry", "melon", "watermelon", "kiwi", "mango",
        "pineapple", "avocado", "tomato", "potato", "sweet potato", "onion", "garlic", "ginger",
        "carrot", "celery", "cucumber", "lettuce", "salad", "spinach", "kale", "cabbage",
        "broccoli", "cauliflower", "courgette", "zucchini", "aubergine", "eggplant", "pepper",
        "chilli", "chili", "mushroom", "leek", "pea", "bean", "green bean", "corn", "asparagus",
        "beetroot", "radish", "herb", "parsley", "basil", "coriander", "cilantro", "mint",
        "rocket", "fruit", "vegetable", "veg", "veggie", "spring onion", "shallot", "pumpkin",
        "squash", "fig", "date", "apricot", "nectarine",
    ]),
    (Category::DairyEggs, &[
        "milk", "egg", "butter", "cheese", "cheddar", "mozzarella", "parmesan", "feta", "yogurt",
        "yoghurt", "cream", "sour cream", "cream cheese", "creme fraiche", "quark", "skyr",
        "kefir", "margarine", "custard",
    ]),
    (Category::Bakery, &[
        "bread", "loaf", "roll", "bun", "bagel", "baguette", "croissant", "muffin", "cake",
        "pastry", "tortilla", "wrap", "pitta", "pita", "naan", "crumpet", "brioche", "sourdough",
        "toast",
    ]),
    (Category::MeatFish, &[
        "meat", "chicken", "beef", "pork", "lamb", "turkey", "mince", "steak", "sausage", "bacon",
        "ham", "salami", "chorizo", "fish", "salmon", "tuna", "cod", "haddock", "prawn", "shrimp",
        "mussel", "burger", "chicken breast", "drumstick",
    ]),
    (Category::Pantry, &[
        "rice", "pasta", "spaghetti", "noodle", "flour", "sugar", "salt", "oil", "olive oil",
        "vinegar", "cereal", "oat", "porridge", "muesli", "granola", "honey", "jam",
        "peanut butter", "nutella", "sauce", "ketchup", "mayo", "mayonnaise", "mustard",
        "soy sauce", "stock", "spice", "cinnamon", "paprika", "canned tomato", "tinned tomato",
        "lentil", "chickpea", "coffee", "tea", "cocoa", "biscuit", "cookie", "cracker", "crisp",
        "chip", "chocolate", "snack", "nut", "almond", "raisin", "baking powder", "yeast", "soup",
        "oatmeal", "couscous", "quinoa",
    ]),
    (Category::Frozen, &[
        "ice cream", "ice", "frozen pizza", "fish finger", "fish stick", "ice lolly", "popsicle",
        "sorbet",
    ]),
    (Category::Drinks, &[
        "water", "sparkling water", "juice", "orange juice", "apple juice", "soda", "cola", "coke",
        "lemonade", "beer", "wine", "cider", "gin", "vodka", "whisky", "whiskey", "rum",
        "prosecco", "champagne", "squash drink", "smoothie", "tonic",
    ]),
    (Category::Household, &[
        "toilet paper", "toilet roll", "loo roll", "kitchen roll", "paper towel", "tissue",
        "napkin", "soap", "hand soap", "shampoo", "conditioner", "toothpaste", "toothbrush",
        "deodorant", "detergent", "washing up liquid", "dish soap", "washing powder", "laundry",
        "softener", "bleach", "cleaner", "sponge", "bin bag", "bin liner", "foil", "cling film",
        "battery", "light bulb", "nappy", "diaper", "wipe", "razor", "dishwasher tablet",
    ]),
];

/// The keyword table by matching key.
fn table() -> &'static HashMap<String, Category> {
    static TABLE: OnceLock<HashMap<String, Category>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for (category, words) in KEYWORDS {
            for word in *words {
                table.entry(name_key(word)).or_insert(*category);
            }
        }
        table
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(name: &str) -> Category {
        Category::of(&name_key(name))
    }

    #[test]
    fn items_fall_into_their_aisles() {
        for (name, category) in [
            ("apples", Category::Produce),
            ("Bananas", Category::Produce),
            ("milk", Category::DairyEggs),
            ("oat milk", Category::DairyEggs),
            ("eggs", Category::DairyEggs),
            ("sourdough bread", Category::Bakery),
            ("chicken breasts", Category::MeatFish),
            ("peanut butter", Category::Pantry),
            ("butter", Category::DairyEggs),
            ("vanilla ice cream", Category::Frozen),
            ("frozen peas", Category::Frozen),
            ("apple juice", Category::Drinks),
            ("toilet paper", Category::Household),
            ("wine", Category::Drinks),
            ("birthday candles", Category::Other),
        ] {
            assert_eq!(of(name), category, "{name}");
        }
    }

    #[test]
    fn every_keyword_finds_its_own_category() {
        for (category, words) in KEYWORDS {
            for word in *words {
                // A keyword listed twice keeps its first category; none is listed twice.
                assert_eq!(of(word), *category, "{word}");
            }
        }
    }
}
