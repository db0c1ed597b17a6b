//! What `/proc` says about a process: CPU time used and resident memory.

use std::io;

/// Clock ticks per second of `/proc/<pid>/stat`: `USER_HZ`, which Linux
/// fixes at 100 on every architecture it exports it for.
const USER_HZ: f64 = 100.0;

/// User plus system CPU time of all the process's threads, in seconds
/// (fields 14 and 15 of `/proc/<pid>/stat`).
pub(crate) fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu(&stat)
        .map(|ticks| ticks as f64 / USER_HZ)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/PID/stat"))
}

/// Resident set size in KiB (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_rss(&status)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS in /proc/PID/status"))
}

fn parse_stat_cpu(stat: &str) -> Option<u64> {
    // The command name, field 2, is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_ascii_whitespace();
    // `after` starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn parse_status_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields() {
        let stat = "1234 (a b) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 10 0 0";
        assert_eq!(parse_stat_cpu(stat), Some(300));
    }

    #[test]
    fn status_rss() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t    4321 kB\n";
        assert_eq!(parse_status_rss(status), Some(4321));
    }

    #[test]
    fn own_process() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).is_ok());
        assert!(rss_kib(pid).is_ok_and(|kib| kib > 0));
    }
}
