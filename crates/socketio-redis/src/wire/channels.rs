//! The channels of a namespace on Redis, as Node's classic and sharded
//! adapters name them, and which of them a broadcast goes to.

use socketio_axum::adapter::BroadcastOptions;

use crate::link::Subscriptions;

/// The channels of one namespace, for either protocol.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// `prefix#nsp#`: broadcasts; `prefix#nsp#room#` for a single room.
    pub(crate) broadcast: String,
    /// The pattern that matches every broadcast channel of the namespace
    /// (classic only).
    pub(crate) pattern: String,
    /// Where requests go; its subscribers are the servers. Classic:
    /// `prefix-request#nsp#`; sharded: `prefix#nsp#`.
    pub(crate) request: String,
    /// Classic: `prefix-response#nsp#`, where every response goes. Sharded:
    /// empty, a response goes to its requester's own channel.
    pub(crate) response: String,
    /// Responses to this server. Classic: `prefix-response#nsp#uid#` (from
    /// a Node server that sets `publishOnSpecificResponseChannel`); sharded:
    /// `prefix#nsp#uid#`.
    pub(crate) own_response: String,
    /// Which single-room broadcasts go to the room's channel.
    room_channels: RoomChannels,
    /// The streams protocol: the sharded one's channels and messages,
    /// msgpack on pub/sub, and a stream for what is not a request.
    streams: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoomChannels {
    /// Classic: every room.
    All,
    /// Sharded, dynamic: rooms not named like a socket id.
    Public,
    /// Sharded, static: none.
    None,
}

/// Node's `looksLikeASocketId`: 20 long in JavaScript's count, UTF-16
/// code units (20 to 80 bytes of UTF-8).
fn looks_like_a_socket_id(room: &str) -> bool {
    (20..=80).contains(&room.len()) && room.encode_utf16().count() == 20
}

impl Channels {
    pub(crate) fn new(prefix: &str, nsp: &str, uid: &str) -> Self {
        let broadcast = format!("{prefix}#{nsp}#");
        let response = format!("{prefix}-response#{nsp}#");
        Channels {
            pattern: format!("{}*", glob_escape(&broadcast)),
            own_response: format!("{response}{uid}#"),
            request: format!("{prefix}-request#{nsp}#"),
            response,
            broadcast,
            room_channels: RoomChannels::All,
            streams: false,
        }
    }

    /// The channels of the sharded protocol; `dynamic` when rooms have
    /// channels of their own.
    pub(crate) fn sharded(prefix: &str, nsp: &str, uid: &str, dynamic: bool) -> Self {
        let broadcast = format!("{prefix}#{nsp}#");
        Channels {
            pattern: String::new(),
            own_response: format!("{broadcast}{uid}#"),
            request: broadcast.clone(),
            response: String::new(),
            broadcast,
            room_channels: if dynamic {
                RoomChannels::Public
            } else {
                RoomChannels::None
            },
            streams: false,
        }
    }

    /// The channels of the streams protocol (Node's
    /// `@socket.io/redis-streams-adapter`): those of the sharded one
    /// without room channels.
    pub(crate) fn streams(prefix: &str, nsp: &str, uid: &str) -> Self {
        Channels {
            streams: true,
            ..Channels::sharded(prefix, nsp, uid, false)
        }
    }

    /// Whether these are the streams protocol's channels.
    pub(crate) fn is_streams(&self) -> bool {
        self.streams
    }

    /// Whether these are the sharded protocol's channels.
    pub(crate) fn is_sharded(&self) -> bool {
        self.room_channels != RoomChannels::All
    }

    /// What a server subscribes to for the namespace.
    pub(crate) fn subscriptions(&self) -> Subscriptions {
        if self.is_sharded() {
            return Subscriptions {
                channels: vec![self.broadcast.clone(), self.own_response.clone()],
                patterns: Vec::new(),
            };
        }
        Subscriptions {
            channels: vec![
                self.request.clone(),
                self.response.clone(),
                self.own_response.clone(),
            ],
            patterns: vec![self.pattern.clone()],
        }
    }

