//! The event catalogue in the words of the officers who record it: each
//! kind's form (its fields in order, with Vietnamese and English labels and
//! what kind of input each takes), grouped as officers think of their work,
//! and the labels of every choice. The node's data-entry page renders these;
//! the rules stay in `validate`, the only judge of what is stored.
//!
//! Field names are the proto field names (`members_present`), nested ones
//! dotted (`checks.contracts`), choice values the proto enum value names
//! (`BUSINESS_KIND_KARAOKE`), so a filled form is the event's canonical JSON
//! and a validation error's field path names the input at fault.

use serde_json::{Map, Value};

use crate::i18n::{Lang, Localized};
use crate::proto::v1::Event;

/// A choice of a pick-list: the proto enum value name and its labels.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    /// The proto enum value name, e.g. `BUSINESS_KIND_KARAOKE`.
    pub value: &'static str,
    /// Vietnamese label.
    pub vi: &'static str,
    /// English label.
    pub en: &'static str,
}

impl Choice {
    /// The label in `lang`.
    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.vi, self.en)
    }
}

/// What an input takes.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    /// An identifier (a number of a record, a business's local id): one line.
    Id,
    /// Free text: one line.
    Text,
    /// A whole number of persons or things.
    Count,
    /// An amount in VND, written `1.234.567`.
    Money,
    /// A year, `2025`.
    Year,
    /// Yes or no.
    Bool,
    /// Yes, no, or not given (an `optional bool`): empty leaves the field
    /// out, so a change keeps its value. Typed `true` or `false`.
    YesNo,
    /// A percentage, `85` or `85,5`, stored in basis points (8500, 8550).
    Percent,
    /// One of a list.
    Choice(&'static [Choice]),
    /// Any number of a list.
    Choices(&'static [Choice]),
    /// A client's case number at the commune. The node that serves the form
    /// turns it into the `client_ref` pseudonym (an HMAC under its own
    /// secret) before the form is read; the number itself is never stored
    /// nor sent.
    CaseNumber,
}

/// One input of a form.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The proto field name, dotted when nested (`checks.contracts`).
    pub name: &'static str,
    /// Vietnamese label.
    pub vi: &'static str,
    /// English label.
    pub en: &'static str,
    /// What it takes.
    pub input: Input,
}

impl Field {
    /// The label in `lang`.
    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.vi, self.en)
    }
}

/// How officers group their work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Cơ sở kinh doanh.
    Businesses,
    /// Kiểm tra — vi phạm — xử phạt.
    Enforcement,
    /// Tin báo.
    Tips,
    /// Tụ điểm.
    Hotspots,
    /// Tuyên truyền.
    Awareness,
    /// Đội công tác xã hội tình nguyện.
    VolunteerTeams,
    /// Tập huấn.
    Training,
    /// Mô hình điểm.
    PilotModels,
    /// Xã, phường lành mạnh không có tệ nạn mại dâm.
    HealthyCommunes,
    /// Kế hoạch và chỉ tiêu.
    Plans,
    /// Hỗ trợ người bán dâm.
    Support,
}

impl Group {
    /// Every group, in the order the page lists them.
    pub const ALL: [Group; 11] = [
        Group::Businesses,
        Group::Enforcement,
        Group::Tips,
        Group::Hotspots,
        Group::Awareness,
        Group::VolunteerTeams,
        Group::Training,
        Group::PilotModels,
        Group::HealthyCommunes,
        Group::Support,
        Group::Plans,
    ];

    /// The group's title in `lang`.
    pub fn title(self, lang: Lang) -> &'static str {
        match self {
            Group::Businesses => lang.pick("Cơ sở kinh doanh", "Businesses"),
            Group::Enforcement => lang.pick(
                "Kiểm tra — vi phạm — xử phạt",
                "Inspections — violations — penalties",
            ),
            Group::Tips => lang.pick("Tin báo", "Tip-offs"),
            Group::Hotspots => lang.pick("Tụ điểm", "Hotspots"),
            Group::Awareness => lang.pick("Tuyên truyền", "Awareness"),
            Group::VolunteerTeams => lang.pick(
                "Đội công tác xã hội tình nguyện",
                "Volunteer social work teams",
            ),
            Group::Training => lang.pick("Tập huấn", "Training"),
            Group::PilotModels => lang.pick("Mô hình điểm", "Pilot models"),
            Group::HealthyCommunes => lang.pick(
                "Xã, phường lành mạnh không có tệ nạn mại dâm",
                "Communes free of prostitution",
            ),
            Group::Plans => lang.pick("Kế hoạch và chỉ tiêu", "Plans and targets"),
            Group::Support => lang.pick("Hỗ trợ người bán dâm", "Support for sex workers"),
        }
    }
}

