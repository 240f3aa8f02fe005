//! The bounds the rules apply: sizes, lengths, ranges and the schema
//! version, in one place for the rules, their tests and the forms' hints.

use time::macros::date;

use crate::period::Date;

/// Largest encoded event, in bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Longest identifier (business_id, inspection_id, record_no, tip_id,
/// plan_id, recorded_by, …), in characters.
pub const MAX_ID_LEN: usize = 64;
/// Longest free text (reason, provider, act_code, licence_no, decision_no),
/// in characters.
pub const MAX_TEXT_LEN: usize = 500;
/// The schema version of this catalogue.
pub const CURRENT_SCHEMA: u32 = 1;
/// Length of an event id (a UUIDv7), in bytes.
pub const EVENT_ID_LEN: usize = 16;
/// Length of a `client_key_id` (hex of 8 bytes naming the secret), in characters.
pub const CLIENT_KEY_ID_LEN: usize = 16;
/// Length of a `client_ref` (hex of an HMAC-SHA256), in characters.
pub const CLIENT_REF_LEN: usize = 64;
/// Earliest `occurred_on` accepted.
pub const EARLIEST_DATE: Date = date!(2000 - 01 - 01);
/// Earliest plan, target or assessment year.
pub const MIN_YEAR: u32 = 2000;
/// Latest plan, target or assessment year (also at most today's year + 1).
pub const MAX_YEAR: u32 = 2100;
/// Fewest members present at an inspection (Circular 05/2006).
pub const MIN_MEMBERS_PRESENT: u32 = 3;
/// Most members present at an inspection.
pub const MAX_MEMBERS_PRESENT: u32 = 50;
/// Most participants of one awareness activity, and most leaflets handed out.
pub const MAX_PARTICIPANTS: u32 = 1_000_000;
/// Most workers of one business, and most workers reached in one inspection.
pub const MAX_WORKERS: u32 = 100_000;
/// Largest fine, in VND.
pub const MAX_FINE_VND: u64 = 1_000_000_000;
/// Largest cost of one support service, in VND.
pub const MAX_COST_VND: u64 = 1_000_000_000;
/// Largest budget of one pilot model, in VND.
pub const MAX_BUDGET_VND: u64 = 1_000_000_000_000;
/// Longest licence suspension, in months.
pub const MAX_SUSPENSION_MONTHS: u32 = 24;
/// Largest target, in basis points (100%).
pub const MAX_TARGET_BP: u32 = 10_000;
/// Highest healthy-commune score.
pub const MAX_SCORE: u32 = 100;
/// Largest person count (persons in a violation, hotspot estimates,
/// volunteer team members, trainees).
pub const MAX_PERSONS: u32 = 10_000;
/// Most activities in one volunteer team report.
pub const MAX_ACTIVITIES: u32 = 10_000;
/// Longest training, in days.
pub const MAX_TRAINING_DAYS: u32 = 366;

/// Prefix of the reason given for an event of a newer schema than this build's.
pub const NEWER_SCHEMA: &str = "newer schema";
