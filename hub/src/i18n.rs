//! What the hub's commands print for people, in Vietnamese (the default) or English: phrases, KPI and metric names, and number formats.

use std::fmt::Write as _;

pub use sync178_shared::i18n::{Lang, duration, int, percent_bp};
use sync178_shared::proto::v1::Kpi;

/// Every fixed phrase the hub's commands print. Server error messages stay as
/// the hub wrote them (English).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// The administrative unit.
    Unit,
    /// Reporting period.
    Period,
    /// Calendar year.
    Year,
    /// Column: indicator (KPI).
    ColKpi,
    /// Column: numerator.
    ColNumerator,
    /// Column: denominator.
    ColDenominator,
    /// Column: the KPI's value.
    ColValue,
    /// Column: the target.
    ColTarget,
    /// Column: met or not.
    ColMet,
    /// Column: the unit whose target applies.
    ColTargetFrom,
    /// Column: metric.
    ColMetric,
    /// Column: a count.
    ColCount,
    /// Column: unit id.
    ColUnit,
    /// Column: unit name.
    ColName,
    /// Column: events recorded.
    ColEvents,
    /// Column: a plan for the year.
    ColPlan,
    /// Column: last event recorded.
    ColLastRecorded,
    /// Column: last event received by the hub.
    ColLastReceived,
    /// Column: parent unit.
    ColParent,
    /// Column: origin (recording unit).
    ColOrigin,
    /// Column: last seq received.
    ColLastSeq,
    /// Column: delay between recording and receiving.
    ColLag,
    /// Column: events the node holds that the hub has not applied.
    ColLagEvents,
    /// Column: what stands out about a row.
    ColNote,
    /// The target was met.
    Met,
    /// The target was not met.
    NotMet,
    /// No value (denominator 0, or no target).
    NoValue,
    /// Hidden: a small person count.
    Hidden,
    /// Nothing was recorded by the unit in the period.
    NothingRecorded,
    /// No plan for the year.
    NoPlan,
    /// Yes.
    Yes,
    /// No.
    No,
    /// The whole unit, summed.
    Total,
    /// The children of a unit.
    Children,
    /// The KPIs of the children.
    ChildKpis,
    /// What ✓ and ✗ mean.
    MetLegend,
    /// What `<5` means.
    SuppressedNote,
    /// The hub's position in the node's feed.
    Checkpoint,
    /// Events the hub skipped.
    Skipped,
    /// Line: what the followed node holds and how far behind the hub is.
    NodeHolds,
    /// No origin has sent anything.
    NoOrigins,
    /// The stored state (rebuild).
    StoredState,
    /// The state rebuilt from the feed (rebuild).
    RebuiltState,
    /// Both states are the same.
    DigestsMatch,
    /// The projections that differ.
    DigestsDiffer,
    /// The rebuilt state was written.
    Replaced,
    /// Column: projection.
    ColProjection,
    /// Column: digest.
    ColDigest,
}

