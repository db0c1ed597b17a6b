//! A small command-line parser: a command, then `--name value` options and
//! `--flag`s, each looked up by name; whatever is left over is an error.

use std::{fmt, str::FromStr, time::Duration};

/// What went wrong in a run, said for the person at the terminal.
#[derive(Debug)]
pub(crate) struct Error(pub(crate) String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Error(format!("websocket: {e}"))
    }
}

/// Shorthand for results of this crate.
pub(crate) type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error`] from format arguments.
macro_rules! err {
    ($($t:tt)*) => { $crate::cli::Error(format!($($t)*)) };
}
pub(crate) use err;

/// The arguments not yet consumed.
#[derive(Debug)]
pub(crate) struct Args {
    rest: Vec<String>,
}

impl Args {
    pub(crate) fn from_env() -> Self {
        Args {
            rest: std::env::args().skip(1).collect(),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_vec(v: &[&str]) -> Self {
        Args {
            rest: v.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Takes the first word if it is not an option.
    pub(crate) fn command(&mut self) -> Option<String> {
        match self.rest.first() {
            Some(first) if !first.starts_with('-') => Some(self.rest.remove(0)),
            _ => None,
        }
    }

    /// Takes `name` if present.
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Takes every `name value` (or `name=value`) pair, in order.
    pub(crate) fn values(&mut self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let prefix = format!("{name}=");
        let mut i = 0;
        while i < self.rest.len() {
            if self.rest[i] == name {
                if i + 1 >= self.rest.len() {
                    return Err(err!("{name} needs a value"));
                }
                self.rest.remove(i);
                out.push(self.rest.remove(i));
            } else if let Some(v) = self.rest[i].strip_prefix(&prefix) {
                out.push(v.to_string());
                self.rest.remove(i);
            } else {
                i += 1;
            }
        }
        Ok(out)
    }

    /// Takes the last `name value` and parses it.
    pub(crate) fn opt<T: FromStr>(&mut self, name: &str) -> Result<Option<T>>
    where
        T::Err: fmt::Display,
    {
        match self.values(name)?.pop() {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|e| err!("{name} {v}: {e}")),
        }
    }

    /// Like [`opt`](Self::opt), with a default.
    pub(crate) fn get<T: FromStr>(&mut self, name: &str, default: T) -> Result<T>
    where
        T::Err: fmt::Display,
    {
        Ok(self.opt(name)?.unwrap_or(default))
    }

    /// A duration: a number of seconds, fractions allowed, or a number with
    /// a unit (`500ms`, `60s`, `30m`, `1h`).
    pub(crate) fn secs(&mut self, name: &str, default: f64) -> Result<Duration> {
        match self.opt_secs(name)? {
            None => Duration::try_from_secs_f64(default).map_err(|e| err!("{name}: {e}")),
            Some(d) => Ok(d),
        }
    }

    /// Like [`secs`](Self::secs), without a default.
    pub(crate) fn opt_secs(&mut self, name: &str) -> Result<Option<Duration>> {
        match self.values(name)?.pop() {
            None => Ok(None),
            Some(v) => parse_duration(&v)
                .map(Some)
                .ok_or_else(|| err!("{name} {v}: not a duration")),
        }
    }

    /// Fails on anything not consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(err!("unknown arguments: {}", self.rest.join(" ")))
        }
    }
}

/// `90`, `1.5`, `500ms`, `60s`, `30m`, `1h`.
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.parse().ok()?;
    Duration::try_from_secs_f64(value * scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_flags_and_leftovers() {
        let mut a = Args::from_vec(&["echo", "--conns", "7", "--quick", "--server=a=b", "x"]);
        assert_eq!(a.command().as_deref(), Some("echo"));
        assert!(a.flag("--quick"));
        assert_eq!(a.get("--conns", 1usize).ok(), Some(7));
        assert_eq!(a.values("--server").ok(), Some(vec!["a=b".to_string()]));
        assert!(a.finish().is_err());
    }

    #[test]
    fn durations() {
        let mut a = Args::from_vec(&[
            "--a", "1.5", "--b", "250ms", "--c=30m", "--d", "1h", "--e", "x",
        ]);
        assert_eq!(a.secs("--a", 0.0).ok(), Some(Duration::from_millis(1500)));
        assert_eq!(a.secs("--b", 0.0).ok(), Some(Duration::from_millis(250)));
        assert_eq!(a.secs("--c", 0.0).ok(), Some(Duration::from_secs(1800)));
        assert_eq!(a.secs("--d", 0.0).ok(), Some(Duration::from_secs(3600)));
        assert!(a.secs("--e", 0.0).is_err());
        assert_eq!(a.secs("--f", 2.0).ok(), Some(Duration::from_secs(2)));
        assert!(a.finish().is_ok());
    }
}
