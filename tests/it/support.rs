//! Test support: a builder for repository + emulator + command.
