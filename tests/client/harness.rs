//! Watching a client: every lifecycle callback and every event, recorded
//! with the instant it happened, to wait for and to check timings against.

use std::{
    fmt,
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use serde_json::Value;
use socketio_client::{
    extract::{Event, RawArgs},
    Client, ClientBuilder, DisconnectReason, Error, Socket, Transport, Transports,
};
use tokio::sync::mpsc;

/// Upper bound of every wait: far above what any step takes, so that it
/// only fires when something is broken.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test with `what` if it takes longer than [`TIMEOUT`].
pub(crate) async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A client with short reconnection delays, for tests.
pub(crate) fn builder(url: &str, transports: Transports) -> ClientBuilder {
    Client::builder(url)
        .transports(transports)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(200))
        .randomization_factor(0.0)
        .connect_timeout(Duration::from_secs(5))
}

/// Something the client reported.
#[derive(Debug, Clone)]
pub(crate) enum Seen {
    Connect(String),
    ConnectError(String, Error),
    Disconnect(String, DisconnectReason),
    ReconnectAttempt(u32),
    Reconnect(u32),
    ReconnectError(Error),
    ReconnectFailed,
    Upgrade(Transport),
    /// An event: namespace, name, arguments.
    Event(String, String, Vec<Value>),
}

/// Records what clients and sockets report, in order.
pub(crate) struct Probe {
    tx: mpsc::UnboundedSender<(Instant, Seen)>,
    rx: mpsc::UnboundedReceiver<(Instant, Seen)>,
    /// Everything taken from the channel so far.
    pub(crate) history: Vec<(Instant, Seen)>,
    /// How far [`next`](Self::next) has read in `history`.
    read: usize,
}

impl Probe {
    pub(crate) fn new() -> Self {
        // `RUST_LOG=socketio_client=debug` shows what the client does.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (tx, rx) = mpsc::unbounded_channel();
        Probe {
            tx,
            rx,
            history: Vec::new(),
            read: 0,
        }
    }

    /// Records the client's reconnection and upgrade events.
    pub(crate) fn watch_client(&self, client: &Client) {
        let tx = self.tx.clone();
        client.on_reconnect_attempt(move |n| send(&tx, Seen::ReconnectAttempt(n)));
        let tx = self.tx.clone();
        client.on_reconnect(move |n| send(&tx, Seen::Reconnect(n)));
        let tx = self.tx.clone();
        client.on_reconnect_error(move |e| send(&tx, Seen::ReconnectError(e.clone())));
        let tx = self.tx.clone();
        client.on_reconnect_failed(move || send(&tx, Seen::ReconnectFailed));
        let tx = self.tx.clone();
        client.on_upgrade(move |transport| send(&tx, Seen::Upgrade(transport)));
    }

    /// Records the socket's lifecycle and every event it receives.
    pub(crate) fn watch_socket(&self, socket: &Socket) {
        let ns = socket.ns().to_owned();
        let (tx, n) = (self.tx.clone(), ns.clone());
        socket.on_connect(move || send(&tx, Seen::Connect(n.clone())));
        let (tx, n) = (self.tx.clone(), ns.clone());
        socket.on_connect_error(move |e| send(&tx, Seen::ConnectError(n.clone(), e.clone())));
        let (tx, n) = (self.tx.clone(), ns.clone());
        socket.on_disconnect(move |reason| send(&tx, Seen::Disconnect(n.clone(), reason)));
        let tx = self.tx.clone();
        socket.on_any(move |Event(name): Event, raw: RawArgs| {
            let args: Vec<Value> =
                serde_json::from_str(&format!("[{}]", raw.args)).expect("JSON arguments");
            send(&tx, Seen::Event(ns.clone(), name.to_string(), args));
            async {}
        });
    }

    /// The next thing seen, after those already read.
    pub(crate) async fn next(&mut self) -> (Instant, Seen) {
        if let Some(seen) = self.history.get(self.read) {
            self.read += 1;
            return seen.clone();
        }
        let seen = within("the client to report something", self.rx.recv())
            .await
            .expect("the probe's sender lives as long as the probe");
        self.history.push(seen.clone());
        self.read += 1;
        seen
    }

