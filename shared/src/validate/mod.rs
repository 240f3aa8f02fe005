//! Event validation: every envelope field and every body of the catalogue
//! checked, with an error naming the field path and the reason.

use prost::Message;

use crate::history::History;
use crate::period::{Date, parse_date};
use crate::proto::v1::{Agency, Level as ProtoLevel};
use crate::proto::v1::{
    AwarenessActivityHeld, Body, BusinessClosed, BusinessKind, BusinessRegistered, BusinessUpdated,
    CaseReferred, CheckOutcome, Checks, ClientNeedAssessed, Event, EventCorrected, EventVoided,
    HealthyClass, HealthyCommuneAssessed, HotspotCleared, HotspotIdentified, HotspotKind,
    InspectionConducted, InspectionMode, InspectionResult, InspectionTrigger, Kpi, PenaltyDecided,
    PenaltyKind, PilotModelEnded, PilotModelKind, PilotModelStarted, PlanAdopted, ReferralAgency,
    ServiceKind, SubjectType, SupportServiceProvided, TargetSet, TipCategory, TipChannel,
    TipClosed, TipOutcome, TipReceived, TipVerified, TraineeRole, TrainingHeld, ViolationAct,
    ViolationRecorded, VolunteerTeamReported, body::Kind,
};
use crate::unit::{Level, UnitId};

mod reason;
pub use reason::{CommuneOnly, Reason, ShortField};

mod limits;
pub use limits::*;

/// A field that failed validation, and why. `Display` is English (logs);
/// [`Localized::text`](crate::i18n::Localized::text) is what people read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// Path of the field at fault, e.g. `body.inspection_conducted.members_present`.
    pub field: String,
    /// What is wrong with it.
    pub reason: Reason,
}

impl ValidationError {
    /// An error on `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }

    /// Whether the event is of a newer schema than this build knows (callers
    /// may count and skip it).
    pub fn is_newer_schema(&self) -> bool {
        self.reason.is_newer_schema()
    }
}

impl crate::i18n::Localized for ValidationError {
    fn text(&self, lang: crate::i18n::Lang) -> String {
        format!("{}: {}", self.field, self.reason.text(lang))
    }
}

/// What validation needs to know beyond the event itself.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The administrative history of the validating node: a unit id is read
    /// in the listing in force on the event's date.
    pub history: &'a History,
    /// The unit that records (or recorded) the event.
    pub origin: UnitId,
    /// Today's date at the validating node: occurred_on may be at most one day after it.
    pub today: Date,
    /// Looks up the origin of an earlier event by id, for corrections; None
    /// when the validating node cannot know (then that check is skipped).
    pub target_origin: Option<TargetLookup<'a>>,
}

/// Looks up the origin of an earlier event by its id; `None` when the event
/// is unknown.
pub type TargetLookup<'a> = &'a dyn Fn(&[u8]) -> Option<UnitId>;

type Res = Result<(), ValidationError>;

fn fail<T>(field: impl Into<String>, reason: Reason) -> Result<T, ValidationError> {
    Err(ValidationError::new(field, reason))
}

/// `p.name`, or `name` at the top level (`p` empty).
fn at(p: &str, name: &str) -> String {
    if p.is_empty() {
        name.to_owned()
    } else {
        format!("{p}.{name}")
    }
}

/// Checks the encoded size against [`MAX_EVENT_BYTES`].
fn check_size(ev: &Event) -> Res {
    let n = ev.encoded_len();
    if n > MAX_EVENT_BYTES {
        return fail(
            "event",
            Reason::TooBig {
                bytes: n,
                limit: MAX_EVENT_BYTES,
            },
        );
    }
    Ok(())
}

