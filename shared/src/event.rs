//! Event bytes: sealing a new event with its hash, and opening stored bytes.
//!
//! An event is stored and forwarded as the exact bytes first written. Those
//! bytes are `E ++ T`, where `E` is the protobuf encoding of the envelope
//! without `hash`, and `T` is the `hash` field (tag 15, 32 bytes) written
//! last. `hash = BLAKE3(E)`; `E` contains `prev_hash`, so the hashes chain per
//! origin. Verifying never re-encodes anything, so events of a newer schema
//! (fields this build does not know) verify too.

use bytes::Bytes;
use prost::Message;

use crate::proto::v1::{Event, EventHeader};
use crate::unit::UnitId;
use crate::validate::MAX_EVENT_BYTES;

/// Length of a BLAKE3 hash.
pub const HASH_LEN: usize = 32;
/// A BLAKE3 hash.
pub type Hash = [u8; HASH_LEN];
/// `prev_hash` of the first event of every origin.
pub const ZERO_HASH: Hash = [0; HASH_LEN];
/// Length of an event id (UUIDv7).
pub const ID_LEN: usize = 16;
/// An event id.
pub type EventId = [u8; ID_LEN];

/// Protobuf key of field 15, wire type 2 (length-delimited).
const HASH_TAG: u8 = (15 << 3) | 2;
/// The trailer: tag, length (32), hash.
const TRAILER_LEN: usize = 2 + HASH_LEN;

/// Why stored event bytes could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Larger than [`MAX_EVENT_BYTES`].
    #[error("event is {0} bytes, over the limit of {MAX_EVENT_BYTES}")]
    TooLarge(usize),
    /// Not a protobuf `Event`, or not ending with its hash field.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// A header field is missing or out of range.
    #[error("{field}: {reason}")]
    Field {
        /// The envelope field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes were altered after they were sealed.
    #[error("hash mismatch: event says {stated}, bytes hash to {computed}")]
    HashMismatch {
        /// The hash written in the event, hex.
        stated: String,
        /// The hash of the bytes, hex.
        computed: String,
    },
}

/// The identifying fields of verified event bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Event id.
    pub id: EventId,
    /// Recording unit.
    pub origin: UnitId,
    /// Position in origin's chain, from 1.
    pub seq: u64,
    /// Hash of origin's previous event.
    pub prev_hash: Hash,
    /// Hash of these bytes.
    pub hash: Hash,
}

/// Event bytes whose hash has been checked, with their header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The exact stored bytes.
    pub bytes: Bytes,
    /// Their header.
    pub header: Header,
}

/// Hex form of a hash, for messages and JSON.
pub fn hex_hash(h: &[u8]) -> String {
    hex::encode(h)
}

/// Seals `ev`: encodes every field but `hash`, hashes that, and appends the
/// hash field. Sets `ev.hash` and returns the bytes to store.
pub fn seal(ev: &mut Event) -> (Bytes, Hash) {
    ev.hash.clear();
    let mut buf = Vec::with_capacity(ev.encoded_len() + TRAILER_LEN);
    // Encoding into a Vec with enough capacity cannot fail.
    ev.encode_raw(&mut buf);
    let hash: Hash = *blake3::hash(&buf).as_bytes();
    buf.push(HASH_TAG);
    buf.push(HASH_LEN as u8);
    buf.extend_from_slice(&hash);
    ev.hash = hash.to_vec();
    (Bytes::from(buf), hash)
}

/// Checks stored bytes: size, trailer, hash, and the header fields; returns
/// the header. Does not decode the body.
pub fn open(bytes: Bytes) -> Result<Verified, EventError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(EventError::TooLarge(bytes.len()));
    }
    if bytes.len() < TRAILER_LEN
        || bytes[bytes.len() - TRAILER_LEN] != HASH_TAG
        || bytes[bytes.len() - TRAILER_LEN + 1] != HASH_LEN as u8
    {
        return Err(EventError::Malformed(
            "does not end with its 32-byte hash field".into(),
        ));
    }
    let head = EventHeader::decode(&bytes[..]).map_err(|e| EventError::Malformed(e.to_string()))?;
    let split = bytes.len() - TRAILER_LEN;
    let stated: Hash = bytes[split + 2..]
        .try_into()
        .map_err(|_| EventError::Malformed("short hash".into()))?;
    let computed = *blake3::hash(&bytes[..split]).as_bytes();
    if computed != stated {
        return Err(EventError::HashMismatch {
            stated: hex_hash(&stated),
            computed: hex_hash(&computed),
        });
    }
    let header = header_fields(&head, stated)?;
    Ok(Verified { bytes, header })
}

