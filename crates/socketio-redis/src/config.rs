use std::time::Duration;

/// Configuration of a [`RedisAdapter`](crate::RedisAdapter). Defaults equal
/// those of Node's `@socket.io/redis-adapter`.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `url` | `redis://127.0.0.1:6379` | the Redis server (`redis://[user:pass@]host:port[/db]`) |
/// | `key_prefix` | `socket.io` | prefix of every channel; servers of one cluster share it (Node's `key`) |
/// | `request_timeout` | 5 s | how long a request to the other servers (fetch sockets, all rooms) waits for their answers (Node's `requestsTimeout`); also how long the adapter waits for Redis to answer a command |
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
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    url: String,
    key_prefix: String,
    request_timeout: Duration,
    publish_queue: usize,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            url: "redis://127.0.0.1:6379".to_owned(),
            key_prefix: "socket.io".to_owned(),
            request_timeout: Duration::from_secs(5),
            publish_queue: 16 * 1024,
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
}

/// Builds a [`RedisAdapterConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisAdapterConfigBuilder {
    config: RedisAdapterConfig,
}

impl RedisAdapterConfigBuilder {
    /// The Redis server (`redis://[user:pass@]host:port[/db]`).
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

    /// The configuration.
    pub fn build(self) -> RedisAdapterConfig {
        self.config
    }
}