/// Checks a draft submitted by a recorder: size, the fields a recorder sets
/// (optional 16-byte `id`, `unit`, `occurred_on`, `recorded_by`, `schema` 0
/// or 1, `body`), and that `origin`, `seq`, `prev_hash` and `hash`, which the
/// node assigns, are empty. Returns the first error in field order.
pub fn validate_draft(ev: &Event, ctx: &Context<'_>) -> Res {
    check_size(ev)?;
    if !ev.id.is_empty() {
        event_id("id", &ev.id)?;
    }
    if !ev.origin.is_empty() {
        return fail("origin", Reason::NodeAssigns);
    }
    if ev.seq != 0 {
        return fail("seq", Reason::NodeAssigns);
    }
    parse_unit(&ev.unit, "unit")?;
    let on = date_field(&ev.occurred_on, "occurred_on", ctx)?;
    let unit = unit_field(&ev.unit, "unit", on, ctx)?;
    id("", "recorded_by", &ev.recorded_by)?;
    match ev.schema {
        0 | CURRENT_SCHEMA => {}
        s => schema_error(s)?,
    }
    if !ev.prev_hash.is_empty() {
        return fail("prev_hash", Reason::NodeAssigns);
    }
    body_field(ev.body.as_ref(), ctx, unit)?;
    if !ev.hash.is_empty() {
        return fail("hash", Reason::NodeAssigns);
    }
    Ok(())
}

/// Checks a complete stored event's content: size, a 16-byte `id`, `origin`
/// equal to `ctx.origin`, `seq` ≥ 1, `unit`, `occurred_on`, `recorded_at` > 0,
/// `recorded_by`, `schema` exactly [`CURRENT_SCHEMA`], and the body. The
/// chain (`prev_hash`, `hash`) is the log's to check. Returns the first error
/// in field order.
pub fn validate_stored(ev: &Event, ctx: &Context<'_>) -> Res {
    check_size(ev)?;
    event_id("id", &ev.id)?;
    let origin = parse_unit(&ev.origin, "origin")?;
    if origin != ctx.origin {
        return fail(
            "origin",
            Reason::WrongOrigin {
                got: origin,
                expected: ctx.origin,
            },
        );
    }
    if ev.seq == 0 {
        return fail("seq", Reason::TooSmall { min: 1, got: 0 });
    }
    parse_unit(&ev.unit, "unit")?;
    let on = date_field(&ev.occurred_on, "occurred_on", ctx)?;
    let unit = unit_field(&ev.unit, "unit", on, ctx)?;
    if ev.recorded_at <= 0 {
        return fail("recorded_at", Reason::BeforeEpoch(ev.recorded_at));
    }
    id("", "recorded_by", &ev.recorded_by)?;
    match ev.schema {
        CURRENT_SCHEMA => {}
        0 => return fail("schema", Reason::SchemaZero),
        s => schema_error(s)?,
    }
    body_field(ev.body.as_ref(), ctx, unit)
}

fn schema_error(s: u32) -> Res {
    fail("schema", Reason::NewerSchema(s))
}

fn body_field(body: Option<&Body>, ctx: &Context<'_>, unit: UnitId) -> Res {
    match body {
        Some(b) => validate_body(b, ctx, unit, "body"),
        None => fail("body", Reason::Missing),
    }
}

