use std::{collections::HashSet, fmt, sync::OnceLock};

use dashmap::{mapref::entry::Entry, DashMap};
use socketio_protocol::{engine::Sid, Str};

use crate::metrics::NsMetrics;

/// A room name. Every socket is in the room named after its id.
pub type Room = Str;

/// The rooms that sockets of one namespace joined on this server: which
/// sockets are in which room, both ways, in concurrent maps so that joins,
/// leaves and broadcasts from many tasks never wait on one lock.
///
/// The room named after each socket's id is not stored: the namespace's map
/// of sockets already answers it, and storing it would cost every
/// connection two map entries and two sets.
#[derive(Default)]
pub(crate) struct Rooms {
    rooms: DashMap<Room, HashSet<Sid>>,
    sids: DashMap<Sid, HashSet<Room>>,
    watch: OnceLock<RoomWatch>,
    metrics: NsMetrics,
}

impl fmt::Debug for Rooms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rooms")
            .field("rooms", &self.rooms)
            .field("sids", &self.sids)
            .finish_non_exhaustive()
    }
}

/// Told of each room that appears or disappears (an adapter that
/// subscribes per room, as Node's sharded Redis adapter does).
pub(crate) struct RoomWatch(pub(crate) Box<dyn Fn(&Room) + Send + Sync>);

impl fmt::Debug for RoomWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RoomWatch")
    }
}

impl Rooms {
    /// No rooms yet; `metrics` counts them.
    pub(crate) fn new(metrics: NsMetrics) -> Rooms {
        Rooms {
            metrics,
            ..Rooms::default()
        }
    }

    /// Sets the watcher of rooms that appear or disappear; false if one is
    /// set already.
    pub(crate) fn watch(&self, watch: RoomWatch) -> bool {
        self.watch.set(watch).is_ok()
    }

    /// Called after `room` appeared or disappeared, with no lock held.
    fn changed(&self, room: &Room) {
        if let Some(watch) = self.watch.get() {
            (watch.0)(room);
        }
    }

    /// `sid` joins `rooms`; `joined` is called, with no lock held, for
    /// each room it was not in yet.
    pub(crate) fn join(&self, sid: Sid, rooms: &[Room], mut joined: impl FnMut(&Room)) {
        for room in rooms {
            let (created, new_member) = match self.rooms.entry(room.clone()) {
                Entry::Occupied(mut members) => (false, members.get_mut().insert(sid)),
                Entry::Vacant(slot) => {
                    slot.insert(HashSet::from([sid]));
                    (true, true)
                }
            };
            if created {
                self.metrics.rooms(1.0);
                self.changed(room);
            }
            if new_member {
                joined(room);
            }
        }
        let mut entry = self.sids.entry(sid).or_default();
        entry.extend(rooms.iter().cloned());
    }

    /// `sid` leaves `rooms`; `left` is called, with no lock held, for each
    /// room it was in.
    pub(crate) fn leave(&self, sid: Sid, rooms: &[Room], mut left: impl FnMut(&Room)) {
        for room in rooms {
            if self.remove_from_room(sid, room) {
                left(room);
            }
        }
        if let Some(mut own) = self.sids.get_mut(&sid) {
            for room in rooms {
                own.remove(room);
            }
        }
    }

    /// `sid` leaves every room it joined; `left` is called for each.
    pub(crate) fn leave_all(&self, sid: Sid, mut left: impl FnMut(&Room)) {
        if let Some((_, rooms)) = self.sids.remove(&sid) {
            for room in &rooms {
                if self.remove_from_room(sid, room) {
                    left(room);
                }
            }
        }
    }

    /// Whether `sid` was a member of `room`.
    fn remove_from_room(&self, sid: Sid, room: &Room) -> bool {
        // Removes the room itself once empty, without racing a concurrent join.
        let mut was_member = false;
        let removed = self.rooms.remove_if_mut(room, |_, members| {
            was_member = members.remove(&sid);
            members.is_empty()
        });
        if removed.is_some() {
            self.metrics.rooms(-1.0);
            self.changed(room);
        }
        was_member
    }

    /// The rooms a socket is in.
    pub(crate) fn rooms_of(&self, sid: Sid) -> Vec<Room> {
        self.sids
            .get(&sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `room` has a member.
    pub(crate) fn contains(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }

    /// How many sockets joined `room`.
    pub(crate) fn len_of(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, |members| members.len())
    }

    /// Every room that has a member.
    pub(crate) fn all(&self) -> Vec<Room> {
        self.rooms.iter().map(|r| r.key().clone()).collect()
    }

    /// Calls `f` with each member of `room` (joined explicitly).
    pub(crate) fn for_each_member(&self, room: &str, mut f: impl FnMut(Sid)) {
        if let Some(members) = self.rooms.get(room) {
            members.iter().for_each(|sid| f(*sid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(n: u8) -> Sid {
        Sid::from_random_bytes([n; 15])
    }

    fn members(rooms: &Rooms, room: &str) -> Vec<Sid> {
        let mut out = Vec::new();
        rooms.for_each_member(room, |s| out.push(s));
        out.sort();
        out
    }

    #[test]
    fn join_leave_and_empty_rooms_are_removed() {
        let rooms = Rooms::default();
        rooms.join(sid(1), &["a".into(), "b".into()], |_| {});
        rooms.join(sid(2), &["b".into()], |_| {});
        let mut both = vec![sid(1), sid(2)];
        both.sort();
        assert_eq!(members(&rooms, "b"), both);
        rooms.leave_all(sid(2), |_| {});
        let mut all = rooms.all();
        all.sort();
        assert_eq!(all, vec![Room::from("a"), Room::from("b")]);
        rooms.leave(sid(1), &["a".into(), "b".into()], |_| {});
        assert!(rooms.all().is_empty());
        assert!(rooms.rooms_of(sid(1)).is_empty());
    }

    #[test]
    fn the_watcher_hears_of_rooms_that_appear_and_disappear_only() {
        use std::sync::{Arc, Mutex};
        let rooms = Rooms::default();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = heard.clone();
        assert!(rooms.watch(RoomWatch(Box::new(move |room: &Room| {
            log.lock().unwrap().push(room.to_string())
        }))));
        assert!(!rooms.watch(RoomWatch(Box::new(|_: &Room| {}))));
        rooms.join(sid(1), &["a".into()], |_| {});
        rooms.join(sid(2), &["a".into(), "b".into()], |_| {});
        rooms.leave(sid(1), &["a".into()], |_| {});
        assert_eq!(*heard.lock().unwrap(), ["a", "b"]);
        rooms.leave_all(sid(2), |_| {});
        let mut all = heard.lock().unwrap().clone();
        all.sort();
        assert_eq!(all, ["a", "a", "b", "b"]);
    }
}
