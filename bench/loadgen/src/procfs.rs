//! What `/proc` says about a process: CPU time used, resident memory,
//! threads and open file descriptors.

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

/// User and system CPU time of all the process's threads, in seconds,
/// apart (fields 14 and 15 of `/proc/<pid>/stat`).
pub(crate) fn cpu_user_system(pid: u32) -> io::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_user_system(&stat)
        .map(|(u, s)| (u as f64 / USER_HZ, s as f64 / USER_HZ))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/PID/stat"))
}

/// Resident set size in KiB (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_kib(pid: u32) -> io::Result<u64> {
    status_field(pid, "VmRSS:")
}

/// The anonymous part of the resident set in KiB (`RssAnon`): heap and
/// stacks, without file-backed pages.
pub(crate) fn rss_anon_kib(pid: u32) -> io::Result<u64> {
    status_field(pid, "RssAnon:")
}

/// Peak resident set size in KiB since the process started (`VmHWM`).
pub(crate) fn peak_rss_kib(pid: u32) -> io::Result<u64> {
    status_field(pid, "VmHWM:")
}

/// Threads of the process (`Threads` of `/proc/<pid>/status`).
pub(crate) fn threads(pid: u32) -> io::Result<u64> {
    status_field(pid, "Threads:")
}

/// Open file descriptors: the entries of `/proc/<pid>/fd`.
pub(crate) fn open_fds(pid: u32) -> io::Result<u64> {
    let mut n = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        entry?;
        n += 1;
    }
    Ok(n)
}

/// The soft limit on open files of the process (`Max open files` of
/// `/proc/<pid>/limits`).
pub(crate) fn max_open_files(pid: u32) -> io::Result<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    parse_max_open_files(&limits).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "no Max open files in /proc/PID/limits",
        )
    })
}

/// Datagrams the kernel dropped, for want of room in the receive buffer,
/// on the process's UDP sockets since they were opened: the `drops`
/// column of `/proc/<pid>/net/udp` and `udp6`, for the sockets among the
/// process's descriptors.
pub(crate) fn udp_drops(pid: u32) -> io::Result<u64> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        // A descriptor closed meanwhile is no socket of the process.
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue;
        };
        if let Some(inode) = target
            .to_str()
            .and_then(|t| t.strip_prefix("socket:["))
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse::<u64>().ok())
        {
            inodes.push(inode);
        }
    }
    let mut drops = 0;
    for table in ["udp", "udp6"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) {
            drops += parse_udp_drops(&text, &inodes);
        }
    }
    Ok(drops)
}

/// The sum of the `drops` column over the rows of `inodes`.
fn parse_udp_drops(table: &str, inodes: &[u64]) -> u64 {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let inode: u64 = fields.get(9)?.parse().ok()?;
            let drops: u64 = fields.get(12)?.parse().ok()?;
            inodes.contains(&inode).then_some(drops)
        })
        .sum()
}

fn parse_max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let rest = line.strip_prefix("Max open files")?;
    rest.split_ascii_whitespace().next()?.parse().ok()
}

fn status_field(pid: u32, name: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_field(&status, name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no {name} in /proc/PID/status"),
        )
    })
}

fn parse_stat_cpu(stat: &str) -> Option<u64> {
    parse_stat_user_system(stat).map(|(u, s)| u + s)
}

fn parse_stat_user_system(stat: &str) -> Option<(u64, u64)> {
    // The command name, field 2, is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_ascii_whitespace();
    // `after` starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// The first number of the line `name` (`VmRSS:`, `Threads:`).
fn parse_status_field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields() {
        let stat = "1234 (a b) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 10 0 0";
        assert_eq!(parse_stat_cpu(stat), Some(300));
        assert_eq!(parse_stat_user_system(stat), Some((250, 50)));
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t    4321 kB\nThreads:\t3\n";
        assert_eq!(parse_status_field(status, "VmRSS:"), Some(4321));
        assert_eq!(parse_status_field(status, "Threads:"), Some(3));
        assert_eq!(parse_status_field(status, "VmSwap:"), None);
    }

    #[test]
    fn limits_file() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             95124                95124                processes \n\
                      Max open files            20000                40000                files     \n";
        assert_eq!(parse_max_open_files(limits), Some(20000));
        assert_eq!(
            parse_max_open_files("Max open files  unlimited  unlimited  files"),
            None
        );
    }

    #[test]
    fn udp_table() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
            \x20 1: 0100007F:0F1F 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 531\n\
            \x20 2: 0100007F:0F20 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4343 2 0000000000000000 7\n";
        assert_eq!(parse_udp_drops(table, &[4242]), 531);
        assert_eq!(parse_udp_drops(table, &[4242, 4343]), 538);
        assert_eq!(parse_udp_drops(table, &[1]), 0);
    }

    #[test]
    fn own_process() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).is_ok());
        assert!(rss_kib(pid).is_ok_and(|kib| kib > 0));
        assert!(threads(pid).is_ok_and(|n| n >= 1));
        assert!(rss_anon_kib(pid).is_ok_and(|kib| kib > 0));
        assert!(open_fds(pid).is_ok_and(|n| n > 0));
        assert!(max_open_files(pid).is_ok_and(|n| n > 0));
        assert!(udp_drops(pid).is_ok());
    }
}
