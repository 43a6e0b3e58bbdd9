//! Tests of the remote.