/// Checks a body alone (also used for a correction's replacement); `unit` is
/// the event's (already checked) unit and `path` prefixes field names
/// (`"body"` or `"body.event_corrected.body"`).
pub fn validate_body(body: &Body, ctx: &Context<'_>, unit: UnitId, path: &str) -> Res {
    let Some(kind) = &body.kind else {
        return fail(path, Reason::NoKind);
    };
    let p = at(path, kind_name(kind));
    let p = p.as_str();
    // The unit field that goes with this body: the envelope's, or the
    // correction's sibling of `body`.
    let unit_path = || match path.strip_suffix(".body") {
        Some(pre) => format!("{pre}.unit"),
        None => "unit".to_owned(),
    };
    match kind {
        Kind::BusinessRegistered(b) => business_registered(p, b),
        Kind::BusinessUpdated(b) => business_updated(p, b),
        Kind::BusinessClosed(b) => business_closed(p, b),
        Kind::InspectionConducted(b) => inspection_conducted(p, b, ctx),
        Kind::ViolationRecorded(b) => violation_recorded(p, b),
        Kind::PenaltyDecided(b) => penalty_decided(p, b),
        Kind::CaseReferred(b) => case_referred(p, b),
        Kind::TipReceived(b) => tip_received(p, b),
        Kind::TipVerified(b) => tip_verified(p, b),
        Kind::TipClosed(b) => tip_closed(p, b),
        Kind::AwarenessActivityHeld(b) => awareness_activity_held(p, b),
        Kind::ClientNeedAssessed(b) => {
            client_need_assessed(p, b)?;
            commune_unit(unit, &unit_path(), CommuneOnly::Clients)
        }
        Kind::SupportServiceProvided(b) => {
            support_service_provided(p, b)?;
            commune_unit(unit, &unit_path(), CommuneOnly::Clients)
        }
        Kind::PlanAdopted(b) => plan_adopted(p, b, ctx),
        Kind::TargetSet(b) => target_set(p, b, ctx),
        Kind::PilotModelStarted(b) => pilot_model_started(p, b),
        Kind::PilotModelEnded(b) => pilot_model_ended(p, b),
        Kind::HealthyCommuneAssessed(b) => {
            healthy_commune_assessed(p, b, ctx)?;
            commune_unit(unit, &unit_path(), CommuneOnly::Assessment)
        }
        Kind::VolunteerTeamReported(b) => volunteer_team_reported(p, b),
        Kind::TrainingHeld(b) => training_held(p, b),
        Kind::HotspotIdentified(b) => hotspot_identified(p, b),
        Kind::HotspotCleared(b) => hotspot_cleared(p, b),
        Kind::EventVoided(b) => event_voided(p, b, ctx),
        Kind::EventCorrected(b) => event_corrected(p, b, ctx),
    }
}

/// The proto field name of a body kind.
fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::BusinessRegistered(_) => "business_registered",
        Kind::BusinessUpdated(_) => "business_updated",
        Kind::BusinessClosed(_) => "business_closed",
        Kind::InspectionConducted(_) => "inspection_conducted",
        Kind::ViolationRecorded(_) => "violation_recorded",
        Kind::PenaltyDecided(_) => "penalty_decided",
        Kind::CaseReferred(_) => "case_referred",
        Kind::TipReceived(_) => "tip_received",
        Kind::TipVerified(_) => "tip_verified",
        Kind::TipClosed(_) => "tip_closed",
        Kind::AwarenessActivityHeld(_) => "awareness_activity_held",
        Kind::ClientNeedAssessed(_) => "client_need_assessed",
        Kind::SupportServiceProvided(_) => "support_service_provided",
        Kind::PlanAdopted(_) => "plan_adopted",
        Kind::TargetSet(_) => "target_set",
        Kind::PilotModelStarted(_) => "pilot_model_started",
        Kind::PilotModelEnded(_) => "pilot_model_ended",
        Kind::HealthyCommuneAssessed(_) => "healthy_commune_assessed",
        Kind::VolunteerTeamReported(_) => "volunteer_team_reported",
        Kind::TrainingHeld(_) => "training_held",
        Kind::HotspotIdentified(_) => "hotspot_identified",
        Kind::HotspotCleared(_) => "hotspot_cleared",
        Kind::EventVoided(_) => "event_voided",
        Kind::EventCorrected(_) => "event_corrected",
    }
}

// ------------------------------------------------------------ field rules

/// A 16-byte event id, not all zeros.
fn event_id(field: &str, v: &[u8]) -> Res {
    if v.len() != EVENT_ID_LEN {
        return fail(
            field,
            Reason::WrongLength {
                got: v.len(),
                expected: EVENT_ID_LEN,
            },
        );
    }
    if v.iter().all(|&b| b == 0) {
        return fail(field, Reason::AllZeros);
    }
    Ok(())
}

/// Characters never allowed in ids and text: control characters, and
/// invisible format characters (zero-width, bidirectional overrides, BOM)
/// that make two ids look the same.
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' // zero-width space … right-to-left mark
                | '\u{202a}'..='\u{202e}' // bidirectional embeddings and overrides
                | '\u{2066}'..='\u{2069}' // bidirectional isolates
                | '\u{feff}' // byte order mark
        )
}

