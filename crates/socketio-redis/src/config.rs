use std::{fmt, time::Duration};

use crate::{
    error::Error,
    link::{Redis, StreamTarget},
    wire::Channels,
};

/// Configuration of a [`RedisAdapter`](crate::RedisAdapter). Defaults equal
/// those of Node's `@socket.io/redis-adapter`.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `url` | `redis://127.0.0.1:6379` | the Redis server: `redis://[[user]:pass@]host:port[/db]`, or `rediss://...` for TLS (with the `tls` feature) |
/// | `key_prefix` | `socket.io` | prefix of every channel; servers of one cluster share it (Node's `key`) |
/// | `request_timeout` | 5 s | how long a request to the other servers (fetch sockets, all rooms) waits for their answers (Node's `requestsTimeout`); also how long the adapter waits for Redis to answer a command |
/// | `tls_root_certificates` | the system's | with the `tls` feature: the CA certificates (PEM) that a `rediss://` server's certificate must chain to, instead of the system's |
/// | `tls_client_certificate` | none | with the `tls` feature: a client certificate and key (PEM), for a Redis that asks for one (`tls-auth-clients yes`) |
/// | `streams` | off | speak the protocol of Node's `@socket.io/redis-streams-adapter` 0.3 on this stream (its `streamName`, `"socket.io"` there) instead: see [`RedisAdapterConfigBuilder::streams`] |
/// | `stream_max_len` | 10000 | with `streams`: the stream is trimmed to about this many entries (`XADD MAXLEN ~`, Node's `maxLen`); a client that missed more cannot recover |
/// | `session_key_prefix` | `sio:session:` | with `streams`: prefix of the keys of the sessions kept for connection state recovery (Node's `sessionKeyPrefix`) |
/// | `publish_queue` | 16384 | messages (broadcasts, requests) that wait to be published at most; past that, while Redis is slow, a broadcast is refused: `emit` returns [`EmitError::Adapter`](socketio_axum::EmitError::Adapter) with an [`AdapterError`](socketio_axum::adapter::AdapterError) for which `is_queue_full()` holds |
///
/// ```
/// use std::time::Duration;
/// use socketio_redis::RedisAdapterConfig;
///
/// let config = RedisAdapterConfig::builder()
///     .url("redis://127.0.0.1:6379/0")
///     .key_prefix("my-app")
///     .request_timeout(Duration::from_secs(2))
///     .publish_queue(4096)
///     .build();
/// assert_eq!(config.key_prefix(), "my-app");
/// assert_eq!(config.publish_queue(), 4096);
/// assert_eq!(RedisAdapterConfig::default().request_timeout(), Duration::from_secs(5));
/// ```
///
/// Its `Debug` output hides the password of the URL, and the certificates.
#[derive(Clone)]
pub struct RedisAdapterConfig {
    url: String,
    key_prefix: String,
    request_timeout: Duration,
    publish_queue: usize,
    sharded: Option<SubscriptionMode>,
    /// The streams protocol's settings, used when `streams_on`.
    stream: Streams,
    streams_on: bool,
    #[cfg(feature = "tls")]
    tls: Tls,
}

/// The streams protocol's settings.
#[derive(Debug, Clone)]
pub(crate) struct Streams {
    pub(crate) name: String,
    pub(crate) max_len: usize,
    pub(crate) session_key_prefix: String,
    /// Entries read at most per `XREAD` (Node's `readCount`).
    pub(crate) read_count: usize,
    /// How long one `XREAD` blocks (Node's `blockTimeInMs`).
    pub(crate) block: Duration,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            name: "socket.io".to_owned(),
            max_len: 10_000,
            session_key_prefix: "sio:session:".to_owned(),
            read_count: 100,
            block: Duration::from_secs(5),
        }
    }
}

/// Which channels the servers of the sharded adapter subscribe to (Node's
/// `subscriptionMode` of `createShardedAdapter`); every server of a cluster
/// must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// One channel per namespace: every server receives every broadcast.
    Static,
    /// Also one channel per room (Node's default): a broadcast to exactly
    /// one room goes to that room's channel, which only the servers with a
    /// member of the room subscribe to. Rooms named like a socket id (20
    /// characters) use the namespace's channel.
    #[default]
    Dynamic,
}

/// The certificates of a TLS connection, in PEM.
#[cfg(feature = "tls")]
#[derive(Clone, Default)]
struct Tls {
    root_certificates: Option<Vec<u8>>,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for RedisAdapterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RedisAdapterConfig");
        d.field("url", &redacted(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("request_timeout", &self.request_timeout)
            .field("publish_queue", &self.publish_queue)
            .field("sharded", &self.sharded)
            .field("streams", &self.streams());
        #[cfg(feature = "tls")]
        d.field(
            "tls_root_certificates",
            &self.tls.root_certificates.is_some(),
        )
        .field("tls_client_certificate", &self.tls.client.is_some());
        d.finish()
    }
}

/// The URL with its password, if any, replaced by `***`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            url: "redis://127.0.0.1:6379".to_owned(),
            key_prefix: "socket.io".to_owned(),
            request_timeout: Duration::from_secs(5),
            publish_queue: 16 * 1024,
            sharded: None,
            stream: Streams::default(),
            streams_on: false,
            #[cfg(feature = "tls")]
            tls: Tls::default(),
        }
    }
}

