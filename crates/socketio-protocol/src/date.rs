//! JavaScript `Date` text, as Node peers write it: `toISOString()` (the
//! JSON form of a date, what a msgpack timestamp from Node's Redis adapter
//! becomes) and `toString()` in UTC (Node's `socket.handshake.time`).

/// `Date.prototype.toISOString` of `ms` milliseconds since 1970-01-01 UTC:
/// `2024-05-06T07:08:09.010Z`, with a signed six-digit year outside 0..=9999.
///
/// ```
/// assert_eq!(socketio_protocol::date::to_iso_string(0), "1970-01-01T00:00:00.000Z");
/// ```
pub fn to_iso_string(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let year = match y {
        0..=9999 => format!("{y:04}"),
        y if y < 0 => format!("-{:06}", -y),
        y => format!("+{y:06}"),
    };
    format!("{year}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// `Date.prototype.toString` of `secs` seconds since 1970-01-01, for a
/// process whose time zone is UTC.
///
/// ```
/// assert_eq!(
///     socketio_protocol::date::to_utc_string(0),
///     "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
/// );
/// ```
pub fn to_utc_string(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:02} {:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31) in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_strings_read_like_a_javascript_date() {
        // 2026-12-06T23:35:07Z, a Sunday.
        assert_eq!(
            to_utc_string(1_796_600_107),
            "Sun Dec 06 2026 23:35:07 GMT+0000 (Coordinated Universal Time)"
        );
        // 2024-02-29T12:00:00Z, a leap day.
        assert_eq!(
            to_utc_string(1_709_208_000),
            "Thu Feb 29 2024 12:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn iso_strings_as_javascript_writes_them() {
        assert_eq!(to_iso_string(1_714_979_289_010), "2024-05-06T07:08:09.010Z");
        assert_eq!(to_iso_string(-1), "1969-12-31T23:59:59.999Z");
    }
}
