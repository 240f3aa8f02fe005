//! The catalogue against the schema: every form, filled, is an event of its
//! kind with every input landed in its field; every choice is a value of
//! its enum; typed numbers and dates are read as officers write them.

use super::*;
use crate::proto::v1::body::Kind;

/// A plausible typed value for an input.
fn sample(field: &Field) -> Vec<(String, String)> {
    let one = |v: &str| vec![(field.name.to_owned(), v.to_owned())];
    match field.input {
        Input::Id | Input::CaseNumber => one("X-01"),
        Input::Text => one("Ghi chú"),
        Input::Count => one("12"),
        Input::Year => one("2025"),
        Input::Money => one("1.500.000 ₫"),
        Input::Bool => one("on"),
        Input::YesNo => one("false"),
        Input::Percent => one("85,5"),
        Input::Choice(cs) => one(cs[0].value),
        Input::Choices(cs) => cs
            .iter()
            .take(2)
            .map(|c| (field.name.to_owned(), c.value.to_owned()))
            .collect(),
    }
}

fn envelope() -> Vec<(String, String)> {
    vec![
        ("occurred_on".into(), "05/03/2025".into()),
        ("unit".into(), "c11950".into()),
        ("recorded_by".into(), "cb-01".into()),
    ]
}

/// The body's fields as canonical JSON keys, nested ones dotted.
fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                keys(v, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[test]
fn every_form_filled_is_an_event_of_its_kind_with_every_input_landed() {
    for form in all() {
        let mut typed = envelope();
        for field in form.fields {
            typed.extend(sample(field));
        }
        let ev = fill(form.kind, &typed).unwrap_or_else(|e| panic!("{}: {e:?}", form.kind));
        assert_eq!(ev.occurred_on, "2025-03-05");
        assert_eq!(
            (ev.unit.as_str(), ev.recorded_by.as_str()),
            ("c11950", "cb-01")
        );
        let json = serde_json::to_value(ev.body.as_ref().expect("a body")).expect("to json");
        let body = &json[form.kind];
        assert!(body.is_object(), "{}: body is {json}", form.kind);
        let mut landed = Vec::new();
        keys(body, "", &mut landed);
        let mut wanted: Vec<String> = form.fields.iter().map(|f| f.name.to_owned()).collect();
        landed.sort();
        wanted.sort();
        assert_eq!(landed, wanted, "{}: inputs that did not land", form.kind);
        assert!(form.field(form.fields[0].name).is_some());
    }
}

#[test]
fn every_choice_is_a_value_of_its_enum_and_has_both_labels() {
    for form in all() {
        assert!(!form.vi.is_empty() && !form.en.is_empty() && form.vi != form.en);
        for field in form.fields {
            assert!(
                !field.vi.is_empty() && !field.en.is_empty(),
                "{}",
                field.name
            );
            let (Input::Choice(cs) | Input::Choices(cs)) = field.input else {
                continue;
            };
            for c in cs {
                assert!(!c.vi.is_empty() && !c.en.is_empty(), "{}", c.value);
                let mut typed = envelope();
                typed.push((field.name.to_owned(), c.value.to_owned()));
                // pbjson refuses a value its enum does not have.
                if let Err(e) = fill(form.kind, &typed) {
                    panic!("{}.{} = {}: {e:?}", form.kind, field.name, c.value);
                }
            }
        }
    }
    for g in Group::ALL {
        assert!(all().any(|f| f.group == g), "{g:?} has no form");
    }
}

#[test]
fn numbers_and_dates_are_read_as_officers_write_them() {
    assert_eq!(whole("1.234.567"), Ok(Some(1_234_567)));
    assert_eq!(whole("1 234 567 ₫"), Ok(Some(1_234_567)));
    assert_eq!(whole("1,500,000đ"), Ok(Some(1_500_000)));
    assert_eq!(whole(""), Ok(None));
    assert_eq!(whole("12a"), Err(InputReason::NotANumber("12a".into())));
    assert_eq!(iso_date("05/03/2025").as_deref(), Some("2025-03-05"));
    assert_eq!(iso_date("5/3/2025").as_deref(), Some("2025-03-05"));
    assert_eq!(iso_date("2025-03-05").as_deref(), Some("2025-03-05"));
    assert_eq!(iso_date("03-05-2025"), None);
    assert_eq!(iso_date("5.3.2025"), None);
}

#[test]
fn every_unreadable_input_is_reported_at_once_in_both_languages() {
    let mut typed = envelope();
    typed[0].1 = "hôm qua".into();
    typed.push(("members_present".into(), "ba".into()));
    typed.push(("mode".into(), "INSPECTION_MODE_SECRET".into()));
    let errors = fill("inspection_conducted", &typed).expect_err("three bad inputs");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["occurred_on", "mode", "members_present"]);
    assert_eq!(
        errors[0].reason.text(Lang::Vi),
        "\"hôm qua\" không phải là ngày: viết theo dạng ngày/tháng/năm, ví dụ 05/03/2025"
    );
    assert!(
        errors[2]
            .reason
            .text(Lang::En)
            .contains("not a whole number")
    );
    let unknown = fill("no_such_kind", &typed).expect_err("no such form");
    assert_eq!(
        unknown[0].reason,
        InputReason::UnknownForm("no_such_kind".into())
    );
    let Ok(ev) = fill("tip_verified", &envelope()) else {
        panic!("a form with nothing typed still reads (validation judges it)");
    };
    assert!(matches!(
        ev.body.and_then(|b| b.kind),
        Some(Kind::TipVerified(_))
    ));
}