impl RedisAdapterConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> RedisAdapterConfigBuilder {
        RedisAdapterConfigBuilder {
            config: RedisAdapterConfig::default(),
        }
    }

    /// The Redis server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The prefix of every channel.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// How long a request to the other servers waits for their answers.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// How many messages wait to be published at most.
    pub fn publish_queue(&self) -> usize {
        self.publish_queue
    }

    /// The stream of the streams protocol, if it is on.
    pub fn stream_name(&self) -> Option<&str> {
        self.streams().map(|s| s.name.as_str())
    }

    pub(crate) fn streams(&self) -> Option<&Streams> {
        self.streams_on.then_some(&self.stream)
    }

    /// Where the streams protocol appends, if it is on.
    pub(crate) fn stream_target(&self) -> Option<StreamTarget> {
        self.streams().map(|s| StreamTarget {
            name: s.name.clone(),
            max_len: s.max_len,
        })
    }

    /// The channels of namespace `nsp` for server `uid`, in this
    /// configuration's protocol.
    pub(crate) fn channels(&self, nsp: &str, uid: &str) -> Channels {
        let prefix = self.key_prefix();
        match (self.sharded, self.streams_on) {
            (Some(mode), _) => {
                Channels::sharded(prefix, nsp, uid, mode == SubscriptionMode::Dynamic)
            }
            (None, true) => Channels::streams(prefix, nsp, uid),
            (None, false) => Channels::new(prefix, nsp, uid),
        }
    }

    /// The sharded adapter's subscription mode, if it is on.
    pub fn sharded(&self) -> Option<SubscriptionMode> {
        self.sharded
    }

    /// Where the adapter connects: one Redis, or a Redis Cluster for the
    /// sharded adapter (RESP3, its messages pushed on the returned link).
    pub(crate) fn redis(&self) -> Result<Redis, Error> {
        if self.sharded.is_none() {
            return self.client().map(Redis::Single);
        }
        let (tx, pushes) = tokio::sync::mpsc::unbounded_channel();
        let builder = redis::cluster::ClusterClientBuilder::new([self.url()])
            .use_protocol(redis::ProtocolVersion::RESP3)
            .push_sender(tx)
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(self.request_timeout);
        #[cfg(feature = "tls")]
        let builder = match self.certificates() {
            Some(certificates) => builder.certs(certificates),
            None => builder,
        };
        let client = builder.build().map_err(Error::url)?;
        Ok(Redis::Cluster(client, pushes))
    }

    #[cfg(feature = "tls")]
    fn certificates(&self) -> Option<redis::TlsCertificates> {
        if self.url.starts_with("rediss:") {
            crate::tls::install_crypto_provider();
        }
        if self.tls.root_certificates.is_none() && self.tls.client.is_none() {
            return None;
        }
        Some(redis::TlsCertificates {
            client_tls: self.tls.client.clone().map(|(client_cert, client_key)| {
                redis::ClientTlsConfig {
                    client_cert,
                    client_key,
                }
            }),
            root_cert: self.tls.root_certificates.clone(),
        })
    }

    /// The Redis client of this configuration: plain, or with the TLS
    /// certificates that were set.
    pub(crate) fn client(&self) -> Result<redis::Client, Error> {
        #[cfg(feature = "tls")]
        if let Some(certificates) = self.certificates() {
            return redis::Client::build_with_tls(self.url(), certificates).map_err(Error::url);
        }
        redis::Client::open(self.url()).map_err(Error::url)
    }
}

/// Builds a [`RedisAdapterConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisAdapterConfigBuilder {
    config: RedisAdapterConfig,
}

