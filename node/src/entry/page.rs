//! The data-entry page's HTML: the start page (the forms by group, what was
//! recorded here lately and whether the parent has it) and one form per
//! kind, with each refusal beside its input. Everything from data or from
//! the officer goes through `esc`.

use std::fmt::Write as _;

use sync178_shared::forms::{self, ENVELOPE, Form, Group, Input};
use sync178_shared::html::esc;
use sync178_shared::i18n::Lang;
use sync178_shared::proto::v1::Event;
use sync178_shared::unit::{Level, UnitId};

use crate::Ctx;

/// The unit this node records for, as officers know it.
pub(super) struct Unit {
    id: UnitId,
    name: String,
    has_parent: bool,
}

impl Unit {
    pub(super) fn of(ctx: &Ctx) -> Unit {
        Unit {
            id: ctx.unit,
            name: ctx
                .history
                .topology()
                .name(ctx.unit)
                .unwrap_or_default()
                .to_owned(),
            has_parent: ctx.parent.is_some(),
        }
    }
}

/// A refusal shown beside its input (`field` empty: above the form).
pub(super) struct FieldError {
    pub(super) field: String,
    pub(super) reason: String,
}

/// What a form shows: the values typed (kept after a refusal), the
/// refusals, the page's token.
pub(super) struct Filled<'a> {
    pub(super) typed: &'a [(String, String)],
    pub(super) errors: &'a [FieldError],
    pub(super) token: &'a str,
}

impl Filled<'_> {
    fn value(&self, name: &str) -> &str {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.typed
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn errors_of(&self, name: &str) -> impl Iterator<Item = &FieldError> {
        self.errors.iter().filter(move |e| e.field == name)
    }
}

const STYLE: &str = "\
*{box-sizing:border-box}body{font-family:system-ui,'Segoe UI',Arial,sans-serif;margin:0;\
color:#1a1a1a;background:#f6f7f9;font-size:16px}header{background:#8b0000;color:#fff;\
padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem;justify-content:space-between;\
align-items:center}header a{color:#fff}main{max-width:60rem;margin:0 auto;padding:1rem}\
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}\
.groups{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:.8rem}\
.group{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem}\
.group ul{margin:.3rem 0;padding-left:1.1rem}.group li{margin:.3rem 0}\
label{display:block;font-weight:600;margin:.8rem 0 .2rem}\
input[type=text],select{width:100%;max-width:32rem;padding:.45rem;font-size:1rem;border:1px solid #999;\
border-radius:4px}input[aria-invalid=true],select[aria-invalid=true]{border:2px solid #b00020}\
.err{color:#b00020;margin:.2rem 0;font-weight:600}.hint{color:#555;font-size:.9rem;margin:.1rem 0}\
.checks label{font-weight:400;display:inline-block;margin:.2rem 1rem .2rem 0}\
.box{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.9rem}\
.saved{background:#e6f4ea;border:1px solid #137333;padding:.6rem;border-radius:4px}\
.refused{background:#fce8e6;border:1px solid #b00020;padding:.6rem;border-radius:4px}\
button{margin-top:1.2rem;padding:.6rem 1.4rem;font-size:1rem;background:#8b0000;color:#fff;\
border:0;border-radius:4px;cursor:pointer}table{border-collapse:collapse;width:100%;background:#fff}\
td,th{border:1px solid #ddd;padding:.35rem .5rem;text-align:left}\
@media (max-width:30rem){main{padding:.6rem}td,th{font-size:.9rem}}";

/// The page around `body`.
fn shell(lang: Lang, title: &str, unit: Option<&Unit>, switch: &str, body: &str) -> String {
    let mut s = String::with_capacity(body.len() + 2048);
    let _ = write!(
        s,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><header><div><strong>sync178</strong> — {}",
        lang.code(),
        esc(title),
        lang.pick("Nhập liệu", "Data entry"),
    );
    if let Some(u) = unit {
        let _ = write!(s, " — {} ({})", esc(&u.name), u.id);
    }
    let other = match lang {
        Lang::Vi => ("en", "English"),
        Lang::En => ("vi", "Tiếng Việt"),
    };
    let sep = if switch.contains('?') { '&' } else { '?' };
    let _ = write!(
        s,
        "</div><a href=\"{}{sep}lang={}\">{}</a></header><main>{body}</main></body></html>",
        esc(switch),
        other.0,
        other.1
    );
    s
}

/// A page saying one thing (a refusal, a missing form).
pub(super) fn message(lang: Lang, text: &str) -> String {
    let body = format!(
        "<p class=\"refused\">{}</p><p><a href=\"/?lang={}\">{}</a></p>",
        esc(text),
        lang.code(),
        lang.pick("Về trang nhập liệu", "Back to data entry")
    );
    shell(lang, lang.pick("Nhập liệu", "Data entry"), None, "/", &body)
}

