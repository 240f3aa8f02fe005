//! The pick-lists of the catalogue: every enum value an officer picks, with
//! its Vietnamese and English labels.

use super::c;
use crate::forms::Choice;

pub(super) const BUSINESS_KINDS: &[Choice] = &[
    c("BUSINESS_KIND_HOTEL", "Khách sạn", "Hotel"),
    c("BUSINESS_KIND_GUESTHOUSE", "Nhà nghỉ", "Guesthouse"),
    c("BUSINESS_KIND_RESTAURANT", "Nhà hàng", "Restaurant"),
    c("BUSINESS_KIND_BOARDING_HOUSE", "Nhà trọ", "Boarding house"),
    c(
        "BUSINESS_KIND_TOURIST_VILLA",
        "Biệt thự du lịch",
        "Tourist villa",
    ),
    c(
        "BUSINESS_KIND_RENTAL_APARTMENT",
        "Căn hộ cho thuê",
        "Rental apartment",
    ),
    c("BUSINESS_KIND_DISCOTHEQUE", "Vũ trường", "Discotheque"),
    c("BUSINESS_KIND_KARAOKE", "Karaoke", "Karaoke"),
    c("BUSINESS_KIND_MASSAGE", "Xoa bóp (massage)", "Massage"),
    c("BUSINESS_KIND_SAUNA", "Xông hơi", "Sauna"),
    c(
        "BUSINESS_KIND_BARBER_HAIR_WASH",
        "Cắt tóc, gội đầu",
        "Barber, hair wash",
    ),
    c(
        "BUSINESS_KIND_DIM_LIGHT_CAFE",
        "Cà phê đèn mờ",
        "Dim-light café",
    ),
    c("BUSINESS_KIND_BAR", "Quán bar", "Bar"),
    c("BUSINESS_KIND_OTHER", "Khác", "Other"),
];

pub(super) const LEVELS: &[Choice] = &[
    c("LEVEL_COMMUNE", "Cấp xã", "Commune"),
    c(
        "LEVEL_DISTRICT",
        "Cấp huyện (trước 01/07/2025)",
        "District (before 2025-07-01)",
    ),
    c("LEVEL_PROVINCE", "Cấp tỉnh", "Province"),
];

pub(super) const INSPECTION_MODES: &[Choice] = &[
    c(
        "INSPECTION_MODE_PLANNED",
        "Theo kế hoạch, có báo trước",
        "Planned, announced",
    ),
    c("INSPECTION_MODE_UNANNOUNCED", "Đột xuất", "Unannounced"),
];

pub(super) const TRIGGERS: &[Choice] = &[
    c("INSPECTION_TRIGGER_PLAN", "Theo kế hoạch", "The plan"),
    c("INSPECTION_TRIGGER_TIP_OFF", "Tin báo", "A tip-off"),
    c(
        "INSPECTION_TRIGGER_AGENCY_REQUEST",
        "Đề nghị của cơ quan",
        "An agency's request",
    ),
    c(
        "INSPECTION_TRIGGER_MEMBER_OBSERVATION",
        "Thành viên đội phát hiện",
        "A member's observation",
    ),
];

pub(super) const AGENCIES: &[Choice] = &[
    c("AGENCY_POLICE", "Công an", "Police"),
    c(
        "AGENCY_LABOUR",
        "Lao động – Thương binh và Xã hội",
        "Labour and social affairs",
    ),
    c("AGENCY_CULTURE", "Văn hóa", "Culture"),
    c("AGENCY_HEALTH", "Y tế", "Health"),
    c("AGENCY_TRADE", "Công thương", "Trade"),
    c("AGENCY_TOURISM", "Du lịch", "Tourism"),
    c(
        "AGENCY_MARKET_MANAGEMENT",
        "Quản lý thị trường",
        "Market management",
    ),
    c("AGENCY_JUSTICE", "Tư pháp", "Justice"),
    c("AGENCY_ECONOMY", "Kinh tế", "Economy"),
    c("AGENCY_OTHER", "Khác", "Other"),
];

pub(super) const CHECK_OUTCOMES: &[Choice] = &[
    c("CHECK_OUTCOME_COMPLIANT", "Đạt", "Compliant"),
    c("CHECK_OUTCOME_NON_COMPLIANT", "Không đạt", "Non-compliant"),
    c("CHECK_OUTCOME_NOT_CHECKED", "Không kiểm tra", "Not checked"),
];

pub(super) const RESULTS: &[Choice] = &[
    c("INSPECTION_RESULT_COMPLIANT", "Chấp hành tốt", "Compliant"),
    c(
        "INSPECTION_RESULT_VIOLATIONS_FOUND",
        "Có vi phạm",
        "Violations found",
    ),
    c(
        "INSPECTION_RESULT_BUSINESS_NOT_OPERATING",
        "Cơ sở không hoạt động",
        "Business not operating",
    ),
];

