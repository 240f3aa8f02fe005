//! What operators read, in Vietnamese (the default) or English: one [`Msg`] per phrase, looked up with [`t`].

use sync178_shared::proto::v1::LinkState;

pub use sync178_shared::i18n::{Lang, ago};

/// Every phrase the CLI prints for people. Server error messages and field
/// paths are not here: they stay as the node wrote them (English).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// The word before a line number of the input file.
    Line,
    /// The word before a column number of a line.
    Column,
    /// Why nothing was sent after bad input lines.
    NothingSentBadInput,
    /// The input held no event.
    NoEvents,
    /// The unit that recorded the events.
    Origin,
    /// Sequence numbers.
    SeqRange,
    /// A chunk the node refused.
    ChunkRefused,
    /// A chunk whose fate is unknown because the call failed.
    ChunkFailed,
    /// Nothing of the input was applied.
    NothingApplied,
    /// Nothing of the refused batch was applied.
    BatchRefusedNothingApplied,
    /// The outcome of a failed call is unknown.
    OutcomeUnknown,
    /// The administrative unit.
    Unit,
    /// Software version.
    Version,
    /// When the node started.
    Started,
    /// Events in the log.
    LogLength,
    RecordingClosed,
    BackupWritten,
    /// `client-ref` printed nothing because a case number is unusable.
    NothingPrintedBadCase,
    /// The key id of the client-reference secret.
    ClientKeyId,
    /// The backup holds the client-reference secret.
    BackupHoldsSecret,
    /// The backup holds no client-reference secret.
    BackupWithoutSecret,
    BackupFailed,
    Restored,
    RestoreRefused,
    RestoredWaitsForParent,
    EventsWord,
    StoreNotice,
    /// A unit of a listing no longer in force: safe to retire.
    RetireSafe,
    /// A unit of a listing no longer in force: not yet safe to retire.
    RetireNotYet,
    Recovered,
    /// The link to the parent node.
    Uplink,
    /// The parent node.
    Parent,
    /// The parent's address.
    Endpoint,
    /// The state of the link.
    LinkStateLabel,
    /// Events the parent has not acknowledged.
    Backlog,
    /// Last error on the link.
    LastError,
    /// Last acknowledgement from the parent.
    LastAck,
    /// Connected since.
    ConnectedSince,
    /// Number of reconnections.
    Reconnects,
    /// Table of origins.
    Origins,
    /// Column: seq held here.
    ColSeq,
    /// Column: seq the parent acknowledged.
    ColParentSeq,
    /// Column: how far the parent is behind.
    ColBehind,
    /// Column: why the origin is stalled.
    ColStalled,
    /// Column: origin.
    ColOrigin,
    /// Child nodes.
    Children,
    /// Column: unit.
    ColUnit,
    /// Column: connected now.
    ColConnected,
    /// Column: last contact.
    ColLastContact,
    /// Column: last refusal.
    ColLastRefusal,
    /// Yes.
    Yes,
    /// No.
    No,
    /// Nothing to show.
    None,
    /// Certificate authority created.
    CaCreated,
    /// Certificate authority reused.
    CaReused,
    /// Certificates newly written.
    CertsCreated,
    /// Certificates kept as they were.
    CertsKept,
    /// Certificates replaced because their key usages did not fit their role.
    CertsReissued,
    /// `certs revoke`: the serial revoked.
    Revoked,
    /// `certs revoke`: the serial was already on the list.
    AlreadyRevoked,
    /// `certs revoke`: the list written and its number.
    RevocationList,
    /// `status`: why the last revocation list offered was refused.
    RevocationRefused,
    /// `certs revoke`: where the revoked certificate's files went.
    RevokedFilesMoved,
    /// `certs revoke`: what to do with the list.
    RevocationNext,
    /// `deploy`: the topology file written.
    DeployTopology,
    /// `deploy`: the certificates folder.
    DeployCerts,
    /// `deploy`: the CA key stays at the province.
    DeployCaKeyStays,
    /// `deploy`: the table of nodes.
    DeployNodes,
    /// `deploy`: each node folder is a bundle for its machine.
    DeployBundle,
    /// `deploy`: column of the listen address.
    DeployColListen,
    /// `deploy`: column of the config file.
    DeployColConfig,
    /// `deploy`: the machine-readable node list.
    DeployNodeList,
    /// `deploy`: unit folders of an earlier run left alone.
    DeployStale,
}