/// The body kind's name of an event (`inspection_conducted`).
fn kind_of(ev: &Event) -> String {
    ev.body
        .as_ref()
        .and_then(|b| serde_json::to_value(b).ok())
        .and_then(|v| v.as_object().and_then(|m| m.keys().next().cloned()))
        .unwrap_or_default()
}

/// The start page.
pub(super) fn index(
    unit: &Unit,
    lang: Lang,
    saved: Option<u64>,
    recent: &[(u64, Event)],
    acked: u64,
) -> String {
    let mut b = String::new();
    if let Some(seq) = saved {
        let _ = write!(
            b,
            "<p class=\"saved\" role=\"status\">{} {seq}.</p>",
            lang.pick(
                "Đã lưu vào sổ của nút, số thứ tự",
                "Stored in the node's log, seq"
            )
        );
    }
    let _ = write!(
        b,
        "<h1>{}</h1><div class=\"groups\">",
        lang.pick("Ghi nhận hoạt động", "Record an activity")
    );
    for g in Group::ALL {
        let _ = write!(
            b,
            "<section class=\"group\"><h2>{}</h2><ul>",
            esc(g.title(lang))
        );
        for f in forms::all().filter(|f| f.group == g) {
            let _ = write!(
                b,
                "<li><a href=\"/new/{}?lang={}\">{}</a></li>",
                f.kind,
                lang.code(),
                esc(f.title(lang))
            );
        }
        b.push_str("</ul></section>");
    }
    b.push_str("</div>");
    let _ = write!(
        b,
        "<h2>{}</h2>",
        lang.pick("Đã ghi gần đây tại nút này", "Recorded lately at this node")
    );
    if recent.is_empty() {
        let _ = write!(
            b,
            "<p>{}</p>",
            lang.pick("Chưa ghi gì.", "Nothing recorded yet.")
        );
    } else {
        let _ = write!(
            b,
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            lang.pick("Số thứ tự", "Seq"),
            lang.pick("Loại", "Kind"),
            lang.pick("Ngày", "Date"),
            lang.pick("Người ghi", "Recorded by"),
            lang.pick("Đồng bộ", "Sync"),
        );
        for (seq, ev) in recent {
            let kind = kind_of(ev);
            let title = forms::form(&kind).map_or(kind.as_str(), |f| f.title(lang));
            let date = sync178_shared::period::parse_date(&ev.occurred_on)
                .map(|d| sync178_shared::i18n::date(lang, d))
                .unwrap_or_else(|_| ev.occurred_on.clone());
            let sync = if !unit.has_parent {
                lang.pick("nút cấp cao nhất", "top node")
            } else if *seq <= acked {
                lang.pick("cấp trên đã nhận", "at the parent")
            } else {
                lang.pick("chưa gửi lên cấp trên", "not yet at the parent")
            };
            let _ = write!(
                b,
                "<tr><td>{seq}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(title),
                esc(&date),
                esc(&ev.recorded_by),
                sync
            );
        }
        b.push_str("</tbody></table>");
    }
    shell(
        lang,
        lang.pick("Nhập liệu", "Data entry"),
        Some(unit),
        "/",
        &b,
    )
}

/// The label of an envelope input.
fn envelope_label(lang: Lang, name: &str) -> &'static str {
    match name {
        "occurred_on" => lang.pick("Ngày diễn ra (ngày/tháng/năm)", "Date (day/month/year)"),
        "unit" => lang.pick("Đơn vị", "Unit"),
        _ => lang.pick(
            "Người ghi (mã cán bộ, không ghi họ tên)",
            "Recorded by (officer code, never a name)",
        ),
    }
}

/// The refusals of input `name`, and whether there are any.
fn errors_html(filled: &Filled<'_>, name: &str) -> (String, bool) {
    let mut s = String::new();
    for e in filled.errors_of(name) {
        let _ = write!(s, "<p class=\"err\">{}</p>", esc(&e.reason));
    }
    let any = !s.is_empty();
    (s, any)
}

/// A one-line text input; `inputmode` is the keyboard a phone shows
/// (`numeric`, `decimal`; empty for text).
fn text_input(
    b: &mut String,
    name: &str,
    label: &str,
    value: &str,
    inputmode: &str,
    filled: &Filled<'_>,
) {
    let (errs, bad) = errors_html(filled, name);
    let _ = write!(
        b,
        "<label for=\"f-{name}\">{}</label><input type=\"text\" id=\"f-{name}\" name=\"{name}\" value=\"{}\"{}{}>{errs}",
        esc(label),
        esc(value),
        if inputmode.is_empty() {
            String::new()
        } else {
            format!(" inputmode=\"{inputmode}\"")
        },
        if bad { " aria-invalid=\"true\"" } else { "" },
    );
}

