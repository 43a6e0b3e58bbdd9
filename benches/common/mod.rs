//! What the benchmarks share: the resource usage of one skconn process, and medians.

/// The CPU time (user + system, seconds) and peak resident memory (KiB) of one process.
pub struct Usage {
    pub cpu: f64,
    pub peak_kib: u64,
}

/// Waits for the child and reads its own resource usage. `wait4` gives the figures of exactly
/// this process, where `getrusage(RUSAGE_CHILDREN)` would add up every child waited for so far
/// and keep the largest peak of them all.
pub fn wait4(pid: u32) -> Result<(Option<i32>, Usage), String> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| format!("pid {pid} out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the right types.
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if got == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waiting for skconn (pid {pid}): {err}"));
        }
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((
        code,
        Usage {
            cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
            // Linux reports ru_maxrss in KiB.
            peak_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        },
    ))
}

/// The median of some figures (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}
