//! Administrative unit ids (`p01`, `d008`, `c00292`, `c00004@2025`) and their levels.
//!
//! A [`UnitId`] is a level letter plus the official, zero-padded GSO code of
//! the unit, which is nationally unique within its level *and listing*, plus
//! the [`Edition`] of the listing it belongs to. The 2025 reform reused codes
//! for other places (`c00004` is Phường Trúc Bạch in the 2024 listing and the
//! merged Phường Ba Đình in the 2025 one), so a code alone does not name a
//! place: `c00004` and `c00004@2025` are two units. The first listing (2024)
//! is edition 0 and is written bare, so every id stored before editions
//! existed keeps its meaning. Which listing a bare id in an event is read in
//! is the [`crate::history`]'s business (the one in force on the event's date).
//!
//! An id is stored in a `u32`: the level tag in the top byte, the edition in
//! the next 7 bits and the code in the low 17, so that ids sort by
//! `(level, edition, code)` and [`UnitId::to_bytes`] gives order-preserving
//! keys.

use std::fmt;
use std::str::FromStr;

/// The tier of an administrative unit.
///
/// Ordered from the bottom of the tree up: `Commune < District < Province`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Level {
    /// Commune level (xã, phường, thị trấn, đặc khu): letter `c`, 5-digit code.
    Commune,
    /// District level (huyện, quận, thị xã, thành phố thuộc tỉnh): letter `d`,
    /// 3-digit code. Absent from the post-2025 two-tier topology.
    District,
    /// Province level (tỉnh, thành phố trực thuộc trung ương): letter `p`,
    /// 2-digit code.
    Province,
}

impl Level {
    /// All levels, from the bottom up.
    pub const ALL: [Level; 3] = [Level::Commune, Level::District, Level::Province];

    /// The letter that starts a unit id of this level: `c`, `d` or `p`.
    pub fn letter(self) -> char {
        match self {
            Level::Commune => 'c',
            Level::District => 'd',
            Level::Province => 'p',
        }
    }

    /// The level whose ids start with `letter` (lowercase only).
    pub fn from_letter(letter: char) -> Option<Level> {
        match letter {
            'c' => Some(Level::Commune),
            'd' => Some(Level::District),
            'p' => Some(Level::Province),
            _ => None,
        }
    }

    /// Number of digits of a GSO code at this level: province 2, district 3,
    /// commune 5.
    pub fn code_width(self) -> usize {
        match self {
            Level::Commune => 5,
            Level::District => 3,
            Level::Province => 2,
        }
    }

    /// The exclusive upper bound of codes at this level (`10^code_width`).
    pub fn code_limit(self) -> u32 {
        match self {
            Level::Commune => 100_000,
            Level::District => 1_000,
            Level::Province => 100,
        }
    }

    /// Vietnamese name of the level, lowercase: `cấp xã`, `cấp huyện`,
    /// `cấp tỉnh`.
    pub fn name_vi(self) -> &'static str {
        match self {
            Level::Commune => "cấp xã",
            Level::District => "cấp huyện",
            Level::Province => "cấp tỉnh",
        }
    }

    /// English name of the level, lowercase: `commune`, `district`,
    /// `province`.
    pub fn name_en(self) -> &'static str {
        match self {
            Level::Commune => "commune",
            Level::District => "district",
            Level::Province => "province",
        }
    }

    /// Tag stored in the top byte of a [`UnitId`]; never 0, so an all-zero
    /// key is not a valid id.
    fn tag(self) -> u32 {
        match self {
            Level::Commune => 1,
            Level::District => 2,
            Level::Province => 3,
        }
    }

    /// Inverse of [`Level::tag`].
    fn from_tag(tag: u32) -> Option<Level> {
        match tag {
            1 => Some(Level::Commune),
            2 => Some(Level::District),
            3 => Some(Level::Province),
            _ => None,
        }
    }
}

/// Bits below the level tag.
const CODE_BITS: u32 = 24;
/// Bits of the GSO code itself (communes need 17: codes < 100000).
const GSO_BITS: u32 = 17;
/// Mask of the GSO code part of a [`UnitId`].
const GSO_MASK: u32 = (1 << GSO_BITS) - 1;
/// Mask of the edition, once shifted down by [`GSO_BITS`].
const EDITION_MASK: u32 = (1 << (CODE_BITS - GSO_BITS)) - 1;

/// Which listing a unit belongs to, named by the year the listing came into
/// force: 2024 (the listing before the 2025 reform, edition 0, written bare),
/// 2025, and up to 2151 for listings not yet made. Two listings cannot come
/// into force in the same year.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u16", into = "u16")]
pub struct Edition(u8);

