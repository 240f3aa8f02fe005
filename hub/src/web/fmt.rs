//! What the web page shows for numbers, money, dates and times, in
//! Vietnamese (`1.234.567 ₫`, `85,0%`, `31/12/2023`) or English
//! (`VND 1,234,567`, `85.0%`, `31 Dec 2023`). Person-based counts below 5
//! are shown as `<5`. Times are Vietnam time (UTC+7).

use sync178_shared::i18n::Lang;
use sync178_shared::period::{Date, format_date_vi};
use time::{OffsetDateTime, UtcOffset};

use crate::i18n;

/// What a hidden person count shows.
pub const HIDDEN: &str = "<5";

/// An integer with thousands separators.
pub fn int(lang: Lang, n: u64) -> String {
    i18n::int(lang, n)
}

/// An amount of đồng: `1.234.567 ₫` (vi), `VND 1,234,567` (en).
pub fn money(lang: Lang, vnd: u64) -> String {
    match lang {
        Lang::Vi => format!("{} ₫", int(lang, vnd)),
        Lang::En => format!("VND {}", int(lang, vnd)),
    }
}

/// Basis points as a percentage with one decimal, rounded down: `85,0%` / `85.0%`.
pub fn percent(lang: Lang, bp: u32) -> String {
    i18n::percent_bp(lang, bp)
}

/// A count of persons: `<5` when the query hid it.
pub fn persons(lang: Lang, n: u64, suppressed: bool) -> String {
    if suppressed {
        HIDDEN.to_string()
    } else {
        int(lang, n)
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date: `31/12/2023` (vi), `31 Dec 2023` (en).
pub fn date(lang: Lang, d: Date) -> String {
    match lang {
        Lang::Vi => format_date_vi(d),
        Lang::En => {
            let m = usize::from(u8::from(d.month())).clamp(1, 12) - 1;
            format!("{} {} {}", d.day(), MONTHS_EN[m], d.year())
        }
    }
}

/// Vietnam time (ICT, UTC+7), in which dates and times are shown.
fn ict() -> UtcOffset {
    UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn at_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(|t| t.to_offset(ict()))
}

/// Milliseconds since the epoch as a date and time in Vietnam: `31/12/2023 14:05`;
/// `—` for 0 (never).
pub fn datetime_ms(lang: Lang, ms: i64) -> String {
    if ms <= 0 {
        return "—".into();
    }
    match at_ms(ms) {
        Some(t) => format!("{} {:02}:{:02}", date(lang, t.date()), t.hour(), t.minute()),
        None => "—".into(),
    }
}

/// The time of day in Vietnam, with seconds: `14:05:09`.
pub fn time_ms(ms: i64) -> String {
    at_ms(ms).map_or_else(
        || "—".into(),
        |t| format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
    )
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The month name for the period picker: `T3` / `Mar`.
pub fn month_short(lang: Lang, month: u8) -> String {
    match lang {
        Lang::Vi => format!("T{month}"),
        Lang::En => MONTHS_EN[usize::from(month.clamp(1, 12)) - 1].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_formats() {
        assert_eq!(money(Lang::Vi, 1_234_567), "1.234.567 ₫");
        assert_eq!(money(Lang::En, 1_234_567), "VND 1,234,567");
        assert_eq!(percent(Lang::Vi, 8500), "85,0%");
        assert_eq!(percent(Lang::En, 6667), "66.6%");
        assert_eq!(persons(Lang::Vi, 3, true), "<5");
        assert_eq!(persons(Lang::Vi, 12_345, false), "12.345");
        let d = Date::from_calendar_date(2023, time::Month::December, 31).expect("date");
        assert_eq!(date(Lang::Vi, d), "31/12/2023");
        assert_eq!(date(Lang::En, d), "31 Dec 2023");
    }

    #[test]
    fn times_are_vietnam_time() {
        // 2023-12-31T17:30:00Z is 1 January 2024, 00:30 in Hà Nội.
        let ms = 1_704_043_800_000;
        assert_eq!(datetime_ms(Lang::Vi, ms), "01/01/2024 00:30");
        assert_eq!(datetime_ms(Lang::En, ms), "1 Jan 2024 00:30");
        assert_eq!(datetime_ms(Lang::Vi, 0), "—");
        assert_eq!(time_ms(ms), "00:30:00");
        assert_eq!(month_short(Lang::Vi, 3), "T3");
        assert_eq!(month_short(Lang::En, 12), "Dec");
    }
}
