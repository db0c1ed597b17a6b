//! What a soak run prints: the server's resources at the start, the peak
//! and the end, the clients' counts, and the verdict of `--check`.

use std::{fmt::Write as _, sync::atomic::Ordering, time::Duration};

use super::{
    population::{Counts, Fault, Heartbeat},
    sample::Sample,
    Plan,
};

/// `12,345`.
pub(super) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One value of a sample.
type Field = fn(&Sample) -> Option<u64>;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// What the run saw, for the report and the check.
#[derive(Debug)]
pub(super) struct Outcome<'a> {
    pub(super) plan: &'a Plan,
    pub(super) heartbeat: Heartbeat,
    /// How long after the last client left the server counted no socket
    /// and was back to its cold tasks and descriptors; `None`: not within
    /// the drain time.
    pub(super) drained_after: Option<Duration>,
    /// Before any client.
    pub(super) cold: Sample,
    /// After the warm-up cycle, if there was one.
    pub(super) warm: Option<Sample>,
    pub(super) end: Sample,
    pub(super) samples: &'a [Sample],
    /// The measured run's counts.
    pub(super) counts: &'a Counts,
    pub(super) warm_up_faults: u64,
}

/// The share of the baseline RSS that the end may exceed it by, before the
/// slack (the 10 %).
pub(super) const RSS_TOLERANCE: f64 = 0.10;

