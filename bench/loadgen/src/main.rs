//! `socketio-bench`: the load generator of the Socket.IO benchmarks
//! (`docs/benchmarks.md`). It speaks the wire protocol itself, Engine.IO v4
//! and Socket.IO v5 over WebSocket (tokio-tungstenite), over HTTP/1.1
//! long-polling and over WebTransport (wtransport's client), so that every
//! server is measured through the same client.
//!
//! One scenario against a running server:
//!
//! ```text
//! socketio-bench echo --addr 127.0.0.1:3000 --pid $(pgrep -n bench_server)
//! socketio-bench echo --rate 20000 ...
//! socketio-bench broadcast --clients 1000 [--rate 50000]
//! socketio-bench connect --conns 10000 --in-flight 64
//! socketio-bench idle --conns 100000 --sources 8 --idle 30
//! socketio-bench idle --transport webtransport --conns 1000 --idle 30
//! socketio-bench cluster --addrs 127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003 --clients 1000 [--rate 10000] [--redis-prefix P]
//! socketio-bench polling --sessions 20
//! socketio-bench rooms --conns 10000 --shared-rooms 1000 [--rate 10000] [--room-rate 100]
//! socketio-bench soak --server target/release/examples/bench_server --duration 60s --ws 1000 --polling 100 --check
//! socketio-bench slow-consumer --server target/release/examples/bench_server
//! ```
//!
//! or the whole suite, which starts each server itself (pinned with
//! `taskset`), interleaves them over several repetitions and prints a
//! markdown table (`bench/run.sh` builds everything and calls it):
//!
//! ```text
//! socketio-bench suite --server socketio-axum=target/release/examples/bench_server --server ...
//! ```

mod cli;
mod clock;
mod conn;
mod deflate;
mod measure;
mod polling;
mod procfs;
mod redis;
mod report;
mod rng;
mod scenario;
mod sio;
mod slow_consumer;
mod soak;
mod suite;
mod wt;

use std::process::ExitCode;

const USAGE: &str = "\
usage: socketio-bench <command> [options]