pub(super) const ACTS: &[Choice] = &[
    c("VIOLATION_ACT_BUYING_SEX", "Mua dâm", "Buying sex"),
    c("VIOLATION_ACT_SELLING_SEX", "Bán dâm", "Selling sex"),
    c(
        "VIOLATION_ACT_CONCEALING",
        "Che giấu, bao che",
        "Concealing",
    ),
    c(
        "VIOLATION_ACT_ENTICING_FORCING",
        "Lôi kéo, ép buộc",
        "Enticing or forcing",
    ),
    c(
        "VIOLATION_ACT_PROTECTION_BROKERING",
        "Bảo kê, môi giới",
        "Protection or brokering",
    ),
    c(
        "VIOLATION_ACT_ABUSE_OF_OFFICE",
        "Lợi dụng chức vụ",
        "Abuse of office",
    ),
    c(
        "VIOLATION_ACT_BUSINESS_AS_FRONT",
        "Lợi dụng kinh doanh để hoạt động mại dâm",
        "Business used as a front",
    ),
    c(
        "VIOLATION_ACT_LABOUR_RULES",
        "Vi phạm quy định lao động",
        "Labour rules",
    ),
    c(
        "VIOLATION_ACT_RESIDENCE_RULES",
        "Vi phạm quy định cư trú",
        "Residence rules",
    ),
    c("VIOLATION_ACT_OTHER", "Khác", "Other"),
];

pub(super) const SUBJECTS: &[Choice] = &[
    c("SUBJECT_TYPE_BUSINESS", "Cơ sở kinh doanh", "A business"),
    c("SUBJECT_TYPE_PERSON", "Cá nhân", "Persons"),
];

pub(super) const PENALTIES: &[Choice] = &[
    c("PENALTY_KIND_WARNING", "Cảnh cáo", "Warning"),
    c("PENALTY_KIND_FINE", "Phạt tiền", "Fine"),
    c(
        "PENALTY_KIND_LICENCE_SUSPENSION",
        "Đình chỉ giấy phép",
        "Licence suspension",
    ),
    c(
        "PENALTY_KIND_LICENCE_REVOCATION",
        "Tước giấy phép",
        "Licence revocation",
    ),
];

pub(super) const REFERRALS: &[Choice] = &[
    c("REFERRAL_AGENCY_POLICE", "Công an", "Police"),
    c("REFERRAL_AGENCY_PROCURACY", "Viện kiểm sát", "Procuracy"),
    c(
        "REFERRAL_AGENCY_HIGHER_TEAM",
        "Đội cấp trên",
        "The team above",
    ),
    c("REFERRAL_AGENCY_OTHER", "Khác", "Other"),
];

pub(super) const TIP_CHANNELS: &[Choice] = &[
    c("TIP_CHANNEL_HOTLINE", "Đường dây nóng", "Hotline"),
    c("TIP_CHANNEL_IN_PERSON", "Trực tiếp", "In person"),
    c("TIP_CHANNEL_LETTER", "Đơn thư", "Letter"),
    c("TIP_CHANNEL_ONLINE", "Trên mạng", "Online"),
    c("TIP_CHANNEL_AGENCY", "Cơ quan chuyển đến", "From an agency"),
];

pub(super) const TIP_CATEGORIES: &[Choice] = &[
    c(
        "TIP_CATEGORY_BUSINESS",
        "Tại cơ sở kinh doanh",
        "At a business",
    ),
    c("TIP_CATEGORY_STREET", "Ngoài đường phố", "In the street"),
    c("TIP_CATEGORY_ONLINE", "Trên mạng", "Online"),
    c("TIP_CATEGORY_OTHER", "Khác", "Other"),
];

pub(super) const TIP_OUTCOMES: &[Choice] = &[
    c("TIP_OUTCOME_ACTION_TAKEN", "Đã xử lý", "Action taken"),
    c("TIP_OUTCOME_UNFOUNDED", "Không có cơ sở", "Unfounded"),
    c(
        "TIP_OUTCOME_TRANSFERRED",
        "Đã chuyển cơ quan khác",
        "Transferred",
    ),
];

pub(super) const AWARENESS_FORMS: &[Choice] = &[
    c(
        "AWARENESS_FORM_MEETING",
        "Họp, nói chuyện chuyên đề",
        "Meeting",
    ),
    c("AWARENESS_FORM_LEAFLET", "Phát tờ rơi", "Leaflets"),
    c(
        "AWARENESS_FORM_LOUDSPEAKER",
        "Loa truyền thanh",
        "Loudspeaker",
    ),
    c(
        "AWARENESS_FORM_MEDIA_ITEM",
        "Tin, bài trên báo, đài",
        "Press or broadcast item",
    ),
    c("AWARENESS_FORM_SOCIAL_MEDIA", "Mạng xã hội", "Social media"),
    c("AWARENESS_FORM_CONTEST", "Hội thi", "Contest"),
    c(
        "AWARENESS_FORM_PERFORMANCE",
        "Văn nghệ, sân khấu hóa",
        "Performance",
    ),
];

