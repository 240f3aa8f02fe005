//! Segments: the events of one committed group, stored as one value.
//!
//! Layout: version byte (1), event count (u32 LE), then per event its length
//! (u32 LE) and its bytes. The segment's key is the position of its first
//! event; event `i` is at position `key + i`.

use bytes::{BufMut, Bytes, BytesMut};

const VERSION: u8 = 1;

/// Builds a segment.
#[derive(Debug, Default)]
pub struct SegmentBuilder {
    buf: BytesMut,
    count: u32,
}

impl SegmentBuilder {
    /// An empty segment.
    pub fn new() -> SegmentBuilder {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        buf.put_u8(VERSION);
        buf.put_u32_le(0);
        SegmentBuilder { buf, count: 0 }
    }

    /// Adds an event's bytes.
    pub fn push(&mut self, event: &[u8]) {
        // Events are at most 64 KiB, so the length fits.
        self.buf.put_u32_le(event.len() as u32);
        self.buf.put_slice(event);
        self.count += 1;
    }

    /// Events added so far.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True when no event was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes so far.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The finished value.
    pub fn finish(mut self) -> Bytes {
        self.buf[1..5].copy_from_slice(&self.count.to_le_bytes());
        self.buf.freeze()
    }
}

/// A stored segment is not in the expected layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt segment: {0}")]
pub struct SegmentError(pub String);

/// The events of a stored segment, as zero-copy slices of `value`.
pub fn decode(value: Bytes) -> Result<Vec<Bytes>, SegmentError> {
    if value.len() < 5 || value[0] != VERSION {
        return Err(SegmentError(format!(
            "unknown version or too short ({} bytes)",
            value.len()
        )));
    }
    let count = u32::from_le_bytes([value[1], value[2], value[3], value[4]]) as usize;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    let mut at = 5;
    for i in 0..count {
        let len_bytes = value
            .get(at..at + 4)
            .ok_or_else(|| SegmentError(format!("event {i} of {count} is cut off")))?;
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        at += 4;
        if at + len > value.len() {
            return Err(SegmentError(format!("event {i} of {count} is cut off")));
        }
        out.push(value.slice(at..at + len));
        at += len;
    }
    if at != value.len() {
        return Err(SegmentError(format!("{} trailing bytes", value.len() - at)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(events in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..40)) {
            let mut b = SegmentBuilder::new();
            for e in &events { b.push(e); }
            let got = decode(b.finish()).expect("decodes");
            let got: Vec<Vec<u8>> = got.iter().map(|b| b.to_vec()).collect();
            prop_assert_eq!(got, events);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(Bytes::from(bytes));
        }
    }

    #[test]
    fn truncation_is_an_error() {
        let mut b = SegmentBuilder::new();
        b.push(b"hello");
        b.push(b"world");
        let v = b.finish();
        for n in 0..v.len() {
            assert!(decode(v.slice(..n)).is_err(), "cut at {n}");
        }
    }
}
