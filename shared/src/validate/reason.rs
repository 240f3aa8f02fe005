//! Why a field failed validation: one [`Reason`] per rule, written in
//! Vietnamese for the officers who record and in English for logs and the
//! English switch. The rules in `mod.rs` build reasons; nothing else words
//! them, so a form, the CLI and a node's refusal say the same thing.

use std::fmt;

use crate::history::ReadError;
use crate::i18n::{self, Lang, Localized, int};
use crate::period::{Date, PeriodError};
use crate::unit::{Level, UnitError, UnitId};

use super::{CURRENT_SCHEMA, MIN_MEMBERS_PRESENT};

/// What a short field holds, for [`Reason::TooLongFor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortField {
    /// A unit id (`c11953`, `c11953@2025`).
    UnitId,
    /// A date (`2024-03-01`).
    Date,
}

/// Why a unit must be a commune, for [`Reason::NotCommune`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommuneOnly {
    /// Clients (needs assessed, services provided) are kept at a commune.
    Clients,
    /// A healthy-commune assessment is of a commune.
    Assessment,
}

/// Why a field failed validation. `Display` is the English text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The field is required and missing.
    Missing,
    /// A field the node assigns was set by the recorder.
    NodeAssigns,
    /// The encoded event is too large.
    TooBig {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A stored event's origin is not the one expected.
    WrongOrigin {
        /// The origin it names.
        got: UnitId,
        /// The origin expected.
        expected: UnitId,
    },
    /// `recorded_at` is at or before 1970.
    BeforeEpoch(i64),
    /// A stored event's schema is 0.
    SchemaZero,
    /// The event is of a schema newer than this build's.
    NewerSchema(u32),
    /// A body holds no kind of event.
    NoKind,
    /// A byte field (an event id) has the wrong length.
    WrongLength {
        /// Its length.
        got: usize,
        /// The length required.
        expected: usize,
    },
    /// An event id is all zeros.
    AllZeros,
    /// A text or id has too many characters.
    TooManyChars {
        /// Its length in characters.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// A text or id holds control or invisible format characters.
    ControlChars,
    /// An id begins or ends with whitespace.
    SurroundingSpace,
    /// An enum value this build does not know.
    UnknownValue(i32),
    /// A list is empty.
    EmptyList,
    /// A list holds a value twice.
    Duplicate(i32),
    /// A number below its minimum.
    TooSmall {
        /// The minimum.
        min: u64,
        /// The value.
        got: u64,
    },
    /// A number above its maximum.
    TooLarge {
        /// The maximum.
        max: u64,
        /// The value.
        got: u64,
    },
    /// A plan, target or assessment year more than a year ahead.
    YearAhead {
        /// The year given.
        year: u32,
        /// The latest year accepted.
        latest: i64,
    },
    /// A `client_ref` that is not an HMAC in hex.
    ClientRef,
    /// A `client_key_id` that is not 16 lowercase hex characters.
    ClientKeyId,
    /// A unit id or date far too long to be one (not echoed).
    TooLongFor {
        /// Its length in bytes.
        bytes: usize,
        /// What it should be.
        what: ShortField,
    },
    /// The text is not a unit id.
    BadUnit(UnitError),
    /// The unit id is not in the listing in force on the event's date.
    NotInListing(ReadError),
    /// The unit is outside the recording origin's subtree.
    OutsideSubtree {
        /// The id as written.
        given: String,
        /// The unit it was read as, and on which date, when that differs
        /// from what was written.
        read_as: Option<(UnitId, Date)>,
        /// The recording origin.
        origin: UnitId,
    },
    /// The text is not a date.
    BadDate(PeriodError),
    /// A date before the earliest accepted.
    BeforeEarliest {
        /// The date given.
        date: Date,
        /// The earliest accepted.
        earliest: Date,
    },
    /// A date after tomorrow.
    InFuture {
        /// The date given.
        date: Date,
        /// The latest accepted.
        latest: Date,
    },
    /// The unit must be a commune.
    NotCommune {
        /// The unit given.
        unit: UnitId,
        /// Why.
        why: CommuneOnly,
    },
    /// A void's or correction's target is not an event this node holds.
    UnknownEvent,
    /// A void's or correction's target was recorded by another origin.
    OtherOrigin(UnitId),
    /// A business update that changes nothing.
    ChangesNothing,
    /// An inspection by a team of a level above the recording unit.
    TeamAbove {
        /// The team's level.
        team: Level,
        /// The recording origin.
        origin: UnitId,
    },
    /// Fewer members at an inspection than Circular 05/2006 requires.
    TooFewMembers(u32),
    /// More agencies than members present.
    AgenciesOverMembers {
        /// Agencies named.
        agencies: usize,
        /// Members present.
        members: u32,
    },
    /// Result "violations found" with every check compliant.
    ViolationsWithoutCheck,
    /// Result "compliant" with a non-compliant check.
    CompliantWithFailedCheck,
    /// A tip id on an inspection not triggered by a tip-off.
    TipIdWithoutTipOff,
    /// A violation by a business that names no business.
    BusinessIdRequired,
    /// A fine amount on a warning.
    FineWithWarning,
    /// Suspension months on a penalty that is not a suspension.
    MonthsWithoutSuspension,
    /// A correction whose replacement is itself a void or correction.
    NestedVoidOrCorrection,
}

impl Localized for Reason {
    fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::Vi => self.vi(),
            Lang::En => self.en(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en())
    }
}