/// The phrase `msg` in `lang`.
pub fn t(lang: Lang, msg: Msg) -> &'static str {
    let (vi, en) = match msg {
        Msg::Unit => ("Đơn vị", "Unit"),
        Msg::Period => ("Kỳ", "Period"),
        Msg::Year => ("Năm", "Year"),
        Msg::ColKpi => ("chỉ tiêu", "indicator"),
        Msg::ColNumerator => ("tử số", "numerator"),
        Msg::ColDenominator => ("mẫu số", "denominator"),
        Msg::ColValue => ("kết quả", "value"),
        Msg::ColTarget => ("mục tiêu", "target"),
        Msg::ColMet => ("đánh giá", "assessment"),
        Msg::ColTargetFrom => ("mục tiêu của", "target set by"),
        Msg::ColMetric => ("chỉ số", "metric"),
        Msg::ColCount => ("số lượng", "count"),
        Msg::ColUnit => ("đơn vị", "unit"),
        Msg::ColName => ("tên", "name"),
        Msg::ColEvents => ("sự kiện", "events"),
        Msg::ColPlan => ("kế hoạch", "plan"),
        Msg::ColLastRecorded => ("ghi nhận gần nhất", "last recorded"),
        Msg::ColLastReceived => ("hub nhận lúc", "received"),
        Msg::ColParent => ("cấp trên", "parent"),
        Msg::ColOrigin => ("nguồn", "origin"),
        Msg::ColLastSeq => ("số TT cuối", "last seq"),
        Msg::ColLag => ("độ trễ", "lag"),
        Msg::ColLagEvents => ("chưa về hub", "behind"),
        Msg::ColNote => ("ghi chú", "note"),
        Msg::Met => ("đạt", "met"),
        Msg::NotMet => ("chưa đạt", "not met"),
        Msg::NoValue => ("không có", "n/a"),
        Msg::Hidden => ("ẩn", "hidden"),
        Msg::NothingRecorded => ("chưa ghi nhận gì", "nothing recorded"),
        Msg::NoPlan => ("chưa có kế hoạch", "no plan"),
        Msg::Yes => ("có", "yes"),
        Msg::No => ("không", "no"),
        Msg::Total => ("Tổng", "Total"),
        Msg::Children => ("Đơn vị trực thuộc", "Units below"),
        Msg::ChildKpis => ("Chỉ tiêu của đơn vị trực thuộc", "KPIs of the units below"),
        Msg::MetLegend => ("✓ đạt mục tiêu, ✗ chưa đạt", "✓ target met, ✗ not met"),
        Msg::SuppressedNote => (
            "<5: số người dưới 5 được ẩn để bảo vệ người được hỗ trợ (--no-suppress nếu có thẩm quyền)",
            "<5: person counts below 5 are hidden to protect clients (--no-suppress if authorised)",
        ),
        Msg::Checkpoint => (
            "Vị trí đã xử lý trên nguồn dữ liệu",
            "Feed position applied",
        ),
        Msg::Skipped => ("Sự kiện bỏ qua", "Events skipped"),
        Msg::NodeHolds => (
            "Nút nguồn đang giữ (sự kiện) / chưa về hub",
            "The node holds (events) / not yet at the hub",
        ),
        Msg::NoOrigins => ("chưa nhận sự kiện nào", "nothing received yet"),
        Msg::StoredState => ("Trạng thái đang lưu", "Stored state"),
        Msg::RebuiltState => ("Trạng thái dựng lại", "Rebuilt state"),
        Msg::DigestsMatch => (
            "Khớp: trạng thái dựng lại giống hệt trạng thái đang lưu.",
            "Match: the rebuilt state equals the stored state.",
        ),
        Msg::DigestsDiffer => ("Khác nhau ở", "Differ in"),
        Msg::Replaced => (
            "Đã ghi trạng thái dựng lại vào kho của hub.",
            "The rebuilt state was written to the hub's store.",
        ),
        Msg::ColProjection => ("phần dữ liệu", "projection"),
        Msg::ColDigest => ("mã băm", "digest"),
    };
    lang.pick(vi, en)
}

/// `yes` or `no` in `lang`.
pub fn yes_no(lang: Lang, b: bool) -> &'static str {
    t(lang, if b { Msg::Yes } else { Msg::No })
}

// -------------------------------------------------------------- headings

/// `Đơn vị: p33 — Tỉnh Hưng Yên · Năm 2024`.
pub fn heading(lang: Lang, unit: &str, name: &str, when: &str) -> String {
    let mut s = format!("{}: {unit}", t(lang, Msg::Unit));
    if !name.is_empty() {
        let _ = write!(s, " — {name}");
    }
    if !when.is_empty() {
        let _ = write!(s, " · {when}");
    }
    s
}

/// The period as people say it (`Quý 2/2024`, `Q2 2024`); the text as it
/// came when it does not parse.
pub fn period_label(lang: Lang, period: &str) -> String {
    match period.parse::<sync178_shared::period::Period>() {
        Ok(p) => match lang {
            Lang::Vi => p.label_vi(),
            Lang::En => p.label_en(),
        },
        Err(_) => period.to_owned(),
    }
}

/// `Năm 2024` / `Year 2024`.
pub fn year_label(lang: Lang, year: u32) -> String {
    format!("{} {year}", t(lang, Msg::Year))
}

/// Units that recorded nothing in a period: `3/12 đơn vị chưa ghi nhận gì trong kỳ`.
pub fn silent_units(lang: Lang, silent: usize, total: usize) -> String {
    match lang {
        Lang::Vi => format!("{silent}/{total} đơn vị chưa ghi nhận gì trong kỳ"),
        Lang::En => format!("{silent} of {total} units recorded nothing in the period"),
    }
}

/// Progress of a replay: `đã áp dụng 1.234/10.000 sự kiện (12%)`.
pub fn replay_progress(lang: Lang, done: u64, total: u64) -> String {
    let pct = done.saturating_mul(100).checked_div(total).unwrap_or(100);
    match lang {
        Lang::Vi => format!(
            "đã áp dụng {}/{} sự kiện ({pct}%)",
            int(lang, done),
            int(lang, total)
        ),
        Lang::En => format!(
            "applied {}/{} events ({pct}%)",
            int(lang, done),
            int(lang, total)
        ),
    }
}

