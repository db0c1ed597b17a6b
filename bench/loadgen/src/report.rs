//! Turning measurements into text: one line per run, and the suite's
//! markdown table of medians, ranges and ratios.

use std::fmt::Write as _;

use crate::measure::{ClusterWindow, Measurement, RoomsRun};

/// One line for a run.
pub(crate) fn summary(m: &Measurement) -> String {
    let name = match &m.transport {
        Some(t) => format!("{} ({t})", m.scenario),
        None => m.scenario.clone(),
    };
    let mut s = format!(
        "{:<15} {:>10}/s over {:.1}s",
        name,
        number(m.throughput),
        m.seconds
    );
    if let (Some(p50), Some(p99), Some(p999)) = (m.p50_ms, m.p99_ms, m.p999_ms) {
        let _ = write!(s, "  p50 {p50:.2} ms  p99 {p99:.2} ms  p99.9 {p999:.2} ms");
    }
    if let Some(cpu) = m.server_cpu_us_per_op {
        let _ = write!(s, "  server {cpu:.1} µs/op");
    }
    if let Some(util) = m.server_cpu_util {
        let _ = write!(s, " ({:.0}% cpu)", util * 100.0);
    }
    if let Some(rss) = m.rss_kib_per_conn {
        let _ = write!(s, "  {rss:.1} KiB/conn");
    }
    let _ = write!(s, "  generator {:.0}% cpu", m.generator_cpu_util * 100.0);
    if let Some(idle) = &m.idle {
        let _ = write!(s, "; idle {:.0}s", idle.seconds);
        if let Some(ms) = idle.ping_interval_ms {
            let _ = write!(s, " (ping every {ms} ms)");
        }
        let _ = write!(s, ": {} heartbeats", idle.heartbeats);
        if let Some(util) = idle.server_cpu_util {
            let _ = write!(s, ", server {:.2}% cpu", util * 100.0);
        }
        if let Some(sys) = idle.server_system_share {
            let _ = write!(s, " ({:.0}% of it system)", sys * 100.0);
        }
        if let Some(us) = idle.server_cpu_us_per_heartbeat {
            let _ = write!(s, ", {us:.1} µs/heartbeat");
        }
        if let Some(rss) = idle.rss_kib_per_conn_end {
            let _ = write!(s, ", {rss:.1} KiB/conn at the end");
        }
        let _ = write!(s, ", generator {:.0}% cpu", idle.generator_cpu_util * 100.0);
        if idle.closed > 0 {
            let _ = write!(s, ", {} closed by the server", idle.closed);
        }
    }
    if let Some(c) = &m.cluster {
        cluster_summary(&mut s, c);
    }
    if let Some(r) = &m.rooms {
        rooms_summary(&mut s, r);
    }
    if let Some(drops) = m.server_udp_drops {
        let _ = write!(s, "; server UDP drops {drops}");
    }
    if m.errors > 0 {
        let _ = write!(s, "  {} errors", m.errors);
    }
    s
}