/// A required identifier: 1..=[`MAX_ID_LEN`] characters, none forbidden, no
/// surrounding whitespace (ids are join keys).
fn id(p: &str, name: &str, v: &str) -> Res {
    if v.is_empty() {
        return fail(at(p, name), Reason::Missing);
    }
    let n = v.chars().count();
    if n > MAX_ID_LEN {
        return fail(
            at(p, name),
            Reason::TooManyChars {
                chars: n,
                limit: MAX_ID_LEN,
            },
        );
    }
    if v.chars().any(forbidden) {
        return fail(at(p, name), Reason::ControlChars);
    }
    if v.trim() != v {
        return fail(at(p, name), Reason::SurroundingSpace);
    }
    Ok(())
}

/// An identifier that may be left empty.
fn opt_id(p: &str, name: &str, v: &str) -> Res {
    if v.is_empty() { Ok(()) } else { id(p, name, v) }
}

/// Free text: at most [`MAX_TEXT_LEN`] characters, no control characters
/// other than line breaks and tabs; when `required`, not blank.
fn text(p: &str, name: &str, v: &str, required: bool) -> Res {
    if required && v.trim().is_empty() {
        return fail(at(p, name), Reason::Missing);
    }
    let n = v.chars().count();
    if n > MAX_TEXT_LEN {
        return fail(
            at(p, name),
            Reason::TooManyChars {
                chars: n,
                limit: MAX_TEXT_LEN,
            },
        );
    }
    if v.chars()
        .any(|c| forbidden(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return fail(at(p, name), Reason::ControlChars);
    }
    Ok(())
}

/// An enum field: given (not 0) and a value this build knows.
fn enum_field<T: TryFrom<i32>>(p: &str, name: &str, v: i32) -> Result<T, ValidationError> {
    if v == 0 {
        return fail(at(p, name), Reason::Missing);
    }
    T::try_from(v).or_else(|_| fail(at(p, name), Reason::UnknownValue(v)))
}

/// An enum field that may be 0 ("not given"); otherwise a known value.
fn opt_enum<T: TryFrom<i32>>(p: &str, name: &str, v: i32) -> Result<Option<T>, ValidationError> {
    if v == 0 {
        Ok(None)
    } else {
        enum_field(p, name, v).map(Some)
    }
}

/// A repeated enum field: not empty, every item given and known, no
/// duplicates. Known values are few, so a duplicate stops a long list early
/// and the scan of earlier items stays short.
fn enum_list<T: TryFrom<i32>>(p: &str, name: &str, vs: &[i32]) -> Res {
    if vs.is_empty() {
        return fail(at(p, name), Reason::EmptyList);
    }
    for (i, &v) in vs.iter().enumerate() {
        let item = || at(p, &format!("{name}[{i}]"));
        if v == 0 {
            return fail(item(), Reason::Missing);
        }
        if T::try_from(v).is_err() {
            return fail(item(), Reason::UnknownValue(v));
        }
        if vs[..i].contains(&v) {
            return fail(item(), Reason::Duplicate(v));
        }
    }
    Ok(())
}

/// A count or amount in `min..=max`.
fn range(p: &str, name: &str, v: u64, min: u64, max: u64) -> Res {
    if v < min {
        return fail(at(p, name), Reason::TooSmall { min, got: v });
    }
    if v > max {
        return fail(at(p, name), Reason::TooLarge { max, got: v });
    }
    Ok(())
}

/// A plan, target or assessment year: [`MIN_YEAR`]..=[`MAX_YEAR`] and at
/// most next year.
fn year(p: &str, name: &str, v: u32, ctx: &Context<'_>) -> Res {
    range(p, name, v.into(), MIN_YEAR.into(), MAX_YEAR.into())?;
    let next = i64::from(ctx.today.year()) + 1;
    if i64::from(v) > next {
        return fail(
            at(p, name),
            Reason::YearAhead {
                year: v,
                latest: next,
            },
        );
    }
    Ok(())
}

/// A `client_ref`: 64 lowercase hex characters.
fn client_ref(p: &str, v: &str) -> Res {
    if v.is_empty() {
        return fail(at(p, "client_ref"), Reason::Missing);
    }
    if v.len() != CLIENT_REF_LEN || !v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return fail(at(p, "client_ref"), Reason::ClientRef);
    }
    Ok(())
}