/// The form of one event kind.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// The body kind's proto field name, e.g. `inspection_conducted`.
    pub kind: &'static str,
    /// Its group.
    pub group: Group,
    /// Vietnamese title.
    pub vi: &'static str,
    /// English title.
    pub en: &'static str,
    /// Its inputs, in order (the envelope's date, unit and recorder come
    /// first on every form and are not listed).
    pub fields: &'static [Field],
}

impl Form {
    /// The title in `lang`.
    pub fn title(&self, lang: Lang) -> &'static str {
        lang.pick(self.vi, self.en)
    }

    /// The input named `name`, if the form has one.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The form of the kind named `kind`, if there is one.
pub fn form(kind: &str) -> Option<&'static Form> {
    all().find(|f| f.kind == kind)
}

/// Every form: the catalogue's, then the clients'.
pub fn all() -> impl Iterator<Item = &'static Form> {
    FORMS.iter().chain(CLIENT_FORMS.iter())
}

mod catalogue;
pub use catalogue::FORMS;
mod clients;
pub use clients::CLIENT_FORMS;

/// Why a typed value could not be read (before any rule of `validate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputReason {
    /// Not a whole number.
    NotANumber(String),
    /// A number too large for the field.
    TooLarge(String),
    /// Not a date written `dd/mm/yyyy` (or `yyyy-mm-dd`).
    NotADate(String),
    /// A value that is not one of the list's.
    UnknownChoice(String),
    /// The form itself is not one the catalogue knows.
    UnknownForm(String),
    /// The form could not be read as an event (a forged or damaged post).
    Malformed(String),
}

impl Localized for InputReason {
    fn text(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Vi, InputReason::NotANumber(v)) => format!("{v:?} không phải là số"),
            (Lang::En, InputReason::NotANumber(v)) => format!("{v:?} is not a whole number"),
            (Lang::Vi, InputReason::TooLarge(v)) => format!("{v:?} quá lớn"),
            (Lang::En, InputReason::TooLarge(v)) => format!("{v:?} is too large"),
            (Lang::Vi, InputReason::NotADate(v)) => {
                format!("{v:?} không phải là ngày: viết theo dạng ngày/tháng/năm, ví dụ 05/03/2025")
            }
            (Lang::En, InputReason::NotADate(v)) => {
                format!("{v:?} is not a date: write day/month/year, e.g. 05/03/2025")
            }
            (Lang::Vi, InputReason::UnknownChoice(v)) => {
                format!("{v:?} không có trong danh sách chọn")
            }
            (Lang::En, InputReason::UnknownChoice(v)) => format!("{v:?} is not one of the list"),
            (Lang::Vi, InputReason::UnknownForm(v)) => format!("không có mẫu nhập {v:?}"),
            (Lang::En, InputReason::UnknownForm(v)) => format!("there is no form {v:?}"),
            (Lang::Vi, InputReason::Malformed(e)) => format!("không đọc được biểu mẫu: {e}"),
            (Lang::En, InputReason::Malformed(e)) => format!("the form could not be read: {e}"),
        }
    }
}

/// An input whose value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The input's name (`members_present`, `occurred_on`).
    pub field: String,
    /// Why.
    pub reason: InputReason,
}

/// The envelope's inputs, on every form before the kind's own.
pub const ENVELOPE: [&str; 3] = ["occurred_on", "unit", "recorded_by"];

/// Reads a date as officers write it, `dd/mm/yyyy` (`5/3/2025` too), or
/// ISO `yyyy-mm-dd`, into ISO text; `None` when it is neither. The date's
/// existence is `validate`'s to judge.
pub fn iso_date(typed: &str) -> Option<String> {
    let t = typed.trim();
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if let [y, m, d] = t.split('-').collect::<Vec<_>>()[..]
        && digits(y, 4, 4)
        && digits(m, 2, 2)
        && digits(d, 2, 2)
    {
        return Some(t.to_owned());
    }
    match t.split('/').collect::<Vec<_>>()[..] {
        [d, m, y] if digits(d, 1, 2) && digits(m, 1, 2) && digits(y, 4, 4) => {
            Some(format!("{y}-{m:0>2}-{d:0>2}"))
        }
        _ => None,
    }
}

/// Reads a whole number as officers write it: `1.234.567`, `1 234 567`,
/// `1,234,567`, with or without `₫`/`đ`; `None` when empty.
fn whole(typed: &str) -> Result<Option<u64>, InputReason> {
    let t: String = typed
        .chars()
        .filter(|c| !matches!(c, '.' | ',' | ' ' | '\u{a0}' | '₫' | 'đ'))
        .collect();
    if t.is_empty() {
        return Ok(None);
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputReason::NotANumber(typed.to_owned()));
    }
    t.parse()
        .map(Some)
        .map_err(|_| InputReason::TooLarge(typed.to_owned()))
}

