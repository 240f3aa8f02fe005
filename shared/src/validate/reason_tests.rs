//! Every `Reason` reads in both languages; Vietnamese writes numbers and
//! dates its own way.

use super::*;
use time::macros::date;

/// The variant's position; the match is exhaustive, so a new reason
/// must be added here, and then to [`one_of_each`].
fn variant(r: &Reason) -> usize {
    use Reason as R;
    match r {
        R::Missing => 0,
        R::NodeAssigns => 1,
        R::TooBig { .. } => 2,
        R::WrongOrigin { .. } => 3,
        R::BeforeEpoch(_) => 4,
        R::SchemaZero => 5,
        R::NewerSchema(_) => 6,
        R::NoKind => 7,
        R::WrongLength { .. } => 8,
        R::AllZeros => 9,
        R::TooManyChars { .. } => 10,
        R::ControlChars => 11,
        R::SurroundingSpace => 12,
        R::UnknownValue(_) => 13,
        R::EmptyList => 14,
        R::Duplicate(_) => 15,
        R::TooSmall { .. } => 16,
        R::TooLarge { .. } => 17,
        R::YearAhead { .. } => 18,
        R::ClientRef => 19,
        R::TooLongFor { .. } => 20,
        R::BadUnit(_) => 21,
        R::NotInListing(_) => 22,
        R::OutsideSubtree { .. } => 23,
        R::BadDate(_) => 24,
        R::BeforeEarliest { .. } => 25,
        R::InFuture { .. } => 26,
        R::NotCommune { .. } => 27,
        R::UnknownEvent => 28,
        R::OtherOrigin(_) => 29,
        R::ChangesNothing => 30,
        R::TeamAbove { .. } => 31,
        R::TooFewMembers(_) => 32,
        R::AgenciesOverMembers { .. } => 33,
        R::ViolationsWithoutCheck => 34,
        R::CompliantWithFailedCheck => 35,
        R::TipIdWithoutTipOff => 36,
        R::BusinessIdRequired => 37,
        R::FineWithWarning => 38,
        R::MonthsWithoutSuspension => 39,
        R::NestedVoidOrCorrection => 40,
        R::ClientKeyId => 41,
    }
}
const VARIANTS: usize = 42;

fn u(s: &str) -> UnitId {
    s.parse().expect("test unit id parses")
}

fn one_of_each() -> Vec<Reason> {
    use Reason as R;
    let day = date!(2024 - 03 - 01);
    vec![
        R::Missing,
        R::NodeAssigns,
        R::TooBig {
            bytes: 70_000,
            limit: 65_536,
        },
        R::WrongOrigin {
            got: u("c11953"),
            expected: u("c11950"),
        },
        R::BeforeEpoch(-1),
        R::SchemaZero,
        R::NewerSchema(2),
        R::NoKind,
        R::WrongLength {
            got: 3,
            expected: 16,
        },
        R::AllZeros,
        R::TooManyChars {
            chars: 70,
            limit: 64,
        },
        R::ControlChars,
        R::SurroundingSpace,
        R::UnknownValue(99),
        R::EmptyList,
        R::Duplicate(2),
        R::TooSmall { min: 1, got: 0 },
        R::TooLarge {
            max: 1_000_000_000,
            got: 2_000_000_000,
        },
        R::YearAhead {
            year: 2030,
            latest: 2027,
        },
        R::ClientRef,
        R::TooLongFor {
            bytes: 40,
            what: ShortField::Date,
        },
        R::BadUnit(UnitError::BadLetter { input: "x1".into() }),
        R::NotInListing(ReadError::Parse(UnitError::Empty)),
        R::OutsideSubtree {
            given: "11953".into(),
            read_as: Some((u("c11953"), day)),
            origin: u("c11950"),
        },
        R::BadDate(PeriodError::NoSuchDate {
            input: "2024-02-30".into(),
        }),
        R::BeforeEarliest {
            date: date!(1999 - 12 - 31),
            earliest: date!(2000 - 01 - 01),
        },
        R::InFuture {
            date: date!(2030 - 01 - 01),
            latest: date!(2026 - 12 - 09),
        },
        R::NotCommune {
            unit: u("d323"),
            why: CommuneOnly::Clients,
        },
        R::UnknownEvent,
        R::OtherOrigin(u("c11953")),
        R::ChangesNothing,
        R::TeamAbove {
            team: Level::Province,
            origin: u("d323"),
        },
        R::TooFewMembers(2),
        R::AgenciesOverMembers {
            agencies: 4,
            members: 3,
        },
        R::ViolationsWithoutCheck,
        R::CompliantWithFailedCheck,
        R::TipIdWithoutTipOff,
        R::BusinessIdRequired,
        R::FineWithWarning,
        R::MonthsWithoutSuspension,
        R::NestedVoidOrCorrection,
        R::ClientKeyId,
    ]
}

#[test]
fn every_reason_reads_in_both_languages() {
    let all = one_of_each();
    let mut seen = [false; VARIANTS];
    for r in &all {
        seen[variant(r)] = true;
        let (vi, en) = (r.text(Lang::Vi), r.text(Lang::En));
        assert!(!vi.trim().is_empty() && !en.trim().is_empty(), "{r:?}");
        assert_ne!(vi, en, "{r:?} has no Vietnamese of its own");
        assert_eq!(en, r.to_string(), "Display is the English text");
    }
    let missing: Vec<usize> = (0..VARIANTS).filter(|&i| !seen[i]).collect();
    assert!(missing.is_empty(), "reasons without a sample: {missing:?}");
}

#[test]
fn vietnamese_writes_numbers_and_dates_the_vietnamese_way() {
    let big = Reason::TooLarge {
        max: 1_000_000_000,
        got: 2_000_000_000,
    };
    assert_eq!(
        big.text(Lang::Vi),
        "tối đa là 1.000.000.000, nhận được 2.000.000.000"
    );
    assert_eq!(
        big.text(Lang::En),
        "must be at most 1000000000, got 2000000000"
    );
    let future = Reason::InFuture {
        date: date!(2030 - 01 - 01),
        latest: date!(2026 - 12 - 09),
    };
    assert_eq!(
        future.text(Lang::Vi),
        "ngày 01/01/2030 ở tương lai (muộn nhất là 09/12/2026)"
    );
    assert_eq!(
        future.text(Lang::En),
        "2030-01-01 is in the future (latest 2026-12-09)"
    );
}