/// The stored checkpoint a rebuild replays up to.
pub fn rebuild_upto(lang: Lang, checkpoint: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "Dựng lại từ nguồn dữ liệu của node: {} sự kiện (vị trí 0–{})",
            int(lang, checkpoint),
            checkpoint.saturating_sub(1)
        ),
        Lang::En => format!(
            "Rebuilt from the node's feed: {} events (positions 0–{})",
            int(lang, checkpoint),
            checkpoint.saturating_sub(1)
        ),
    }
}

/// A connection or TLS handshake to the hub that failed.
pub fn cannot_connect(lang: Lang, endpoint: &str, server: &str, cause: &str) -> String {
    match lang {
        Lang::Vi => format!("không kết nối được tới {endpoint} (xác minh hub {server}): {cause}"),
        Lang::En => format!("cannot connect to {endpoint} (verifying hub {server}): {cause}"),
    }
}

/// The hub cannot answer the question (unknown unit, bad period, no data);
/// `detail` is the hub's own reason.
pub fn question_refused(lang: Lang, detail: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "hub không trả lời được câu hỏi (đơn vị, kỳ báo cáo hoặc năm không có dữ liệu): {detail}"
        ),
        Lang::En => format!(
            "the hub cannot answer the question (unit, period or year without data): {detail}"
        ),
    }
}

/// The hub's store is held by a running hub.
pub fn store_in_use(lang: Lang, path: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "kho dữ liệu của hub {path} đang được một hub khác sử dụng: dừng `sync178-hub run` trước khi dựng lại"
        ),
        Lang::En => format!(
            "the hub's store {path} is in use by a running hub: stop `sync178-hub run` before rebuilding"
        ),
    }
}

/// The feed stopped short of the stored checkpoint.
pub fn feed_stalled(lang: Lang, at: u64, upto: u64, secs: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "nguồn dữ liệu của node dừng ở vị trí {at} ({secs} giây không có gì mới), chưa tới vị trí {upto} của trạng thái đang lưu: node có ít sự kiện hơn hub đã áp dụng?"
        ),
        Lang::En => format!(
            "the node's feed stopped at position {at} (nothing for {secs} s), short of the stored checkpoint {upto}: does the node hold fewer events than the hub applied?"
        ),
    }
}

// -------------------------------------------------------------------- KPIs

/// The name of a KPI as the plan writes it.
pub fn kpi_label(lang: Lang, kpi: Kpi) -> &'static str {
    let (vi, en) = match kpi {
        Kpi::Unspecified => ("Chỉ tiêu không rõ", "Unknown indicator"),
        Kpi::InspectionCoverage => ("Tỷ lệ cơ sở được kiểm tra", "Inspection coverage"),
        Kpi::CommunesWithAwareness => (
            "Xã có hoạt động tuyên truyền",
            "Communes with awareness activity",
        ),
        Kpi::CommunesWithPlan => ("Xã có kế hoạch", "Communes with a plan"),
        Kpi::TipoffsOnTime => ("Tin báo xử lý đúng hạn", "Tip-offs handled on time"),
        Kpi::ServiceAccess => ("Người có nhu cầu được hỗ trợ", "Clients in need served"),
        Kpi::PilotModelCoverage => ("Xã có mô hình thí điểm", "Communes with a pilot model"),
        Kpi::WorkersReached => ("Người lao động được tiếp cận", "Workers reached"),
        Kpi::HealthyCommunes => ("Xã lành mạnh", "Healthy communes"),
        Kpi::ViolationsHandled => ("Vi phạm được xử lý", "Violations handled"),
    };
    lang.pick(vi, en)
}

/// A short name of a KPI, for the columns of a breakdown.
pub fn kpi_short(lang: Lang, kpi: Kpi) -> &'static str {
    let (vi, en) = match kpi {
        Kpi::Unspecified => ("?", "?"),
        Kpi::InspectionCoverage => ("cơ sở KT", "inspected"),
        Kpi::CommunesWithAwareness => ("xã TT", "awareness"),
        Kpi::CommunesWithPlan => ("xã KH", "plan"),
        Kpi::TipoffsOnTime => ("tin báo ĐH", "tip-offs"),
        Kpi::ServiceAccess => ("hỗ trợ", "served"),
        Kpi::PilotModelCoverage => ("xã MH", "pilot"),
        Kpi::WorkersReached => ("NLĐ", "workers"),
        Kpi::HealthyCommunes => ("xã LM", "healthy"),
        Kpi::ViolationsHandled => ("VP xử lý", "handled"),
    };
    lang.pick(vi, en)
}