/// The phrase `msg` in `lang`.
pub fn t(lang: Lang, msg: Msg) -> &'static str {
    let (vi, en) = match msg {
        Msg::Line => ("dòng", "line"),
        Msg::Column => ("cột", "column"),
        Msg::NothingSentBadInput => (
            "Tệp có dòng sai: không gửi sự kiện nào.",
            "The input has bad lines: nothing was sent.",
        ),
        Msg::NoEvents => (
            "Tệp không có sự kiện nào: không gửi gì.",
            "The input holds no event: nothing was sent.",
        ),
        Msg::Origin => ("đơn vị ghi nhận", "origin"),
        Msg::SeqRange => ("số thứ tự", "seq"),
        Msg::ChunkRefused => ("bị từ chối", "refused"),
        Msg::ChunkFailed => ("gửi không thành", "failed"),
        Msg::NothingApplied => ("Không có sự kiện nào được ghi.", "Nothing was applied."),
        Msg::BatchRefusedNothingApplied => (
            "Không có sự kiện nào của lô này được ghi.",
            "Nothing of this batch was applied.",
        ),
        Msg::OutcomeUnknown => (
            "không rõ đã được ghi hay chưa; kiểm tra bằng `status` trước khi gửi lại",
            "unknown whether it was applied; check with `status` before sending again",
        ),
        Msg::Unit => ("Đơn vị", "Unit"),
        Msg::Version => ("phiên bản", "version"),
        Msg::Started => ("khởi động", "started"),
        Msg::LogLength => ("Số sự kiện trong sổ", "Log length"),
        Msg::RecordingClosed => (
            "TẠM DỪNG GHI NHẬN (chưa nhận sự kiện mới)",
            "RECORDING CLOSED (no new events accepted)",
        ),
        Msg::BackupWritten => ("Đã sao lưu", "Backup written"),
        Msg::NothingPrintedBadCase => (
            "Không in mã nào: hãy sửa số hồ sơ bị lỗi",
            "Nothing printed: fix the unusable case numbers",
        ),
        Msg::ClientKeyId => ("Mã khoá bí mật", "Secret key id"),
        Msg::BackupHoldsSecret => (
            "Bản sao lưu có cả khoá bí mật của mã khách hàng: giữ nó tại xã, không gửi lên cấp trên",
            "The backup holds the client-reference secret too: keep it at the commune, never send it upward",
        ),
        Msg::BackupWithoutSecret => (
            "Bản sao lưu không có khoá bí mật của mã khách hàng (thêm --config node.toml trên máy của nút để sao lưu cả khoá)",
            "The backup holds no client-reference secret (add --config node.toml on the node's machine to include it)",
        ),
        Msg::BackupFailed => ("Sao lưu không thành công", "Backup failed"),
        Msg::Restored => ("Đã khôi phục", "Restored"),
        Msg::RestoreRefused => (
            "Không khôi phục (không ghi gì)",
            "Restore refused (nothing written)",
        ),
        Msg::RestoredWaitsForParent => (
            "Khi khởi động, nút sẽ chờ cấp trên xác nhận và lấy lại phần mới hơn bản sao lưu trước khi nhận sự kiện mới.",
            "At start the node waits for its parent to confirm, and fetches what is newer than the backup, before it records.",
        ),
        Msg::EventsWord => ("sự kiện", "events"),
        Msg::StoreNotice => (
            "Phát hiện khi mở kho dữ liệu",
            "Found when opening the store",
        ),
        Msg::RetireSafe => (
            "Đơn vị này không còn trong danh mục hiện hành (hết hiệu lực sau {until}); cấp trên {parent} đã giữ đủ mọi sự kiện của nút: CÓ THỂ NGỪNG nút này",
            "This unit is no longer in the listing in force (ended after {until}); the parent {parent} holds every event of this node: SAFE TO RETIRE",
        ),
        Msg::RetireNotYet => (
            "Đơn vị này không còn trong danh mục hiện hành (hết hiệu lực sau {until}); CHƯA ngừng được: cấp trên {parent} chưa xác nhận giữ {n} sự kiện — để nút chạy và kết nối",
            "This unit is no longer in the listing in force (ended after {until}); NOT YET safe to retire: the parent {parent} has not confirmed {n} events — keep the node running and connected",
        ),
        Msg::Recovered => (
            "Sự kiện đã lấy lại từ cấp trên",
            "Events recovered from the parent",
        ),
        Msg::Uplink => ("Liên kết lên cấp trên", "Uplink"),
        Msg::Parent => ("cấp trên", "parent"),
        Msg::Endpoint => ("địa chỉ", "endpoint"),
        Msg::LinkStateLabel => ("trạng thái liên kết", "link state"),
        Msg::Backlog => ("chưa được cấp trên xác nhận", "backlog"),
        Msg::LastError => ("lỗi gần nhất", "last error"),
        Msg::LastAck => ("xác nhận gần nhất", "last ack"),
        Msg::ConnectedSince => ("kết nối từ", "connected since"),
        Msg::Reconnects => ("số lần kết nối lại", "reconnects"),
        Msg::Origins => ("Nguồn", "Origins"),
        Msg::ColSeq => ("số TT", "seq"),
        Msg::ColParentSeq => ("cấp trên có", "parent seq"),
        Msg::ColBehind => ("chênh lệch", "behind"),
        Msg::ColStalled => ("lý do tạm dừng", "stalled"),
        Msg::ColOrigin => ("nguồn", "origin"),
        Msg::Children => ("Cấp dưới", "Children"),
        Msg::ColUnit => ("đơn vị", "unit"),
        Msg::ColConnected => ("đang kết nối", "connected"),
        Msg::ColLastContact => ("liên lạc gần nhất", "last contact"),
        Msg::ColLastRefusal => ("từ chối gần nhất", "last refusal"),
        Msg::Yes => ("có", "yes"),
        Msg::No => ("không", "no"),
        Msg::None => ("không có", "none"),
        Msg::CaCreated => ("đã tạo CA mới", "ca created"),
        Msg::CaReused => ("dùng lại CA có sẵn", "ca reused"),
        Msg::CertsCreated => ("chứng thư đã tạo", "certificates created"),
        Msg::CertsKept => ("chứng thư giữ nguyên", "certificates kept"),
        Msg::CertsReissued => (
            "cấp lại (công dụng khóa không đúng vai trò)",
            "reissued (key usages did not fit the role)",
        ),
        Msg::Revoked => (
            "Đã thu hồi chứng thư, số sê-ri",
            "Revoked certificate serial",
        ),
        Msg::AlreadyRevoked => (
            "Chứng thư này đã bị thu hồi từ trước, số sê-ri",
            "Already revoked, serial",
        ),
        Msg::RevocationList => ("Danh sách thu hồi số", "Revocation list number"),
        Msg::RevocationRefused => ("Danh sách thu hồi bị từ chối", "Revocation list refused"),
        Msg::RevokedFilesMoved => (
            "Tệp chứng thư cũ chuyển sang",
            "Old certificate files moved to",
        ),
        Msg::RevocationNext => (
            "Chép tệp danh sách vào thư mục dữ liệu của nút tỉnh với tên revocations.incoming.crl; \
             danh sách tự truyền xuống các nút cấp dưới. Chạy lại `certs` để cấp chứng thư mới.",
            "Copy the list into the province node's data directory as revocations.incoming.crl; \
             it flows down to every node below. Run `certs` again to issue a fresh certificate.",
        ),
        Msg::DeployTopology => ("Danh mục đơn vị", "Topology"),
        Msg::DeployCerts => ("Chứng thư", "Certificates"),
        Msg::DeployCaKeyStays => (
            "ca.key chỉ giữ ở máy của tỉnh, không sao chép sang máy khác",
            "keep ca.key on the province's machine; never copy it elsewhere",
        ),
        Msg::DeployNodes => ("Các node", "Nodes"),
        Msg::DeployBundle => (
            "mỗi thư mục node chứa đủ những gì máy của đơn vị đó cần (node.toml, topology.csv, tls/): sao chép nguyên thư mục",
            "each node folder holds all its unit's machine needs (node.toml, topology.csv, tls/): copy the folder as it is",
        ),
        Msg::DeployColListen => ("địa chỉ nghe", "listen"),
        Msg::DeployColConfig => ("cấu hình", "config"),
        Msg::DeployNodeList => ("Danh sách node (cho script)", "Node list (for scripts)"),
        Msg::DeployStale => (
            "Thư mục đơn vị không thuộc lần triển khai này (giữ nguyên, không xoá)",
            "Unit folders not in this deployment (left as they are)",
        ),
    };
    lang.pick(vi, en)
}

