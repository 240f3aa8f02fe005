//! Calendar dates and reporting periods (month, quarter, half-year, year).
//!
//! Dates are [`time::Date`], written strictly as ISO `YYYY-MM-DD`. Periods
//! are written `2024-03`, `2024-Q3`, `2024-H1` and `2024`; that is also their
//! serde form.

use std::fmt;
use std::str::FromStr;

pub use time::Date;
use time::Month;

/// Smallest year a period or a parsed date may have.
const MIN_YEAR: i32 = 0;
/// Largest year a period or a parsed date may have.
const MAX_YEAR: i32 = 9999;

/// Parses a date in the strict ISO form `YYYY-MM-DD` (zero-padded, no time,
/// no surrounding spaces).
pub fn parse_date(s: &str) -> Result<Date, PeriodError> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(PeriodError::DateFormat {
            input: s.to_owned(),
        });
    }
    // Two ASCII digits always fit a u8 and four always fit an i32.
    let two = |at: usize| (b[at] - b'0') * 10 + (b[at + 1] - b'0');
    let year = digits_value(&b[0..4]) as i32;
    Month::try_from(two(5))
        .and_then(|month| Date::from_calendar_date(year, month, two(8)))
        .map_err(|_| PeriodError::NoSuchDate {
            input: s.to_owned(),
        })
}

/// Formats a date as ISO `YYYY-MM-DD` (a year outside 0–9999, which
/// [`parse_date`] never gives, is written with its sign or extra digits).
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Formats a date the Vietnamese way, `DD/MM/YYYY` (`31/12/2023`).
pub fn format_date_vi(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), u8::from(d.month()), d.year())
}

/// Value of a run of ASCII digits (the caller has checked them).
fn digits_value(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

/// The length of a reporting period.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PeriodKind {
    /// A calendar month.
    Month,
    /// A calendar quarter (Q1 = January–March).
    Quarter,
    /// A half-year (H1 = January–June).
    Half,
    /// A calendar year.
    Year,
}

impl PeriodKind {
    /// All kinds, shortest first.
    pub const ALL: [PeriodKind; 4] = [
        PeriodKind::Month,
        PeriodKind::Quarter,
        PeriodKind::Half,
        PeriodKind::Year,
    ];
}

/// A reporting period.
///
/// Valid fields are: `month` 1–12, `quarter` 1–4, `half` 1–2, `year`
/// 0–9999. Parsing, serde, [`Period::of_kind`] (for dates in years 0–9999)
/// and [`Period::validate`] guarantee that; a period built by hand with
/// fields out of range is clamped into range by the date methods instead of
/// panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// A calendar month.
    Month {
        /// Calendar year.
        year: i32,
        /// Month, 1–12.
        month: u8,
    },
    /// A calendar quarter.
    Quarter {
        /// Calendar year.
        year: i32,
        /// Quarter, 1–4.
        quarter: u8,
    },
    /// A half-year.
    Half {
        /// Calendar year.
        year: i32,
        /// Half, 1 (January–June) or 2 (July–December).
        half: u8,
    },
    /// A calendar year.
    Year {
        /// Calendar year.
        year: i32,
    },
}

impl Period {
    /// The kind of the period.
    pub fn kind(self) -> PeriodKind {
        match self {
            Period::Month { .. } => PeriodKind::Month,
            Period::Quarter { .. } => PeriodKind::Quarter,
            Period::Half { .. } => PeriodKind::Half,
            Period::Year { .. } => PeriodKind::Year,
        }
    }

    /// The calendar year the period lies in.
    pub fn year(self) -> i32 {
        match self {
            Period::Month { year, .. }
            | Period::Quarter { year, .. }
            | Period::Half { year, .. }
            | Period::Year { year } => year,
        }
    }

    /// The month, quarter, half and year that contain `d`, in that order.
    pub fn containing(d: Date) -> [Period; 4] {
        PeriodKind::ALL.map(|kind| Period::of_kind(kind, d))
    }

    /// The period of the given kind that contains `d`.
    pub fn of_kind(kind: PeriodKind, d: Date) -> Period {
        let year = d.year();
        let month = u8::from(d.month());
        match kind {
            PeriodKind::Month => Period::Month { year, month },
            PeriodKind::Quarter => Period::Quarter {
                year,
                quarter: (month - 1) / 3 + 1,
            },
            PeriodKind::Half => Period::Half {
                year,
                half: (month - 1) / 6 + 1,
            },
            PeriodKind::Year => Period::Year { year },
        }
    }