#[test]
fn percentages_are_read_into_basis_points() {
    assert_eq!(percent("85"), Ok(Some(8500)));
    assert_eq!(percent("85,5"), Ok(Some(8550)));
    assert_eq!(percent("85.25 %"), Ok(Some(8525)));
    assert_eq!(percent("0,05"), Ok(Some(5)));
    assert_eq!(percent("100%"), Ok(Some(10_000)));
    assert_eq!(percent(" "), Ok(None));
    for bad in ["85,555", "8,5,5", ",5", "85a", "1.000,5"] {
        assert_eq!(
            percent(bad),
            Err(InputReason::NotANumber(bad.into())),
            "{bad}"
        );
    }
    let mut typed = envelope();
    typed.push(("year".into(), "2025".into()));
    typed.push(("kpi".into(), "KPI_INSPECTION_COVERAGE".into()));
    typed.push(("target_bp".into(), "85,5".into()));
    let ev = fill("target_set", &typed).expect("a target");
    let Some(Kind::TargetSet(t)) = ev.body.and_then(|b| b.kind) else {
        panic!("not a target");
    };
    assert_eq!(t.target_bp, 8550);
}

#[test]
fn a_change_leaves_out_what_was_left_empty() {
    let update = |extra: &[(&str, &str)]| {
        let mut typed = envelope();
        typed.push(("business_id".into(), "KS-01".into()));
        typed.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let ev = fill("business_updated", &typed).expect("an update");
        let Some(Kind::BusinessUpdated(b)) = ev.body.and_then(|b| b.kind) else {
            panic!("not an update");
        };
        b
    };
    let b = update(&[
        ("conditional", ""),
        ("workers", ""),
        ("commitment_signed", ""),
    ]);
    assert_eq!(
        (b.conditional, b.workers, b.commitment_signed),
        (None, None, None)
    );
    assert_eq!(b.kind, 0);
    let b = update(&[
        ("conditional", "false"),
        ("workers", "0"),
        ("commitment_signed", "true"),
    ]);
    assert_eq!(
        (b.conditional, b.workers, b.commitment_signed),
        (Some(false), Some(0), Some(true))
    );
    let mut typed = envelope();
    typed.push(("conditional".into(), "on".into()));
    let errors = fill("business_updated", &typed).expect_err("not yes or no");
    assert_eq!(errors[0].reason, InputReason::UnknownChoice("on".into()));
}
