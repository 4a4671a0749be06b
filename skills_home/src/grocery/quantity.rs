//! Quantities and units of list items.
//!
//! A [`Quantity`] is an exact decimal with three places, kept as an integer count of
//! thousandths so that `1.5 l + 0.25 l` is exactly `1.75 l` in memory and in Postgres
//! (`numeric(15,3)`) alike. A [`Unit`] is the normalised unit; its [`Unit::key`] is what the
//! `grocery_items.unit` column stores; converting between units (kg ↔ g) is in `convert`.

use std::fmt;

/// Thousandths per whole unit.
const SCALE: i64 = 1000;

/// The largest quantity one message may ask for.
pub const MAX_PER_MESSAGE: Quantity = Quantity(100_000 * SCALE);

/// The largest quantity an item can reach by repeated adds; sums saturate here so that no
/// message can fail (and be retried forever) because a total grew too large.
pub const MAX_TOTAL: Quantity = Quantity(1_000_000 * SCALE);

/// A positive decimal quantity with up to three decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    /// A whole number of units.
    pub fn whole(units: u32) -> Quantity {
        Quantity(i64::from(units) * SCALE)
    }

    /// Parses a plain decimal such as `3`, `1.5` or `2.000` (Postgres' text form of
    /// `numeric(15,3)`). Rejects signs, exponents, more than three decimals and values beyond
    /// `MAX_TOTAL`.
    pub fn parse_decimal(text: &str) -> Option<Quantity> {
        let (whole, frac) = match text.split_once('.') {
            Some((_, "")) => return None,
            Some((whole, frac)) => (whole, frac),
            None => (text, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 3 || whole.len() > 9 {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac_thousandths: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<3}").parse().ok()?
        };
        let quantity = Quantity(whole * SCALE + frac_thousandths);
        (quantity <= MAX_TOTAL).then_some(quantity)
    }

    /// The quantity in thousandths of its unit (for unit conversion).
    pub(crate) fn thousandths(self) -> i64 {
        self.0
    }

    /// A quantity of `thousandths` thousandths, clamped to [`MAX_TOTAL`]; `None` unless positive.
    pub(crate) fn from_thousandths(thousandths: i64) -> Option<Quantity> {
        (thousandths > 0).then(|| Quantity(thousandths.min(MAX_TOTAL.0)))
    }

    /// Half a unit ("half a kilo").
    pub fn half() -> Quantity {
        Quantity(SCALE / 2)
    }

    /// Whether the quantity is above zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Whether the quantity is exactly one unit (for "1 bottle" versus "2 bottles").
    pub fn is_one(self) -> bool {
        self.0 == SCALE
    }

    /// `self × factor` (used for "2 dozen"), `None` beyond `MAX_TOTAL`.
    pub fn times(self, factor: u32) -> Option<Quantity> {
        let product = Quantity(self.0.checked_mul(i64::from(factor))?);
        (product <= MAX_TOTAL).then_some(product)
    }
}

/// Shortest decimal form: `2`, `1.5`, `0.25`. Postgres accepts it as `numeric` input.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / SCALE;
        let frac = self.0 % SCALE;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// A normalised unit. `Count` means "so many of the thing" (`3 bananas`, `3 pcs bananas`) and
/// is also the unit of an item added without a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Count,
    Kg,
    G,
    L,
    Ml,
    Lb,
    Oz,
    Pack,
    Bottle,
    Can,
    Jar,
    Bag,
    Box,
    Bunch,
    Loaf,
}

/// Spellings accepted for each unit, lower-case.
const SPELLINGS: &[(Unit, &[&str])] = &[
    (Unit::Count, &["pcs", "pc", "piece", "pieces", "x"]),
    (
        Unit::Kg,
        &[
            "kg",
            "kgs",
            "kilo",
            "kilos",
            "kilogram",
            "kilograms",
            "kilogramme",
            "kilogrammes",
        ],
    ),
    (
        Unit::G,
        &["g", "gr", "grs", "gram", "grams", "gramme", "grammes"],
    ),
    (
        Unit::L,
        &[
            "l", "lt", "ltr", "ltrs", "litre", "litres", "liter", "liters",
        ],
    ),
    (
        Unit::Ml,
        &[
            "ml",
            "millilitre",
            "millilitres",
            "milliliter",
            "milliliters",
        ],
    ),
    (Unit::Lb, &["lb", "lbs", "pound", "pounds"]),
    (Unit::Oz, &["oz", "ounce", "ounces"]),
    (Unit::Pack, &["pack", "packs", "packet", "packets"]),
    (Unit::Bottle, &["bottle", "bottles"]),
    (Unit::Can, &["can", "cans", "tin", "tins"]),
    (Unit::Jar, &["jar", "jars"]),
    (Unit::Bag, &["bag", "bags"]),
    (Unit::Box, &["box", "boxes"]),
    (Unit::Bunch, &["bunch", "bunches"]),
    (Unit::Loaf, &["loaf", "loaves"]),
];

