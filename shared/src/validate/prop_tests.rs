//! No input makes validation panic: arbitrary events and bodies, checked
//! against a context as a node would.

use proptest::prelude::*;

use super::tests::*;
use super::*;

fn fuzz_ctx_run(ev: &Event) {
    let topo = topology();
    let lookup_fn = lookup;
    for origin in ["d323", "c11953", "p33"] {
        let ctx = Context {
            history: &topo,
            origin: u(origin),
            today: TODAY,
            target_origin: Some(&lookup_fn),
        };
        let _ = validate_draft(ev, &ctx);
        let _ = validate_stored(ev, &ctx);
    }
}

proptest! {
    #[test]
    fn validate_draft_never_panics_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        if let Ok(ev) = Event::decode(&bytes[..]) {
            fuzz_ctx_run(&ev);
        }
    }

    #[test]
    fn validate_never_panics_on_mutated_valid_events(
        k in 0usize..24,
        stored_form in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut ev = if stored_form { stored() } else { draft() };
        if let Some(kind) = every_kind().into_iter().nth(k) {
            set(&mut ev, kind);
        }
        let mut bytes = ev.encode_to_vec();
        for (at, b) in edits {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        if let Ok(ev) = Event::decode(&bytes[..]) {
            fuzz_ctx_run(&ev);
        }
    }
}
