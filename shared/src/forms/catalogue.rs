//! The catalogue itself: every form's fields and every pick-list's labels.
//! Labels follow the programme's documents (Decree 178/2004, Circular
//! 05/2006, Decree 144/2021).

use super::{Choice, Field, Form, Group, Input};

const fn f(name: &'static str, vi: &'static str, en: &'static str, input: Input) -> Field {
    Field {
        name,
        vi,
        en,
        input,
    }
}

const fn c(value: &'static str, vi: &'static str, en: &'static str) -> Choice {
    Choice { value, vi, en }
}

const BUSINESS_KINDS: &[Choice] = &[
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

const LEVELS: &[Choice] = &[
    c("LEVEL_COMMUNE", "Cấp xã", "Commune"),
    c(
        "LEVEL_DISTRICT",
        "Cấp huyện (trước 01/07/2025)",
        "District (before 2025-07-01)",
    ),
    c("LEVEL_PROVINCE", "Cấp tỉnh", "Province"),
];

const INSPECTION_MODES: &[Choice] = &[
    c(
        "INSPECTION_MODE_PLANNED",
        "Theo kế hoạch, có báo trước",
        "Planned, announced",
    ),
    c("INSPECTION_MODE_UNANNOUNCED", "Đột xuất", "Unannounced"),
];

const TRIGGERS: &[Choice] = &[
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

const AGENCIES: &[Choice] = &[
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

const CHECK_OUTCOMES: &[Choice] = &[
    c("CHECK_OUTCOME_COMPLIANT", "Đạt", "Compliant"),
    c("CHECK_OUTCOME_NON_COMPLIANT", "Không đạt", "Non-compliant"),
    c("CHECK_OUTCOME_NOT_CHECKED", "Không kiểm tra", "Not checked"),
];

const RESULTS: &[Choice] = &[
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

const ACTS: &[Choice] = &[
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

const SUBJECTS: &[Choice] = &[
    c("SUBJECT_TYPE_BUSINESS", "Cơ sở kinh doanh", "A business"),
    c("SUBJECT_TYPE_PERSON", "Cá nhân", "Persons"),
];

const PENALTIES: &[Choice] = &[
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

const REFERRALS: &[Choice] = &[
    c("REFERRAL_AGENCY_POLICE", "Công an", "Police"),
    c("REFERRAL_AGENCY_PROCURACY", "Viện kiểm sát", "Procuracy"),
    c(
        "REFERRAL_AGENCY_HIGHER_TEAM",
        "Đội cấp trên",
        "The team above",
    ),
    c("REFERRAL_AGENCY_OTHER", "Khác", "Other"),
];

const TIP_CHANNELS: &[Choice] = &[
    c("TIP_CHANNEL_HOTLINE", "Đường dây nóng", "Hotline"),
    c("TIP_CHANNEL_IN_PERSON", "Trực tiếp", "In person"),
    c("TIP_CHANNEL_LETTER", "Đơn thư", "Letter"),
    c("TIP_CHANNEL_ONLINE", "Trên mạng", "Online"),
    c("TIP_CHANNEL_AGENCY", "Cơ quan chuyển đến", "From an agency"),
];

const TIP_CATEGORIES: &[Choice] = &[
    c(
        "TIP_CATEGORY_BUSINESS",
        "Tại cơ sở kinh doanh",
        "At a business",
    ),
    c("TIP_CATEGORY_STREET", "Ngoài đường phố", "In the street"),
    c("TIP_CATEGORY_ONLINE", "Trên mạng", "Online"),
    c("TIP_CATEGORY_OTHER", "Khác", "Other"),
];

const TIP_OUTCOMES: &[Choice] = &[
    c("TIP_OUTCOME_ACTION_TAKEN", "Đã xử lý", "Action taken"),
    c("TIP_OUTCOME_UNFOUNDED", "Không có cơ sở", "Unfounded"),
    c(
        "TIP_OUTCOME_TRANSFERRED",
        "Đã chuyển cơ quan khác",
        "Transferred",
    ),
];

const AWARENESS_FORMS: &[Choice] = &[
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

const AUDIENCES: &[Choice] = &[
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

/// Every form, in the order the page lists them within their groups.
pub const FORMS: &[Form] = &[
    Form {
        kind: "business_registered",
        group: Group::Businesses,
        vi: "Đăng ký cơ sở kinh doanh",
        en: "Register a business",
        fields: &[
            f("business_id", "Mã cơ sở", "Business id", Input::Id),
            f("kind", "Loại hình", "Kind", Input::Choice(BUSINESS_KINDS)),
            f(
                "conditional",
                "Ngành nghề kinh doanh có điều kiện về ANTT",
                "Conditional on security and order",
                Input::Bool,
            ),
            f(
                "workers",
                "Số người lao động tiếp xúc khách",
                "Workers in contact with customers",
                Input::Count,
            ),
            f(
                "commitment_signed",
                "Đã ký cam kết với xã",
                "Commitment signed",
                Input::Bool,
            ),
            f("licence_no", "Số giấy phép", "Licence number", Input::Text),
        ],
    },
    Form {
        kind: "business_closed",
        group: Group::Businesses,
        vi: "Cơ sở ngừng kinh doanh",
        en: "A business closed",
        fields: &[
            f("business_id", "Mã cơ sở", "Business id", Input::Id),
            f("reason", "Lý do", "Reason", Input::Text),
        ],
    },
    Form {
        kind: "inspection_conducted",
        group: Group::Enforcement,
        vi: "Kiểm tra cơ sở",
        en: "Inspection",
        fields: &[
            f(
                "inspection_id",
                "Số cuộc kiểm tra",
                "Inspection id",
                Input::Id,
            ),
            f("business_id", "Mã cơ sở", "Business id", Input::Id),
            f("team_level", "Đội kiểm tra", "Team", Input::Choice(LEVELS)),
            f("mode", "Hình thức", "Mode", Input::Choice(INSPECTION_MODES)),
            f(
                "trigger",
                "Căn cứ kiểm tra",
                "Trigger",
                Input::Choice(TRIGGERS),
            ),
            f(
                "tip_id",
                "Số tin báo (khi căn cứ là tin báo)",
                "Tip-off id (when triggered by one)",
                Input::Id,
            ),
            f(
                "members_present",
                "Số thành viên có mặt",
                "Members present",
                Input::Count,
            ),
            f(
                "agencies",
                "Cơ quan tham gia",
                "Agencies",
                Input::Choices(AGENCIES),
            ),
            f(
                "checks.contracts",
                "Hợp đồng lao động",
                "Labour contracts",
                Input::Choice(CHECK_OUTCOMES),
            ),
            f(
                "checks.under18",
                "Lao động dưới 18 tuổi",
                "Workers under 18",
                Input::Choice(CHECK_OUTCOMES),
            ),
            f(
                "checks.residence",
                "Đăng ký cư trú",
                "Residence registration",
                Input::Choice(CHECK_OUTCOMES),
            ),
            f(
                "checks.health_check",
                "Khám sức khỏe",
                "Health checks",
                Input::Choice(CHECK_OUTCOMES),
            ),
            f(
                "checks.security",
                "Điều kiện an ninh, trật tự",
                "Security and order",
                Input::Choice(CHECK_OUTCOMES),
            ),
            f(
                "checks.culture",
                "Quy định văn hóa",
                "Cultural rules",
                Input::Choice(CHECK_OUTCOMES),
            ),
            f("result", "Kết quả", "Result", Input::Choice(RESULTS)),
            f(
                "workers_reached",
                "Số người lao động được tuyên truyền",
                "Workers reached",
                Input::Count,
            ),
        ],
    },
    Form {
        kind: "violation_recorded",
        group: Group::Enforcement,
        vi: "Biên bản vi phạm",
        en: "Violation record",
        fields: &[
            f("record_no", "Số biên bản", "Record number", Input::Id),
            f(
                "inspection_id",
                "Số cuộc kiểm tra",
                "Inspection id",
                Input::Id,
            ),
            f("business_id", "Mã cơ sở", "Business id", Input::Id),
            f("act", "Hành vi vi phạm", "Act", Input::Choice(ACTS)),
            f(
                "act_code",
                "Điều, khoản (vd. 144/2021 Đ.25(1))",
                "Article (e.g. 144/2021 Art. 25(1))",
                Input::Text,
            ),
            f(
                "subject",
                "Đối tượng vi phạm",
                "Subject",
                Input::Choice(SUBJECTS),
            ),
            f(
                "persons",
                "Số người vi phạm (không ghi tên)",
                "Persons (never names)",
                Input::Count,
            ),
        ],
    },
    Form {
        kind: "penalty_decided",
        group: Group::Enforcement,
        vi: "Quyết định xử phạt",
        en: "Penalty decision",
        fields: &[
            f(
                "decision_no",
                "Số quyết định",
                "Decision number",
                Input::Text,
            ),
            f(
                "record_no",
                "Số biên bản vi phạm",
                "Violation record number",
                Input::Id,
            ),
            f(
                "kind",
                "Hình thức xử phạt",
                "Penalty",
                Input::Choice(PENALTIES),
            ),
            f(
                "fine_vnd",
                "Số tiền phạt (đồng)",
                "Fine (VND)",
                Input::Money,
            ),
            f(
                "suspension_months",
                "Số tháng đình chỉ",
                "Suspension (months)",
                Input::Count,
            ),
        ],
    },
    Form {
        kind: "case_referred",
        group: Group::Enforcement,
        vi: "Chuyển vụ việc",
        en: "Case referred",
        fields: &[
            f(
                "record_no",
                "Số biên bản vi phạm",
                "Violation record number",
                Input::Id,
            ),
            f(
                "referred_to",
                "Chuyển đến",
                "Referred to",
                Input::Choice(REFERRALS),
            ),
            f(
                "criminal",
                "Có dấu hiệu tội phạm",
                "Signs of a crime",
                Input::Bool,
            ),
        ],
    },
    Form {
        kind: "tip_received",
        group: Group::Tips,
        vi: "Tiếp nhận tin báo",
        en: "Tip-off received",
        fields: &[
            f("tip_id", "Số tin báo", "Tip-off id", Input::Id),
            f(
                "channel",
                "Hình thức tiếp nhận",
                "Channel",
                Input::Choice(TIP_CHANNELS),
            ),
            f(
                "category",
                "Nội dung",
                "Category",
                Input::Choice(TIP_CATEGORIES),
            ),
            f(
                "business_id",
                "Mã cơ sở liên quan (nếu có)",
                "Business concerned (if any)",
                Input::Id,
            ),
        ],
    },
    Form {
        kind: "tip_verified",
        group: Group::Tips,
        vi: "Xác minh tin báo",
        en: "Tip-off verified",
        fields: &[
            f("tip_id", "Số tin báo", "Tip-off id", Input::Id),
            f(
                "substantiated",
                "Tin báo có cơ sở",
                "Substantiated",
                Input::Bool,
            ),
        ],
    },
    Form {
        kind: "tip_closed",
        group: Group::Tips,
        vi: "Kết thúc xử lý tin báo",
        en: "Tip-off closed",
        fields: &[
            f("tip_id", "Số tin báo", "Tip-off id", Input::Id),
            f("outcome", "Kết quả", "Outcome", Input::Choice(TIP_OUTCOMES)),
        ],
    },
    Form {
        kind: "awareness_activity_held",
        group: Group::Awareness,
        vi: "Hoạt động tuyên truyền",
        en: "Awareness activity",
        fields: &[
            f("activity_id", "Số hoạt động", "Activity id", Input::Id),
            f("form", "Hình thức", "Form", Input::Choice(AWARENESS_FORMS)),
            f(
                "audience",
                "Đối tượng",
                "Audience",
                Input::Choice(AUDIENCES),
            ),
            f(
                "participants",
                "Số người tham dự",
                "Participants",
                Input::Count,
            ),
            f(
                "leaflets",
                "Số tờ rơi phát ra",
                "Leaflets handed out",
                Input::Count,
            ),
        ],
    },
    Form {
        kind: "plan_adopted",
        group: Group::Plans,
        vi: "Ban hành kế hoạch",
        en: "Plan adopted",
        fields: &[
            f("plan_id", "Số kế hoạch", "Plan id", Input::Id),
            f("year", "Năm", "Year", Input::Year),
            f(
                "decision_no",
                "Số quyết định",
                "Decision number",
                Input::Text,
            ),
        ],
    },
];
