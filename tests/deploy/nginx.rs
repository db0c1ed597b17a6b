//! A real nginx in front of our servers: Debian's binary, run in the
//! foreground as a child process (one process, no master) with its
//! configuration, pid, logs and temporary files in a directory of its own,
//! listening on a free port; killed when dropped.
//!
//! The `http` part of its configuration is `tests/deploy/nginx.conf`, the
//! file docs/deployment.md reproduces, with its `@…@` placeholders filled in.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use socketio_axum_tests::{wait_until, within};

use crate::tmp::TempDir;

/// The site configuration that the tests run and the docs show.
pub(crate) const TEMPLATE: &str = include_str!("nginx.conf");

/// The template with its placeholders filled in: one `server` line per
/// upstream, the `listen` address, and `proxy_read_timeout`.
pub(crate) fn render(upstreams: &[String], listen: &str, read_timeout: &str) -> String {
    let servers = upstreams
        .iter()
        .map(|u| format!("server {u};"))
        .collect::<Vec<_>>()
        .join("\n    ");
    TEMPLATE
        .replace("@SERVERS@", &servers)
        .replace("@LISTEN@", listen)
        .replace("@READ_TIMEOUT@", read_timeout)
}

/// A running nginx.
pub(crate) struct Nginx {
    child: tokio::process::Child,
    dir: TempDir,
    /// Where it listens (on 127.0.0.1).
    pub(crate) port: u16,
}

/// The nginx binary: on `PATH`, else Debian's `/usr/sbin/nginx`.
fn binary() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/nginx");
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("nginx").is_file()))
        .unwrap_or(false);
    if on_path || !sbin.is_file() {
        PathBuf::from("nginx")
    } else {
        sbin
    }
}

/// A port nobody listens on now (the OS picks it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Nginx {
    /// Starts nginx in front of `upstreams` with `proxy_read_timeout
    /// read_timeout`, and waits until it accepts connections.
    pub(crate) async fn start(upstreams: &[SocketAddr], read_timeout: &str) -> Nginx {
        let dir = TempDir::new("nginx");
        let d = dir.path().display();
        let port = free_port();
        let upstreams: Vec<String> = upstreams.iter().map(ToString::to_string).collect();
        let site = render(&upstreams, &format!("127.0.0.1:{port}"), read_timeout);
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\nevents {{ worker_connections 256; }}\n\
             http {{\n\
             log_format upstream '$remote_addr \"$request\" $status $upstream_addr';\n\
             access_log {d}/access.log upstream;\n\
             client_body_temp_path {d}/client_body;\nproxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
             {site}\n}}\n"
        );
        let conf_path = dir.write("nginx.conf", conf);
        let mut child = tokio::process::Command::new(binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run nginx ({e}): install it (`apt-get install nginx`; .ci/run does)")
            });
        let mut nginx_exited = None;
        within("nginx to listen", async {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    nginx_exited = Some(status);
                    return;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        if let Some(status) = nginx_exited {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = err.read_to_string(&mut stderr).await;
            }
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            panic!("nginx exited ({status}) before listening:\n{stderr}\n{log}");
        }
        Nginx { child, dir, port }
    }

    /// The URL clients are given.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access log so far: one line per request, `client "request" status upstream`.
    pub(crate) fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// Waits until the access log has a line for which `pred` holds (nginx
    /// writes a line when a request ends).
    pub(crate) async fn logged(&self, what: &str, pred: impl Fn(&str) -> bool) {
        wait_until(what, || self.access_log().lines().any(&pred)).await;
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // `kill_on_drop` sends SIGKILL; with `master_process off` there is
        // no worker left behind.
        let _ = self.child.start_kill();
    }
}
