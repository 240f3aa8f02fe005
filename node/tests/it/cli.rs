//! The operator CLI: NDJSON parsing, and the status and submit reports in both languages (the real binary's runs are in `submit.rs`).

use sync178_node::cli::{
    CHUNK_EVENTS, ChunkReport, ChunkResult, LineRejection, SubmitOutcome, parse_ndjson,
    plan_chunks, render_status, render_submit,
};
use sync178_shared::i18n::Lang;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{
    Accepted, AwarenessForm, ChildStatus, Event, LinkState, OriginStatus, StatusResponse,
    SubmitResponse, UplinkStatus,
};

/// One valid NDJSON event: an awareness meeting in `unit`.
pub(crate) fn event_line(unit: &str, activity: &str) -> String {
    format!(
        r#"{{"unit": "{unit}", "occurred_on": "2025-03-01", "recorded_by": "officer-1", "body": {{"awareness_activity_held": {{"activity_id": "{activity}", "form": "AWARENESS_FORM_MEETING", "audience": "AUDIENCE_RESIDENTS", "participants": 40}}}}}}"#
    )
}

// ------------------------------------------------------------ parse_ndjson

/// What a bad line must produce: its number, the field path (empty for the
/// line itself) and words the message must contain.
struct Bad {
    line: usize,
    field: &'static str,
    says: &'static [&'static str],
}

/// Parses `input` and checks the outcome: the lines of the events, or exactly
/// the bad lines described.
fn check(input: &str, expect: Result<&[usize], &[Bad]>) {
    match (parse_ndjson(input), expect) {
        (Ok(events), Ok(lines)) => {
            let got: Vec<usize> = events.iter().map(|(l, _)| *l).collect();
            assert_eq!(got, lines, "event lines of {input:?}");
        }
        (Err(errors), Err(bad)) => {
            let got: Vec<usize> = errors.iter().map(|e| e.line).collect();
            let want: Vec<usize> = bad.iter().map(|b| b.line).collect();
            assert_eq!(got, want, "bad lines of {input:?}: {errors:#?}");
            for (e, b) in errors.iter().zip(bad) {
                assert_eq!(e.field, b.field, "field of line {}: {e}", b.line);
                for word in b.says {
                    assert!(
                        e.message.contains(word),
                        "line {}: {e} lacks {word}",
                        b.line
                    );
                }
                assert!(
                    !e.message.contains("expected expected") && !e.message.contains(" at line "),
                    "{e}"
                );
                let shown = e.to_string();
                assert!(shown.starts_with(&format!("line {}: ", b.line)), "{shown}");
            }
        }
        (got, want) => panic!(
            "{input:?}: got {got:?}, expected {}",
            if want.is_ok() { "events" } else { "errors" }
        ),
    }
}

