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

    /// A number of seconds, fractions allowed.
    pub(crate) fn secs(&mut self, name: &str, default: f64) -> Result<Duration> {
        let s: f64 = self.get(name, default)?;
        Duration::try_from_secs_f64(s).map_err(|e| err!("{name} {s}: {e}"))
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
}
