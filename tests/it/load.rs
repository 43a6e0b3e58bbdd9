//! Tests of the load.
