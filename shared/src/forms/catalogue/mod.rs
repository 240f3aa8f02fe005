//! The catalogue itself: every form's fields, in the words officers use.
//! Labels follow the programme's documents (Decree 178/2004, Circular
//! 05/2006, Decree 144/2021); the pick-lists are in `choices`.

use super::{Choice, Field, Form, Group, Input};

mod choices;
use choices::*;

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
        kind: "business_updated",
        group: Group::Businesses,
        vi: "Thay đổi thông tin cơ sở kinh doanh",
        en: "Update a business",
        fields: &[
            f("business_id", "Mã cơ sở", "Business id", Input::Id),
            f(
                "kind",
                "Loại hình (để trống nếu không đổi)",
                "Kind (empty: unchanged)",
                Input::Choice(BUSINESS_KINDS),
            ),
            f(
                "conditional",
                "Ngành nghề kinh doanh có điều kiện về ANTT",
                "Conditional on security and order",
                Input::YesNo,
            ),
            f(
                "workers",
                "Số người lao động tiếp xúc khách (để trống nếu không đổi)",
                "Workers in contact with customers (empty: unchanged)",
                Input::Count,
            ),
            f(
                "commitment_signed",
                "Đã ký cam kết với xã",
                "Commitment signed",
                Input::YesNo,
            ),
            f(
                "licence_no",
                "Số giấy phép (để trống nếu không đổi)",
                "Licence number (empty: unchanged)",
                Input::Text,
            ),
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
        kind: "hotspot_identified",
        group: Group::Hotspots,
        vi: "Phát hiện tụ điểm",
        en: "Hotspot identified",
        fields: &[
            f("hotspot_id", "Mã tụ điểm", "Hotspot id", Input::Id),
            f("kind", "Loại tụ điểm", "Kind", Input::Choice(HOTSPOT_KINDS)),
            f(
                "estimated_persons",
                "Số người liên quan (ước tính)",
                "Persons involved (estimate)",
                Input::Count,
            ),
        ],
    },
    Form {
        kind: "hotspot_cleared",
        group: Group::Hotspots,
        vi: "Triệt xóa tụ điểm",
        en: "Hotspot cleared",
        fields: &[f("hotspot_id", "Mã tụ điểm", "Hotspot id", Input::Id)],
    },
    Form {
        kind: "volunteer_team_reported",
        group: Group::VolunteerTeams,
        vi: "Báo cáo hoạt động của đội công tác xã hội tình nguyện",
        en: "Volunteer team report",
        fields: &[
            f("team_id", "Mã đội", "Team id", Input::Id),
            f("members", "Số đội viên", "Members", Input::Count),
            f(
                "activities",
                "Số hoạt động trong kỳ",
                "Activities in the period",
                Input::Count,
            ),
        ],
    },
    Form {
        kind: "training_held",
        group: Group::Training,
        vi: "Tổ chức lớp tập huấn",
        en: "Training held",
        fields: &[
            f("training_id", "Số lớp tập huấn", "Training id", Input::Id),
            f(
                "role",
                "Đối tượng tập huấn",
                "Trainees",
                Input::Choice(TRAINEE_ROLES),
            ),
            f(
                "trainees",
                "Số học viên",
                "Number of trainees",
                Input::Count,
            ),
            f("days", "Số ngày", "Days", Input::Count),
        ],
    },
    Form {
        kind: "pilot_model_started",
        group: Group::PilotModels,
        vi: "Triển khai mô hình điểm",
        en: "Pilot model started",
        fields: &[
            f("model_id", "Mã mô hình", "Model id", Input::Id),
            f("kind", "Loại mô hình", "Kind", Input::Choice(PILOT_MODELS)),
            f("budget_vnd", "Kinh phí", "Budget", Input::Money),
        ],
    },
    Form {
        kind: "pilot_model_ended",
        group: Group::PilotModels,
        vi: "Kết thúc mô hình điểm",
        en: "Pilot model ended",
        fields: &[
            f("model_id", "Mã mô hình", "Model id", Input::Id),
            f("reason", "Lý do", "Reason", Input::Text),
        ],
    },
    Form {
        kind: "healthy_commune_assessed",
        group: Group::HealthyCommunes,
        vi: "Đánh giá xã, phường lành mạnh không có tệ nạn mại dâm",
        en: "Healthy commune assessment",
        fields: &[
            f("year", "Năm đánh giá", "Year", Input::Year),
            f("score", "Tổng số điểm", "Score", Input::Count),
            f(
                "classification",
                "Kết quả",
                "Result",
                Input::Choice(HEALTHY_CLASSES),
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
    Form {
        kind: "target_set",
        group: Group::Plans,
        vi: "Giao chỉ tiêu",
        en: "Set a target",
        fields: &[
            f("year", "Năm", "Year", Input::Year),
            f("kpi", "Chỉ tiêu", "Indicator", Input::Choice(KPIS)),
            f("target_bp", "Mức chỉ tiêu", "Target", Input::Percent),
        ],
    },
];