/// The name of a link state in `lang`.
pub fn link_state(lang: Lang, state: LinkState) -> &'static str {
    let (vi, en) = match state {
        LinkState::Unspecified => ("không rõ", "unknown"),
        LinkState::NoParent => ("không có cấp trên", "no parent (root)"),
        LinkState::Connecting => ("đang kết nối", "connecting"),
        LinkState::CatchingUp => ("đang đồng bộ", "catching up"),
        LinkState::Live => ("trực tuyến", "live"),
        LinkState::BackingOff => ("chờ kết nối lại", "backing off"),
        LinkState::Stopped => ("đã dừng", "stopped"),
    };
    lang.pick(vi, en)
}

/// `yes` or `no` in `lang`.
pub fn yes_no(lang: Lang, b: bool) -> &'static str {
    t(lang, if b { Msg::Yes } else { Msg::No })
}

/// `N new, M already stored (duplicates)`.
pub fn accepted_summary(lang: Lang, new: usize, duplicates: usize) -> String {
    match lang {
        Lang::Vi => format!("đã nhận {new} sự kiện mới, {duplicates} đã có từ trước (trùng lặp)"),
        Lang::En => format!("{new} accepted, {duplicates} already stored (duplicates)"),
    }
}

/// The outcome of a whole-log verification, one line.
pub fn verified(lang: Lang, r: &sync178_shared::proto::v1::VerifyResponse) -> String {
    let secs = r.took_ms as f64 / 1000.0;
    match (lang, r.ok) {
        (Lang::Vi, true) => format!(
            "Nhật ký của nút {} toàn vẹn: {} sự kiện, {} nguồn, mọi mã băm, chuỗi và chỉ mục đều đúng ({secs:.1} giây).",
            r.unit, r.events, r.origins
        ),
        (Lang::En, true) => format!(
            "The log of node {} is sound: {} events, {} origins, every hash, chain and index checked ({secs:.1} s).",
            r.unit, r.events, r.origins
        ),
        (Lang::Vi, false) => format!(
            "Nhật ký của nút {} BỊ HỎNG tại {}: {} ({secs:.1} giây). Đừng sửa tay; đối soát giữa các cấp (sync178-hub reconcile tiers) cho biết bản nào còn đúng.",
            r.unit, r.at, r.problem
        ),
        (Lang::En, false) => format!(
            "The log of node {} is CORRUPT at {}: {} ({secs:.1} s). Do not edit it by hand; a tier check (sync178-hub reconcile tiers) tells which copy is sound.",
            r.unit, r.at, r.problem
        ),
    }
}