    /// The channel of `room`, if it has one a server subscribes to
    /// (sharded, dynamic).
    pub(crate) fn room(&self, room: &str) -> Option<String> {
        (self.room_channels == RoomChannels::Public && !looks_like_a_socket_id(room))
            .then(|| format!("{}{room}#", self.broadcast))
    }

    /// Where a response to `requester` goes.
    pub(crate) fn response_to(&self, requester: &str) -> String {
        if self.is_sharded() {
            format!("{}{requester}#", self.broadcast)
        } else {
            self.response.clone()
        }
    }

    /// The channel of a broadcast: one room may have a channel of its own,
    /// so that servers without a member of it can skip the message.
    pub(crate) fn broadcast_to(&self, opts: &BroadcastOptions) -> String {
        match (opts.rooms.as_slice(), self.room_channels) {
            ([room], RoomChannels::All) => format!("{}{room}#", self.broadcast),
            ([room], RoomChannels::Public) => {
                self.room(room).unwrap_or_else(|| self.broadcast.clone())
            }
            _ => self.broadcast.clone(),
        }
    }

    /// The room of a broadcast channel (empty for the namespace's own).
    pub(crate) fn room_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(self.broadcast.as_str())
            .map(|rest| rest.strip_suffix('#').unwrap_or(rest))
    }
}

/// Node subscribes with the plain channel name as a pattern; escaping makes
/// a prefix or namespace with `*`, `?` or `[` match only itself.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use socketio_protocol::Str;

    pub(crate) fn opts(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions::new(
            rooms.iter().map(|r| Str::from(r.to_string())).collect(),
            except.iter().map(|r| Str::from(r.to_string())).collect(),
        )
    }

    #[test]
    fn channel_names_follow_node() {
        let c = Channels::new("socket.io", "/chat", "abc123");
        assert_eq!(c.broadcast, "socket.io#/chat#");
        assert_eq!(c.pattern, "socket.io#/chat#*");
        assert_eq!(c.request, "socket.io-request#/chat#");
        assert_eq!(c.response, "socket.io-response#/chat#");
        assert_eq!(c.own_response, "socket.io-response#/chat#abc123#");
        assert_eq!(c.broadcast_to(&opts(&["r"], &[])), "socket.io#/chat#r#");
        assert_eq!(c.broadcast_to(&opts(&["a", "b"], &[])), "socket.io#/chat#");
        assert_eq!(c.room_of("socket.io#/chat#r#"), Some("r"));
        assert_eq!(c.room_of("socket.io#/chat#"), Some(""));
        assert_eq!(Channels::new("a*b", "/", "u").pattern, "a\\*b#/#*");
    }

    #[test]
    fn sharded_channel_names_follow_node() {
        let c = Channels::sharded("socket.io", "/chat", "0123abcd", true);
        assert_eq!(
            c.subscriptions().channels,
            ["socket.io#/chat#", "socket.io#/chat#0123abcd#"]
        );
        assert_eq!(c.request, "socket.io#/chat#");
        assert_eq!(c.response_to("feed"), "socket.io#/chat#feed#");
        assert_eq!(c.broadcast_to(&opts(&["r"], &[])), "socket.io#/chat#r#");
        // A room named like a socket id stays on the namespace's channel.
        let sid = "abcdefghij0123456789";
        assert_eq!(c.broadcast_to(&opts(&[sid], &[])), "socket.io#/chat#");
        assert_eq!(c.broadcast_to(&opts(&["a", "b"], &[])), "socket.io#/chat#");
        let fixed = Channels::sharded("socket.io", "/chat", "u", false);
        assert_eq!(fixed.broadcast_to(&opts(&["r"], &[])), "socket.io#/chat#");
        assert_eq!(fixed.room("r"), None);
        // JavaScript counts UTF-16 units: 20 of them, in 40 bytes.
        let accented = "é".repeat(20);
        assert_eq!(c.broadcast_to(&opts(&[&accented], &[])), "socket.io#/chat#");
        let half = "é".repeat(10);
        assert_eq!(
            c.broadcast_to(&opts(&[&half], &[])),
            format!("socket.io#/chat#{half}#")
        );
    }
}