/// A `client_key_id`: empty (not given), or 16 lowercase hex characters.
fn client_key_id(p: &str, v: &str) -> Res {
    if !v.is_empty()
        && (v.len() != CLIENT_KEY_ID_LEN
            || !v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        return fail(at(p, "client_key_id"), Reason::ClientKeyId);
    }
    Ok(())
}

/// Longest unit id or date text looked at (`c00292` is 6, `2024-03-01` is
/// 10): longer input is refused without being echoed in the error.
const MAX_SHORT_LEN: usize = 16;

/// A unit id: given, and parses.
fn parse_unit(v: &str, field: &str) -> Result<UnitId, ValidationError> {
    if v.is_empty() {
        return fail(field, Reason::Missing);
    }
    if v.len() > MAX_SHORT_LEN {
        return fail(
            field,
            Reason::TooLongFor {
                bytes: v.len(),
                what: ShortField::UnitId,
            },
        );
    }
    v.parse().or_else(|e| fail(field, Reason::BadUnit(e)))
}

/// A unit id field dated `on`: parses, exists in the listing in force that
/// day (a bare id is read in it), and lies within origin's subtree, or, for
/// a unit of an older listing, became part of it.
fn unit_field(
    v: &str,
    field: &str,
    on: Date,
    ctx: &Context<'_>,
) -> Result<UnitId, ValidationError> {
    // Callers parsed `v` (its error comes before the date's).
    let u = match ctx.history.read(v, on) {
        Ok(u) => u,
        Err(e) => return fail(field, Reason::NotInListing(e)),
    };
    if !ctx.history.is_within(u, ctx.origin) {
        let read_as = (u.to_string() != v).then_some((u, on));
        return fail(
            field,
            Reason::OutsideSubtree {
                given: v.to_owned(),
                read_as,
                origin: ctx.origin,
            },
        );
    }
    Ok(u)
}

/// A date field: strict `YYYY-MM-DD`, from [`EARLIEST_DATE`] to tomorrow.
fn date_field(v: &str, field: &str, ctx: &Context<'_>) -> Result<Date, ValidationError> {
    if v.is_empty() {
        return fail(field, Reason::Missing);
    }
    if v.len() > MAX_SHORT_LEN {
        return fail(
            field,
            Reason::TooLongFor {
                bytes: v.len(),
                what: ShortField::Date,
            },
        );
    }
    let d = match parse_date(v) {
        Ok(d) => d,
        Err(e) => return fail(field, Reason::BadDate(e)),
    };
    if d < EARLIEST_DATE {
        return fail(
            field,
            Reason::BeforeEarliest {
                date: d,
                earliest: EARLIEST_DATE,
            },
        );
    }
    if let Some(latest) = ctx.today.next_day()
        && d > latest
    {
        return fail(field, Reason::InFuture { date: d, latest });
    }
    Ok(d)
}

/// `unit` must be a commune.
fn commune_unit(unit: UnitId, field: &str, why: CommuneOnly) -> Res {
    if unit.level() != Level::Commune {
        return fail(field, Reason::NotCommune { unit, why });
    }
    Ok(())
}