/// `N events refused.`
pub fn refused_summary(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Vi => format!("{n} sự kiện bị từ chối."),
        Lang::En if n == 1 => "1 event refused.".to_owned(),
        Lang::En => format!("{n} events refused."),
    }
}

/// The announcement that a submission goes out in several requests.
pub fn chunk_plan(lang: Lang, events: usize, chunks: usize, per: usize) -> String {
    match lang {
        Lang::Vi => format!(
            "Gửi {events} sự kiện thành {chunks} phần (tối đa {per} sự kiện mỗi phần); dừng ở phần đầu tiên bị từ chối."
        ),
        Lang::En => format!(
            "Sending {events} events in {chunks} chunks of at most {per}; stopping at the first chunk refused."
        ),
    }
}

/// `chunk k/n (lines a–b)`.
pub fn chunk_label(lang: Lang, k: usize, n: usize, (first, last): (usize, usize)) -> String {
    match lang {
        Lang::Vi => format!("phần {k}/{n} (dòng {first}–{last})"),
        Lang::En => format!("chunk {k}/{n} (lines {first}–{last})"),
    }
}

/// The lines applied before a submission stopped.
pub fn applied_lines(lang: Lang, first: usize, last: usize) -> String {
    match lang {
        Lang::Vi => format!("Đã ghi: dòng {first}–{last}."),
        Lang::En => format!("Applied: lines {first}–{last}."),
    }
}

