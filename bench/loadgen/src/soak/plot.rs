//! The plot of a soak run, as a small SVG written by hand: the server's RSS
//! (left axis) and the clients connected (right axis) over time, with the
//! phases of the run marked.

use std::fmt::Write as _;

use super::sample::{Phase, Sample};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 64.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 44.0;
const RSS_COLOUR: &str = "#1f5fa8";
const CLIENTS_COLOUR: &str = "#d9822b";

/// A round step that divides `max` into about `ticks` parts (1, 2 or 5
/// times a power of ten).
fn step(max: f64, ticks: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / ticks;
    let power = 10f64.powf(raw.log10().floor());
    let unit = raw / power;
    let nice = if unit <= 1.0 {
        1.0
    } else if unit <= 2.0 {
        2.0
    } else if unit <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A value on a tick, without trailing zeros.
fn label(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The SVG document for `samples`; `title` goes at the top.
pub(super) fn svg(samples: &[Sample], title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="16" font-size="13">{}</text>"#,
        escape(title)
    );
    let t_end = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let minutes = t_end > 300.0;
    let (t_unit, t_name) = if minutes { (60.0, "min") } else { (1.0, "s") };
    let rss = |s: &Sample| s.rss_kib.map(|k| k as f64 / 1024.0);
    let clients = |s: &Sample| Some((s.ws + s.polling) as f64);
    let rss_max = samples.iter().filter_map(rss).fold(0.0, f64::max);
    let clients_max = samples.iter().filter_map(clients).fold(0.0, f64::max);
    let rss_step = step(rss_max, 5.0);
    let clients_step = step(clients_max, 5.0);
    let rss_top = (rss_max / rss_step).ceil().max(1.0) * rss_step;
    let clients_top = (clients_max / clients_step).ceil().max(1.0) * clients_step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: f64| LEFT + t / t_end * plot_w;
    let y = |v: f64, top: f64| TOP + plot_h - v / top * plot_h;

    // Grid and left axis (RSS), right axis (clients).
    let mut v = 0.0;
    while v <= rss_top + 1e-9 {
        let yy = y(v, rss_top);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{RSS_COLOUR}">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            yy + 4.0,
            label(v)
        );
        v += rss_step;
    }
    let mut v = 0.0;
    while v <= clients_top + 1e-9 {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" fill="{CLIENTS_COLOUR}">{}</text>"#,
            LEFT + plot_w + 6.0,
            y(v, clients_top) + 4.0,
            label(v)
        );
        v += clients_step;
    }
    // Time axis.
    let t_step = step(t_end / t_unit, 8.0);
    let mut t = 0.0;
    while t * t_unit <= t_end + 1e-9 {
        let xx = x(t * t_unit);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#999"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 4.0,
            TOP + plot_h + 16.0,
            label(t)
        );
        t += t_step;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time, {t_name}</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 8.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle" fill="{RSS_COLOUR}">server RSS, MiB</text>"#,
        TOP + plot_h / 2.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" fill="{CLIENTS_COLOUR}">clients connected</text>"#,
        WIDTH - 14.0,
        TOP + plot_h / 2.0
    );
    // Where each phase after the baseline begins; a label that would run
    // into the one before goes a row lower.
    let mut previous = Phase::Cold;
    let mut row_ends = [f64::MIN; 3];
    for s in samples {
        if s.phase != previous {
            previous = s.phase;
            let xx = x(s.t);
            let name = s.phase.name();
            let row = row_ends.iter().position(|end| xx >= *end).unwrap_or(0);
            row_ends[row] = xx + 6.0 + 6.0 * name.len() as f64;
            let _ = writeln!(
                out,
                r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="3 3"/><text x="{:.1}" y="{:.1}" fill="#666">{name}</text>"##,
                TOP + plot_h,
                xx + 3.0,
                TOP + 11.0 + 12.0 * row as f64,
            );
        }
    }
    let line = |value: &dyn Fn(&Sample) -> Option<f64>, top: f64, colour: &str, dash: &str| {
        let points: Vec<String> = samples
            .iter()
            .filter_map(|s| value(s).map(|v| format!("{:.1},{:.1}", x(s.t), y(v, top))))
            .collect();
        format!(
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{}"/>"#,
            points.join(" ")
        )
    };
    let _ = writeln!(
        out,
        "{}",
        line(
            &clients,
            clients_top,
            CLIENTS_COLOUR,
            r#" stroke-dasharray="5 3""#
        )
    );
    let _ = writeln!(out, "{}", line(&rss, rss_top, RSS_COLOUR, ""));
    // Legend.
    let legend_x = WIDTH - RIGHT - 250.0;
    let _ = writeln!(
        out,
        r#"<line x1="{legend_x}" y1="27" x2="{:.1}" y2="27" stroke="{RSS_COLOUR}" stroke-width="1.5"/><text x="{:.1}" y="31">server RSS</text>"#,
        legend_x + 20.0,
        legend_x + 24.0
    );
    let _ = writeln!(
        out,
        r#"<line x1="{:.1}" y1="27" x2="{:.1}" y2="27" stroke="{CLIENTS_COLOUR}" stroke-width="1.5" stroke-dasharray="5 3"/><text x="{:.1}" y="31">clients connected</text>"#,
        legend_x + 110.0,
        legend_x + 130.0,
        legend_x + 134.0
    );
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, phase: Phase, rss_mib: u64, ws: usize) -> Sample {
        Sample {
            t,
            phase,
            rss_kib: Some(rss_mib * 1024),
            anon_kib: None,
            fds: None,
            threads: None,
            tasks: None,
            sockets: None,
            ws,
            polling: 0,
        }
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(step(93.0, 5.0), 20.0);
        assert_eq!(step(11_000.0, 5.0), 5_000.0);
        assert_eq!(step(4.2, 5.0), 1.0);
        assert_eq!(step(0.0, 5.0), 1.0);
        assert_eq!(label(2.5), "2.5");
        assert_eq!(label(20.0), "20");
    }

    #[test]
    fn one_line_per_series_and_a_mark_per_phase() {
        let samples = [
            sample(0.0, Phase::Cold, 4, 0),
            sample(2.0, Phase::Run, 40, 900),
            sample(4.0, Phase::Run, 60, 1000),
            sample(6.0, Phase::Leave, 30, 0),
            sample(8.0, Phase::End, 5, 0),
        ];
        let svg = svg(&samples, "soak <test>");
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">run</text>") && svg.contains(">leave</text>"));
        assert!(svg.contains(">end</text>"));
        assert!(svg.contains("soak &lt;test&gt;"));
        // RSS 60 MiB at 4 s: top of an axis that goes to 60.
        assert!(svg.contains(&format!(
            "{:.1},{:.1}",
            LEFT + 4.0 / 8.0 * (WIDTH - LEFT - RIGHT),
            TOP
        )));
    }
}