    /// Waits for the first thing (after those already read) for which
    /// `pick` returns `Some`; what comes before it is read and skipped.
    pub(crate) async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Seen) -> Option<T>,
    ) -> (Instant, T) {
        within(what, async {
            loop {
                let (at, seen) = self.next().await;
                if let Some(found) = pick(&seen) {
                    return (at, found);
                }
            }
        })
        .await
    }

    /// The first thing ever seen (read or not) for which `pick` returns
    /// `Some`, waiting for it if it has not come yet; reads nothing, so
    /// that [`next`](Self::next) and [`wait_for`](Self::wait_for) still
    /// see what came before or after it.
    pub(crate) async fn find<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Seen) -> Option<T>,
    ) -> T {
        while let Ok(seen) = self.rx.try_recv() {
            self.history.push(seen);
        }
        if let Some(found) = self.history.iter().find_map(|(_, s)| pick(s)) {
            return found;
        }
        within(what, async {
            loop {
                let seen = self
                    .rx
                    .recv()
                    .await
                    .expect("the probe's sender lives as long as the probe");
                let found = pick(&seen.1);
                self.history.push(seen);
                if let Some(found) = found {
                    return found;
                }
            }
        })
        .await
    }

    /// Waits for event `name` on `ns`, and returns its arguments.
    pub(crate) async fn event(&mut self, ns: &str, name: &str) -> Vec<Value> {
        self.wait_for(&format!("event {name:?} on {ns}"), |s| match s {
            Seen::Event(n, e, args) if n == ns && e == name => Some(args.clone()),
            _ => None,
        })
        .await
        .1
    }

    /// Waits for event `name` on each of `namespaces`, in whatever order
    /// they come, and returns the first argument of each, in the order of
    /// `namespaces`.
    pub(crate) async fn event_on_each(&mut self, name: &str, namespaces: &[&str]) -> Vec<Value> {
        let mut found: Vec<Option<Value>> = vec![None; namespaces.len()];
        while found.iter().any(Option::is_none) {
            let (_, (i, arg)) = self
                .wait_for(&format!("event {name:?} on {namespaces:?}"), |s| match s {
                    Seen::Event(ns, e, args) if e == name => {
                        let i = namespaces.iter().position(|n| n == ns)?;
                        Some((i, args.first().cloned().unwrap_or_default()))
                    }
                    _ => None,
                })
                .await;
            found[i] = Some(arg);
        }
        found.into_iter().flatten().collect()
    }

    /// Waits for the `connect` of `ns`.
    pub(crate) async fn connected(&mut self, ns: &str) -> Instant {
        self.wait_for(&format!("connect on {ns}"), |s| match s {
            Seen::Connect(n) if n == ns => Some(()),
            _ => None,
        })
        .await
        .0
    }

    /// Waits for the `disconnect` of `ns`, and returns its reason.
    pub(crate) async fn disconnected(&mut self, ns: &str) -> (Instant, DisconnectReason) {
        self.wait_for(&format!("disconnect on {ns}"), |s| match s {
            Seen::Disconnect(n, reason) if n == ns => Some(*reason),
            _ => None,
        })
        .await
    }

    /// Whatever arrived without being waited for, without waiting.
    pub(crate) fn drain(&mut self) -> Vec<Seen> {
        while let Ok(seen) = self.rx.try_recv() {
            self.history.push(seen);
        }
        let rest = self.history[self.read..]
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        self.read = self.history.len();
        rest
    }
}

fn send(tx: &mpsc::UnboundedSender<(Instant, Seen)>, seen: Seen) {
    let _ = tx.send((Instant::now(), seen));
}

/// Polls `cond` every few milliseconds until it holds: for state with no
/// event to wait on, such as the transport after an upgrade.
pub(crate) async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    within(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Counts, on this thread, the `tracing` events whose message is `message`
/// (the client's connection task runs on the test's thread under
/// `#[tokio::test]`): for what the client only tells its log, such as an
/// acknowledgement nobody waits for. Counts while the guard lives.
pub(crate) fn count_logs(
    message: &'static str,
) -> (tracing::subscriber::DefaultGuard, Arc<AtomicUsize>) {
    use tracing_subscriber::layer::SubscriberExt;

    struct Count {
        message: &'static str,
        n: Arc<AtomicUsize>,
    }
    struct Message<'a>(&'a str, bool);
    impl tracing::field::Visit for Message<'_> {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
            if field.name() == "message" && format!("{value:?}") == self.0 {
                self.1 = true;
            }
        }
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut seen = Message(self.message, false);
            event.record(&mut seen);
            if seen.1 {
                self.n.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let n = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Count {
        message,
        n: n.clone(),
    });
    (tracing::subscriber::set_default(subscriber), n)
}