/// The lines not sent after a submission stopped.
pub fn not_sent(lang: Lang, first: usize, last: usize) -> String {
    match lang {
        Lang::Vi => format!("Chưa gửi: dòng {first}–{last}."),
        Lang::En => format!("Not sent: lines {first}–{last}."),
    }
}

/// An input file that cannot be read.
pub fn cannot_read(lang: Lang, path: &str, e: &dyn std::fmt::Display) -> String {
    match lang {
        Lang::Vi => format!("không đọc được {path}: {e}"),
        Lang::En => format!("cannot read {path}: {e}"),
    }
}

/// Certificate files that cannot be used.
pub fn bad_certificates(lang: Lang, e: &dyn std::fmt::Display) -> String {
    match lang {
        Lang::Vi => format!("chứng thư không dùng được: {e}"),
        Lang::En => format!("certificates: {e}"),
    }
}

/// An endpoint that is not a usable URL.
pub fn bad_endpoint(lang: Lang, endpoint: &str, reason: &str) -> String {
    match lang {
        Lang::Vi => format!("địa chỉ {endpoint} không dùng được: {reason}"),
        Lang::En => format!("endpoint {endpoint}: {reason}"),
    }
}

/// A connection or TLS handshake that failed.
pub fn cannot_connect(
    lang: Lang,
    endpoint: &str,
    server: sync178_shared::unit::UnitId,
    cause: &str,
) -> String {
    match lang {
        Lang::Vi => format!("không kết nối được tới {endpoint} (xác minh node {server}): {cause}"),
        Lang::En => format!("cannot connect to {endpoint} (verifying node {server}): {cause}"),
    }
}

/// A call the node answered with an error.
pub fn call_failed(lang: Lang, endpoint: &str, status: &str) -> String {
    match lang {
        Lang::Vi => format!("{endpoint} trả lỗi: {status}"),
        Lang::En => format!("{endpoint}: {status}"),
    }
}

/// `deploy`'s first line: what was deployed where, with the count of nodes per level.
pub fn deploy_heading(
    lang: Lang,
    province: &str,
    out: &str,
    (provinces, districts, communes): (usize, usize, usize),
) -> String {
    let total = provinces + districts + communes;
    match lang {
        Lang::Vi => {
            let mut parts = vec![format!("{provinces} cấp tỉnh")];
            if districts > 0 {
                parts.push(format!("{districts} cấp huyện"));
            }
            parts.push(format!("{communes} cấp xã"));
            format!(
                "Đã triển khai {province} vào {out}: {total} node ({})",
                parts.join(", ")
            )
        }
        Lang::En => {
            let plural = |n: usize, one: &str, many: &str| {
                format!("{n} {}", if n == 1 { one } else { many })
            };
            let mut parts = vec![plural(provinces, "province", "provinces")];
            if districts > 0 {
                parts.push(plural(districts, "district", "districts"));
            }
            parts.push(plural(communes, "commune", "communes"));
            format!(
                "Deployed {province} to {out}: {} ({})",
                plural(total, "node", "nodes"),
                parts.join(", ")
            )
        }
    }
}

