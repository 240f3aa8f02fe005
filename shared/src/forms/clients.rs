//! The forms of support for sex workers ("hỗ trợ người bán dâm"): a client's
//! needs and the services given. A client is named by the case number the
//! commune keeps, which the commune's node turns into a pseudonym
//! (`client_ref`) that cannot be reversed above the commune.

use super::{Choice, Field, Form, Group, Input};

const fn c(value: &'static str, vi: &'static str, en: &'static str) -> Choice {
    Choice { value, vi, en }
}

const SERVICES: &[Choice] = &[
    c("SERVICE_KIND_HEALTH", "Chăm sóc sức khỏe", "Health care"),
    c(
        "SERVICE_KIND_HIV_STI",
        "Dự phòng, điều trị HIV và bệnh lây truyền qua đường tình dục",
        "HIV and STI prevention and care",
    ),
    c(
        "SERVICE_KIND_HARM_REDUCTION",
        "Giảm tác hại",
        "Harm reduction",
    ),
    c("SERVICE_KIND_LEGAL_AID", "Trợ giúp pháp lý", "Legal aid"),
    c(
        "SERVICE_KIND_VOCATIONAL_TRAINING",
        "Học nghề",
        "Vocational training",
    ),
    c("SERVICE_KIND_LOAN", "Vay vốn", "Loan"),
    c("SERVICE_KIND_JOB", "Giới thiệu việc làm", "Job placement"),
    c("SERVICE_KIND_SHELTER", "Nơi tạm trú", "Shelter"),
    c(
        "SERVICE_KIND_PEER_CLUB",
        "Câu lạc bộ, nhóm đồng đẳng",
        "Peer club",
    ),
];

const CASE: Field = Field {
    name: "client_ref",
    vi: "Số hồ sơ tại xã (không ghi họ tên; chỉ mã bí danh được lưu)",
    en: "Case number at the commune (never a name; only a pseudonym is stored)",
    input: Input::CaseNumber,
};

/// The clients' forms.
pub const CLIENT_FORMS: &[Form] = &[
    Form {
        kind: "client_need_assessed",
        group: Group::Support,
        vi: "Đánh giá nhu cầu hỗ trợ",
        en: "Needs assessed",
        fields: &[
            CASE,
            Field {
                name: "needs",
                vi: "Nhu cầu",
                en: "Needs",
                input: Input::Choices(SERVICES),
            },
        ],
    },
    Form {
        kind: "support_service_provided",
        group: Group::Support,
        vi: "Cung cấp dịch vụ hỗ trợ",
        en: "Support service provided",
        fields: &[
            CASE,
            Field {
                name: "service",
                vi: "Dịch vụ",
                en: "Service",
                input: Input::Choice(SERVICES),
            },
            Field {
                name: "provider",
                vi: "Cơ quan, tổ chức cung cấp (không ghi tên người)",
                en: "Providing agency or organisation (never a person)",
                input: Input::Text,
            },
            Field {
                name: "cost_vnd",
                vi: "Kinh phí (đồng)",
                en: "Cost (VND)",
                input: Input::Money,
            },
        ],
    },
];