impl Edition {
    /// The first listing, 2024: its ids are written without a suffix.
    pub const FIRST: Edition = Edition(0);
    /// The year of [`Edition::FIRST`].
    pub const FIRST_YEAR: u16 = 2024;

    /// The edition of a listing that came into force in `year`.
    pub fn from_year(year: u16) -> Result<Edition, UnitError> {
        let offset = year
            .checked_sub(Self::FIRST_YEAR)
            .filter(|&o| u32::from(o) <= EDITION_MASK)
            .ok_or(UnitError::BadEdition { year })?;
        Ok(Edition(offset as u8))
    }

    /// The year that names the edition (`2024`, `2025`, …).
    pub fn year(self) -> u16 {
        Self::FIRST_YEAR + u16::from(self.0)
    }

    /// Whether this is the first listing (ids written bare).
    pub fn is_first(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.year())
    }
}

impl TryFrom<u16> for Edition {
    type Error = UnitError;
    fn try_from(year: u16) -> Result<Edition, UnitError> {
        Edition::from_year(year)
    }
}

impl From<Edition> for u16 {
    fn from(e: Edition) -> u16 {
        e.year()
    }
}

/// A nationally unique administrative unit id: level letter + GSO code.
///
/// Written as the letter followed by the zero-padded code (`p01`, `d008`,
/// `c00292`), which is also its `Debug`, `Display` and serde form. Ids order
/// by level (communes first, as [`Level`] does), then by code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(u32);

impl UnitId {
    /// Builds an id from a level and a GSO code that fits the level's width
    /// (province < 100, district < 1000, commune < 100000).
    /// The id is of the first listing ([`Edition::FIRST`]).
    pub fn new(level: Level, code: u32) -> Result<UnitId, UnitError> {
        UnitId::in_edition(level, code, Edition::FIRST)
    }

    /// Builds an id of `edition`'s listing.
    pub fn in_edition(level: Level, code: u32, edition: Edition) -> Result<UnitId, UnitError> {
        if code >= level.code_limit() {
            return Err(UnitError::CodeTooLarge { level, code });
        }
        Ok(UnitId(
            (level.tag() << CODE_BITS) | (u32::from(edition.0) << GSO_BITS) | code,
        ))
    }

    /// The same level and code in another listing (`c00004` → `c00004@2025`).
    pub fn with_edition(self, edition: Edition) -> UnitId {
        UnitId((self.0 & !(EDITION_MASK << GSO_BITS)) | (u32::from(edition.0) << GSO_BITS))
    }

    /// The listing the id belongs to.
    pub fn edition(self) -> Edition {
        Edition(((self.0 >> GSO_BITS) & EDITION_MASK) as u8)
    }

    /// The level of the unit.
    pub fn level(self) -> Level {
        match Level::from_tag(self.0 >> CODE_BITS) {
            Some(level) => level,
            // Every constructor checks the tag; keep a total function anyway.
            None => Level::Commune,
        }
    }

    /// The GSO code, without the level letter or edition.
    pub fn code(self) -> u32 {
        self.0 & GSO_MASK
    }

    /// The code zero-padded to the level's width, as in the GSO listings
    /// (`"008"` for `d008`).
    pub fn code_str(self) -> String {
        format!("{:0width$}", self.code(), width = self.level().code_width())
    }

    /// Big-endian encoding; byte order equals id order, so it is usable as a
    /// sorted key prefix.
    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// Decodes [`UnitId::to_bytes`]; `None` if the bytes are not a valid id.
    pub fn from_bytes(b: [u8; 4]) -> Option<UnitId> {
        let raw = u32::from_be_bytes(b);
        let level = Level::from_tag(raw >> CODE_BITS)?;
        let edition = Edition(((raw >> GSO_BITS) & EDITION_MASK) as u8);
        UnitId::in_edition(level, raw & GSO_MASK, edition).ok()
    }
}

impl FromStr for UnitId {
    type Err = UnitError;