impl Reason {
    /// Whether this is [`Reason::NewerSchema`].
    pub fn is_newer_schema(&self) -> bool {
        matches!(self, Reason::NewerSchema(_))
    }

    fn en(&self) -> String {
        use Reason as R;
        match self {
            R::Missing => "must be given".into(),
            R::NodeAssigns => "must be empty: the node assigns it".into(),
            R::TooBig { bytes, limit } => format!("is {bytes} bytes, over the limit of {limit}"),
            R::WrongOrigin { got, expected } => format!("is {got}, expected {expected}"),
            R::BeforeEpoch(v) => format!("must be after the unix epoch, got {v}"),
            R::SchemaZero => format!("must be {CURRENT_SCHEMA}, got 0"),
            R::NewerSchema(s) => {
                format!(
                    "{} {s} than this build's {CURRENT_SCHEMA}",
                    super::NEWER_SCHEMA
                )
            }
            R::NoKind => "must hold one kind of event".into(),
            R::WrongLength { got, expected } => format!("must be {expected} bytes, got {got}"),
            R::AllZeros => "must not be all zeros".into(),
            R::TooManyChars { chars, limit } => {
                format!("is {chars} characters, over the limit of {limit}")
            }
            R::ControlChars => "must not contain control characters".into(),
            R::SurroundingSpace => "must not begin or end with whitespace".into(),
            R::UnknownValue(v) => format!("unknown value {v}"),
            R::EmptyList => "must not be empty".into(),
            R::Duplicate(v) => format!("duplicate value {v}"),
            R::TooSmall { min, got } => format!("must be at least {min}, got {got}"),
            R::TooLarge { max, got } => format!("must be at most {max}, got {got}"),
            R::YearAhead { year, latest } => {
                format!("{year} is more than a year ahead (latest {latest})")
            }
            R::ClientRef => {
                "must be 64 lowercase hex characters (an hmac-sha256), never a name or case number"
                    .into()
            }
            R::ClientKeyId => {
                "must be 16 lowercase hex characters, the key id `sync178-node client-ref` prints, or left out"
                    .into()
            }
            R::TooLongFor { bytes, what } => format!(
                "is {bytes} bytes, too long for {}",
                match what {
                    ShortField::UnitId => "a unit id",
                    ShortField::Date => "a date",
                }
            ),
            R::BadUnit(e) => e.to_string(),
            R::NotInListing(e) => e.text(Lang::En),
            R::OutsideSubtree {
                given,
                read_as,
                origin,
            } => {
                let read = read_as.map_or(String::new(), |(u, on)| {
                    format!(" (read as {u} on {})", i18n::date(Lang::En, on))
                });
                format!("{given}{read} is outside the subtree of origin {origin}")
            }
            R::BadDate(e) => e.to_string(),
            R::BeforeEarliest { date, earliest } => format!(
                "{} is before {}",
                i18n::date(Lang::En, *date),
                i18n::date(Lang::En, *earliest)
            ),
            R::InFuture { date, latest } => format!(
                "{} is in the future (latest {})",
                i18n::date(Lang::En, *date),
                i18n::date(Lang::En, *latest)
            ),
            R::NotCommune { unit, why } => format!(
                "must be a commune, not {unit}: {}",
                match why {
                    CommuneOnly::Clients => "clients are recorded only at a commune",
                    CommuneOnly::Assessment => "an assessment is of a commune",
                }
            ),
            R::UnknownEvent => "unknown event".into(),
            R::OtherOrigin(o) => {
                format!("corrections only of the same origin: target was recorded by {o}")
            }
            R::ChangesNothing => "changes nothing: give at least one field to change".into(),
            R::TeamAbove { team, origin } => format!(
                "a {} team's inspection cannot be recorded by {origin}",
                team.name_en()
            ),
            R::TooFewMembers(n) => format!(
                "must be at least {MIN_MEMBERS_PRESENT}, got {n}: circular 05/2006 needs {MIN_MEMBERS_PRESENT} members at an inspection"
            ),
            R::AgenciesOverMembers { agencies, members } => {
                format!("{agencies} agencies but only {members} members present")
            }
            R::ViolationsWithoutCheck => "violations found, but no check is non-compliant".into(),
            R::CompliantWithFailedCheck => "compliant, but a check is non-compliant".into(),
            R::TipIdWithoutTipOff => "given only when trigger is tip-off".into(),
            R::BusinessIdRequired => "must be given when the subject is a business".into(),
            R::FineWithWarning => "must be 0 with a warning".into(),
            R::MonthsWithoutSuspension => "given only with a licence suspension".into(),
            R::NestedVoidOrCorrection => "must not be a void or a correction".into(),
        }
    }

