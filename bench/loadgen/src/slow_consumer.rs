//! `socketio-bench slow-consumer`: one client that never reads while the
//! server emits a gigabyte to it, directly and by broadcast; the server's
//! peak resident memory against its outgoing-queue limit.
//!
//! Each case starts the server afresh (so that its `VmHWM`, the peak RSS,
//! covers that case alone), joins one client over WebSocket, asks the server
//! with `flood` (examples/bench_server) to emit `--bytes` in strings of
//! `--chunk`, then reads nothing more. The server's RSS is sampled while it
//! emits; the table gives the baseline before the flood, the peak
//! (`VmHWM`), what the server managed to queue or write before it refused
//! or closed the connection, and how long it took.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    cli::{err, Args, Result},
    polling::HttpConn,
    procfs, sio,
    suite::{self, Server},
};

/// A flood of one kind against one queue limit.
struct Case {
    via: &'static str,
    max_buffered_bytes: Option<u64>,
}

/// What one case measured.
struct Outcome {
    baseline_kib: u64,
    peak_kib: u64,
    flood: serde_json::Value,
}

pub(crate) async fn run(mut args: Args) -> Result<()> {
    let command: String = args
        .opt("--server")?
        .ok_or_else(|| err!("slow-consumer needs --server CMD (examples/bench_server)"))?;
    let cpu: Option<String> = args.opt("--server-cpu")?;
    let bytes: u64 = args.get("--bytes", 1 << 30)?;
    let chunk: usize = args.get("--chunk", 64 << 10)?;
    let limits: Vec<String> = args.values("--max-buffered-bytes")?;
    args.finish()?;
    let server = Server {
        name: "socketio-axum".to_owned(),
        command,
    };
    // The library's default first, then each limit asked for.
    let mut limits: Vec<Option<u64>> = std::iter::once(None)
        .chain(limits.iter().map(|l| l.parse().ok()))
        .collect();
    limits.dedup();
    println!(
        "| via | max_buffered_bytes | offered | refused / closed after | baseline RSS | peak RSS (VmHWM) | peak − baseline | time |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|");
    for max_buffered_bytes in limits {
        for via in ["emit", "broadcast"] {
            let case = Case {
                via,
                max_buffered_bytes,
            };
            let o = run_case(&server, cpu.as_deref(), &case, bytes, chunk).await?;
            let f = &o.flood;
            let mib = |v: &serde_json::Value| {
                v.as_u64().map_or_else(
                    || "—".to_owned(),
                    |b| format!("{:.1} MiB", b as f64 / 1048576.0),
                )
            };
            let stopped = match (f["refused"].as_str(), f["closed_after"].as_u64()) {
                (Some(e), Some(at)) => format!("{e} ({} in)", mib(&at.into())),
                (Some(e), None) => e.to_owned(),
                (None, Some(at)) => format!("closed after {}", mib(&at.into())),
                (None, None) => "never".to_owned(),
            };
            println!(
                "| {via} | {} | {} | {stopped} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {} ms |",
                max_buffered_bytes.map_or_else(
                    || "16 MiB (default)".to_owned(),
                    |b| format!("{:.0} MiB", b as f64 / 1048576.0)
                ),
                mib(&f["offered"]),
                o.baseline_kib as f64 / 1024.0,
                o.peak_kib as f64 / 1024.0,
                o.peak_kib.saturating_sub(o.baseline_kib) as f64 / 1024.0,
                f["ms"],
            );
        }
    }
    Ok(())
}

async fn run_case(
    server: &Server,
    cpu: Option<&str>,
    case: &Case,
    bytes: u64,
    chunk: usize,
) -> Result<Outcome> {
    let port = suite::free_port(3700);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let env: Vec<(&str, String)> = case
        .max_buffered_bytes
        .map(|b| ("MAX_BUFFERED_BYTES", b.to_string()))
        .into_iter()
        .collect();
    let mut child = suite::start(server, cpu, port, &env)?;
    let result = async {
        suite::wait_ready(&mut child, addr).await?;
        let pid = child.id();
        let mut ws = sio::connect(addr, None).await?;
        let mut stats = HttpConn::open(addr).await?;
        // Settled baseline: the server has served one client and one request.
        stats.request("GET", "/stats", "").await?;
        let baseline_kib = procfs::rss_kib(pid)?;
        let ask = format!(
            r#"42["flood",{{"bytes":{bytes},"chunk":{chunk},"via":"{}"}}]"#,
            case.via
        );
        ws.send(Message::text(ask)).await?;
        // From here on the client reads nothing: `ws` is only kept open.
        let deadline = Instant::now() + Duration::from_secs(300);
        let flood = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let body = stats.request("GET", "/stats", "").await?;
            let s: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| err!("/stats: {e}"))?;
            if !s["flood"].is_null() {
                break s["flood"].clone();
            }
            if Instant::now() > deadline {
                return Err(err!("the flood did not end within 300 s"));
            }
        };
        let peak_kib = procfs::peak_rss_kib(pid)?;
        drop(ws);
        Ok(Outcome {
            baseline_kib,
            peak_kib,
            flood,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}