#[test]
fn valid_lines_of_every_shape_parse_with_their_line_numbers() {
    let good = event_line("c11950", "a1");
    let numeric_enum = good.replace("\"AWARENESS_FORM_MEETING\"", "1");
    let camel = good
        .replace("occurred_on", "occurredOn")
        .replace("recorded_by", "recordedBy");
    let with_id = good.replacen('{', r#"{"id": "AZWMb2GvdhKAAAAAAAAAAQ==", "#, 1);
    let input = format!(
        "\u{feff}# awareness week\n{good}\n\n   \n  # indented comment\n{numeric_enum}\r\n{camel}\n{with_id}\n"
    );
    check(&input, Ok(&[2, 6, 7, 8]));
    let events = parse_ndjson(&input).unwrap_or_else(|e| panic!("{e:?}"));
    let form = |ev: &Event| match ev.body.as_ref().and_then(|b| b.kind.as_ref()) {
        Some(Kind::AwarenessActivityHeld(a)) => a.form,
        other => panic!("unexpected body {other:?}"),
    };
    for (line, ev) in &events {
        assert_eq!(form(ev), AwarenessForm::Meeting as i32, "line {line}");
        assert_eq!(ev.occurred_on, "2025-03-01", "line {line}");
        assert_eq!(ev.recorded_by, "officer-1", "line {line}");
    }
    assert_eq!(events[3].1.id.len(), 16, "base64 id decodes to 16 bytes");
    check("", Ok(&[]));
    check("# nothing but comments\n\n", Ok(&[]));
}

#[test]
fn every_bad_line_is_reported_with_its_number_and_field() {
    let good = event_line("c11950", "a1");
    let unknown_field = good.replacen('{', r#"{"foo": 1, "#, 1);
    let spaceship = r#"{"unit": "c11950", "body": {"business_registered": {"business_id": "b1", "kind": "BUSINESS_KIND_SPACESHIP"}}}"#;
    let out_of_range = good.replace("\"AWARENESS_FORM_MEETING\"", "42");
    let malformed = r#"{"unit": "c11950", "occurred_on": "#;
    let trailing = format!("{good} x");
    let not_an_object = "[1, 2]";
    let input = format!(
        "# header\n{good}\n{unknown_field}\n{spaceship}\n\n{out_of_range}\n{malformed}\n# fine\n{trailing}\n{not_an_object}\n{good}\n"
    );
    check(
        &input,
        Err(&[
            Bad {
                line: 3,
                field: "foo",
                says: &["unknown field `foo`"],
            },
            Bad {
                line: 4,
                field: "body.business_registered.kind",
                says: &[
                    "unknown variant `BUSINESS_KIND_SPACESHIP`",
                    "BUSINESS_KIND_KARAOKE",
                ],
            },
            Bad {
                line: 6,
                field: "body.awareness_activity_held.form",
                says: &["invalid value: integer `42`", "AWARENESS_FORM_MEETING"],
            },
            Bad {
                line: 7,
                field: "occurred_on",
                says: &["EOF while parsing"],
            },
            Bad {
                line: 9,
                field: "",
                says: &["trailing characters"],
            },
            Bad {
                line: 10,
                field: "",
                says: &["invalid type: sequence"],
            },
        ]),
    );
}

#[test]
fn line_errors_speak_the_chosen_language() {
    let Err(errors) = parse_ndjson("\n{\"foo\": 1}\n") else {
        panic!("an unknown field is refused");
    };
    let vi = errors[0].render(Lang::Vi);
    let en = errors[0].render(Lang::En);
    assert!(vi.starts_with("dòng 2: foo: unknown field `foo`"), "{vi}");
    assert!(vi.contains("(cột "), "{vi}");
    assert!(en.starts_with("line 2: foo: unknown field `foo`"), "{en}");
    assert!(en.contains("(column "), "{en}");
}

#[test]
fn bad_numbers_say_what_was_expected() {
    let good = event_line("c11950", "a1");
    let with = |v: &str| good.replace("\"participants\": 40", &format!("\"participants\": {v}"));
    let field = "body.awareness_activity_held.participants";
    for (value, en, vi) in [
        (
            "\"abc\"",
            "expected a whole number, got \"abc\"",
            "cần một số nguyên, nhưng nhận được \"abc\"",
        ),
        (
            "true",
            "expected a whole number, got true",
            "nhận được true",
        ),
        ("1.5", "expected a whole number, got 1.5", "nhận được 1.5"),
        (
            "\"1.5\"",
            "expected a whole number, got \"1.5\"",
            "nhận được \"1.5\"",
        ),
        (
            "-1",
            "the number -1 is out of the range",
            "số -1 nằm ngoài khoảng",
        ),
        (
            "99999999999",
            "the number 99999999999 is out of the range",
            "99999999999",
        ),
    ] {
        let Err(errors) = parse_ndjson(&format!("{}\n", with(value))) else {
            panic!("participants {value} accepted");
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e.field, field, "{e}");
        assert!(e.message.contains(en), "{value}: {}", e.message);
        assert!(!e.message.contains("untagged"), "{value}: {}", e.message);
        let shown_vi = e.render(Lang::Vi);
        assert!(
            shown_vi.starts_with(&format!("dòng 1: {field}: ")) && shown_vi.contains(vi),
            "{value}: {shown_vi}"
        );
        assert!(e.render(Lang::En).contains(en), "{value}");
    }
    // A long bad value is quoted in part only.
    let Err(errors) = parse_ndjson(&with(&format!("\"{}\"", "x".repeat(10_000)))) else {
        panic!("accepted");
    };
    assert!(errors[0].message.len() < 200, "{}", errors[0].message);
}

// -------------------------------------------------------------- reports

const NOW: i64 = 1_750_000_000_000;

fn child_status() -> StatusResponse {
    StatusResponse {
        unit: "d323".into(),
        name: "Thành phố Hưng Yên".into(),
        log_length: 1234,
        origins: vec![
            OriginStatus {
                origin: "c11950".into(),
                seq: 1000,
                parent_seq: 990,
                ..OriginStatus::default()
            },
            OriginStatus {
                origin: "d323".into(),
                seq: 234,
                parent_seq: 200,
                stalled: "parent refused seq 201: gap".into(),
                ..OriginStatus::default()
            },
        ],
        uplink: Some(UplinkStatus {
            parent: "p33".into(),
            endpoint: "https://10.0.0.5:7000".into(),
            state: LinkState::BackingOff as i32,
            last_error: "connection refused".into(),
            last_error_at: NOW - 5_000,
            connected_since: 0,
            last_ack_at: NOW - 3 * 60_000,
            backlog: 44,
            reconnects: 7,
            ..UplinkStatus::default()
        }),
        children: vec![ChildStatus {
            unit: "c11950".into(),
            connected: true,
            last_contact: NOW - 2_000,
            heads: vec![],
            last_refusal: "REFUSAL_KIND_GAP at c11950/12".into(),
        }],
        started_at: NOW - 2 * 86_400_000,
        version: "0.1.0".into(),
        ..StatusResponse::default()
    }
}

/// Checks that `text` contains every word.
pub(crate) fn has_all(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

#[test]
fn a_retired_unit_says_whether_it_is_safe_to_retire() {
    let mut s = child_status();
    assert!(!render_status(&s, Lang::En, NOW).contains("retire"));
    s.retirement = Some(sync178_shared::proto::v1::Retirement {
        until: "2025-06-30".into(),
        parent: "p33@2025".into(),
        not_held: 44,
        confirmed: true,
    });
    let not_yet = render_status(&s, Lang::Vi, NOW);
    assert!(
        not_yet.contains("CHƯA ngừng được") && not_yet.contains("chưa xác nhận giữ 44 sự kiện"),
        "{not_yet}"
    );
    assert!(
        not_yet.contains("p33@2025") && not_yet.contains("2025-06-30"),
        "{not_yet}"
    );
    if let Some(r) = s.retirement.as_mut() {
        r.not_held = 0;
    }
    let safe = render_status(&s, Lang::En, NOW);
    assert!(
        safe.contains("SAFE TO RETIRE") && safe.contains("the parent p33@2025 holds every event"),
        "{safe}"
    );
    // Without an answer from the parent, nothing counts as held.
    if let Some(r) = s.retirement.as_mut() {
        r.confirmed = false;
    }
    let unknown = render_status(&s, Lang::En, NOW);
    assert!(
        unknown.contains("NOT YET") && unknown.contains("has not confirmed 1234 events"),
        "{unknown}"
    );
}

#[test]
fn status_reads_in_vietnamese_and_english() {
    let s = child_status();
    let vi = render_status(&s, Lang::Vi, NOW);
    has_all(
        &vi,
        &[
            "Đơn vị: d323 — Thành phố Hưng Yên",
            "Số sự kiện trong sổ: 1234",
            "Liên kết lên cấp trên",
            "cấp trên: p33",
            "https://10.0.0.5:7000",
            "trạng thái liên kết: chờ kết nối lại",
            "chưa được cấp trên xác nhận: 44",
            "lỗi gần nhất: connection refused (5 giây trước)",
            "xác nhận gần nhất: 3 phút trước",
            "số lần kết nối lại: 7",
            "Nguồn (2)",
            "chênh lệch",
            "parent refused seq 201: gap",
            "Cấp dưới (1)",
            "2 giây trước",
            "REFUSAL_KIND_GAP at c11950/12",
            "khởi động 2 ngày trước",
        ],
    );
    let en = render_status(&s, Lang::En, NOW);
    has_all(
        &en,
        &[
            "Unit: d323",
            "Log length: 1234",
            "Uplink",
            "parent: p33",
            "link state: backing off",
            "backlog: 44",
            "last error: connection refused (5 s ago)",
            "last ack: 3 min ago",
            "reconnects: 7",
            "Origins (2)",
            "behind",
            "Children (1)",
            "yes",
            "started 2 d ago",
        ],
    );
    // The origin table: the d323 row is 34 behind its parent.
    let row = en
        .lines()
        .find(|l| l.trim_start().starts_with("d323"))
        .unwrap_or_else(|| panic!("no d323 row in:\n{en}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..4], ["d323", "234", "200", "34"], "{row}");
}

#[test]
fn status_of_a_root_names_no_parent_and_no_behind_column() {
    let s = StatusResponse {
        unit: "p33".into(),
        log_length: 0,
        uplink: Some(UplinkStatus {
            state: LinkState::NoParent as i32,
            ..UplinkStatus::default()
        }),
        ..StatusResponse::default()
    };
    let vi = render_status(&s, Lang::Vi, NOW);
    has_all(
        &vi,
        &["không có cấp trên", "Nguồn: không có", "Cấp dưới: không có"],
    );
    let en = render_status(&s, Lang::En, NOW);
    has_all(
        &en,
        &["no parent (root)", "Origins: none", "Children: none"],
    );
    assert!(!en.contains("backlog") && !en.contains("behind"), "{en}");
    for (state, vi, en) in [
        (LinkState::Connecting, "đang kết nối", "connecting"),
        (LinkState::CatchingUp, "đang đồng bộ", "catching up"),
        (LinkState::Live, "trực tuyến", "live"),
        (LinkState::Stopped, "đã dừng", "stopped"),
    ] {
        let mut s = child_status();
        if let Some(u) = s.uplink.as_mut() {
            u.state = state as i32;
        }
        has_all(&render_status(&s, Lang::Vi, NOW), &[vi]);
        has_all(&render_status(&s, Lang::En, NOW), &[en]);
    }
}

fn accepted(origin: &str, seqs: std::ops::RangeInclusive<u64>, duplicate: bool) -> Vec<Accepted> {
    seqs.map(|seq| Accepted {
        origin: origin.into(),
        seq,
        duplicate,
        ..Accepted::default()
    })
    .collect()
}

#[test]
fn inputs_over_a_thousand_events_go_in_chunks_of_a_thousand() {
    let ev = parse_ndjson(&event_line("c11950", "a1")).unwrap_or_else(|e| panic!("{e:?}"));
    let events: Vec<(usize, Event)> = (1..=2500).map(|l| (l, ev[0].1.clone())).collect();
    let plan = plan_chunks(&events);
    assert_eq!(plan, vec![0..1000, 1000..2000, 2000..2500]);
    assert_eq!(plan_chunks(&events[..CHUNK_EVENTS]).len(), 1);
    assert!(plan_chunks(&[]).is_empty());
}

#[test]
fn a_refused_chunk_says_which_lines_were_applied() {
    let applied = |lines: (usize, usize), seqs| ChunkReport {
        lines,
        events: 1000,
        result: ChunkResult::Applied(SubmitResponse {
            accepted: accepted("c11950", seqs, false),
            rejected: vec![],
        }),
    };
    let outcome = SubmitOutcome {
        events: 3500,
        planned: 4,
        chunks: vec![
            applied((1, 1000), 1..=1000),
            applied((1001, 2000), 1001..=2000),
            ChunkReport {
                lines: (2001, 3000),
                events: 1000,
                result: ChunkResult::Refused {
                    response: SubmitResponse::default(),
                    rejections: vec![LineRejection {
                        line: 2042,
                        field: "unit".into(),
                        reason: "c11953 is outside the subtree of origin c11950".into(),
                        reason_vi: "c11953 nằm ngoài địa bàn của đơn vị ghi nhận c11950".into(),
                    }],
                },
            },
        ],
        unsent: Some((3001, 3500)),
    };
    assert_eq!(outcome.exit_code(), 65);
    assert!(!outcome.is_success());
    let en = render_submit(&outcome, Lang::En);
    has_all(
        &en,
        &[
            "3500 events in 4 chunks of at most 1000",
            "chunk 1/4 (lines 1–1000): 1000 accepted, 0 already stored",
            "seq: 1001–2000",
            "chunk 3/4 (lines 2001–3000): refused",
            "line 2042: unit: c11953 is outside the subtree",
            "Nothing of this batch was applied.",
            "Applied: lines 1–2000.",
            "Not sent: lines 3001–3500.",
        ],
    );
    let vi = render_submit(&outcome, Lang::Vi);
    has_all(
        &vi,
        &[
            "phần 3/4 (dòng 2001–3000): bị từ chối",
            "dòng 2042: unit: c11953 nằm ngoài địa bàn",
            "Đã ghi: dòng 1–2000.",
            "Chưa gửi: dòng 3001–3500.",
        ],
    );
}

#[test]
fn a_single_request_reports_new_and_duplicate_events() {
    let mut acc = accepted("c11950", 1..=2, true);
    acc.extend(accepted("c11950", 3..=5, false));
    let outcome = SubmitOutcome {
        events: 5,
        planned: 1,
        chunks: vec![ChunkReport {
            lines: (1, 5),
            events: 5,
            result: ChunkResult::Applied(SubmitResponse {
                accepted: acc,
                rejected: vec![],
            }),
        }],
        unsent: None,
    };
    assert!(outcome.is_success());
    assert_eq!(outcome.exit_code(), 0);
    has_all(
        &render_submit(&outcome, Lang::En),
        &[
            "3 accepted, 2 already stored (duplicates)",
            "origin: c11950",
            "seq: 1–5",
        ],
    );
    has_all(
        &render_submit(&outcome, Lang::Vi),
        &[
            "đã nhận 3 sự kiện mới, 2 đã có từ trước (trùng lặp)",
            "số thứ tự: 1–5",
        ],
    );
    assert!(!render_submit(&outcome, Lang::En).contains("chunk"));
}
