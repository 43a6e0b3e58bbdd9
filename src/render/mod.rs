//! Rendering plans and apply results for people and programs. Pure: builds strings, never
//! writes them (`output` does).

pub mod approval;
pub mod compare;
pub mod curl;
pub mod json;
pub mod markdown;
pub mod text;
pub mod usage;