/// Reads a percentage as officers write it, `85`, `85,5` or `85.25` (with
/// or without `%`), into basis points; `None` when empty. More than two
/// decimals is not a percentage a target takes.
fn percent(typed: &str) -> Result<Option<u64>, InputReason> {
    let t: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '%'))
        .collect();
    if t.is_empty() {
        return Ok(None);
    }
    let (whole, frac) = t.split_once([',', '.']).unwrap_or((&t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 2 {
        return Err(InputReason::NotANumber(typed.to_owned()));
    }
    let frac = format!("{frac:0<2}");
    whole
        .parse::<u64>()
        .ok()
        .and_then(|w| w.checked_mul(100))
        .and_then(|w| w.checked_add(frac.parse().unwrap_or(0)))
        .map(Some)
        .ok_or_else(|| InputReason::TooLarge(typed.to_owned()))
}

/// Builds the draft event a filled form describes: the envelope's inputs
/// (`occurred_on`, `unit`, `recorded_by`, and an optional `id`, base64, so a
/// form sent twice is stored once) and the kind's. Returns every input that
/// could not be read, all at once; the event's rules are `validate`'s.
pub fn fill(kind: &str, typed: &[(String, String)]) -> Result<Event, Vec<InputError>> {
    let Some(form) = form(kind) else {
        return Err(vec![InputError {
            field: "kind".into(),
            reason: InputReason::UnknownForm(kind.to_owned()),
        }]);
    };
    let value = |name: &str| {
        typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let mut errors = Vec::new();
    let on = value("occurred_on");
    let occurred_on = if on.trim().is_empty() {
        String::new()
    } else {
        iso_date(on).unwrap_or_else(|| {
            errors.push(InputError {
                field: "occurred_on".into(),
                reason: InputReason::NotADate(on.to_owned()),
            });
            String::new()
        })
    };
    let mut body = Map::new();
    for field in form.fields {
        let raw = value(field.name);
        let v = match field.input {
            Input::Id | Input::CaseNumber => {
                Some(Value::from(raw.trim())).filter(|_| !raw.trim().is_empty())
            }
            Input::Text => Some(Value::from(raw)).filter(|_| !raw.is_empty()),
            Input::Bool => Some(Value::Bool(!raw.is_empty())),
            Input::YesNo => match raw {
                "" => None,
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => {
                    errors.push(InputError {
                        field: field.name.into(),
                        reason: InputReason::UnknownChoice(raw.to_owned()),
                    });
                    None
                }
            },
            Input::Count | Input::Year | Input::Money | Input::Percent => {
                let read = if matches!(field.input, Input::Percent) {
                    percent(raw)
                } else {
                    whole(raw)
                };
                match read {
                    Ok(None) => None,
                    Ok(Some(n))
                        if !matches!(field.input, Input::Money) && n > u64::from(u32::MAX) =>
                    {
                        errors.push(InputError {
                            field: field.name.into(),
                            reason: InputReason::TooLarge(raw.to_owned()),
                        });
                        None
                    }
                    Ok(Some(n)) => Some(Value::from(n)),
                    Err(reason) => {
                        errors.push(InputError {
                            field: field.name.into(),
                            reason,
                        });
                        None
                    }
                }
            }
            Input::Choice(choices) => {
                if raw.is_empty() {
                    None
                } else if choices.iter().any(|c| c.value == raw) {
                    Some(Value::from(raw))
                } else {
                    errors.push(InputError {
                        field: field.name.into(),
                        reason: InputReason::UnknownChoice(raw.to_owned()),
                    });
                    None
                }
            }
            Input::Choices(choices) => {
                let mut picked = Vec::new();
                for (_, v) in typed.iter().filter(|(k, _)| k == field.name) {
                    if choices.iter().any(|c| c.value == v) {
                        picked.push(Value::from(v.as_str()));
                    } else {
                        errors.push(InputError {
                            field: field.name.into(),
                            reason: InputReason::UnknownChoice(v.clone()),
                        });
                    }
                }
                Some(Value::Array(picked)).filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
            }
        };
        if let Some(v) = v {
            insert_dotted(&mut body, field.name, v);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut event = Map::new();
    let id = value("id");
    if !id.is_empty() {
        event.insert("id".into(), Value::from(id));
    }
    event.insert("unit".into(), Value::from(value("unit").trim()));
    event.insert("occurred_on".into(), Value::from(occurred_on));
    event.insert(
        "recorded_by".into(),
        Value::from(value("recorded_by").trim()),
    );
    let mut kinds = Map::new();
    kinds.insert(form.kind.into(), Value::Object(body));
    event.insert("body".into(), Value::Object(kinds));
    serde_json::from_value(Value::Object(event)).map_err(|e| {
        vec![InputError {
            field: "id".into(),
            reason: InputReason::Malformed(e.to_string()),
        }]
    })
}

/// Inserts `v` at a dotted path (`checks.contracts`).
fn insert_dotted(map: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_owned(), v);
        }
        Some((head, rest)) => {
            let inner = map
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = inner {
                insert_dotted(m, rest, v);
            }
        }
    }
}

#[cfg(test)]
mod tests;