fn header_fields(head: &EventHeader, hash: Hash) -> Result<Header, EventError> {
    let field = |field: &'static str, reason: String| EventError::Field { field, reason };
    let id: EventId = head
        .id
        .as_slice()
        .try_into()
        .map_err(|_| field("id", format!("must be 16 bytes, got {}", head.id.len())))?;
    let origin: UnitId = head
        .origin
        .parse()
        .map_err(|e| field("origin", format!("{e}")))?;
    if head.seq == 0 {
        return Err(field("seq", "must be at least 1".into()));
    }
    let prev_hash: Hash = head.prev_hash.as_slice().try_into().map_err(|_| {
        field(
            "prev_hash",
            format!("must be 32 bytes, got {}", head.prev_hash.len()),
        )
    })?;
    Ok(Header {
        id,
        origin,
        seq: head.seq,
        prev_hash,
        hash,
    })
}

/// Reads the header of bytes this node already verified (its own log),
/// without hashing them again.
pub fn peek(bytes: &[u8]) -> Result<Header, EventError> {
    if bytes.len() < TRAILER_LEN {
        return Err(EventError::Malformed("too short".into()));
    }
    let head = EventHeader::decode(bytes).map_err(|e| EventError::Malformed(e.to_string()))?;
    let stated: Hash = bytes[bytes.len() - HASH_LEN..]
        .try_into()
        .map_err(|_| EventError::Malformed("short hash".into()))?;
    header_fields(&head, stated)
}

/// Decodes stored bytes into the full envelope (body included).
pub fn decode(bytes: &[u8]) -> Result<Event, EventError> {
    Event::decode(bytes).map_err(|e| EventError::Malformed(e.to_string()))
}

/// A fresh UUIDv7 event id.
pub fn new_id() -> EventId {
    *uuid::Uuid::now_v7().as_bytes()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::{Body, HotspotCleared, body::Kind};

    fn sample(seq: u64, prev: Hash) -> Event {
        Event {
            id: new_id().to_vec(),
            origin: "c00292".into(),
            seq,
            unit: "c00292".into(),
            occurred_on: "2024-03-01".into(),
            recorded_at: 1_709_251_200_000,
            recorded_by: "officer-7".into(),
            schema: 1,
            prev_hash: prev.to_vec(),
            body: Some(Body {
                kind: Some(Kind::HotspotCleared(HotspotCleared {
                    hotspot_id: "h1".into(),
                })),
            }),
            hash: vec![],
        }
    }

    #[test]
    fn sealed_bytes_open_and_decode_to_the_same_event() {
        let mut ev = sample(1, ZERO_HASH);
        let (bytes, hash) = seal(&mut ev);
        let v = open(bytes.clone()).expect("opens");
        assert_eq!(v.header.hash, hash);
        assert_eq!(v.header.seq, 1);
        assert_eq!(v.header.origin.to_string(), "c00292");
        assert_eq!(decode(&bytes).expect("decodes"), ev);
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let mut ev = sample(3, [7; 32]);
        let (bytes, _) = seal(&mut ev);
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] ^= 0x01;
            assert!(
                open(Bytes::from(b)).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn unknown_fields_still_verify() {
        // A newer schema may add fields: the hash covers the bytes as written.
        let mut ev = sample(1, ZERO_HASH);
        ev.hash.clear();
        let mut buf = ev.encode_to_vec();
        buf.extend_from_slice(&[0xf8, 0x06, 0x05]); // field 111 (varint) = 5
        let hash = *blake3::hash(&buf).as_bytes();
        buf.push(HASH_TAG);
        buf.push(32);
        buf.extend_from_slice(&hash);
        let v = open(Bytes::from(buf)).expect("newer-schema event verifies");
        assert_eq!(v.header.hash, hash);
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let mut ev = sample(1, ZERO_HASH);
        let (bytes, _) = seal(&mut ev);
        for n in 0..bytes.len() {
            assert!(open(bytes.slice(..n)).is_err());
        }
        assert!(matches!(
            open(Bytes::from(vec![0xff; 100])),
            Err(EventError::Malformed(_))
        ));
        assert!(matches!(
            open(Bytes::from(vec![0u8; MAX_EVENT_BYTES + 1])),
            Err(EventError::TooLarge(_))
        ));
    }

    #[test]
    fn header_fields_are_checked() {
        let mut ev = sample(1, ZERO_HASH);
        ev.id = vec![1, 2, 3];
        let (bytes, _) = seal(&mut ev);
        assert_eq!(
            open(bytes).expect_err("refused").to_string(),
            "id: must be 16 bytes, got 3"
        );
        let mut ev = sample(0, ZERO_HASH);
        let (bytes, _) = seal(&mut ev);
        assert_eq!(
            open(bytes).expect_err("refused").to_string(),
            "seq: must be at least 1"
        );
    }
}