    /// Parses `p01`, `d008`, `c00292`: a lowercase level letter followed by
    /// exactly the level's number of ASCII digits, optionally followed by
    /// `@` and the edition's year (`c00004@2025`; `@2024` is the bare form).
    fn from_str(s: &str) -> Result<UnitId, UnitError> {
        let (s, edition) = match s.split_once('@') {
            None => (s, Edition::FIRST),
            Some((id, year)) => {
                let parsed = (year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| year.parse::<u16>().ok())
                    .flatten();
                let Some(year) = parsed else {
                    return Err(UnitError::BadSuffix {
                        input: s.to_owned(),
                    });
                };
                (id, Edition::from_year(year)?)
            }
        };
        let mut chars = s.chars();
        let Some(first) = chars.next() else {
            return Err(UnitError::Empty);
        };
        let Some(level) = Level::from_letter(first) else {
            return Err(UnitError::BadLetter {
                input: s.to_owned(),
            });
        };
        let digits = chars.as_str();
        if digits.len() != level.code_width() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UnitError::BadCode {
                input: s.to_owned(),
                level,
            });
        }
        let code = digits
            .bytes()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
        UnitId::in_edition(level, code, edition)
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = self.level();
        write!(
            f,
            "{}{:0width$}",
            level.letter(),
            self.code(),
            width = level.code_width()
        )?;
        let edition = self.edition();
        if edition.is_first() {
            Ok(())
        } else {
            write!(f, "@{edition}")
        }
    }
}

impl fmt::Debug for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for UnitId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for UnitId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<UnitId, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = UnitId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a unit id such as \"p01\", \"d008\", \"c00292\" or \"c00004@2025\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<UnitId, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Why a unit id could not be parsed or built.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum UnitError {
    /// The input was the empty string.
    #[error("unit id is empty")]
    Empty,
    /// The input does not start with a lowercase `p`, `d` or `c`.
    #[error("unit id {input:?} must start with p, d or c")]
    BadLetter {
        /// The rejected input.
        input: String,
    },
    /// The letter is not followed by exactly the level's number of digits.
    #[error(
        "unit id {input:?} must be {} followed by exactly {} digits",
        level.letter(),
        level.code_width()
    )]
    BadCode {
        /// The rejected input.
        input: String,
        /// The level its letter names.
        level: Level,
    },
    /// The text after `@` is not a four-digit year.
    #[error("unit id {input:?}: after @ must come the listing's year, e.g. @2025")]
    BadSuffix {
        /// The rejected input.
        input: String,
    },
    /// A listing year sync178 cannot name (before 2024 or after 2151).
    #[error("listing year {year} is outside 2024–2151")]
    BadEdition {
        /// The rejected year.
        year: u16,
    },
    /// [`UnitId::new`] got a code wider than the level allows.
    #[error("{} code {code} does not fit in {} digits", level.name_en(), level.code_width())]
    CodeTooLarge {
        /// The level asked for.
        level: Level,
        /// The rejected code.
        code: u32,
    },
}

