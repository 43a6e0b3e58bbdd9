//! Rendering plans and apply results for people and programs. Pure: builds strings, never
//! writes them (`output` does).

pub mod text;
