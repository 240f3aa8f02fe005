//! Reconciliation jobs: tiers hold exactly their subtree; projections equal a replay.
