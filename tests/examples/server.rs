//! An example's application served on its own tokio runtime, so that it can
//! be stopped as abruptly as a process that exits, and started again on the
//! same port.

use std::{net::SocketAddr, time::Duration};

use axum::Router;
use tokio::runtime::Runtime;

/// A running (or stopped) server on 127.0.0.1.
pub(crate) struct Server {
    addr: SocketAddr,
    make: Box<dyn Fn(SocketAddr) -> Router>,
    runtime: Option<Runtime>,
}

impl Server {
    /// Serves the router `make` builds on a free port. `make` runs again at
    /// each [`restart`](Self::restart): a restarted server starts afresh.
    pub(crate) fn start(make: impl Fn() -> Router + 'static) -> Server {
        Server::start_at(move |_| make())
    }

    /// As [`start`](Self::start), `make` being given the address bound and
    /// called within the server's runtime, for listeners of its own beside
    /// the HTTP one (such as WebTransport's, on the same port number).
    pub(crate) fn start_at(make: impl Fn(SocketAddr) -> Router + 'static) -> Server {
        let mut server = Server {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            make: Box::new(make),
            runtime: None,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // tokio's listeners set SO_REUSEADDR: the port of a stopped server
        // can be bound again at once.
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", self.addr));
        self.addr = listener.local_addr().expect("the listener's address");
        let app = {
            let _inside = runtime.enter();
            (self.make)(self.addr)
        };
        runtime.spawn(async move { axum::serve(listener, app).await });
        self.runtime = Some(runtime);
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server as a process that exits would: its tasks are
    /// dropped, and with them the listener and every connection.
    pub(crate) fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }

    /// Starts the server again on the same port, with a new application.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
