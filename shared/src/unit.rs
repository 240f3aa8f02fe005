//! Administrative unit ids (`p01`, `d008`, `c00292`) and their levels.
//!
//! A [`UnitId`] is a level letter plus the official, zero-padded GSO code of
//! the unit, which is nationally unique within its level. It is stored in a
//! `u32`: the level tag in the top byte and the code below, so that ids sort
//! by `(level, code)` and [`UnitId::to_bytes`] gives order-preserving keys.

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
/// Mask of the code part of a [`UnitId`].
const CODE_MASK: u32 = (1 << CODE_BITS) - 1;

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
    pub fn new(level: Level, code: u32) -> Result<UnitId, UnitError> {
        if code >= level.code_limit() {
            return Err(UnitError::CodeTooLarge { level, code });
        }
        Ok(UnitId((level.tag() << CODE_BITS) | code))
    }

    /// The level of the unit.
    pub fn level(self) -> Level {
        match Level::from_tag(self.0 >> CODE_BITS) {
            Some(level) => level,
            // Every constructor checks the tag; keep a total function anyway.
            None => Level::Commune,
        }
    }

    /// The GSO code, without the level letter.
    pub fn code(self) -> u32 {
        self.0 & CODE_MASK
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
        UnitId::new(level, raw & CODE_MASK).ok()
    }
}

impl FromStr for UnitId {
    type Err = UnitError;

    /// Parses `p01`, `d008`, `c00292`: a lowercase level letter followed by
    /// exactly the level's number of ASCII digits.
    fn from_str(s: &str) -> Result<UnitId, UnitError> {
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
        UnitId::new(level, code)
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
        )
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
                f.write_str("a unit id such as \"p01\", \"d008\" or \"c00292\"")
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
    /// [`UnitId::new`] got a code wider than the level allows.
    #[error("{} code {code} does not fit in {} digits", level.name_en(), level.code_width())]
    CodeTooLarge {
        /// The level asked for.
        level: Level,
        /// The rejected code.
        code: u32,
    },
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
        prop_oneof![
            (0u32..100).prop_map(|c| UnitId::new(Level::Province, c)),
            (0u32..1000).prop_map(|c| UnitId::new(Level::District, c)),
            (0u32..100_000).prop_map(|c| UnitId::new(Level::Commune, c)),
        ]
        .prop_map(|r| r.expect("code in range"))
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(id in any_unit()) {
            let s = id.to_string();
            prop_assert_eq!(s.len(), 1 + id.level().code_width());
            prop_assert_eq!(s.parse::<UnitId>(), Ok(id));
        }

        #[test]
        fn bytes_round_trip(id in any_unit()) {
            prop_assert_eq!(UnitId::from_bytes(id.to_bytes()), Some(id));
        }

        #[test]
        fn bytes_preserve_order(a in any_unit(), b in any_unit()) {
            prop_assert_eq!(a.cmp(&b), a.to_bytes().cmp(&b.to_bytes()));
            prop_assert_eq!(a.cmp(&b), (a.level(), a.code()).cmp(&(b.level(), b.code())));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,8}") {
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
