//! `submit` and `status` through the real `sync178-node` binary against an
//! in-process node: refusals in both languages, duplicates, the wrong node
//! or role, and the README's sample file.

use sync178_shared::proto::v1::{StatusResponse, SubmitResponse};
use sync178_shared::tls::{Identity, Role};

use crate::cli::{event_line, has_all};
use crate::common::{Node, args, result, sync178_node, unit};

#[test]
fn submit_and_status_through_the_real_binary() {
    let node = Node::start("c11950");
    let recorder = node.conn_args(Identity::new(unit("c11950"), Role::Recorder));
    let operator = node.conn_args(Identity::new(unit("p33"), Role::Operator));
    let log_length = || {
        let out = sync178_node(&args(
            &["status"],
            &operator,
            &["--node", "c11950", "--json"],
        ));
        let (code, stdout, stderr) = result(&out);
        assert_eq!(code, Some(0), "status --json: {stderr}");
        let s: StatusResponse =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(s.unit, "c11950");
        s.log_length
    };

    // Three good events: applied in one request.
    let good = node.write(
        "good.ndjson",
        &format!(
            "# three meetings\n{}\n{}\n{}\n",
            event_line("c11950", "a1"),
            event_line("c11950", "a2"),
            event_line("c11950", "a3")
        ),
    );
    let (code, stdout, stderr) = result(&sync178_node(&args(&["submit"], &recorder, &[&good])));
    assert_eq!(code, Some(0), "submit: {stdout}{stderr}");
    has_all(&stdout, &["đã nhận 3 sự kiện mới", "c11950", "1–3"]);
    assert_eq!(log_length(), 3);

    // An event outside the node's subtree: the whole batch is refused.
    let outside = node.write(
        "outside.ndjson",
        &format!(
            "# one good, one in the neighbouring ward\n{}\n{}\n",
            event_line("c11950", "a4"),
            event_line("c11953", "a5")
        ),
    );
    let (code, stdout, stderr) = result(&sync178_node(&args(
        &["--lang", "en", "submit"],
        &recorder,
        &[&outside],
    )));
    assert_eq!(code, Some(65), "refused submit: {stdout}{stderr}");
    has_all(
        &stderr,
        &["line 3: unit: ", "c11953", "Nothing was applied"],
    );
    assert_eq!(log_length(), 3, "nothing of a refused batch is applied");
    // The same refusal in Vietnamese, the default: the validator's reason
    // in the officer's language, naming the field and the unit.
    let (code, stdout, stderr) = result(&sync178_node(&args(&["submit"], &recorder, &[&outside])));
    assert_eq!(code, Some(65), "refused submit (vi): {stdout}{stderr}");
    has_all(
        &stderr,
        &["dòng 3: unit: c11953 nằm ngoài địa bàn của đơn vị ghi nhận c11950"],
    );
    assert!(!stderr.contains("outside the subtree"), "{stderr}");
    assert_eq!(log_length(), 3);

    // Malformed JSON: nothing is sent.
    let malformed = node.write(
        "malformed.ndjson",
        &format!("{}\n{{\"unit\": \"c11950\",\n", event_line("c11950", "a6")),
    );
    let (code, stdout, stderr) =
        result(&sync178_node(&args(&["submit"], &recorder, &[&malformed])));
    assert_eq!(code, Some(65), "malformed submit: {stdout}{stderr}");
    has_all(
        &stderr,
        &["dòng 2: ", "EOF while parsing", "không gửi sự kiện nào"],
    );
    assert_eq!(log_length(), 3);

    // An event with an id, twice: the second time it is a duplicate; --json
    // prints the canonical JSON of the response.
    let with_id = node.write(
        "with_id.ndjson",
        &event_line("c11950", "a7").replacen('{', r#"{"id": "AZWMb2GvdhKAAAAAAAAAAQ==", "#, 1),
    );
    let (code, stdout, stderr) = result(&sync178_node(&args(
        &["submit", "--json"],
        &recorder,
        &[&with_id],
    )));
    assert_eq!(code, Some(0), "submit --json: {stderr}");
    let resp: SubmitResponse =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(resp.accepted.len(), 1);
    assert_eq!(
        (resp.accepted[0].seq, resp.accepted[0].duplicate),
        (4, false)
    );
    has_all(
        &stdout,
        &[r#""accepted":[{"#, r#""origin":"c11950""#, r#""seq":"4""#],
    );
    let (code, stdout, stderr) = result(&sync178_node(&args(
        &["--lang", "en", "submit"],
        &recorder,
        &[&with_id],
    )));
    assert_eq!(code, Some(0), "resubmit: {stderr}");
    has_all(
        &stdout,
        &["0 accepted, 1 already stored (duplicates)", "seq: 4"],
    );
    assert_eq!(log_length(), 4, "a retried id is stored once");

    // The wrong node identity behind the endpoint: a TLS failure naming the endpoint.
    let (code, _, stderr) = result(&sync178_node(&args(
        &["--lang", "en", "submit"],
        &recorder,
        &["--node", "c11953", &good],
    )));
    assert_eq!(code, Some(69), "{stderr}");
    has_all(&stderr, &[&node.endpoint, "verifying node c11953"]);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");

    // An operator may not submit.
    let (code, _, stderr) = result(&sync178_node(&args(
        &["--lang", "en", "submit"],
        &operator,
        &["--node", "c11950", &good],
    )));
    assert_eq!(code, Some(77), "{stderr}");
    has_all(&stderr, &["PermissionDenied", "only recorders of c11950"]);

    // The readable status in both languages.
    let (code, vi, stderr) = result(&sync178_node(&args(
        &["status"],
        &operator,
        &["--node", "c11950"],
    )));
    assert_eq!(code, Some(0), "{stderr}");
    has_all(
        &vi,
        &[
            "Đơn vị: c11950 — Phường Lam Sơn",
            "Số sự kiện trong sổ: 4",
            "không có cấp trên",
        ],
    );
    let (code, en, stderr) = result(&sync178_node(&args(
        &["status", "--lang", "en"],
        &recorder,
        &[],
    )));
    assert_eq!(code, Some(0), "{stderr}");
    has_all(
        &en,
        &[
            "Unit: c11950",
            "Log length: 4",
            "no parent (root)",
            "c11950  4",
        ],
    );

    // Over a thousand events: two requests, both applied.
    let many: String = (1..=1001)
        .map(|i| event_line("c11950", &format!("m{i}")) + "\n")
        .collect();
    let many = node.write("many.ndjson", &many);
    let (code, stdout, stderr) = result(&sync178_node(&args(&["submit"], &recorder, &[&many])));
    assert_eq!(code, Some(0), "chunked submit: {stderr}");
    has_all(
        &stdout,
        &[
            "Gửi 1001 sự kiện thành 2 phần",
            "phần 1/2 (dòng 1–1000): đã nhận 1000 sự kiện mới",
            "phần 2/2 (dòng 1001–1001): đã nhận 1 sự kiện mới",
            "số thứ tự: 1005",
        ],
    );
    assert_eq!(log_length(), 1005);

    node.stop();
}

/// The NDJSON block of the README's "Recording with NDJSON" section.
fn readme_sample() -> String {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .expect("reads README.md");
    let from = readme
        .find("### Recording with NDJSON")
        .expect("the README's NDJSON section");
    let rest = &readme[from..];
    let start = rest.find("```ndjson\n").expect("an ndjson block") + "```ndjson\n".len();
    let len = rest[start..].find("```").expect("the block ends");
    rest[start..start + len].to_owned()
}

#[test]
fn the_readme_sample_file_is_accepted_and_lines_without_id_are_warned_about() {
    let node = Node::start("c11950");
    let recorder = node.conn_args(Identity::new(unit("c11950"), Role::Recorder));
    let operator = node.conn_args(Identity::new(unit("p33"), Role::Operator));
    let log_length = || {
        let out = sync178_node(&args(
            &["status"],
            &operator,
            &["--node", "c11950", "--json"],
        ));
        let (code, stdout, stderr) = result(&out);
        assert_eq!(code, Some(0), "status --json: {stderr}");
        let s: StatusResponse =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        s.log_length
    };
    let sample = node.write("events.ndjson", &readme_sample());
    // The sample holds a correction and a void of events earlier in the file.
    let (code, stdout, stderr) = result(&sync178_node(&args(&["submit"], &recorder, &[&sample])));
    assert_eq!(code, Some(0), "the README's sample: {stdout}{stderr}");
    assert!(
        !stderr.contains("Cảnh báo"),
        "every sample line has an id: {stderr}"
    );
    assert_eq!(log_length(), 7);
    // Every line has an id: sending the file again stores nothing.
    let (code, stdout, stderr) = result(&sync178_node(&args(&["submit"], &recorder, &[&sample])));
    assert_eq!(code, Some(0), "again: {stdout}{stderr}");
    assert_eq!(log_length(), 7);

    // Lines without an id: stored, with a warning that names them.
    let no_ids = node.write(
        "no-ids.ndjson",
        &format!(
            "# no ids\n{}\n{}\n",
            event_line("c11950", "n1"),
            event_line("c11950", "n2")
        ),
    );
    let (code, stdout, stderr) = result(&sync178_node(&args(&["submit"], &recorder, &[&no_ids])));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    has_all(
        &stderr,
        &[
            "Cảnh báo: các dòng 2, 3 không có \"id\"",
            "lưu chúng thêm một lần nữa",
        ],
    );
    let (code, _, stderr) = result(&sync178_node(&args(
        &["--lang", "en", "submit"],
        &recorder,
        &[&no_ids],
    )));
    assert_eq!(code, Some(0), "{stderr}");
    has_all(
        &stderr,
        &[
            "Warning: lines 2, 3 have no \"id\"",
            "stores them once more",
        ],
    );
    assert_eq!(log_length(), 11, "sent twice without ids: stored twice");
    node.stop();
}
