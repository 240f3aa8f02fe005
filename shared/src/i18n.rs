//! The one language switch for everything people read (CLI, web, reports, validation): [`Lang`], and numbers, percentages and durations written as each language writes them.
//!
//! Phrases stay with the code that prints them, each as a Vietnamese/English
//! pair chosen with [`Lang::pick`] or a `Msg` table; what every crate formats
//! the same way lives here, once.

use std::fmt;
use std::str::FromStr;

use crate::period::{Date, format_date, format_date_vi};

/// The language of what people read: Vietnamese (the default) or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Lang {
    /// Tiếng Việt.
    #[default]
    Vi,
    /// English.
    En,
}

impl Lang {
    /// `vi` or `en`, whichever is this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// The language's code: `vi` or `en`.
    pub fn code(self) -> &'static str {
        self.pick("vi", "en")
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What people read of a value, in their language. By convention a type's
/// `Display` is its English text, for logs; `text` is what the CLI, the web
/// pages and the reports show. Errors that reach people implement both.
pub trait Localized {
    /// The text in `lang`.
    fn text(&self, lang: Lang) -> String;
}

/// A date as each language writes it: `31/12/2023` (vi), `2023-12-31` (en).
pub fn date(lang: Lang, d: Date) -> String {
    match lang {
        Lang::Vi => format_date_vi(d),
        Lang::En => format_date(d),
    }
}

/// A language code that is neither `vi` nor `en`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: vi (Tiếng Việt) or en (English)")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vi" => Ok(Lang::Vi),
            "en" => Ok(Lang::En),
            _ => Err(UnknownLang(s.to_owned())),
        }
    }
}

/// An integer with thousands separators: `1.234.567` (vi), `1,234,567` (en).
pub fn int(lang: Lang, n: u64) -> String {
    let sep = lang.pick(".", ",");
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// Basis points as a percentage with one decimal, rounded down:
/// 8500 → `85,0%` (vi), `85.0%` (en).
pub fn percent_bp(lang: Lang, bp: u32) -> String {
    let tenths = bp / 10;
    format!(
        "{}{}{}%",
        int(lang, u64::from(tenths / 10)),
        lang.pick(",", "."),
        tenths % 10
    )
}

/// A duration in ms in the largest unit that keeps it readable:
/// `45 giây` / `45 s`, `3 phút` / `3 min`, `5 giờ` / `5 h`, `2 ngày` / `2 d`.
/// Negative durations read as 0.
pub fn duration(lang: Lang, ms: i64) -> String {
    let secs = (ms / 1000).max(0);
    let (n, vi, en) = if secs < 120 {
        (secs, "giây", "s")
    } else if secs < 2 * 3600 {
        (secs / 60, "phút", "min")
    } else if secs < 2 * 86_400 {
        (secs / 3600, "giờ", "h")
    } else {
        (secs / 86_400, "ngày", "d")
    };
    format!("{n} {}", lang.pick(vi, en))
}

/// How long ago `at_ms` was at `now_ms`: `3 phút trước` / `3 min ago`;
/// `chưa có` / `never` when `at_ms` is 0 or less.
pub fn ago(lang: Lang, at_ms: i64, now_ms: i64) -> String {
    if at_ms <= 0 {
        return lang.pick("chưa có", "never").to_owned();
    }
    let span = duration(lang, now_ms.saturating_sub(at_ms));
    match lang {
        Lang::Vi => format!("{span} trước"),
        Lang::En => format!("{span} ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_parses_its_codes_and_refuses_others() {
        assert_eq!("vi".parse(), Ok(Lang::Vi));
        assert_eq!(" EN ".parse(), Ok(Lang::En));
        let e = "fr".parse::<Lang>().expect_err("fr is not a language");
        assert!(e.to_string().contains("\"fr\""), "{e}");
        assert_eq!(Lang::default(), Lang::Vi);
        assert_eq!(Lang::En.to_string(), "en");
    }

    #[test]
    fn numbers_use_each_languages_separators() {
        assert_eq!(int(Lang::Vi, 0), "0");
        assert_eq!(int(Lang::Vi, 999), "999");
        assert_eq!(int(Lang::Vi, 1_234_567), "1.234.567");
        assert_eq!(int(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(int(Lang::En, 100_000), "100,000");
        assert_eq!(percent_bp(Lang::Vi, 8_500), "85,0%");
        assert_eq!(percent_bp(Lang::En, 10_000), "100.0%");
        assert_eq!(percent_bp(Lang::En, 1_234_567), "12,345.6%");
        assert_eq!(percent_bp(Lang::Vi, 9), "0,0%");
    }

    #[test]
    fn durations_pick_the_largest_readable_unit() {
        assert_eq!(duration(Lang::Vi, 45_000), "45 giây");
        assert_eq!(duration(Lang::En, 119_999), "119 s");
        assert_eq!(duration(Lang::En, 180_000), "3 min");
        assert_eq!(duration(Lang::Vi, 5 * 3_600_000), "5 giờ");
        assert_eq!(duration(Lang::En, 3 * 86_400_000), "3 d");
        assert_eq!(duration(Lang::En, -5), "0 s");
        assert_eq!(ago(Lang::Vi, 1_000, 181_000), "3 phút trước");
        assert_eq!(ago(Lang::En, 1_000, 181_000), "3 min ago");
        assert_eq!(ago(Lang::En, 0, 181_000), "never");
        assert_eq!(ago(Lang::Vi, -1, 181_000), "chưa có");
    }
}