/// `deploy`: what happened to the CA and the certificates.
pub fn deploy_certs(lang: Lang, ca_created: bool, created: usize, kept: usize) -> String {
    let ca = t(
        lang,
        if ca_created {
            Msg::CaCreated
        } else {
            Msg::CaReused
        },
    );
    match lang {
        Lang::Vi => format!("{ca}; {created} chứng thư đã tạo, {kept} giữ nguyên"),
        Lang::En => format!("{ca}; {created} created, {kept} kept"),
    }
}

/// What `deploy` wrote for the hub, for [`deploy_hub`].
#[derive(Debug, Clone, Copy)]
pub struct DeployHub<'a> {
    /// The hub's config file.
    pub config: &'a str,
    /// The node it follows.
    pub node: &'a str,
    /// That node's endpoint.
    pub endpoint: &'a str,
    /// The hub's data folder.
    pub data_dir: &'a str,
    /// The hub's certificate as issued.
    pub cert: &'a str,
    /// The province operators' certificate.
    pub operator_cert: &'a str,
    /// Its key.
    pub operator_key: &'a str,
    /// The hub's gRPC Query endpoint.
    pub listen: &'a str,
    /// The hub's web page.
    pub web: &'a str,
}

/// `deploy`: the hub's config, how to run it, and the operators' certificate.
pub fn deploy_hub(lang: Lang, h: &DeployHub<'_>) -> String {
    let DeployHub {
        config,
        node,
        endpoint,
        data_dir,
        cert,
        operator_cert,
        operator_key,
        listen,
        web,
    } = *h;
    match lang {
        Lang::Vi => format!(
            "Hub: cấu hình {config} (đọc dữ liệu từ node {node} tại {endpoint}; dữ liệu của hub ở {data_dir}; \
             chứng thư {cert}, đã chép vào tls/ cạnh tệp cấu hình)\n  \
             chạy: sync178-hub run --config {config}   (trên máy của tỉnh: /etc/sync178/hub.toml, \
             dịch vụ sync178-hub.service, INSTALL.md mục 3)\n\
             Cán bộ vận hành của tỉnh: chứng thư {operator_cert}, khoá {operator_key}; \
             hỏi hub tại {listen} (sync178-hub query), trang web {web}"
        ),
        Lang::En => format!(
            "Hub: config {config} (follows node {node} at {endpoint}; the hub's data in {data_dir}; \
             certificate {cert}, copied into tls/ beside the config)\n  \
             run: sync178-hub run --config {config}   (on the province's machine: /etc/sync178/hub.toml, \
             the sync178-hub.service unit, INSTALL.md section 3)\n\
             The province's operators: certificate {operator_cert}, key {operator_key}; \
             query the hub at {listen} (sync178-hub query), web page {web}"
        ),
    }
}

/// The warning `submit` prints for input lines without an `id`: the node
/// gives them a new id on every run, so sending the file again stores them
/// again.
pub fn lines_without_id(lang: Lang, lines: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "Cảnh báo: các dòng {lines} không có \"id\": mỗi lần gửi, nút cấp cho chúng mã mới, \
             nên gửi lại tệp này sẽ lưu chúng thêm một lần nữa. Muốn gửi lại an toàn, hãy cho mỗi \
             dòng một \"id\" riêng (16 byte viết base64, ví dụ `head -c16 /dev/urandom | base64`)."
        ),
        Lang::En => format!(
            "Warning: lines {lines} have no \"id\": the node gives them a new id on every run, \
             so sending this file again stores them once more. To resend safely, give each line \
             its own \"id\" (16 bytes in base64, e.g. `head -c16 /dev/urandom | base64`)."
        ),
    }
}
