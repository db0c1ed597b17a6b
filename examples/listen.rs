//! Where an example listens: `ADDR` (such as `0.0.0.0:8080`), else
//! 127.0.0.1 on `PORT` (default 3000), with an error that says what to do
//! when the port is taken.

use std::{fmt, io, net::SocketAddr};

use tokio::net::TcpListener;

/// Binds the address `ADDR` names, else `127.0.0.1:$PORT`, else
/// `127.0.0.1:default_port`.
pub async fn listen(default_port: u16) -> Result<TcpListener, ListenError> {
    let addr = listen_addr(default_port)?;
    TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError::Bind { addr, source })
}

fn listen_addr(default_port: u16) -> Result<SocketAddr, ListenError> {
    if let Ok(addr) = std::env::var("ADDR") {
        return addr.parse().map_err(|_| ListenError::BadVar("ADDR", addr));
    }
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| ListenError::BadVar("PORT", port))?,
        Err(_) => default_port,
    };
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Why an example could not listen. Its `Debug` is its message, so that
/// `main` returning it prints a sentence, not a struct.
pub enum ListenError {
    /// `ADDR` or `PORT` does not parse.
    BadVar(&'static str, String),
    /// The address could not be bound (in use, not allowed, not local).
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenError::BadVar("ADDR", v) => {
                write!(f, "ADDR={v:?} is not an address such as 127.0.0.1:3000")
            }
            ListenError::BadVar(name, v) => write!(f, "{name}={v:?} is not a port number"),
            ListenError::Bind { addr, source } if source.kind() == io::ErrorKind::AddrInUse => {
                write!(
                    f,
                    "cannot listen on {addr}: the port is already in use (another server, \
                     or this example still running?). Choose another with PORT=3001, \
                     or a whole address with ADDR=0.0.0.0:8080"
                )
            }
            ListenError::Bind { addr, source } => write!(
                f,
                "cannot listen on {addr}: {source}. Choose another address with PORT=… or ADDR=…"
            ),
        }
    }
}

impl fmt::Debug for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ListenError::Bind { source, .. } => Some(source),
            ListenError::BadVar(..) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_in_use_says_how_to_choose_another() {
        let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = taken.local_addr().expect("addr");
        let err = TcpListener::bind(addr)
            .await
            .map_err(|source| ListenError::Bind { addr, source })
            .expect_err("the port is taken");
        let shown = format!("{err:?}");
        assert!(shown.contains("already in use"), "{shown}");
        assert!(
            shown.contains("PORT=") && shown.contains("ADDR="),
            "{shown}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