impl Outcome<'_> {
    fn peak(&self, value: Field) -> Option<u64> {
        self.samples.iter().filter_map(value).max()
    }

    /// The baseline the end RSS is held to: the warm one if there was a
    /// warm-up, else the cold one.
    fn rss_reference(&self) -> &Sample {
        self.warm.as_ref().unwrap_or(&self.cold)
    }

    /// The highest RSS the end may have and pass: 10 % above the baseline,
    /// plus the slack.
    pub(super) fn rss_allowed_kib(&self) -> Option<u64> {
        let base = self.rss_reference().rss_kib? as f64;
        Some((base * (1.0 + RSS_TOLERANCE) + self.plan.rss_slack_mib * 1024.0) as u64)
    }

    /// The markdown report.
    pub(super) fn table(&self) -> String {
        let mut out = String::new();
        let warm = self.warm.as_ref();
        let _ = writeln!(
            out,
            "| server | before any client |{} peak | end | end − before any client |",
            if warm.is_some() {
                " after the warm-up |"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "|---|---:|{}---:|---:|---:|",
            if warm.is_some() { "---:|" } else { "" }
        );
        let rows: [(&str, Field, bool); 7] = [
            ("RSS, MiB", |s| s.rss_kib, true),
            ("anonymous RSS (heap, stacks), MiB", |s| s.anon_kib, true),
            ("open file descriptors", |s| s.fds, false),
            ("threads", |s| s.threads, false),
            ("tokio tasks alive", |s| s.tasks, false),
            ("sockets counted by the server", |s| s.sockets, false),
            (
                "clients connected",
                |s| Some((s.ws + s.polling) as u64),
                false,
            ),
        ];
        let cell = |v: Option<u64>, in_mib: bool| match v {
            None => "—".to_string(),
            Some(v) if in_mib => format!("{:.1}", mib(v)),
            Some(v) => grouped(v),
        };
        for (name, value, in_mib) in rows {
            let (start, end) = (value(&self.cold), value(&self.end));
            let _ = write!(out, "| {name} | {} |", cell(start, in_mib));
            if let Some(w) = warm {
                let _ = write!(out, " {} |", cell(value(w), in_mib));
            }
            let diff = match (start, end) {
                (Some(a), Some(b)) if in_mib => format!(
                    "{:+.1} ({:+.0} %)",
                    (b as f64 - a as f64) / 1024.0,
                    (b as f64 - a as f64) / a.max(1) as f64 * 100.0
                ),
                (Some(a), Some(b)) => format!("{:+}", b as i64 - a as i64),
                _ => "—".into(),
            };
            let _ = writeln!(
                out,
                " {} | {} | {diff} |",
                cell(self.peak(value), in_mib),
                cell(end, in_mib)
            );
        }
        out.push('\n');
        let c = self.counts;
        let _ = writeln!(out, "| clients (measured run) | |");
        let _ = writeln!(out, "|---|---:|");
        let _ = writeln!(
            out,
            "| connections made: WebSocket / polling | {} / {} |",
            grouped(c.ws_connects.get()),
            grouped(c.polling_connects.get())
        );
        let _ = writeln!(
            out,
            "| left cleanly / dropped their connections / went silent | {} / {} / {} |",
            grouped(c.clean.get()),
            grouped(c.dropped.get()),
            grouped(c.silent.get())
        );
        let slowest = c.slowest_timeout_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "| silent sessions closed by the server's heartbeat ({:?} + {:?}); the slowest after | {} ({slowest:.1} s) |",
            self.heartbeat.interval,
            self.heartbeat.timeout,
            grouped(c.timed_out.get())
        );
        let drained = match self.drained_after {
            Some(d) => format!("{:.1} s", d.as_secs_f64()),
            None => format!(
                "not within {:?}",
                self.plan.drain.max(self.heartbeat.bound())
            ),
        };
        let _ = writeln!(
            out,
            "| server back to no socket and its first tasks and descriptors, after the last client left | {drained} |"
        );
        let _ = writeln!(
            out,
            "| events acked (join, echo, broadcast) | {} |",
            grouped(c.acks.get())
        );
        let _ = writeln!(
            out,
            "| broadcasts sent / deliveries received | {} / {} |",
            grouped(c.broadcasts_sent.get()),
            grouped(c.broadcasts_received.get())
        );
        for fault in Fault::ALL {
            let _ = writeln!(out, "| {} | {} |", fault.name(), grouped(c.faults(fault)));
        }
        if self.warm.is_some() {
            let _ = writeln!(
                out,
                "| faults in the warm-up | {} |",
                grouped(self.warm_up_faults)
            );
        }
        out.push('\n');
        if let (Some(end), Some(allowed), Some(base)) = (
            self.end.rss_kib,
            self.rss_allowed_kib(),
            self.rss_reference().rss_kib,
        ) {
            let _ = writeln!(
                out,
                "RSS at the end within 10 % + {} MiB of the {} baseline ({:.1} MiB): {} ({:.1} MiB, at most {:.1})",
                self.plan.rss_slack_mib,
                if self.warm.is_some() { "warm" } else { "cold" },
                mib(base),
                if end <= allowed { "yes" } else { "no" },
                mib(end),
                mib(allowed)
            );
        }
        out
    }

    /// What `--check` finds wrong; empty when the end is clean.
    pub(super) fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let (cold, end) = (&self.cold, &self.end);
        match (end.rss_kib, self.rss_allowed_kib()) {
            (Some(e), Some(allowed)) if e > allowed => failures.push(format!(
                "RSS at the end {:.1} MiB, over the {:.1} MiB allowed ({} baseline {:.1} MiB + 10 % + {} MiB)",
                mib(e),
                mib(allowed),
                if self.warm.is_some() { "warm" } else { "cold" },
                mib(self.rss_reference().rss_kib.unwrap_or(0)),
                self.plan.rss_slack_mib
            )),
            (Some(_), Some(_)) => {}
            _ => failures.push("no RSS: the server's pid is needed (--pid or --server)".into()),
        }
        let leaks: [(&str, Option<u64>, Option<u64>); 2] = [
            ("tokio tasks", cold.tasks, end.tasks),
            ("open file descriptors", cold.fds, end.fds),
        ];
        for (name, start, end) in leaks {
            match (start, end) {
                (Some(start), Some(end)) if end > start => failures.push(format!(
                    "{name}: {start} before any client, {end} at the end"
                )),
                (Some(_), Some(_)) => {}
                _ => failures.push(format!("{name} not sampled")),
            }
        }
        match end.sockets {
            Some(0) => {}
            Some(n) => failures.push(format!("the server still counts {n} sockets")),
            None => failures.push("sockets not sampled (no /stats)".into()),
        }
        for fault in Fault::ALL {
            let n = self.counts.faults(fault);
            if n > 0 {
                failures.push(format!("{n} {}", fault.name()));
            }
        }
        if self.warm_up_faults > 0 {
            failures.push(format!("{} faults in the warm-up", self.warm_up_faults));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::sample::Phase;

    fn sample(phase: Phase, rss_kib: u64, tasks: u64, fds: u64, sockets: u64) -> Sample {
        Sample {
            t: 0.0,
            phase,
            rss_kib: Some(rss_kib),
            anon_kib: Some(rss_kib / 2),
            fds: Some(fds),
            threads: Some(3),
            tasks: Some(tasks),
            sockets: Some(sockets),
            ws: 0,
            polling: 0,
        }
    }

    fn outcome<'a>(plan: &'a Plan, samples: &'a [Sample], counts: &'a Counts) -> Outcome<'a> {
        Outcome {
            plan,
            heartbeat: Heartbeat {
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(5),
            },
            drained_after: Some(Duration::from_secs(1)),
            cold: samples[0],
            warm: None,
            end: samples[samples.len() - 1],
            samples,
            counts,
            warm_up_faults: 0,
        }
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn a_clean_end_passes() {
        let plan = Plan::default();
        let counts = Counts::default();
        // 10 MiB baseline: 10 % + 4 MiB of slack allows 15 MiB.
        let samples = [
            sample(Phase::Cold, 10 * 1024, 2, 9, 0),
            sample(Phase::Run, 200 * 1024, 13_000, 13_000, 11_000),
            sample(Phase::End, 15 * 1024, 2, 9, 0),
        ];
        let o = outcome(&plan, &samples, &counts);
        assert_eq!(o.failures(), Vec::<String>::new());
        let table = o.table();
        assert!(
            table.contains("| RSS, MiB | 10.0 | 200.0 | 15.0 | +5.0 (+50 %) |"),
            "{table}"
        );
        assert!(
            table.contains("| tokio tasks alive | 2 | 13,000 | 2 | +0 |"),
            "{table}"
        );
        assert!(
            table.contains("within 10 % + 4 MiB of the cold baseline (10.0 MiB): yes"),
            "{table}"
        );
    }

    #[test]
    fn a_warm_up_moves_the_rss_baseline_only() {
        let plan = Plan::default();
        let counts = Counts::default();
        let samples = [
            sample(Phase::Cold, 5 * 1024, 2, 9, 0),
            sample(Phase::Warm, 20 * 1024, 2, 9, 0),
            sample(Phase::End, 23 * 1024, 3, 9, 0),
        ];
        let mut o = outcome(&plan, &samples, &counts);
        o.warm = Some(samples[1]);
        // 20 MiB + 10 % + 4 MiB allows 26 MiB; the tasks are held to the
        // cold baseline.
        assert_eq!(
            o.failures(),
            vec!["tokio tasks: 2 before any client, 3 at the end".to_string()]
        );
        let table = o.table();
        assert!(
            table.contains("| RSS, MiB | 5.0 | 20.0 | 23.0 | 23.0 | +18.0 (+360 %) |"),
            "{table}"
        );
    }

    #[test]
    fn leaks_and_faults_fail() {
        let plan = Plan::default();
        let counts = Counts::default();
        counts.fault(Fault::Ack, format_args!("late"));
        let samples = [
            sample(Phase::Cold, 10 * 1024, 2, 9, 0),
            sample(Phase::End, 15 * 1024 + 1, 3, 10, 1),
        ];
        let failures = outcome(&plan, &samples, &counts).failures();
        assert_eq!(failures.len(), 5, "{failures:?}");
        assert!(failures[0].starts_with("RSS at the end"), "{failures:?}");
        assert_eq!(failures[4], "1 ack failures");
    }
}
