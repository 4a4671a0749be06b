//! Which units can be summed, and how.
//!
//! Units fall into [`Family`]s. Within a family amounts convert exactly and are summed:
//!
//! | family | units | rule |
//! |---|---|---|
//! | count | pieces, plain numbers, "a dozen" (= 12, already a count when parsed) | summed |
//! | mass | g, kg (1 kg = 1000 g) | summed |
//! | volume | ml, l (1 l = 1000 ml) | summed |
//! | imperial mass | oz, lb (1 lb = 16 oz) | summed |
//! | each container | pack, bottle, can, jar, bag, box, bunch, loaf | summed with the same container only |
//!
//! Metric and imperial weights are kept apart on purpose: 1 lb is 453.59237 g, and a list
//! showing "1.4536 kg apples" would be both ugly and a rounding nobody asked for. Amounts of
//! different families ("2 kg apples" and "3 apples") stay separate lines.
//!
//! A sum is shown in the larger unit when it is at least one of it (500 g + 700 g = 1.2 kg) or
//! when the line was already in the larger unit (0.5 kg + 300 g = 0.8 kg), provided the result
//! is exact in three decimals; otherwise in the smaller unit (1 lb + 1 oz = 17 oz).

use super::quantity::{Quantity, Unit};

/// Thousandths per whole unit (as in `quantity`).
const SCALE: i64 = 1000;

/// A set of units whose amounts are summed into one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Count,
    Mass,
    Volume,
    ImperialMass,
    /// One container unit (bottles sum with bottles only).
    Container(Unit),
}

impl Family {
    /// The family of `unit`.
    pub fn of(unit: Unit) -> Family {
        match unit {
            Unit::Count => Family::Count,
            Unit::Kg | Unit::G => Family::Mass,
            Unit::L | Unit::Ml => Family::Volume,
            Unit::Lb | Unit::Oz => Family::ImperialMass,
            container => Family::Container(container),
        }
    }

    /// The stored form (`grocery_items.family`), the key of the one-open-line-per-family index.
    pub fn key(self) -> &'static str {
        match self {
            Family::Count => "count",
            Family::Mass => "mass",
            Family::Volume => "volume",
            Family::ImperialMass => "imperial_mass",
            Family::Container(unit) => unit.key(),
        }
    }

    /// `(smaller unit, larger unit, smaller units per larger unit)` of a scaled family.
    fn scale(self) -> Option<(Unit, Unit, i64)> {
        match self {
            Family::Mass => Some((Unit::G, Unit::Kg, 1000)),
            Family::Volume => Some((Unit::Ml, Unit::L, 1000)),
            Family::ImperialMass => Some((Unit::Oz, Unit::Lb, 16)),
            Family::Count | Family::Container(_) => None,
        }
    }
}

/// How many of the family's smallest unit one `unit` is.
fn factor(unit: Unit) -> i64 {
    match unit {
        Unit::Kg | Unit::L => 1000,
        Unit::Lb => 16,
        _ => 1,
    }
}

/// The sum of `existing` (the line on the list, in `existing_unit`) and `added` (in
/// `added_unit`, of the same family), and the unit to show it in. Saturates at the maximum
/// quantity. `None` when the units are not of one family.
pub fn sum(
    existing: Quantity,
    existing_unit: Unit,
    added: Quantity,
    added_unit: Unit,
) -> Option<(Quantity, Unit)> {
    let family = Family::of(existing_unit);
    if Family::of(added_unit) != family {
        return None;
    }
    // Both are at most a million units of at most 1000 base units, in thousandths: no overflow.
    let base =
        existing.thousandths() * factor(existing_unit) + added.thousandths() * factor(added_unit);
    shown(family, existing_unit, base)
}

/// An amount of `base` thousandths of the family's smallest unit, in the unit to show it in:
/// the larger one when it is exact there and at least one of it, or when the line was already
/// in it; else the smaller one.
fn shown(family: Family, existing_unit: Unit, base: i64) -> Option<(Quantity, Unit)> {
    let (amount, unit) = match family.scale() {
        Some((small, big, per)) => {
            let exact_in_big = base % per == 0;
            let wants_big = base >= per * SCALE || existing_unit == big;
            if exact_in_big && wants_big {
                (base / per, big)
            } else {
                (base, small)
            }
        }
        None => (base, existing_unit),
    };
    Some((Quantity::from_thousandths(amount)?, unit))
}

