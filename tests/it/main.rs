//! skconn's one integration-test binary. Every test here runs real code over real HTTP on
//! loopback: the emulator is started in this process, the `skconn` binary in a child process.

mod e2e;
mod emulator;
mod environments;
mod load;
mod overrides;
mod plans;
mod property;
mod remote;
mod robust;
mod safety;
mod schema;
mod support;