/// The legend of the short KPI names of a breakdown.
pub fn kpi_short_legend(lang: Lang) -> String {
    crate::kpi::ALL
        .iter()
        .map(|k| format!("{} = {}", kpi_short(lang, *k), kpi_label(lang, *k)))
        .collect::<Vec<_>>()
        .join("; ")
}

// ----------------------------------------------------------------- metrics

/// The label of a roll-up metric (`inspections.unannounced` → `Kiểm tra đột
/// xuất`); an unknown name is shown as it is.
pub fn metric_label(lang: Lang, name: &str) -> String {
    if let Some(label) = base_metric(name) {
        return pick(lang, label).to_owned();
    }
    const GROUPS: &[(&str, Phrase, Values)] = &[
        (
            "violations.act.",
            ("Vi phạm — hành vi", "Violations — act"),
            act,
        ),
        (
            "awareness.form.",
            ("Tuyên truyền — hình thức", "Awareness — form"),
            form,
        ),
        (
            "awareness.participants.",
            ("Người tham dự — đối tượng", "Participants — audience"),
            audience,
        ),
        (
            "services.kind.",
            ("Dịch vụ — loại", "Services — kind"),
            service,
        ),
    ];
    for (prefix, group, values) in GROUPS {
        if let Some(rest) = name.strip_prefix(prefix) {
            let value = values(rest).map_or(rest, |v| pick(lang, v));
            return format!("{}: {value}", pick(lang, *group));
        }
    }
    name.to_owned()
}

/// A short label of a roll-up metric, for the columns of a breakdown.
pub fn metric_short(lang: Lang, name: &str) -> String {
    let short = match name {
        "events" => Some(("sự kiện", "events")),
        "inspections" => Some(("kiểm tra", "inspections")),
        "violations" => Some(("vi phạm", "violations")),
        "penalties.fines_vnd" => Some(("tiền phạt (đ)", "fines (VND)")),
        "tipoffs.received" => Some(("tin báo", "tip-offs")),
        "awareness.activities" => Some(("tuyên truyền", "awareness")),
        "services.provided" => Some(("dịch vụ", "services")),
        "clients.served" => Some(("người được HT", "clients served")),
        _ => None,
    };
    short.map_or_else(|| metric_label(lang, name), |s| pick(lang, s).to_owned())
}

/// A phrase in Vietnamese and in English.
type Phrase = (&'static str, &'static str);

/// The labels of the values of one enum breakdown.
type Values = fn(&str) -> Option<Phrase>;

fn pick(lang: Lang, (vi, en): Phrase) -> &'static str {
    lang.pick(vi, en)
}