/// What a cluster run adds to its line: where the latency went, and each
/// server's CPU and RSS.
fn cluster_summary(s: &mut String, c: &ClusterWindow) {
    let ms = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.2}"));
    let _ = write!(
        s,
        "; {} servers × {} clients, {} broadcasts: sender's server p50 {} p99 {} ms, \
         other servers p50 {} p99 {} ms",
        c.servers,
        c.clients_per_server,
        c.broadcasts,
        ms(c.same_server_p50_ms),
        ms(c.same_server_p99_ms),
        ms(c.other_servers_p50_ms),
        ms(c.other_servers_p99_ms),
    );
    let _ = write!(
        s,
        "; first delivery: sender's server p50 {} p99 {} ms, other servers p50 {} p99 {} ms",
        ms(c.first_same_server_p50_ms),
        ms(c.first_same_server_p99_ms),
        ms(c.first_other_servers_p50_ms),
        ms(c.first_other_servers_p99_ms),
    );
    if let (Some(messages), Some(matched)) = (c.redis_messages, c.redis_matched) {
        let _ = write!(
            s,
            "; on Redis: {matched} broadcasts found in {messages} messages, p50 {} p99 {} ms",
            ms(c.redis_seen_p50_ms),
            ms(c.redis_seen_p99_ms),
        );
    }
    let cpu: Vec<String> = c
        .server_cpu_util_each
        .iter()
        .map(|u| u.map_or("?".to_owned(), |u| format!("{:.0}%", u * 100.0)))
        .collect();
    let rss: Vec<String> = c
        .server_rss_kib_each
        .iter()
        .map(|k| k.map_or("?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)))
        .collect();
    let _ = write!(
        s,
        "; servers cpu {}, RSS {} MiB",
        cpu.join("/"),
        rss.join("/")
    );
    if let (Some(us), Some(util)) = (c.redis_cpu_us_per_op, c.redis_cpu_util) {
        let _ = write!(s, "; Redis {us:.2} µs/op ({:.0}% cpu)", util * 100.0);
    }
}

/// What a rooms run adds to its line (its base fields are the churn
/// window's): memberships, echo against churn, the room broadcasts, and
/// `join_all`.
fn rooms_summary(s: &mut String, r: &RoomsRun) {
    let v = |v: Option<f64>| v.map_or("?".to_owned(), number);
    let _ = write!(
        s,
        "; {} sockets, {} memberships joined at {}/s, {} B/membership; \
         echo at {}/s {} µs/ack, churn ÷ echo {}; \
         {} room broadcasts at {}/s: p50 {} p99 {} ms ({} of {} deliveries missing); \
         join_all {} µs in the server, {} ms round trip, then {} of {} reached in {} ms",
        r.sockets,
        r.memberships,
        number(r.setup_joins_per_s),
        v(r.rss_bytes_per_membership),
        number(r.rate),
        v(r.echo_cpu_us_per_ack),
        v(r.churn_cpu_over_echo),
        r.room_broadcasts,
        number(r.room_rate),
        v(r.room_p50_ms),
        v(r.room_p99_ms),
        r.room_deliveries_missing,
        r.room_deliveries_expected,
        v(r.join_all_server_us),
        v(r.join_all_round_trip_ms),
        r.join_all_reached,
        r.sockets,
        v(r.join_all_last_delivery_ms),
    );
}

/// A number to three significant digits or so, with k/M.
pub(crate) fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.2}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One row of the table: a value read from the runs of one scenario.
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) scenario: &'static str,
    pub(crate) higher_is_better: bool,
    pub(crate) value: fn(&Measurement) -> Option<f64>,
}

/// The median of some values (the mean of the middle two for an even count).
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The markdown table: one row per metric; per server the median and the
/// min–max over the repetitions; then ours (the first server) divided by
/// each peer.
pub(crate) fn table(rows: &[Row], servers: &[String], results: &[Measurement]) -> String {
    let mut out = String::new();
    let (ours, peers) = match servers.split_first() {
        Some(split) => split,
        None => return out,
    };
    let _ = write!(out, "| metric |");
    for s in servers {
        let _ = write!(out, " {s} |");
    }
    for p in peers {
        let _ = write!(out, " {ours} ÷ {p} |");
    }
    out.push('\n');
    out.push_str("|---|");
    for _ in servers.iter().chain(peers) {
        out.push_str("---:|");
    }
    out.push('\n');
    for row in rows {
        let arrow = if row.higher_is_better { "↑" } else { "↓" };
        let _ = write!(out, "| {} {arrow} |", row.label);
        let mut medians = Vec::new();
        for server in servers {
            let mut values: Vec<f64> = results
                .iter()
                .filter(|m| m.scenario == row.scenario && m.server.as_deref() == Some(server))
                .filter_map(row.value)
                .filter(|v| v.is_finite())
                .collect();
            let med = median(&mut values);
            medians.push(med);
            match med {
                None => out.push_str(" — |"),
                Some(med) if values.len() == 1 => {
                    let _ = write!(out, " {} |", number(med));
                }
                Some(med) => {
                    let (lo, hi) = (values[0], values[values.len() - 1]);
                    let _ = write!(out, " {} ({}–{}) |", number(med), number(lo), number(hi));
                }
            }
        }
        for peer in &medians[1..] {
            match (medians[0], peer) {
                (Some(a), Some(b)) if *b != 0.0 => {
                    let _ = write!(out, " {:.2}× |", a / b);
                }
                _ => out.push_str(" — |"),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(99_812.0), "99.8k");
        assert_eq!(number(3_012.0), "3.01k");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(0.912), "0.91");
        assert_eq!(number(1_234_567.0), "1.23M");
    }

    #[test]
    fn table_with_ratio() {
        let m = |server: &str, t: f64| Measurement {
            scenario: "echo".into(),
            server: Some(server.into()),
            throughput: t,
            ..Measurement::default()
        };
        let rows = [Row {
            label: "acks/s".into(),
            scenario: "echo",
            higher_is_better: true,
            value: |m| Some(m.throughput),
        }];
        let servers = ["a".to_string(), "b".to_string()];
        let t = table(
            &rows,
            &servers,
            &[m("a", 200.0), m("a", 100.0), m("b", 100.0)],
        );
        assert!(
            t.contains("| acks/s ↑ | 150 (100–200) | 100 | 1.50× |"),
            "{t}"
        );
    }
}