    fn vi(&self) -> String {
        use Reason as R;
        let n = |v: u64| int(Lang::Vi, v);
        let date = |d: &Date| i18n::date(Lang::Vi, *d);
        match self {
            R::Missing => "bắt buộc, chưa nhập".into(),
            R::NodeAssigns => "phải để trống: nút tự gán giá trị này".into(),
            R::TooBig { bytes, limit } => format!(
                "sự kiện dài {} byte, vượt giới hạn {} byte",
                n(*bytes as u64),
                n(*limit as u64)
            ),
            R::WrongOrigin { got, expected } => {
                format!("là {got}, đúng ra phải là {expected}")
            }
            R::BeforeEpoch(v) => format!("phải sau mốc thời gian 01/01/1970, nhận được {v}"),
            R::SchemaZero => format!("phải là {CURRENT_SCHEMA}, nhận được 0"),
            R::NewerSchema(s) => format!(
                "sự kiện theo lược đồ {s}, mới hơn lược đồ {CURRENT_SCHEMA} của bản sync178 này: cần cập nhật sync178"
            ),
            R::NoKind => "phải chứa đúng một loại sự kiện".into(),
            R::WrongLength { got, expected } => {
                format!("phải dài {expected} byte, nhận được {got}")
            }
            R::AllZeros => "không được toàn số 0".into(),
            R::TooManyChars { chars, limit } => format!(
                "dài {} ký tự, vượt giới hạn {} ký tự",
                n(*chars as u64),
                n(*limit as u64)
            ),
            R::ControlChars => "không được chứa ký tự điều khiển hay ký tự ẩn".into(),
            R::SurroundingSpace => "không được bắt đầu hay kết thúc bằng dấu cách".into(),
            R::UnknownValue(v) => format!("giá trị {v} không có trong danh mục"),
            R::EmptyList => "phải chọn ít nhất một giá trị".into(),
            R::Duplicate(v) => format!("giá trị {v} bị chọn hai lần"),
            R::TooSmall { min, got } => {
                format!("phải từ {} trở lên, nhận được {}", n(*min), n(*got))
            }
            R::TooLarge { max, got } => {
                format!("tối đa là {}, nhận được {}", n(*max), n(*got))
            }
            R::YearAhead { year, latest } => {
                format!("năm {year} đi trước quá một năm (muộn nhất là {latest})")
            }
            R::ClientRef => "phải là mã bí danh gồm 64 ký tự 0–9, a–f (HMAC-SHA256), không bao giờ là họ tên hay số hồ sơ".into(),
            R::ClientKeyId => "phải là mã khoá gồm 16 ký tự 0–9, a–f do `sync178-node client-ref` in ra, hoặc để trống".into(),
            R::TooLongFor { bytes, what } => format!(
                "dài {} byte, quá dài cho {}",
                n(*bytes as u64),
                match what {
                    ShortField::UnitId => "một mã đơn vị",
                    ShortField::Date => "một ngày",
                }
            ),
            R::BadUnit(e) => e.text(Lang::Vi),
            R::NotInListing(e) => e.text(Lang::Vi),
            R::OutsideSubtree {
                given,
                read_as,
                origin,
            } => {
                let read = read_as.map_or(String::new(), |(u, on)| {
                    format!(" (ngày {} đọc là {u})", date(&on))
                });
                format!("{given}{read} nằm ngoài địa bàn của đơn vị ghi nhận {origin}")
            }
            R::BadDate(e) => e.text(Lang::Vi),
            R::BeforeEarliest { date: d, earliest } => {
                format!("ngày {} trước ngày {}", date(d), date(earliest))
            }
            R::InFuture { date: d, latest } => {
                format!("ngày {} ở tương lai (muộn nhất là {})", date(d), date(latest))
            }
            R::NotCommune { unit, why } => format!(
                "phải là một xã, không phải {unit}: {}",
                match why {
                    CommuneOnly::Clients => "người được hỗ trợ chỉ được ghi nhận ở cấp xã",
                    CommuneOnly::Assessment => "đánh giá xã, phường lành mạnh là của một xã",
                }
            ),
            R::UnknownEvent => "không có sự kiện này trong sổ của nút".into(),
            R::OtherOrigin(o) => format!(
                "chỉ được hủy hoặc sửa sự kiện do chính đơn vị mình ghi: sự kiện này do {o} ghi"
            ),
            R::ChangesNothing => {
                "không thay đổi gì: cần nhập ít nhất một nội dung cần thay đổi".into()
            }
            R::TeamAbove { team, origin } => format!(
                "{origin} không được ghi cuộc kiểm tra của đội {}",
                team.name_vi()
            ),
            R::TooFewMembers(got) => format!(
                "phải có ít nhất {MIN_MEMBERS_PRESENT} thành viên, nhận được {got}: Thông tư 05/2006 yêu cầu ít nhất {MIN_MEMBERS_PRESENT} thành viên khi kiểm tra"
            ),
            R::AgenciesOverMembers { agencies, members } => {
                format!("{agencies} cơ quan tham gia nhưng chỉ có {members} thành viên có mặt")
            }
            R::ViolationsWithoutCheck => {
                "kết quả là có vi phạm nhưng không có nội dung kiểm tra nào không đạt".into()
            }
            R::CompliantWithFailedCheck => {
                "kết quả là chấp hành tốt nhưng có nội dung kiểm tra không đạt".into()
            }
            R::TipIdWithoutTipOff => "chỉ nhập khi cuộc kiểm tra xuất phát từ tin báo".into(),
            R::BusinessIdRequired => "bắt buộc khi đối tượng vi phạm là cơ sở kinh doanh".into(),
            R::FineWithWarning => "phải bằng 0 khi hình thức xử phạt là cảnh cáo".into(),
            R::MonthsWithoutSuspension => {
                "chỉ nhập khi hình thức xử phạt là đình chỉ giấy phép".into()
            }
            R::NestedVoidOrCorrection => {
                "không được là một lệnh hủy hay một lệnh sửa khác".into()
            }
        }
    }
}

#[cfg(test)]
#[path = "reason_tests.rs"]
mod tests;
