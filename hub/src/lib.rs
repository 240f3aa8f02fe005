//! sync178-hub.