fn base_metric(name: &str) -> Option<Phrase> {
    Some(match name {
        "events" => ("Sự kiện ghi nhận", "Events recorded"),
        "inspections" => ("Cuộc kiểm tra", "Inspections"),
        "inspections.planned" => ("Kiểm tra theo kế hoạch", "Planned inspections"),
        "inspections.unannounced" => ("Kiểm tra đột xuất", "Unannounced inspections"),
        "inspections.workers_reached" => (
            "Người lao động được tiếp cận khi kiểm tra",
            "Workers reached in inspections",
        ),
        "violations" => ("Vi phạm", "Violations"),
        "penalties" => ("Quyết định xử phạt", "Penalties"),
        "penalties.fines_vnd" => ("Tiền phạt (đồng)", "Fines (VND)"),
        "referrals" => ("Vụ việc chuyển giao", "Referrals"),
        "tipoffs.received" => ("Tin báo tiếp nhận", "Tip-offs received"),
        "tipoffs.verified" => ("Tin báo đã xác minh", "Tip-offs verified"),
        "tipoffs.closed" => ("Tin báo đã giải quyết", "Tip-offs closed"),
        "awareness.activities" => ("Hoạt động tuyên truyền", "Awareness activities"),
        "awareness.participants" => ("Lượt người tham dự tuyên truyền", "Awareness participants"),
        "awareness.leaflets" => ("Tờ rơi đã phát", "Leaflets handed out"),
        "services.provided" => ("Lượt dịch vụ hỗ trợ", "Support services provided"),
        "services.cost_vnd" => ("Chi phí dịch vụ (đồng)", "Cost of services (VND)"),
        "clients.assessments" => ("Lượt đánh giá nhu cầu", "Needs assessments"),
        "clients.in_need" => ("Người có nhu cầu hỗ trợ", "Clients in need"),
        "clients.served" => ("Người được hỗ trợ", "Clients served"),
        "plans.adopted" => ("Kế hoạch được ban hành", "Plans adopted"),
        "pilot_models.started" => ("Mô hình thí điểm bắt đầu", "Pilot models started"),
        "pilot_models.ended" => ("Mô hình thí điểm kết thúc", "Pilot models ended"),
        "trainings" => ("Lớp tập huấn", "Trainings"),
        "trainings.trainees" => ("Học viên tập huấn", "Trainees"),
        "volunteer_teams.reports" => ("Báo cáo của đội tình nguyện", "Volunteer team reports"),
        "volunteer_teams.members" => ("Thành viên đội tình nguyện", "Volunteer team members"),
        "hotspots.identified" => ("Tụ điểm phát hiện", "Hotspots identified"),
        "hotspots.cleared" => ("Tụ điểm đã xoá bỏ", "Hotspots cleared"),
        "businesses.registered" => ("Cơ sở kinh doanh đăng ký", "Businesses registered"),
        "businesses.closed" => ("Cơ sở kinh doanh ngừng hoạt động", "Businesses closed"),
        "healthy.assessments" => ("Lượt đánh giá xã lành mạnh", "Healthy-commune assessments"),
        "corrections" => ("Huỷ bỏ và đính chính", "Voids and corrections"),
        _ => return None,
    })
}

fn act(v: &str) -> Option<Phrase> {
    Some(match v {
        "unspecified" => ("không rõ", "unspecified"),
        "buying_sex" => ("mua dâm", "buying sex"),
        "selling_sex" => ("bán dâm", "selling sex"),
        "concealing" => ("che giấu, bao che", "concealing"),
        "enticing_forcing" => ("lôi kéo, ép buộc", "enticing or forcing"),
        "protection_brokering" => ("bảo kê, môi giới", "protection or brokering"),
        "abuse_of_office" => ("lợi dụng chức vụ", "abuse of office"),
        "business_as_front" => ("lợi dụng kinh doanh", "business as a front"),
        "labour_rules" => ("vi phạm quy định lao động", "labour rules"),
        "residence_rules" => ("vi phạm quy định cư trú", "residence rules"),
        "other" => ("khác", "other"),
        _ => return None,
    })
}

fn form(v: &str) -> Option<Phrase> {
    Some(match v {
        "unspecified" => ("không rõ", "unspecified"),
        "meeting" => ("họp dân", "meeting"),
        "leaflet" => ("tờ rơi", "leaflets"),
        "loudspeaker" => ("loa truyền thanh", "loudspeaker"),
        "media_item" => ("tin bài báo, đài", "media item"),
        "social_media" => ("mạng xã hội", "social media"),
        "contest" => ("hội thi", "contest"),
        "performance" => ("văn nghệ", "performance"),
        _ => return None,
    })
}

fn audience(v: &str) -> Option<Phrase> {
    Some(match v {
        "unspecified" => ("không rõ", "unspecified"),
        "residents" => ("người dân", "residents"),
        "students" => ("học sinh, sinh viên", "students"),
        "business_workers" => ("người lao động tại cơ sở kinh doanh", "business workers"),
        "industrial_park_workers" => ("công nhân khu công nghiệp", "industrial-park workers"),
        "officials" => ("cán bộ", "officials"),
        "business_owners" => ("chủ cơ sở kinh doanh", "business owners"),
        _ => return None,
    })
}

fn service(v: &str) -> Option<Phrase> {
    Some(match v {
        "unspecified" => ("không rõ", "unspecified"),
        "health" => ("y tế", "health"),
        "hiv_sti" => ("HIV và bệnh lây truyền qua đường tình dục", "HIV and STI"),
        "harm_reduction" => ("giảm tác hại", "harm reduction"),
        "legal_aid" => ("trợ giúp pháp lý", "legal aid"),
        "vocational_training" => ("học nghề", "vocational training"),
        "loan" => ("vay vốn", "loans"),
        "job" => ("việc làm", "jobs"),
        "shelter" => ("nơi tạm lánh", "shelter"),
        "peer_club" => ("câu lạc bộ đồng đẳng", "peer clubs"),
        _ => return None,
    })
}
