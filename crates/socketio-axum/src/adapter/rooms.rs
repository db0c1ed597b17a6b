use std::collections::HashSet;

use dashmap::DashMap;
use socketio_protocol::{engine::Sid, Str};

/// A room name. Every socket is in the room named after its id.
pub type Room = Str;

/// The rooms of one namespace on this server: which sockets are in which
/// room, both ways, in concurrent maps so that joins, leaves and broadcasts
/// from many tasks never wait on one lock.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: DashMap<Room, HashSet<Sid>>,
    sids: DashMap<Sid, HashSet<Room>>,
}

impl Rooms {
    pub(crate) fn join(&self, sid: Sid, rooms: &[Room]) {
        for room in rooms {
            self.rooms.entry(room.clone()).or_default().insert(sid);
        }
        let mut entry = self.sids.entry(sid).or_default();
        entry.extend(rooms.iter().cloned());
    }

    pub(crate) fn leave(&self, sid: Sid, rooms: &[Room]) {
        for room in rooms {
            self.remove_from_room(sid, room);
        }
        if let Some(mut own) = self.sids.get_mut(&sid) {
            for room in rooms {
                own.remove(room);
            }
        }
    }

    pub(crate) fn leave_all(&self, sid: Sid) {
        if let Some((_, rooms)) = self.sids.remove(&sid) {
            for room in &rooms {
                self.remove_from_room(sid, room);
            }
        }
    }

    fn remove_from_room(&self, sid: Sid, room: &Room) {
        // Removes the room itself once empty, without racing a concurrent join.
        self.rooms.remove_if_mut(room, |_, members| {
            members.remove(&sid);
            members.is_empty()
        });
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

    /// Every room that has a member.
    pub(crate) fn all(&self) -> Vec<Room> {
        self.rooms.iter().map(|r| r.key().clone()).collect()
    }

    /// Calls `f` with each socket targeted, once: members of any of `rooms`
    /// (every socket in the index when `rooms` is empty), less members of any
    /// of `except`. Nothing is collected when there is one room or none and
    /// no exception, the common broadcasts. `f` must not change the rooms.
    pub(crate) fn for_each_target(&self, rooms: &[Room], except: &[Room], mut f: impl FnMut(Sid)) {
        let excluded: Option<HashSet<Sid>> = (!except.is_empty()).then(|| {
            except
                .iter()
                .filter_map(|r| self.rooms.get(r))
                .flat_map(|m| m.iter().copied().collect::<Vec<_>>())
                .collect()
        });
        let mut visit = |sid: Sid| {
            if !excluded.as_ref().is_some_and(|x| x.contains(&sid)) {
                f(sid);
            }
        };
        match rooms {
            [] => self.sids.iter().for_each(|e| visit(*e.key())),
            [room] => {
                if let Some(members) = self.rooms.get(room) {
                    members.iter().for_each(|sid| visit(*sid));
                }
            }
            _ => {
                let mut seen = HashSet::new();
                for room in rooms {
                    if let Some(members) = self.rooms.get(room) {
                        for sid in members.iter() {
                            if seen.insert(*sid) {
                                visit(*sid);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(n: u8) -> Sid {
        Sid::from_random_bytes([n; 15])
    }

    impl Rooms {
        fn targets(&self, rooms: &[Room], except: &[Room]) -> Vec<Sid> {
            let mut out = Vec::new();
            self.for_each_target(rooms, except, |s| out.push(s));
            out
        }
    }

    #[test]
    fn a_socket_in_two_targeted_rooms_is_targeted_once() {
        let rooms = Rooms::default();
        rooms.join(sid(1), &["a".into(), "b".into()]);
        rooms.join(sid(2), &["b".into()]);
        let mut t = rooms.targets(&["a".into(), "b".into()], &[]);
        t.sort();
        let mut want = vec![sid(1), sid(2)];
        want.sort();
        assert_eq!(t, want);
    }

    #[test]
    fn except_and_empty_rooms_are_removed() {
        let rooms = Rooms::default();
        rooms.join(sid(1), &["a".into()]);
        rooms.join(sid(2), &["a".into(), "x".into()]);
        assert_eq!(rooms.targets(&["a".into()], &["x".into()]), vec![sid(1)]);
        assert_eq!(rooms.targets(&[], &["x".into()]), vec![sid(1)]);
        rooms.leave_all(sid(2));
        assert_eq!(rooms.all(), vec![Room::from("a")]);
        rooms.leave(sid(1), &["a".into()]);
        assert!(rooms.all().is_empty());
    }
}