    /// Checks the fields are in range (see [`Period`]) and returns the
    /// period unchanged, e.g. after building one from a wire message.
    pub fn validate(self) -> Result<Period, PeriodError> {
        let year = self.year();
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(PeriodError::YearOutOfRange { year });
        }
        let index = match self {
            Period::Month { month, .. } => Some(("month", (1..=12).contains(&month))),
            Period::Quarter { quarter, .. } => Some(("quarter", (1..=4).contains(&quarter))),
            Period::Half { half, .. } => Some(("half", (1..=2).contains(&half))),
            Period::Year { .. } => None,
        };
        match index {
            Some((field, false)) => Err(PeriodError::OutOfRange {
                input: self.to_string(),
                field,
                range: range_text(self.kind()),
            }),
            _ => Ok(self),
        }
    }

    /// Year, first month and number of months, clamped into range.
    fn span(self) -> (i32, u8, u8) {
        let year = self.year().clamp(MIN_YEAR, MAX_YEAR);
        match self {
            Period::Month { month, .. } => (year, month.clamp(1, 12), 1),
            Period::Quarter { quarter, .. } => (year, (quarter.clamp(1, 4) - 1) * 3 + 1, 3),
            Period::Half { half, .. } => (year, (half.clamp(1, 2) - 1) * 6 + 1, 6),
            Period::Year { .. } => (year, 1, 12),
        }
    }

    /// The first day of the period.
    pub fn first_day(self) -> Date {
        let (year, month, _) = self.span();
        calendar_date(year, month, 1)
    }

    /// The last day of the period.
    pub fn last_day(self) -> Date {
        let (year, first, months) = self.span();
        let last = first + months - 1;
        let day = month_of(last).length(year);
        calendar_date(year, last, day)
    }

    /// Whether `d` falls within the period (both ends included).
    pub fn contains(self, d: Date) -> bool {
        self.first_day() <= d && d <= self.last_day()
    }

    /// The periods one step shorter that make up this one: a year's four
    /// quarters, a half's two quarters, a quarter's three months; none for a
    /// month.
    pub fn children(self) -> Vec<Period> {
        let (year, first, months) = self.span();
        match self {
            Period::Month { .. } => Vec::new(),
            Period::Quarter { .. } => (first..first + months)
                .map(|month| Period::Month { year, month })
                .collect(),
            Period::Half { .. } | Period::Year { .. } => (first..first + months)
                .step_by(3)
                .map(|month| Period::Quarter {
                    year,
                    quarter: (month - 1) / 3 + 1,
                })
                .collect(),
        }
    }

    /// Vietnamese label: `Tháng 3/2024`, `Quý 2/2024`, `6 tháng đầu năm
    /// 2024`, `6 tháng cuối năm 2024`, `Năm 2024`.
    pub fn label_vi(self) -> String {
        match self {
            Period::Month { year, month } => format!("Tháng {month}/{year}"),
            Period::Quarter { year, quarter } => format!("Quý {quarter}/{year}"),
            Period::Half { year, half: 1 } => format!("6 tháng đầu năm {year}"),
            Period::Half { year, .. } => format!("6 tháng cuối năm {year}"),
            Period::Year { year } => format!("Năm {year}"),
        }
    }

    /// English label: `March 2024`, `Q2 2024`, `H1 2024`, `Year 2024`.
    pub fn label_en(self) -> String {
        match self {
            Period::Month { year, month } => format!("{} {year}", month_of(month)),
            Period::Quarter { year, quarter } => format!("Q{quarter} {year}"),
            Period::Half { year, half } => format!("H{half} {year}"),
            Period::Year { year } => format!("Year {year}"),
        }
    }
}

/// The month numbered `m`, clamped into 1–12.
fn month_of(m: u8) -> Month {
    match Month::try_from(m.clamp(1, 12)) {
        Ok(month) => month,
        Err(_) => Month::January,
    }
}

/// A date from parts already clamped into range.
fn calendar_date(year: i32, month: u8, day: u8) -> Date {
    match Date::from_calendar_date(year, month_of(month), day) {
        Ok(date) => date,
        // Unreachable for clamped parts; a total function all the same.
        Err(_) => Date::MIN,
    }
}