/// A kind's form.
pub(super) fn form(unit: &Unit, form: &Form, lang: Lang, filled: &Filled<'_>) -> String {
    let mut b = String::new();
    let _ = write!(b, "<h1>{}</h1>", esc(form.title(lang)));
    if !filled.errors.is_empty() {
        let _ = write!(
            b,
            "<div class=\"refused\" role=\"alert\"><p><strong>{}</strong> {}</p>",
            lang.pick("Chưa lưu.", "Not stored."),
            lang.pick(
                "Sửa các ô được đánh dấu đỏ rồi gửi lại.",
                "Correct the fields marked in red and send again."
            )
        );
        for e in filled.errors.iter().filter(|e| {
            e.field.is_empty()
                || (!ENVELOPE.contains(&e.field.as_str()) && form.field(&e.field).is_none())
        }) {
            let _ = write!(b, "<p class=\"err\">{}</p>", esc(&e.reason));
        }
        b.push_str("</div>");
    }
    let _ = write!(
        b,
        "<form class=\"box\" method=\"post\" action=\"/new/{}\" accept-charset=\"utf-8\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <input type=\"hidden\" name=\"id\" value=\"{}\">",
        form.kind,
        esc(filled.token),
        lang.code(),
        esc(filled.value("id"))
    );
    for name in ENVELOPE {
        let label = envelope_label(lang, name);
        if name == "unit" && unit.id.level() == Level::Commune {
            let (errs, _) = errors_html(filled, name);
            let _ = write!(
                b,
                "<label>{}</label><p>{} ({})</p><input type=\"hidden\" name=\"unit\" value=\"{}\">{errs}",
                esc(label),
                esc(&unit.name),
                unit.id,
                unit.id
            );
        } else {
            text_input(&mut b, name, label, filled.value(name), "", filled);
        }
    }
    for field in form.fields {
        let name = field.name;
        let label = field.label(lang);
        let value = filled.value(name);
        match field.input {
            Input::Id | Input::Text | Input::CaseNumber => {
                text_input(&mut b, name, label, value, "", filled);
            }
            Input::Count | Input::Year => text_input(&mut b, name, label, value, "numeric", filled),
            Input::Money => {
                let label = format!("{label} (₫)");
                text_input(&mut b, name, &label, value, "numeric", filled);
            }
            Input::Percent => {
                let label = format!("{label} (%)");
                text_input(&mut b, name, &label, value, "decimal", filled);
            }
            Input::YesNo => {
                let (errs, bad) = errors_html(filled, name);
                let _ = write!(
                    b,
                    "<label for=\"f-{name}\">{}</label><select id=\"f-{name}\" name=\"{name}\"{}>",
                    esc(label),
                    if bad { " aria-invalid=\"true\"" } else { "" },
                );
                for (v, vi, en) in [
                    ("", "— không đổi —", "— unchanged —"),
                    ("true", "Có", "Yes"),
                    ("false", "Không", "No"),
                ] {
                    let _ = write!(
                        b,
                        "<option value=\"{v}\"{}>{}</option>",
                        if value == v { " selected" } else { "" },
                        esc(lang.pick(vi, en))
                    );
                }
                let _ = write!(b, "</select>{errs}");
            }
            Input::Bool => {
                let (errs, _) = errors_html(filled, name);
                let _ = write!(
                    b,
                    "<label><input type=\"checkbox\" name=\"{name}\" value=\"on\"{}> {}</label>{errs}",
                    if value.is_empty() { "" } else { " checked" },
                    esc(label)
                );
            }
            Input::Choice(choices) => {
                let (errs, bad) = errors_html(filled, name);
                let _ = write!(
                    b,
                    "<label for=\"f-{name}\">{}</label><select id=\"f-{name}\" name=\"{name}\"{}><option value=\"\">{}</option>",
                    esc(label),
                    if bad { " aria-invalid=\"true\"" } else { "" },
                    lang.pick("— chọn —", "— choose —")
                );
                for c in choices {
                    let _ = write!(
                        b,
                        "<option value=\"{}\"{}>{}</option>",
                        c.value,
                        if value == c.value { " selected" } else { "" },
                        esc(c.label(lang))
                    );
                }
                let _ = write!(b, "</select>{errs}");
            }
            Input::Choices(choices) => {
                let (errs, _) = errors_html(filled, name);
                let picked: Vec<&str> = filled.values(name).collect();
                let _ = write!(
                    b,
                    "<fieldset class=\"checks\"><legend><strong>{}</strong></legend>",
                    esc(label)
                );
                for c in choices {
                    let _ = write!(
                        b,
                        "<label><input type=\"checkbox\" name=\"{name}\" value=\"{}\"{}> {}</label>",
                        c.value,
                        if picked.contains(&c.value) {
                            " checked"
                        } else {
                            ""
                        },
                        esc(c.label(lang))
                    );
                }
                let _ = write!(b, "</fieldset>{errs}");
            }
        }
    }
    let _ = write!(
        b,
        "<button type=\"submit\">{}</button> <a href=\"/?lang={}\">{}</a></form>",
        lang.pick("Lưu", "Store"),
        lang.code(),
        lang.pick("Hủy", "Cancel")
    );
    let here = format!("/new/{}", form.kind);
    shell(lang, form.title(lang), Some(unit), &here, &b)
}