impl RedisAdapterConfigBuilder {
    /// The Redis server: `redis://[[user]:pass@]host:port[/db]`
    /// (`redis://:pass@...` for a password without a user name, as
    /// `requirepass` sets), or `rediss://...` for TLS, which needs the `tls`
    /// feature. Both the publishing and the subscribed connection use it.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.config.url = url.into();
        self
    }

    /// The prefix of every channel (Node's `key` option).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// How long a request to the other servers waits for their answers
    /// (Node's `requestsTimeout`).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// How many messages (broadcasts, requests to other servers) wait to
    /// be published at most (at least 1; default 16384). Past that, while
    /// Redis is slow, new ones are refused with an error for the caller
    /// instead of using memory without bound.
    pub fn publish_queue(mut self, messages: usize) -> Self {
        self.config.publish_queue = messages.max(1);
        self
    }

    /// With the `tls` feature: the CA certificates (one or more, PEM) that
    /// the certificate of a `rediss://` server must chain to, instead of
    /// the system's roots. For a Redis whose certificate a private CA
    /// signed.
    ///
    /// ```
    /// # let ca_pem = Vec::new();
    /// let config = socketio_redis::RedisAdapterConfig::builder()
    ///     .url("rediss://redis.internal:6380")
    ///     .tls_root_certificates(ca_pem)
    ///     .build();
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.tls.root_certificates = Some(pem.into());
        self
    }

    /// With the `tls` feature: the certificate (chain) and private key,
    /// both PEM, this client shows to a `rediss://` server that asks for
    /// one (`tls-auth-clients yes`, Redis's default when TLS is on).
    #[cfg(feature = "tls")]
    pub fn tls_client_certificate(
        mut self,
        certificate_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.config.tls.client = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Speaks the protocol of Node's sharded adapter
    /// (`createShardedAdapter`) instead of the classic one, over a Redis
    /// Cluster (Redis 7 or later): `SPUBLISH`/`SSUBSCRIBE` on channels that
    /// live on the node that owns their slot, so that pub/sub traffic
    /// spreads over the cluster's shards. The URL is then that of one node
    /// of the cluster; the Redis client finds the others. The key prefix is
    /// Node's `channelPrefix`.
    ///
    /// ```
    /// use socketio_redis::{RedisAdapterConfig, SubscriptionMode};
    ///
    /// let config = RedisAdapterConfig::builder()
    ///     .url("redis://10.0.0.1:7000")
    ///     .sharded(SubscriptionMode::Dynamic)
    ///     .build();
    /// assert_eq!(config.sharded(), Some(SubscriptionMode::Dynamic));
    /// ```
    pub fn sharded(mut self, mode: SubscriptionMode) -> Self {
        self.config.sharded = Some(mode);
        self.config.streams_on = false;
        self
    }

    /// Speaks the protocol of Node's `@socket.io/redis-streams-adapter`
    /// 0.3 instead of the pub/sub adapter's: broadcasts, joins, leaves and
    /// disconnections are appended to the Redis stream `stream_name` (Node's
    /// `streamName`, `"socket.io"` by default there) which every server
    /// reads; requests and their answers travel by pub/sub on
    /// `<key_prefix>#<nsp>#` channels. With connection state recovery on
    /// ([`SocketIoConfigBuilder::connection_state_recovery`](socketio_axum::SocketIoConfigBuilder::connection_state_recovery)),
    /// sessions are kept in Redis and offsets are the stream's entry ids, so
    /// that a client recovers on any server of the cluster, Node's included.
    /// Needs a single Redis (not a Redis Cluster) of version 6.2 or later.
    /// The last of `streams` and [`sharded`](Self::sharded) called wins.
    ///
    /// ```
    /// use socketio_redis::RedisAdapterConfig;
    ///
    /// let config = RedisAdapterConfig::builder()
    ///     .streams("socket.io")
    ///     .stream_max_len(50_000)
    ///     .session_key_prefix("chat:session:")
    ///     .build();
    /// assert_eq!(config.stream_name(), Some("socket.io"));
    /// ```
    pub fn streams(mut self, stream_name: impl Into<String>) -> Self {
        self.config.stream.name = stream_name.into();
        self.config.streams_on = true;
        self.config.sharded = None;
        self
    }

    /// For [`streams`](Self::streams) (before or after it): trims the stream to about this many
    /// entries (`XADD MAXLEN ~`, Node's `maxLen`, default 10000). A client
    /// that missed more packets than the stream keeps is not recovered.
    pub fn stream_max_len(mut self, entries: usize) -> Self {
        self.config.stream.max_len = entries.max(1);
        self
    }

    /// For [`streams`](Self::streams) (before or after it): the prefix of the session keys
    /// (Node's `sessionKeyPrefix`, default `sio:session:`).
    pub fn session_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.stream.session_key_prefix = prefix.into();
        self
    }

    /// The configuration.
    pub fn build(self) -> RedisAdapterConfig {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = RedisAdapterConfig::builder()
            .url("redis://alice:s3cret@redis.internal:6379/0")
            .build();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(
            debug.contains("redis://alice:***@redis.internal:6379/0"),
            "{debug}"
        );
        assert_eq!(redacted("redis://:pw@h:1"), "redis://:***@h:1");
        assert_eq!(redacted("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(redacted("rediss://u@h:1"), "rediss://u@h:1");
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn rediss_without_the_tls_feature_says_so() {
        let config = RedisAdapterConfig::builder()
            .url("rediss://127.0.0.1:6380")
            .build();
        let err = config.client().unwrap_err();
        assert!(err.is_url(), "{err:?}");
        assert!(err.to_string().contains("`tls` feature"), "{err}");
    }
}