impl Unit {
    /// Recognises a unit word (lower-case), e.g. `kilos` → `Kg`.
    pub fn from_word(word: &str) -> Option<Unit> {
        SPELLINGS
            .iter()
            .find(|(_, words)| words.contains(&word))
            .map(|(unit, _)| *unit)
    }

    /// Recognises a unit written straight after a number (`2kg`, `500g`, `3x`): only the short
    /// symbols, so that `7up` or `4ever` stay names.
    pub fn from_suffix(suffix: &str) -> Option<Unit> {
        match suffix {
            "kg" | "kgs" => Some(Unit::Kg),
            "g" | "gr" => Some(Unit::G),
            "l" | "ltr" => Some(Unit::L),
            "ml" => Some(Unit::Ml),
            "lb" | "lbs" => Some(Unit::Lb),
            "oz" => Some(Unit::Oz),
            "x" | "pcs" => Some(Unit::Count),
            _ => None,
        }
    }

    /// The stored form (`grocery_items.unit`): empty for `Count`.
    pub fn key(self) -> &'static str {
        match self {
            Unit::Count => "",
            Unit::Kg => "kg",
            Unit::G => "g",
            Unit::L => "l",
            Unit::Ml => "ml",
            Unit::Lb => "lb",
            Unit::Oz => "oz",
            Unit::Pack => "pack",
            Unit::Bottle => "bottle",
            Unit::Can => "can",
            Unit::Jar => "jar",
            Unit::Bag => "bag",
            Unit::Box => "box",
            Unit::Bunch => "bunch",
            Unit::Loaf => "loaf",
        }
    }

    /// The inverse of [`Unit::key`].
    pub fn from_key(key: &str) -> Option<Unit> {
        SPELLINGS
            .iter()
            .map(|(unit, _)| *unit)
            .find(|unit| unit.key() == key)
    }

    /// Renders `quantity unit name`: `2 kg apples`, `3 bananas`, `2 bottles of milk`, `milk`.
    pub fn render(self, quantity: Option<Quantity>, name: &str) -> String {
        let Some(quantity) = quantity else {
            return name.to_owned();
        };
        let amount = self.render_amount(quantity);
        if self.is_container() {
            format!("{amount} of {name}")
        } else {
            format!("{amount} {name}")
        }
    }

    /// Renders the amount alone: `2.5 kg`, `18`, `2 bottles`.
    pub fn render_amount(self, quantity: Quantity) -> String {
        match self {
            Unit::Count => quantity.to_string(),
            Unit::Kg | Unit::G | Unit::L | Unit::Ml | Unit::Lb | Unit::Oz => {
                format!("{quantity} {}", self.key())
            }
            container => {
                let word = if quantity.is_one() {
                    container.key()
                } else {
                    container.plural()
                };
                format!("{quantity} {word}")
            }
        }
    }

    /// Whether the unit is a container (`bottle`, `pack` …) rather than a measure or a count.
    pub fn is_container(self) -> bool {
        !matches!(
            self,
            Unit::Count | Unit::Kg | Unit::G | Unit::L | Unit::Ml | Unit::Lb | Unit::Oz
        )
    }

    fn plural(self) -> &'static str {
        match self {
            Unit::Box => "boxes",
            Unit::Bunch => "bunches",
            Unit::Loaf => "loaves",
            Unit::Pack => "packs",
            Unit::Bottle => "bottles",
            Unit::Can => "cans",
            Unit::Jar => "jars",
            Unit::Bag => "bags",
            other => other.key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_in_their_shortest_form() {
        for (text, shown) in [
            ("3", "3"),
            ("1.5", "1.5"),
            ("2.000", "2"),
            ("0.250", "0.25"),
            ("10.05", "10.05"),
        ] {
            assert_eq!(Quantity::parse_decimal(text).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn malformed_decimals_are_rejected() {
        for text in [
            "",
            "-1",
            "1e3",
            "1.2345",
            ".5",
            "1.",
            "1.2.3",
            "abc",
            "99999999999",
            "2000000",
        ] {
            assert_eq!(Quantity::parse_decimal(text), None, "{text:?}");
        }
    }

    #[test]
    fn every_unit_key_maps_back_to_its_unit() {
        for (unit, _) in SPELLINGS {
            assert_eq!(Unit::from_key(unit.key()), Some(*unit));
        }
    }
}