pub(super) const AUDIENCES: &[Choice] = &[
    c("AUDIENCE_RESIDENTS", "Nhân dân", "Residents"),
    c("AUDIENCE_STUDENTS", "Học sinh, sinh viên", "Students"),
    c(
        "AUDIENCE_BUSINESS_WORKERS",
        "Người lao động tại cơ sở",
        "Business workers",
    ),
    c(
        "AUDIENCE_INDUSTRIAL_PARK_WORKERS",
        "Công nhân khu công nghiệp",
        "Industrial-park workers",
    ),
    c("AUDIENCE_OFFICIALS", "Cán bộ", "Officials"),
    c(
        "AUDIENCE_BUSINESS_OWNERS",
        "Chủ cơ sở kinh doanh",
        "Business owners",
    ),
];

/// The KPIs, named as the hub's reports name them.
pub(super) const KPIS: &[Choice] = &[
    c(
        "KPI_INSPECTION_COVERAGE",
        "Tỷ lệ cơ sở được kiểm tra",
        "Inspection coverage",
    ),
    c(
        "KPI_COMMUNES_WITH_AWARENESS",
        "Xã có hoạt động tuyên truyền",
        "Communes with awareness activity",
    ),
    c(
        "KPI_COMMUNES_WITH_PLAN",
        "Xã có kế hoạch",
        "Communes with a plan",
    ),
    c(
        "KPI_TIPOFFS_ON_TIME",
        "Tin báo xử lý đúng hạn",
        "Tip-offs handled on time",
    ),
    c(
        "KPI_SERVICE_ACCESS",
        "Người có nhu cầu được hỗ trợ",
        "Clients in need served",
    ),
    c(
        "KPI_PILOT_MODEL_COVERAGE",
        "Xã có mô hình thí điểm",
        "Communes with a pilot model",
    ),
    c(
        "KPI_WORKERS_REACHED",
        "Người lao động được tiếp cận",
        "Workers reached",
    ),
    c("KPI_HEALTHY_COMMUNES", "Xã lành mạnh", "Healthy communes"),
    c(
        "KPI_VIOLATIONS_HANDLED",
        "Vi phạm được xử lý",
        "Violations handled",
    ),
];

/// The pilot models of Decision 361/QĐ-TTg.
pub(super) const PILOT_MODELS: &[Choice] = &[
    c(
        "PILOT_MODEL_KIND_COMMUNITY_SERVICES",
        "Cung cấp dịch vụ hỗ trợ tại cộng đồng",
        "Support services in the community",
    ),
    c(
        "PILOT_MODEL_KIND_WORKER_RIGHTS",
        "Bảo đảm quyền của người lao động tại cơ sở kinh doanh dịch vụ",
        "Rights of workers in service businesses",
    ),
    c(
        "PILOT_MODEL_KIND_PEER_GROUPS",
        "Nhóm đồng đẳng, nhóm tự lực",
        "Peer and self-help groups",
    ),
    c("PILOT_MODEL_KIND_OTHER", "Mô hình khác", "Other"),
];

/// The outcome of a Joint Resolution 01/2008 assessment.
pub(super) const HEALTHY_CLASSES: &[Choice] = &[
    c(
        "HEALTHY_CLASS_HEALTHY",
        "Đạt tiêu chuẩn xã, phường lành mạnh",
        "Healthy",
    ),
    c("HEALTHY_CLASS_NOT_HEALTHY", "Chưa đạt", "Not yet healthy"),
];

/// Who a training was for.
pub(super) const TRAINEE_ROLES: &[Choice] = &[
    c(
        "TRAINEE_ROLE_TEAM_MEMBER",
        "Thành viên đội kiểm tra liên ngành",
        "Inspection team members",
    ),
    c(
        "TRAINEE_ROLE_OFFICIAL",
        "Cán bộ làm công tác phòng, chống mại dâm",
        "Officials",
    ),
    c(
        "TRAINEE_ROLE_VOLUNTEER",
        "Thành viên đội công tác xã hội tình nguyện",
        "Volunteers",
    ),
    c(
        "TRAINEE_ROLE_PEER_EDUCATOR",
        "Tuyên truyền viên đồng đẳng",
        "Peer educators",
    ),
];

/// Where a hotspot is.
pub(super) const HOTSPOT_KINDS: &[Choice] = &[
    c(
        "HOTSPOT_KIND_STREET",
        "Đường phố, nơi công cộng",
        "Street or public place",
    ),
    c(
        "HOTSPOT_KIND_BUSINESS",
        "Tại cơ sở kinh doanh dịch vụ",
        "In a service business",
    ),
    c("HOTSPOT_KIND_ONLINE", "Trên không gian mạng", "Online"),
    c("HOTSPOT_KIND_OTHER", "Khác", "Other"),
];
