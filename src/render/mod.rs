//! Rendering plans and apply results for people and programs. Pure: builds strings, never
//! writes them (`output` does); the one thing read is the clock, for a snapshot's age
//! (`source`).

pub mod approval;
pub mod compare;
pub mod curl;
pub mod json;
pub mod markdown;
pub mod source;
pub mod text;
pub mod usage;