/// The accepted range of a kind's index, as shown in errors.
fn range_text(kind: PeriodKind) -> &'static str {
    match kind {
        PeriodKind::Month => "01 to 12",
        PeriodKind::Quarter => "Q1 to Q4",
        PeriodKind::Half => "H1 or H2",
        PeriodKind::Year => "0000 to 9999",
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    /// Parses `2024`, `2024-H1`, `2024-Q3` or `2024-03` (uppercase letters,
    /// zero-padded month, four-digit year).
    fn from_str(s: &str) -> Result<Period, PeriodError> {
        let bad_form = || PeriodError::PeriodFormat {
            input: s.to_owned(),
        };
        let b = s.as_bytes();
        if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
            return Err(bad_form());
        }
        let year = digits_value(&b[..4]) as i32;
        let rest = &b[4..];
        let (period, field) = match rest {
            [] => return Ok(Period::Year { year }),
            [b'-', b'H', n] if n.is_ascii_digit() => (
                Period::Half {
                    year,
                    half: n - b'0',
                },
                "half",
            ),
            [b'-', b'Q', n] if n.is_ascii_digit() => (
                Period::Quarter {
                    year,
                    quarter: n - b'0',
                },
                "quarter",
            ),
            [b'-', m1, m2] if m1.is_ascii_digit() && m2.is_ascii_digit() => (
                Period::Month {
                    year,
                    month: (m1 - b'0') * 10 + (m2 - b'0'),
                },
                "month",
            ),
            _ => return Err(bad_form()),
        };
        period.validate().map_err(|_| PeriodError::OutOfRange {
            input: s.to_owned(),
            field,
            range: range_text(period.kind()),
        })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::Half { year, half } => write!(f, "{year:04}-H{half}"),
            Period::Year { year } => write!(f, "{year:04}"),
        }
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Period;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a period such as \"2024\", \"2024-H1\", \"2024-Q3\" or \"2024-03\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Period, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Why a date or a period could not be parsed or is invalid.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PeriodError {
    /// The input is not shaped `YYYY-MM-DD`.
    #[error("date {input:?} must be in the form YYYY-MM-DD")]
    DateFormat {
        /// The rejected input.
        input: String,
    },
    /// The input is shaped `YYYY-MM-DD` but names no calendar day.
    #[error("date {input:?} does not exist")]
    NoSuchDate {
        /// The rejected input.
        input: String,
    },
    /// The input is none of the period forms.
    #[error(
        "period {input:?} must be YYYY, YYYY-H1, YYYY-H2, YYYY-Q1 to YYYY-Q4 or YYYY-MM (e.g. 2024, 2024-H1, 2024-Q3, 2024-03)"
    )]
    PeriodFormat {
        /// The rejected input.
        input: String,
    },
    /// The period's month, quarter or half is out of range.
    #[error("period {input:?} has a {field} out of range ({range})")]
    OutOfRange {
        /// The rejected input (or the period as written).
        input: String,
        /// `month`, `quarter` or `half`.
        field: &'static str,
        /// The accepted values.
        range: &'static str,
    },
    /// The period's year is outside 0–9999.
    #[error("period year {year} is out of range (0000 to 9999)")]
    YearOutOfRange {
        /// The rejected year.
        year: i32,
    },
}