/// A correction's target: 16 bytes and, when the node can tell, an earlier
/// event of the same origin.
fn target(p: &str, v: &[u8], ctx: &Context<'_>) -> Res {
    let field = at(p, "target_id");
    event_id(&field, v)?;
    if let Some(lookup) = ctx.target_origin {
        match lookup(v) {
            None => return fail(field, Reason::UnknownEvent),
            Some(o) if o != ctx.origin => {
                return fail(field, Reason::OtherOrigin(o));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

// ----------------------------------------------------------------- bodies

fn business_registered(p: &str, b: &BusinessRegistered) -> Res {
    id(p, "business_id", &b.business_id)?;
    enum_field::<BusinessKind>(p, "kind", b.kind)?;
    range(p, "workers", b.workers.into(), 0, MAX_WORKERS.into())?;
    text(p, "licence_no", &b.licence_no, false)
}

fn business_updated(p: &str, b: &BusinessUpdated) -> Res {
    id(p, "business_id", &b.business_id)?;
    // Here 0 means "keep": the schema has no `optional` enum.
    opt_enum::<BusinessKind>(p, "kind", b.kind)?;
    if let Some(w) = b.workers {
        range(p, "workers", w.into(), 0, MAX_WORKERS.into())?;
    }
    text(p, "licence_no", &b.licence_no, false)?;
    if b.kind == 0
        && b.conditional.is_none()
        && b.workers.is_none()
        && b.commitment_signed.is_none()
        && b.licence_no.is_empty()
    {
        return fail(p, Reason::ChangesNothing);
    }
    Ok(())
}

fn business_closed(p: &str, b: &BusinessClosed) -> Res {
    id(p, "business_id", &b.business_id)?;
    text(p, "reason", &b.reason, false)
}

fn inspection_conducted(p: &str, b: &InspectionConducted, ctx: &Context<'_>) -> Res {
    id(p, "inspection_id", &b.inspection_id)?;
    id(p, "business_id", &b.business_id)?;
    let team = match enum_field::<ProtoLevel>(p, "team_level", b.team_level)? {
        ProtoLevel::Commune => Level::Commune,
        ProtoLevel::District => Level::District,
        ProtoLevel::Province => Level::Province,
        ProtoLevel::Unspecified => return fail(at(p, "team_level"), Reason::Missing),
    };
    if team > ctx.origin.level() {
        return fail(
            at(p, "team_level"),
            Reason::TeamAbove {
                team,
                origin: ctx.origin,
            },
        );
    }
    enum_field::<InspectionMode>(p, "mode", b.mode)?;
    let trigger = enum_field::<InspectionTrigger>(p, "trigger", b.trigger)?;
    if b.members_present < MIN_MEMBERS_PRESENT {
        return fail(
            at(p, "members_present"),
            Reason::TooFewMembers(b.members_present),
        );
    }
    range(
        p,
        "members_present",
        b.members_present.into(),
        0,
        MAX_MEMBERS_PRESENT.into(),
    )?;
    enum_list::<Agency>(p, "agencies", &b.agencies)?;
    if b.agencies.len() > b.members_present as usize {
        return fail(
            at(p, "agencies"),
            Reason::AgenciesOverMembers {
                agencies: b.agencies.len(),
                members: b.members_present,
            },
        );
    }
    let Some(checks) = &b.checks else {
        return fail(at(p, "checks"), Reason::Missing);
    };
    let non_compliant = checks_field(&at(p, "checks"), checks)?;
    let result = enum_field::<InspectionResult>(p, "result", b.result)?;
    match result {
        InspectionResult::ViolationsFound if !non_compliant => {
            return fail(at(p, "result"), Reason::ViolationsWithoutCheck);
        }
        InspectionResult::Compliant if non_compliant => {
            return fail(at(p, "result"), Reason::CompliantWithFailedCheck);
        }
        _ => {}
    }
    range(
        p,
        "workers_reached",
        b.workers_reached.into(),
        0,
        MAX_WORKERS.into(),
    )?;
    if trigger == InspectionTrigger::TipOff {
        id(p, "tip_id", &b.tip_id)?;
    } else if !b.tip_id.is_empty() {
        return fail(at(p, "tip_id"), Reason::TipIdWithoutTipOff);
    }
    Ok(())
}

/// Checks every outcome; returns whether any is non-compliant.
fn checks_field(p: &str, c: &Checks) -> Result<bool, ValidationError> {
    let mut non_compliant = false;
    for (name, v) in [
        ("contracts", c.contracts),
        ("under18", c.under18),
        ("residence", c.residence),
        ("health_check", c.health_check),
        ("security", c.security),
        ("culture", c.culture),
    ] {
        if enum_field::<CheckOutcome>(p, name, v)? == CheckOutcome::NonCompliant {
            non_compliant = true;
        }
    }
    Ok(non_compliant)
}

fn violation_recorded(p: &str, b: &ViolationRecorded) -> Res {
    id(p, "record_no", &b.record_no)?;
    opt_id(p, "inspection_id", &b.inspection_id)?;
    opt_id(p, "business_id", &b.business_id)?;
    enum_field::<ViolationAct>(p, "act", b.act)?;
    text(p, "act_code", &b.act_code, true)?;
    let subject = enum_field::<SubjectType>(p, "subject", b.subject)?;
    if subject == SubjectType::Business && b.business_id.is_empty() {
        return fail(at(p, "business_id"), Reason::BusinessIdRequired);
    }
    let min = if subject == SubjectType::Person { 1 } else { 0 };
    range(p, "persons", b.persons.into(), min, MAX_PERSONS.into())
}

fn penalty_decided(p: &str, b: &PenaltyDecided) -> Res {
    text(p, "decision_no", &b.decision_no, true)?;
    id(p, "record_no", &b.record_no)?;
    let kind = enum_field::<PenaltyKind>(p, "kind", b.kind)?;
    match kind {
        PenaltyKind::Fine => range(p, "fine_vnd", b.fine_vnd, 1, MAX_FINE_VND)?,
        PenaltyKind::Warning if b.fine_vnd != 0 => {
            return fail(at(p, "fine_vnd"), Reason::FineWithWarning);
        }
        _ => range(p, "fine_vnd", b.fine_vnd, 0, MAX_FINE_VND)?,
    }
    if kind == PenaltyKind::LicenceSuspension {
        range(
            p,
            "suspension_months",
            b.suspension_months.into(),
            1,
            MAX_SUSPENSION_MONTHS.into(),
        )
    } else if b.suspension_months != 0 {
        fail(at(p, "suspension_months"), Reason::MonthsWithoutSuspension)
    } else {
        Ok(())
    }
}

fn case_referred(p: &str, b: &CaseReferred) -> Res {
    id(p, "record_no", &b.record_no)?;
    enum_field::<ReferralAgency>(p, "referred_to", b.referred_to)?;
    Ok(())
}

fn tip_received(p: &str, b: &TipReceived) -> Res {
    id(p, "tip_id", &b.tip_id)?;
    enum_field::<TipChannel>(p, "channel", b.channel)?;
    enum_field::<TipCategory>(p, "category", b.category)?;
    opt_id(p, "business_id", &b.business_id)
}

fn tip_verified(p: &str, b: &TipVerified) -> Res {
    id(p, "tip_id", &b.tip_id)
}

fn tip_closed(p: &str, b: &TipClosed) -> Res {
    id(p, "tip_id", &b.tip_id)?;
    enum_field::<TipOutcome>(p, "outcome", b.outcome)?;
    Ok(())
}

fn awareness_activity_held(p: &str, b: &AwarenessActivityHeld) -> Res {
    id(p, "activity_id", &b.activity_id)?;
    enum_field::<crate::proto::v1::AwarenessForm>(p, "form", b.form)?;
    enum_field::<crate::proto::v1::Audience>(p, "audience", b.audience)?;
    range(
        p,
        "participants",
        b.participants.into(),
        0,
        MAX_PARTICIPANTS.into(),
    )?;
    range(p, "leaflets", b.leaflets.into(), 0, MAX_PARTICIPANTS.into())
}

fn client_need_assessed(p: &str, b: &ClientNeedAssessed) -> Res {
    client_ref(p, &b.client_ref)?;
    client_key_id(p, &b.client_key_id)?;
    enum_list::<ServiceKind>(p, "needs", &b.needs)
}

fn support_service_provided(p: &str, b: &SupportServiceProvided) -> Res {
    client_ref(p, &b.client_ref)?;
    client_key_id(p, &b.client_key_id)?;
    enum_field::<ServiceKind>(p, "service", b.service)?;
    text(p, "provider", &b.provider, true)?;
    range(p, "cost_vnd", b.cost_vnd, 0, MAX_COST_VND)
}

fn plan_adopted(p: &str, b: &PlanAdopted, ctx: &Context<'_>) -> Res {
    id(p, "plan_id", &b.plan_id)?;
    year(p, "year", b.year, ctx)?;
    text(p, "decision_no", &b.decision_no, false)
}

fn target_set(p: &str, b: &TargetSet, ctx: &Context<'_>) -> Res {
    year(p, "year", b.year, ctx)?;
    enum_field::<Kpi>(p, "kpi", b.kpi)?;
    range(p, "target_bp", b.target_bp.into(), 0, MAX_TARGET_BP.into())
}

fn pilot_model_started(p: &str, b: &PilotModelStarted) -> Res {
    id(p, "model_id", &b.model_id)?;
    enum_field::<PilotModelKind>(p, "kind", b.kind)?;
    range(p, "budget_vnd", b.budget_vnd, 0, MAX_BUDGET_VND)
}

fn pilot_model_ended(p: &str, b: &PilotModelEnded) -> Res {
    id(p, "model_id", &b.model_id)?;
    text(p, "reason", &b.reason, false)
}

fn healthy_commune_assessed(p: &str, b: &HealthyCommuneAssessed, ctx: &Context<'_>) -> Res {
    year(p, "year", b.year, ctx)?;
    range(p, "score", b.score.into(), 0, MAX_SCORE.into())?;
    enum_field::<HealthyClass>(p, "classification", b.classification)?;
    Ok(())
}

fn volunteer_team_reported(p: &str, b: &VolunteerTeamReported) -> Res {
    id(p, "team_id", &b.team_id)?;
    range(p, "members", b.members.into(), 1, MAX_PERSONS.into())?;
    range(
        p,
        "activities",
        b.activities.into(),
        0,
        MAX_ACTIVITIES.into(),
    )
}

fn training_held(p: &str, b: &TrainingHeld) -> Res {
    id(p, "training_id", &b.training_id)?;
    enum_field::<TraineeRole>(p, "role", b.role)?;
    range(p, "trainees", b.trainees.into(), 1, MAX_PERSONS.into())?;
    range(p, "days", b.days.into(), 1, MAX_TRAINING_DAYS.into())
}

fn hotspot_identified(p: &str, b: &HotspotIdentified) -> Res {
    id(p, "hotspot_id", &b.hotspot_id)?;
    enum_field::<HotspotKind>(p, "kind", b.kind)?;
    range(
        p,
        "estimated_persons",
        b.estimated_persons.into(),
        0,
        MAX_PERSONS.into(),
    )
}

fn hotspot_cleared(p: &str, b: &HotspotCleared) -> Res {
    id(p, "hotspot_id", &b.hotspot_id)
}

fn event_voided(p: &str, b: &EventVoided, ctx: &Context<'_>) -> Res {
    target(p, &b.target_id, ctx)?;
    text(p, "reason", &b.reason, true)
}

fn event_corrected(p: &str, b: &EventCorrected, ctx: &Context<'_>) -> Res {
    target(p, &b.target_id, ctx)?;
    parse_unit(&b.unit, &at(p, "unit"))?;
    let on = date_field(&b.occurred_on, &at(p, "occurred_on"), ctx)?;
    let unit = unit_field(&b.unit, &at(p, "unit"), on, ctx)?;
    let field = at(p, "body");
    let Some(inner) = &b.body else {
        return fail(field, Reason::Missing);
    };
    if let Some(Kind::EventVoided(_) | Kind::EventCorrected(_)) = inner.kind {
        return fail(field, Reason::NestedVoidOrCorrection);
    }
    validate_body(inner, ctx, unit, &field)?;
    text(p, "reason", &b.reason, false)
}

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