commands (against a running server):
  echo        echo with ack; closed loop, or open loop with --rate ACKS_PER_S
  broadcast   fan-out of `broadcast` to --clients sockets; closed loop, or --rate DELIVERIES_PER_S
  connect     connect storm of --conns connections, --in-flight at once; then idle RSS per connection
  idle        connect storm of --conns connections (100000), then --idle SECS answering the server's pings:
              connections/s, RSS per connection, server CPU while idle and per heartbeat
  polling     echo with ack over HTTP long-polling, --sessions sessions, closed loop
  cluster     fan-out of `broadcast` over servers of one cluster (--addrs, the sender's first),
              --clients sockets on each; closed loop, or --rate DELIVERIES_PER_S over the cluster
  rooms       --conns sockets (10000) each join a room of their own and one of --shared-rooms;
              then echo, and join/leave churn, at --rate events/s (10000) from --churners sockets,
              then the churn with --room-rate room broadcasts/s, then a server-side join of all
  suite       start each --server NAME=COMMAND in turn, run every scenario, print a markdown table
  soak        clients with churn for a long time; the server's RSS, descriptors and tasks from start to end
  slow-consumer  a client that never reads while the server emits --bytes to it; the server's peak RSS
  deflate     a large JSON broadcast with WebSocket compression off and on: wire bytes, server CPU

common options:
  --addr HOST:PORT    server address (default 127.0.0.1:3000)
  --pid PID           server process, for CPU and RSS from /proc (optional)
  --warmup SECS       not measured (default 2)
  --duration SECS     measured window (default 10)
  --payload BYTES     padding in each event's argument (default 64)
  --conns N           echo: connections (100); connect, rooms: connections (10000)
  --window N          echo: acks awaited per connection (1); broadcast: broadcasts in flight (4)
  --rate N            echo: acks/s; broadcast: deliveries/s (open loop, fixed rate); rooms: joins
                      and leaves/s, and echo acks/s (10000)
  --clients N         broadcast: sockets receiving (1000)
  --in-flight N       connect: handshakes at once (64)
  --sources N         connect: source addresses 127.0.0.1..N, against port exhaustion (auto)
  --sessions N        polling: sessions (20)
  --shared-rooms N    rooms: shared rooms the sockets are spread over (1000)
  --churners N        rooms: sockets that echo, then join and leave, at --rate in all (100)
  --room-rate N       rooms: broadcasts/s to a random shared room while churning (100)
  --settle SECS       connect, idle: wait before reading the RSS (1)
  --idle SECS         idle: the measured idle window after the storm (30)
  --addrs A,B,C       cluster: the servers (HOST:PORT, comma-separated), the sender's first
  --pids P,Q,R        cluster: their processes, in the same order, for CPU and RSS
  --redis-url URL     cluster: the servers' Redis, whose CPU is read too if its process is
                      visible here (redis://127.0.0.1:6379)
  --redis-prefix P    cluster: the servers' key prefix (REDIS_PREFIX): the generator subscribes to
                      P* on Redis and times each broadcast's message there (not measured without it)
  --transport T       echo, connect, idle: websocket (default) or webtransport, on the UDP port
                      of --addr's number; the server's certificate is pinned by its hash
  --cert-hash B64     webtransport: the certificate's base64 SHA-256 (default: read from the
                      server's GET /webtransport-hash, which bench_server serves with WEBTRANSPORT=1)
  --endpoints N       webtransport: client endpoints, one UDP socket each (one per 100 sessions)

suite options:
  --server NAME=CMD   a server to start (repeatable; the first is ours, the others its peers);
                      CMD runs under `sh -c` with PORT set, pinned by `taskset -c --server-cpu`
  --server-cpu N      cpu for the servers (0); run the generator itself pinned elsewhere
  --reps N            repetitions, servers interleaved (5)
  --quick             1 repetition, short windows, 2,000 connections: a smoke check
  --only LIST         scenarios to run, comma-separated (all): echo,echo-rate,broadcast,broadcast-rate,connect,polling;
                      `idle`, `cluster-closed` and `cluster-rate` (`cluster`: both) and `rooms` run
                      only when named here
  --skip SERVER:SCEN  a pair not to run (repeatable), e.g. floor:polling
  --connect-conns N   connections of the connect storm (10000; 2000 with --quick)
  --idle-conns N      connections of the idle scenario (100000); --idle SECS its idle window (30),
                      --settle SECS its wait before the RSS (1), --sources N its source addresses (auto)
  --idle-ping-interval S   start the servers of the idle scenario with PING_INTERVAL_MS set (their default)
  --cluster-servers N  servers of each cluster (3), each started with REDIS_URL and a REDIS_PREFIX of the run's
  --cluster-clients N  sockets on each server (1000; 200 with --quick)
  --cluster-window N  broadcasts in flight in cluster-closed (4)
  --cluster-rate N    deliveries/s over the cluster in cluster-rate (10000)
  --cluster-cpu CPUS  cpus of the cluster's next server (repeatable, in server order, cycled; all on
                      --server-cpu if absent)
  --redis-url URL     the cluster's Redis (redis://127.0.0.1:6379)
  --server-transport NAME=T  measure server NAME over transport T (webtransport): started with
                      WEBTRANSPORT=1, it runs echo, echo-rate, connect and idle, and skips the rest;
                      --endpoints N its client endpoints (one per 100 sessions)
  --rooms-sockets N   sockets of the rooms scenario (10000; 1000 with --quick), --rooms-shared N
                      its shared rooms (1000; 100 with --quick), --rooms-rate N its churn and echo
                      rate (10000/s) from --rooms-churners N sockets (100), --rooms-room-rate N its
                      room broadcasts/s while churning (100)
  --out FILE          raw results, one JSON object per line

slow-consumer options:
  --server CMD        the server to start for each case (examples/bench_server), --server-cpu N
  --bytes N           what the server emits to the client (1 GiB), --chunk N in strings of (64 KiB)
  --max-buffered-bytes N   a queue limit to run besides the default (repeatable)

deflate options:
  --server CMD        the server to start for each mode (examples/bench_server), --server-cpu N
  --clients N         receivers (20), --broadcasts N (20), --size BYTES of the JSON document (1000000)
  --level N           zlib level to run compressed (repeatable; 6)

soak options (durations in seconds, or with a unit: 500ms, 60s, 30m, 1h):
  --server CMD        start CMD (sh -c, with PORT, PING_INTERVAL_MS, PING_TIMEOUT_MS set), stop it after;
                      without it, give --addr and --pid of a running server
  --server-cpu N      pin the server it starts to cpu N (taskset)
  --ping-interval S   heartbeat of the server it starts (5s), --ping-timeout S (5s)
  --ws N              WebSocket clients (10000)
  --polling N         long-polling clients (1000)
  --duration S        how long clients come and go (30m)
  --lifetime S        mean client lifetime, each drawn in 0.5..1.5 times it (60s)
  --event-every S     mean time between a client's echo events with ack (5s)
  --broadcast-every S time between numbered broadcasts to every client (1s)
  --ack-timeout S     an ack later than this is a failure (10s)
  --drop F            share of clients that leave by dropping their connections (0.15)
  --silent F          share that stop answering pings, for the heartbeat to close (0.15)
  --rooms N           rooms the clients join, one each (100)
  --in-flight N       handshakes at once (64)
  --sources N         source addresses 127.0.0.1..N (auto)
  --sample-every S    sampling period (2s)
  --settle S          wait before the baseline and before the end sample (5s)
  --drain S           after the clients left, wait at most this for the server to count no
                      socket and be back to its baseline tasks and descriptors (60s)
  --seed N            random seed (1)
  --out PREFIX        writes PREFIX.csv and PREFIX.svg (bench/results/soak-<Unix time>)
  --check             exit 1 unless the end is clean (docs/benchmarks.md, Soak)
  --rss-slack MIB     with --check: the end RSS may exceed the baseline by 10 % plus this (4)
";

fn main() -> ExitCode {
    clock::init();
    let mut args = cli::Args::from_env();
    let Some(command) = args.command() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    if command == "help" || args.flag("--help") || args.flag("-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if let Err(e) = raise_fd_limit() {
        eprintln!("socketio-bench: could not raise the open-file limit: {e}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("socketio-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command.as_str() {
            "suite" => suite::run(args).await,
            "soak" => soak::run(args).await,
            "slow-consumer" => slow_consumer::run(args).await,
            "deflate" => deflate::run(args).await,
            other => scenario::run_one(other, &mut args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("socketio-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ten thousand connections need ten thousand descriptors here and in the
/// server, which inherits this limit from the suite.
fn raise_fd_limit() -> std::io::Result<()> {
    const WANTED: u64 = 65_536;
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft >= WANTED {
        return Ok(());
    }
    // Raising the hard limit needs privileges; fall back to the hard limit.
    if rlimit::Resource::NOFILE
        .set(WANTED, WANTED.max(hard))
        .is_err()
    {
        rlimit::Resource::NOFILE.set(hard, hard)?;
    }
    Ok(())
}
