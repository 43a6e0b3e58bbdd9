//! skconn's one integration-test binary. Every test here runs real code over real HTTP on
//! loopback: the emulator is started in this process, the `skconn` binary in a child process.

#[cfg(unix)]
mod actions;
mod apply_loop;
mod approved;
mod authoring;
mod config;
mod distribution;
mod docs;
mod doctor;
mod e2e;
mod emulator;
mod environments;
mod fake_github;
mod fake_gitlab;
mod fake_server;
mod github;
mod gitlab;
mod gitlab_ci;
mod inert;
mod leaks;
mod load;
mod mcp;
mod network;
mod overrides;
mod plans;
mod property;
mod remote;
mod review;
mod robust;
mod safety;
mod schema;
mod snapshot;
mod support;
mod trust;
mod usage;
mod workflows;