impl crate::i18n::Localized for UnitError {
    fn text(&self, lang: crate::i18n::Lang) -> String {
        use crate::i18n::Lang;
        match (lang, self) {
            (Lang::En, e) => e.to_string(),
            (Lang::Vi, UnitError::Empty) => "mã đơn vị trống".to_owned(),
            (Lang::Vi, UnitError::BadLetter { input }) => {
                format!("mã đơn vị {input:?} phải bắt đầu bằng p, d hoặc c")
            }
            (Lang::Vi, UnitError::BadCode { input, level }) => format!(
                "mã đơn vị {input:?} phải là {} và đúng {} chữ số",
                level.letter(),
                level.code_width()
            ),
            (Lang::Vi, UnitError::BadSuffix { input }) => {
                format!("mã đơn vị {input:?}: sau @ phải là năm của danh mục, ví dụ @2025")
            }
            (Lang::Vi, UnitError::BadEdition { year }) => {
                format!("năm danh mục {year} nằm ngoài khoảng 2024–2151")
            }
            (Lang::Vi, UnitError::CodeTooLarge { level, code }) => format!(
                "mã {} {code} dài quá {} chữ số",
                level.name_vi(),
                level.code_width()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Expected outcome of parsing: the level and code, or the exact error
    /// message.
    type Expected = Result<(Level, u32), &'static str>;

    /// Parses `input` and compares with `expected`; valid ids must display
    /// back as `input`.
    fn check_parse(input: &str, expected: Expected) {
        let got = input.parse::<UnitId>();
        match expected {
            Ok((level, code)) => {
                let id = got.unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
                assert_eq!(id.level(), level, "{input:?}");
                assert_eq!(id.code(), code, "{input:?}");
                assert_eq!(id.to_string(), input, "display of {input:?}");
                assert_eq!(format!("{id:?}"), input, "debug of {input:?}");
            }
            Err(msg) => {
                let err = got.expect_err(input);
                assert_eq!(err.to_string(), msg, "message for {input:?}");
            }
        }
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, Expected)] = &[
            ("p01", Ok((Level::Province, 1))),
            ("p99", Ok((Level::Province, 99))),
            ("p00", Ok((Level::Province, 0))),
            ("d008", Ok((Level::District, 8))),
            ("d999", Ok((Level::District, 999))),
            ("c00292", Ok((Level::Commune, 292))),
            ("c99999", Ok((Level::Commune, 99_999))),
            ("", Err("unit id is empty")),
            ("x12", Err(r#"unit id "x12" must start with p, d or c"#)),
            ("P01", Err(r#"unit id "P01" must start with p, d or c"#)),
            ("01", Err(r#"unit id "01" must start with p, d or c"#)),
            (" p01", Err(r#"unit id " p01" must start with p, d or c"#)),
            ("đ01", Err(r#"unit id "đ01" must start with p, d or c"#)),
            (
                "p",
                Err(r#"unit id "p" must be p followed by exactly 2 digits"#),
            ),
            (
                "p1",
                Err(r#"unit id "p1" must be p followed by exactly 2 digits"#),
            ),
            (
                "p001",
                Err(r#"unit id "p001" must be p followed by exactly 2 digits"#),
            ),
            (
                "p01 ",
                Err(r#"unit id "p01 " must be p followed by exactly 2 digits"#),
            ),
            (
                "p+1",
                Err(r#"unit id "p+1" must be p followed by exactly 2 digits"#),
            ),
            (
                "d08",
                Err(r#"unit id "d08" must be d followed by exactly 3 digits"#),
            ),
            (
                "d00a",
                Err(r#"unit id "d00a" must be d followed by exactly 3 digits"#),
            ),
            (
                "c292",
                Err(r#"unit id "c292" must be c followed by exactly 5 digits"#),
            ),
            (
                "c٠٠٢٩٢",
                Err(r#"unit id "c٠٠٢٩٢" must be c followed by exactly 5 digits"#),
            ),
            (
                "c-0292",
                Err(r#"unit id "c-0292" must be c followed by exactly 5 digits"#),
            ),
        ];
        for (input, expected) in cases {
            check_parse(input, *expected);
        }
    }

    #[test]
    fn editions_parse_display_and_order() {
        let old: UnitId = "c00004".parse().expect("valid");
        let new: UnitId = "c00004@2025".parse().expect("valid");
        assert_ne!(old, new, "the same code in two listings is two units");
        assert_eq!((old.code(), new.code()), (4, 4));
        assert_eq!(old.edition(), Edition::FIRST);
        assert_eq!(new.edition().year(), 2025);
        assert_eq!(new.to_string(), "c00004@2025");
        assert_eq!(old.with_edition(new.edition()), new);
        assert_eq!(new.with_edition(Edition::FIRST), old);
        assert_eq!(
            "c00004@2024".parse::<UnitId>(),
            Ok(old),
            "@2024 is the bare form"
        );
        assert!(old < new && new < "d001".parse().expect("valid"));
        assert_eq!(UnitId::from_bytes(new.to_bytes()), Some(new));
        assert_eq!(
            "p33@2151".parse::<UnitId>().map(|u| u.edition().year()),
            Ok(2151)
        );
        for (input, msg) in [
            (
                "c00004@25",
                r#"unit id "c00004@25": after @ must come the listing's year, e.g. @2025"#,
            ),
            (
                "c00004@",
                r#"unit id "c00004@": after @ must come the listing's year, e.g. @2025"#,
            ),
            (
                "c00004@+025",
                r#"unit id "c00004@+025": after @ must come the listing's year, e.g. @2025"#,
            ),
            ("c00004@2023", "listing year 2023 is outside 2024–2151"),
            ("c00004@2152", "listing year 2152 is outside 2024–2151"),
            (
                "c0004@2025",
                r#"unit id "c0004" must be c followed by exactly 5 digits"#,
            ),
        ] {
            assert_eq!(
                input.parse::<UnitId>().expect_err(input).to_string(),
                msg,
                "{input}"
            );
        }
        let e: Edition = serde_json::from_str("2025").expect("de");
        assert_eq!(e.year(), 2025);
        assert_eq!(serde_json::to_string(&e).expect("ser"), "2025");
        assert!(serde_json::from_str::<Edition>("1999").is_err());
    }

    #[test]
    fn new_checks_width() {
        assert_eq!(
            UnitId::new(Level::Province, 100)
                .expect_err("too wide")
                .to_string(),
            "province code 100 does not fit in 2 digits"
        );
        assert_eq!(
            UnitId::new(Level::District, 1000)
                .expect_err("too wide")
                .to_string(),
            "district code 1000 does not fit in 3 digits"
        );
        assert_eq!(
            UnitId::new(Level::Commune, 100_000)
                .expect_err("too wide")
                .to_string(),
            "commune code 100000 does not fit in 5 digits"
        );
        let id = UnitId::new(Level::District, 8).expect("fits");
        assert_eq!(id.to_string(), "d008");
        assert_eq!(id.code_str(), "008");
    }

    #[test]
    fn level_names_and_order() {
        assert!(Level::Commune < Level::District && Level::District < Level::Province);
        let table = [
            (Level::Commune, 'c', 5, "cấp xã", "commune"),
            (Level::District, 'd', 3, "cấp huyện", "district"),
            (Level::Province, 'p', 2, "cấp tỉnh", "province"),
        ];
        for (level, letter, width, vi, en) in table {
            assert_eq!(level.letter(), letter);
            assert_eq!(Level::from_letter(letter), Some(level));
            assert_eq!(level.code_width(), width);
            assert_eq!(level.code_limit(), 10u32.pow(width as u32));
            assert_eq!(level.name_vi(), vi);
            assert_eq!(level.name_en(), en);
        }
        assert_eq!(Level::from_letter('P'), None);
    }

    #[test]
    fn ids_order_by_level_then_code() {
        let mut ids: Vec<UnitId> = ["p01", "c00001", "d999", "c99999", "d001", "p00"]
            .iter()
            .map(|s| s.parse().expect("valid"))
            .collect();
        ids.sort();
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["c00001", "c99999", "d001", "d999", "p00", "p01"]);
    }

    #[test]
    fn bytes_layout_and_rejects() {
        let p01: UnitId = "p01".parse().expect("valid");
        assert_eq!(p01.to_bytes(), [3, 0, 0, 1]);
        assert_eq!(UnitId::from_bytes([3, 0, 0, 1]), Some(p01));
        for bad in [
            [0, 0, 0, 0],
            [4, 0, 0, 1],
            [3, 0, 0, 100],
            [2, 0, 3, 232],
            [255; 4],
        ] {
            assert_eq!(UnitId::from_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn serde_as_string() {
        let id: UnitId = "c00292".parse().expect("valid");
        assert_eq!(serde_json::to_string(&id).expect("ser"), r#""c00292""#);
        let back: UnitId = serde_json::from_str(r#""c00292""#).expect("de");
        assert_eq!(back, id);
        let err = serde_json::from_str::<UnitId>(r#""x12""#).expect_err("bad");
        assert!(
            err.to_string()
                .contains(r#"unit id "x12" must start with p, d or c"#),
            "{err}"
        );
        assert!(serde_json::from_str::<UnitId>("12").is_err());
        let levels: Vec<Level> = serde_json::from_str(r#"["Commune","Province"]"#).expect("de");
        assert_eq!(levels, [Level::Commune, Level::Province]);
    }

    fn any_unit() -> impl Strategy<Value = UnitId> {
        let level = prop_oneof![
            (0u32..100).prop_map(|c| (Level::Province, c)),
            (0u32..1000).prop_map(|c| (Level::District, c)),
            (0u32..100_000).prop_map(|c| (Level::Commune, c)),
        ];
        (level, 2024u16..=2151).prop_map(|((level, code), year)| {
            let edition = Edition::from_year(year).expect("year in range");
            UnitId::in_edition(level, code, edition).expect("code in range")
        })
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(id in any_unit()) {
            let s = id.to_string();
            let suffix = if id.edition().is_first() { 0 } else { 5 };
            prop_assert_eq!(s.len(), 1 + id.level().code_width() + suffix);
            prop_assert_eq!(s.parse::<UnitId>(), Ok(id));
        }

        #[test]
        fn bytes_round_trip(id in any_unit()) {
            prop_assert_eq!(UnitId::from_bytes(id.to_bytes()), Some(id));
        }

        #[test]
        fn bytes_preserve_order(a in any_unit(), b in any_unit()) {
            prop_assert_eq!(a.cmp(&b), a.to_bytes().cmp(&b.to_bytes()));
            prop_assert_eq!(
                a.cmp(&b),
                (a.level(), a.edition(), a.code()).cmp(&(b.level(), b.edition(), b.code()))
            );
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,8}(@\\PC{0,5})?") {
            let _ = s.parse::<UnitId>();
        }

        #[test]
        fn from_bytes_accepts_only_valid(b in any::<[u8; 4]>()) {
            if let Some(id) = UnitId::from_bytes(b) {
                prop_assert_eq!(id.to_bytes(), b);
            }
        }
    }
}