impl crate::i18n::Localized for PeriodError {
    fn text(&self, lang: crate::i18n::Lang) -> String {
        use crate::i18n::Lang;
        match (lang, self) {
            (Lang::En, e) => e.to_string(),
            (Lang::Vi, PeriodError::DateFormat { input }) => {
                format!("ngày {input:?} phải viết theo dạng YYYY-MM-DD")
            }
            (Lang::Vi, PeriodError::NoSuchDate { input }) => {
                format!("ngày {input:?} không có trên lịch")
            }
            (Lang::Vi, PeriodError::PeriodFormat { input }) => format!(
                "kỳ {input:?} phải viết theo dạng YYYY, YYYY-H1, YYYY-H2, YYYY-Q1 đến YYYY-Q4 hoặc YYYY-MM (ví dụ 2024, 2024-H1, 2024-Q3, 2024-03)"
            ),
            (
                Lang::Vi,
                PeriodError::OutOfRange {
                    input,
                    field,
                    range,
                },
            ) => {
                let field = match *field {
                    "month" => "tháng",
                    "quarter" => "quý",
                    "half" => "nửa năm",
                    other => other,
                };
                format!("kỳ {input:?} có {field} ngoài khoảng ({range})")
            }
            (Lang::Vi, PeriodError::YearOutOfRange { year }) => {
                format!("năm {year} của kỳ nằm ngoài khoảng 0000–9999")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Parses `input` and compares with `expected` (a period or the exact
    /// error message); valid periods must display back as `input`.
    fn check_period(input: &str, expected: Result<Period, &str>) {
        match (input.parse::<Period>(), expected) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "{input:?}");
                assert_eq!(got.to_string(), input, "display of {input:?}");
            }
            (Err(got), Err(want)) => assert_eq!(got.to_string(), want, "{input:?}"),
            (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn period_parse_table() {
        let form = |s: &str| {
            format!(
                "period {s:?} must be YYYY, YYYY-H1, YYYY-H2, YYYY-Q1 to YYYY-Q4 or YYYY-MM (e.g. 2024, 2024-H1, 2024-Q3, 2024-03)"
            )
        };
        let cases: Vec<(&str, Result<Period, String>)> = vec![
            ("2024", Ok(Period::Year { year: 2024 })),
            ("0000", Ok(Period::Year { year: 0 })),
            (
                "2024-H1",
                Ok(Period::Half {
                    year: 2024,
                    half: 1,
                }),
            ),
            (
                "2024-H2",
                Ok(Period::Half {
                    year: 2024,
                    half: 2,
                }),
            ),
            (
                "2024-Q1",
                Ok(Period::Quarter {
                    year: 2024,
                    quarter: 1,
                }),
            ),
            (
                "2024-Q4",
                Ok(Period::Quarter {
                    year: 2024,
                    quarter: 4,
                }),
            ),
            (
                "2024-01",
                Ok(Period::Month {
                    year: 2024,
                    month: 1,
                }),
            ),
            (
                "2024-12",
                Ok(Period::Month {
                    year: 2024,
                    month: 12,
                }),
            ),
            ("", Err(form(""))),
            ("24", Err(form("24"))),
            ("20245", Err(form("20245"))),
            ("2024-", Err(form("2024-"))),
            ("2024-3", Err(form("2024-3"))),
            ("2024-003", Err(form("2024-003"))),
            ("2024-q3", Err(form("2024-q3"))),
            ("2024-h1", Err(form("2024-h1"))),
            ("2024Q3", Err(form("2024Q3"))),
            ("2024-Q10", Err(form("2024-Q10"))),
            (" 2024", Err(form(" 2024"))),
            ("2024 ", Err(form("2024 "))),
            ("+024", Err(form("+024"))),
            ("2024-03-01", Err(form("2024-03-01"))),
            ("năm 2024", Err(form("năm 2024"))),
            (
                "2024-00",
                Err(r#"period "2024-00" has a month out of range (01 to 12)"#.into()),
            ),
            (
                "2024-13",
                Err(r#"period "2024-13" has a month out of range (01 to 12)"#.into()),
            ),
            (
                "2024-Q0",
                Err(r#"period "2024-Q0" has a quarter out of range (Q1 to Q4)"#.into()),
            ),
            (
                "2024-Q5",
                Err(r#"period "2024-Q5" has a quarter out of range (Q1 to Q4)"#.into()),
            ),
            (
                "2024-H0",
                Err(r#"period "2024-H0" has a half out of range (H1 or H2)"#.into()),
            ),
            (
                "2024-H3",
                Err(r#"period "2024-H3" has a half out of range (H1 or H2)"#.into()),
            ),
        ];
        for (input, expected) in &cases {
            check_period(input, expected.as_ref().map(|p| *p).map_err(String::as_str));
        }
    }

    /// Parses a date and compares with the expected date or exact message.
    fn check_date(input: &str, expected: Result<Date, &str>) {
        match (parse_date(input), expected) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "{input:?}");
                assert_eq!(format_date(got), input, "format of {input:?}");
            }
            (Err(got), Err(want)) => assert_eq!(got.to_string(), want, "{input:?}"),
            (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn date_parse_table() {
        let form = |s: &str| format!("date {s:?} must be in the form YYYY-MM-DD");
        let none = |s: &str| format!("date {s:?} does not exist");
        let cases: Vec<(&str, Result<Date, String>)> = vec![
            ("2024-02-29", Ok(date!(2024 - 02 - 29))),
            ("2023-12-31", Ok(date!(2023 - 12 - 31))),
            ("0001-01-01", Ok(date!(0001 - 01 - 01))),
            ("9999-12-31", Ok(date!(9999 - 12 - 31))),
            ("2023-02-29", Err(none("2023-02-29"))),
            ("2024-04-31", Err(none("2024-04-31"))),
            ("2024-13-01", Err(none("2024-13-01"))),
            ("2024-00-10", Err(none("2024-00-10"))),
            ("2024-01-00", Err(none("2024-01-00"))),
            ("2024-1-05", Err(form("2024-1-05"))),
            ("2024/01/05", Err(form("2024/01/05"))),
            ("05/01/2024", Err(form("05/01/2024"))),
            ("2024-01-05T00:00", Err(form("2024-01-05T00:00"))),
            (" 2024-01-05", Err(form(" 2024-01-05"))),
            ("+024-01-05", Err(form("+024-01-05"))),
            ("2024-01-٠5", Err(form("2024-01-٠5"))),
            ("", Err(form(""))),
        ];
        for (input, expected) in &cases {
            check_date(input, expected.as_ref().copied().map_err(String::as_str));
        }
    }

    #[test]
    fn date_formats() {
        assert_eq!(format_date(date!(2023 - 12 - 31)), "2023-12-31");
        assert_eq!(format_date(date!(0987 - 03 - 04)), "0987-03-04");
        assert_eq!(format_date_vi(date!(2023 - 12 - 31)), "31/12/2023");
        assert_eq!(format_date_vi(date!(2024 - 03 - 05)), "05/03/2024");
    }

    #[test]
    fn containing_and_bounds() {
        // (date, [month, quarter, half, year] as strings)
        let table = [
            (
                date!(2024 - 01 - 01),
                ["2024-01", "2024-Q1", "2024-H1", "2024"],
            ),
            (
                date!(2024 - 03 - 31),
                ["2024-03", "2024-Q1", "2024-H1", "2024"],
            ),
            (
                date!(2024 - 04 - 01),
                ["2024-04", "2024-Q2", "2024-H1", "2024"],
            ),
            (
                date!(2024 - 06 - 30),
                ["2024-06", "2024-Q2", "2024-H1", "2024"],
            ),
            (
                date!(2024 - 07 - 01),
                ["2024-07", "2024-Q3", "2024-H2", "2024"],
            ),
            (
                date!(2024 - 12 - 31),
                ["2024-12", "2024-Q4", "2024-H2", "2024"],
            ),
        ];
        for (d, want) in table {
            let got = Period::containing(d);
            assert_eq!(got.map(|p| p.to_string()), want.map(String::from), "{d}");
            for (p, kind) in got.iter().zip(PeriodKind::ALL) {
                assert_eq!(p.kind(), kind);
                assert_eq!(Period::of_kind(kind, d), *p);
                assert!(p.contains(d), "{p} contains {d}");
                assert_eq!(p.year(), 2024);
            }
        }
        let bounds = [
            ("2024-02", date!(2024 - 02 - 01), date!(2024 - 02 - 29)),
            ("2023-02", date!(2023 - 02 - 01), date!(2023 - 02 - 28)),
            ("2024-Q1", date!(2024 - 01 - 01), date!(2024 - 03 - 31)),
            ("2024-Q2", date!(2024 - 04 - 01), date!(2024 - 06 - 30)),
            ("2024-Q3", date!(2024 - 07 - 01), date!(2024 - 09 - 30)),
            ("2024-Q4", date!(2024 - 10 - 01), date!(2024 - 12 - 31)),
            ("2024-H1", date!(2024 - 01 - 01), date!(2024 - 06 - 30)),
            ("2024-H2", date!(2024 - 07 - 01), date!(2024 - 12 - 31)),
            ("2024", date!(2024 - 01 - 01), date!(2024 - 12 - 31)),
        ];
        for (s, first, last) in bounds {
            let p: Period = s.parse().expect("valid");
            assert_eq!((p.first_day(), p.last_day()), (first, last), "{s}");
            assert!(p.contains(first) && p.contains(last));
            assert!(!p.contains(first.previous_day().expect("not MIN")), "{s}");
            assert!(!p.contains(last.next_day().expect("not MAX")), "{s}");
        }
    }

    #[test]
    fn children_and_labels() {
        // (period, children, label_vi, label_en)
        let table: [(&str, &[&str], &str, &str); 5] = [
            (
                "2024",
                &["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"],
                "Năm 2024",
                "Year 2024",
            ),
            (
                "2024-H1",
                &["2024-Q1", "2024-Q2"],
                "6 tháng đầu năm 2024",
                "H1 2024",
            ),
            (
                "2024-H2",
                &["2024-Q3", "2024-Q4"],
                "6 tháng cuối năm 2024",
                "H2 2024",
            ),
            (
                "2024-Q2",
                &["2024-04", "2024-05", "2024-06"],
                "Quý 2/2024",
                "Q2 2024",
            ),
            ("2024-03", &[], "Tháng 3/2024", "March 2024"),
        ];
        for (s, children, vi, en) in table {
            let p: Period = s.parse().expect("valid");
            let got: Vec<String> = p.children().iter().map(ToString::to_string).collect();
            assert_eq!(got, children, "{s}");
            for c in p.children() {
                assert!(p.contains(c.first_day()) && p.contains(c.last_day()));
            }
            assert_eq!(p.label_vi(), vi);
            assert_eq!(p.label_en(), en);
        }
    }

    #[test]
    fn hand_built_out_of_range_is_clamped_and_rejected() {
        let p = Period::Month {
            year: 2024,
            month: 13,
        };
        assert_eq!(
            p.validate().expect_err("bad").to_string(),
            r#"period "2024-13" has a month out of range (01 to 12)"#
        );
        assert_eq!(p.last_day(), date!(2024 - 12 - 31));
        let q = Period::Quarter {
            year: 2024,
            quarter: 0,
        };
        assert_eq!(q.first_day(), date!(2024 - 01 - 01));
        assert_eq!(q.children().len(), 3);
        let y = Period::Year { year: 20_000 };
        assert_eq!(
            y.validate().expect_err("bad").to_string(),
            "period year 20000 is out of range (0000 to 9999)"
        );
        assert_eq!(y.last_day(), date!(9999 - 12 - 31));
        assert_eq!(
            Period::Half { year: -5, half: 9 }.first_day(),
            date!(0000 - 07 - 01)
        );
        assert_eq!(
            Period::Half {
                year: 2024,
                half: 2
            }
            .validate(),
            Ok(Period::Half {
                year: 2024,
                half: 2
            })
        );
    }

    #[test]
    fn serde_as_string() {
        let p = Period::Quarter {
            year: 2024,
            quarter: 3,
        };
        assert_eq!(serde_json::to_string(&p).expect("ser"), r#""2024-Q3""#);
        let back: Period = serde_json::from_str(r#""2024-Q3""#).expect("de");
        assert_eq!(back, p);
        let err = serde_json::from_str::<Period>(r#""2024-Q5""#).expect_err("bad");
        assert!(
            err.to_string().contains("has a quarter out of range"),
            "{err}"
        );
        let kinds: Vec<PeriodKind> = serde_json::from_str(r#"["Month","Year"]"#).expect("de");
        assert_eq!(kinds, [PeriodKind::Month, PeriodKind::Year]);
    }

    #[test]
    fn ordering_is_by_kind_then_year() {
        let mut ps: Vec<Period> = ["2025", "2024-Q1", "2024-01", "2023-H2", "2024"]
            .iter()
            .map(|s| s.parse().expect("valid"))
            .collect();
        ps.sort();
        let shown: Vec<String> = ps.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["2024-01", "2024-Q1", "2023-H2", "2024", "2025"]);
    }

    proptest::proptest! {
        #[test]
        fn date_round_trip(days in 0i32..3_652_425) {
            let d = date!(0000 - 01 - 01) + time::Duration::days(i64::from(days));
            proptest::prop_assert_eq!(parse_date(&format_date(d)), Ok(d));
            for p in Period::containing(d) {
                proptest::prop_assert!(p.contains(d));
                proptest::prop_assert_eq!(p.to_string().parse::<Period>(), Ok(p));
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = s.parse::<Period>();
            let _ = parse_date(&s);
        }
    }
}