/// What is left of `existing` (in `existing_unit`) after `taken` (in `taken_unit`, of the
/// same family) was bought, shown by the same rule as [`sum`]. `None` when the units are not of
/// one family or `taken` is all of it or more (the whole line is bought).
pub fn difference(
    existing: Quantity,
    existing_unit: Unit,
    taken: Quantity,
    taken_unit: Unit,
) -> Option<(Quantity, Unit)> {
    let family = Family::of(existing_unit);
    if Family::of(taken_unit) != family {
        return None;
    }
    let base =
        existing.thousandths() * factor(existing_unit) - taken.thousandths() * factor(taken_unit);
    if base <= 0 {
        return None;
    }
    shown(family, existing_unit, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse_decimal(text).unwrap()
    }

    fn shown(a: &str, ua: Unit, b: &str, ub: Unit) -> String {
        let (quantity, unit) = sum(q(a), ua, q(b), ub).unwrap();
        unit.render_amount(quantity)
    }

    #[test]
    fn sums_saturate_at_the_maximum() {
        let big = q("999999");
        assert_eq!(
            sum(big, Unit::Count, big, Unit::Count),
            Some((crate::grocery::quantity::MAX_TOTAL, Unit::Count))
        );
    }

    #[test]
    fn metric_amounts_are_summed_in_the_fitting_unit() {
        assert_eq!(shown("2", Unit::Kg, "500", Unit::G), "2.5 kg");
        assert_eq!(shown("500", Unit::G, "2", Unit::Kg), "2.5 kg");
        assert_eq!(shown("500", Unit::G, "700", Unit::G), "1.2 kg");
        assert_eq!(shown("500", Unit::G, "300", Unit::G), "800 g");
        assert_eq!(shown("0.5", Unit::Kg, "300", Unit::G), "0.8 kg");
        assert_eq!(shown("1", Unit::L, "250", Unit::Ml), "1.25 l");
        assert_eq!(shown("1", Unit::Kg, "0.5", Unit::G), "1000.5 g");
    }

    fn left(a: &str, ua: Unit, b: &str, ub: Unit) -> Option<String> {
        difference(q(a), ua, q(b), ub).map(|(quantity, unit)| unit.render_amount(quantity))
    }

    #[test]
    fn what_is_left_after_buying_part_of_a_line() {
        assert_eq!(
            left("2", Unit::Kg, "500", Unit::G).as_deref(),
            Some("1.5 kg")
        );
        assert_eq!(left("2", Unit::Kg, "1", Unit::Kg).as_deref(), Some("1 kg"));
        assert_eq!(
            left("800", Unit::G, "300", Unit::G).as_deref(),
            Some("500 g")
        );
        assert_eq!(
            left("6", Unit::Count, "2", Unit::Count).as_deref(),
            Some("4")
        );
        assert_eq!(left("2", Unit::Kg, "2000", Unit::G), None, "all of it");
        assert_eq!(left("2", Unit::Kg, "3", Unit::Kg), None, "more than listed");
        assert_eq!(left("2", Unit::Kg, "1", Unit::Lb), None, "another family");
    }

    #[test]
    fn imperial_weights_sum_among_themselves() {
        assert_eq!(shown("1", Unit::Lb, "8", Unit::Oz), "1.5 lb");
        assert_eq!(shown("1", Unit::Lb, "1", Unit::Oz), "17 oz");
        assert_eq!(sum(q("1"), Unit::Lb, q("1"), Unit::Kg), None);
    }

    #[test]
    fn counts_and_containers_sum_only_with_their_own_kind() {
        assert_eq!(shown("12", Unit::Count, "6", Unit::Count), "18");
        assert_eq!(shown("1", Unit::Bottle, "2", Unit::Bottle), "3 bottles");
        assert_eq!(sum(q("1"), Unit::Bottle, q("1"), Unit::Can), None);
        assert_eq!(sum(q("2"), Unit::Kg, q("3"), Unit::Count), None);
    }

    #[test]
    fn family_keys_are_distinct() {
        let keys: std::collections::HashSet<&str> = [
            Unit::Count,
            Unit::Kg,
            Unit::L,
            Unit::Lb,
            Unit::Pack,
            Unit::Bottle,
            Unit::Can,
            Unit::Jar,
            Unit::Bag,
            Unit::Box,
            Unit::Bunch,
            Unit::Loaf,
        ]
        .into_iter()
        .map(|unit| Family::of(unit).key())
        .collect();
        assert_eq!(keys.len(), 12);
    }
}
