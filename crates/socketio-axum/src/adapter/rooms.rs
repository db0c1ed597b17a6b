use std::{
    collections::HashSet,
    fmt,
    hash::{BuildHasherDefault, DefaultHasher},
    sync::OnceLock,
};

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
///
/// Most rooms hold one socket (a user's, a document's) and most sockets are
/// in a few rooms: a room of one keeps its member inline and a socket's few
/// rooms are a short list, so that neither allocates a hash set, and the
/// larger sets are boxed so that every map entry stays small.
#[derive(Default)]
pub(crate) struct Rooms {
    rooms: DashMap<Room, Members>,
    sids: DashMap<Sid, Joined>,
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
            let Some((key, created)) = self.add_member(room, sid) else {
                continue;
            };
            if created {
                self.created(&key);
            }
            joined(&key);
            self.add_room_of(sid, key);
        }
    }

    /// `sids` join `rooms` (a server-side join of many sockets): each room
    /// is looked up once, and its set grown once, for all of them.
    /// `joined` is called, with no lock held, with each room and the
    /// sockets that were not in it yet.
    pub(crate) fn join_many(
        &self,
        sids: &[Sid],
        rooms: &[Room],
        mut joined: impl FnMut(&Room, &[Sid]),
    ) {
        if sids.is_empty() {
            return;
        }
        let mut fresh = Vec::with_capacity(sids.len());
        for room in rooms {
            fresh.clear();
            let (key, created) = match self.rooms.entry(room.clone()) {
                Entry::Occupied(mut members) => {
                    let set = members.get_mut();
                    set.reserve(sids.len());
                    fresh.extend(sids.iter().copied().filter(|&sid| set.insert(sid)));
                    (members.key().clone(), false)
                }
                Entry::Vacant(slot) => {
                    let key = slot.key().clone();
                    let mut set = Members::One(sids[0]);
                    fresh.push(sids[0]);
                    set.reserve(sids.len() - 1);
                    fresh.extend(sids[1..].iter().copied().filter(|&sid| set.insert(sid)));
                    slot.insert(set);
                    (key, true)
                }
            };
            if created {
                self.created(&key);
            }
            for &sid in &fresh {
                self.add_room_of(sid, key.clone());
            }
            joined(&key, &fresh);
        }
    }

    /// Adds `sid` to `room`: the map's own name of the room (shared by
    /// every socket's list, so that a name is held once) and whether the
    /// room is new; `None` if `sid` was a member already.
    fn add_member(&self, room: &Room, sid: Sid) -> Option<(Room, bool)> {
        if let Some(mut members) = self.rooms.get_mut(room) {
            return members.insert(sid).then(|| (members.key().clone(), false));
        }
        match self.rooms.entry(room.clone()) {
            Entry::Occupied(mut members) => members
                .get_mut()
                .insert(sid)
                .then(|| (members.key().clone(), false)),
            Entry::Vacant(slot) => {
                let key = slot.key().clone();
                slot.insert(Members::One(sid));
                Some((key, true))
            }
        }
    }

    /// Notes in `sid`'s list that it joined `room`.
    fn add_room_of(&self, sid: Sid, room: Room) {
        match self.sids.entry(sid) {
            Entry::Occupied(mut joined) => joined.get_mut().insert(room),
            Entry::Vacant(slot) => {
                slot.insert(Joined::Few(vec![room]));
            }
        }
    }

    /// A room appeared.
    fn created(&self, room: &Room) {
        self.metrics.rooms(1.0);
        self.changed(room);
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
            rooms.for_each(|room| {
                if self.remove_from_room(sid, room) {
                    left(room);
                }
            });
        }
    }

    /// Whether `sid` was a member of `room`.
    fn remove_from_room(&self, sid: Sid, room: &Room) -> bool {
        // Removes the room itself once empty, without racing a concurrent join.
        let mut was_member = false;
        let removed = self.rooms.remove_if_mut(room, |_, members| {
            let emptied;
            (was_member, emptied) = members.remove(&sid);
            emptied
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
            .map(|joined| {
                let mut out = Vec::new();
                joined.for_each(|r| out.push(r.clone()));
                out
            })
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
            match &*members {
                Members::One(sid) => f(*sid),
                Members::Many(set) => set.iter().for_each(|sid| f(*sid)),
            }
        }
    }
}

/// A set of socket ids. The ids are this server's own random ones (a
/// restored socket keeps the id it was given), which no peer chooses, so a
/// fixed hasher (no per-set seed) is safe, and it makes the set 16 bytes
/// smaller.
type SidSet = HashSet<Sid, BuildHasherDefault<DefaultHasher>>;

/// The members of one room.
enum Members {
    /// A room of one: no set allocated.
    One(Sid),
    /// Two or more members (or one left of several), boxed: the map's
    /// entries keep the size of the inline one.
    #[allow(clippy::box_collection)]
    Many(Box<SidSet>),
}

impl fmt::Debug for Members {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Members::One(sid) => f.debug_set().entry(sid).finish(),
            Members::Many(set) => f.debug_set().entries(set.iter()).finish(),
        }
    }
}

impl Members {
    /// Adds `sid`; false if it was a member already.
    fn insert(&mut self, sid: Sid) -> bool {
        match self {
            Members::One(one) if *one == sid => false,
            Members::One(one) => {
                let mut set = SidSet::with_capacity_and_hasher(2, Default::default());
                set.insert(*one);
                set.insert(sid);
                *self = Members::Many(Box::new(set));
                true
            }
            Members::Many(set) => set.insert(sid),
        }
    }

    /// Removes `sid`: whether it was a member, and whether the room is
    /// empty now (a room of one is left as it was: its entry goes).
    fn remove(&mut self, sid: &Sid) -> (bool, bool) {
        match self {
            Members::One(one) => (one == sid, one == sid),
            Members::Many(set) => (set.remove(sid), set.is_empty()),
        }
    }

    /// Makes room for `more` members.
    fn reserve(&mut self, more: usize) {
        match self {
            Members::One(_) if more == 0 => {}
            Members::One(one) => {
                let mut set = SidSet::with_capacity_and_hasher(more + 1, Default::default());
                set.insert(*one);
                *self = Members::Many(Box::new(set));
            }
            Members::Many(set) => set.reserve(more),
        }
    }

    fn len(&self) -> usize {
        match self {
            Members::One(_) => 1,
            Members::Many(set) => set.len(),
        }
    }
}

/// The rooms one socket joined: a short list, turned into a set past
/// [`Joined::FEW`] rooms.
#[derive(Debug)]
enum Joined {
    Few(Vec<Room>),
    /// Boxed: the map's entries keep the size of the list.
    #[allow(clippy::box_collection)]
    Many(Box<HashSet<Room>>),
}

impl Joined {
    /// Rooms kept in a list; a socket in more has a set.
    const FEW: usize = 8;

    fn insert(&mut self, room: Room) {
        match self {
            Joined::Few(list) if list.contains(&room) => {}
            Joined::Few(list) if list.len() < Self::FEW => {
                // One at a time: a socket in two rooms holds two, not four.
                list.reserve_exact(1);
                list.push(room);
            }
            Joined::Few(list) => {
                let mut set: HashSet<Room> = list.drain(..).collect();
                set.insert(room);
                *self = Joined::Many(Box::new(set));
            }
            Joined::Many(set) => {
                set.insert(room);
            }
        }
    }

    fn remove(&mut self, room: &Room) {
        match self {
            Joined::Few(list) => {
                if let Some(i) = list.iter().position(|r| r == room) {
                    list.swap_remove(i);
                }
            }
            Joined::Many(set) => {
                set.remove(room);
            }
        }
    }

    fn for_each(&self, f: impl FnMut(&Room)) {
        match self {
            Joined::Few(list) => list.iter().for_each(f),
            Joined::Many(set) => set.iter().for_each(f),
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
    fn a_room_of_one_grows_and_shrinks_and_goes() {
        let rooms = Rooms::default();
        let mut heard = Vec::new();
        rooms.join(sid(1), &["a".into()], |r| heard.push(r.clone()));
        rooms.join(sid(1), &["a".into()], |r| heard.push(r.clone()));
        assert_eq!(
            heard,
            [Room::from("a")],
            "a second join is not a new membership"
        );
        assert_eq!(members(&rooms, "a"), [sid(1)]);
        rooms.join(sid(2), &["a".into()], |_| {});
        assert_eq!(rooms.len_of("a"), 2);
        let mut left = Vec::new();
        rooms.leave(sid(3), &["a".into()], |r| left.push(r.clone()));
        assert!(left.is_empty(), "a stranger leaves nothing");
        rooms.leave(sid(1), &["a".into()], |r| left.push(r.clone()));
        assert_eq!(members(&rooms, "a"), [sid(2)]);
        rooms.leave(sid(2), &["a".into()], |r| left.push(r.clone()));
        assert_eq!(left.len(), 2);
        assert!(!rooms.contains("a"));
        // A room of one whose member leaves goes too, and a stranger's
        // leave does not empty it.
        rooms.join(sid(4), &["b".into()], |_| {});
        rooms.leave(sid(5), &["b".into()], |_| {});
        assert_eq!(members(&rooms, "b"), [sid(4)]);
        rooms.leave_all(sid(4), |_| {});
        assert!(rooms.all().is_empty());
    }

    #[test]
    fn a_socket_in_many_rooms_keeps_each_once() {
        let rooms = Rooms::default();
        let names: Vec<Room> = (0..20).map(|i| Room::from(format!("r{i}"))).collect();
        // In the short list, a room joined twice is there once.
        rooms.join(sid(1), &names[..2], |_| {});
        rooms.join(sid(1), &names[1..2], |_| panic!("joined twice"));
        let mut of = rooms.rooms_of(sid(1));
        of.sort();
        assert_eq!(of, names[..2]);
        for room in &names {
            rooms.join(sid(1), std::slice::from_ref(room), |_| {});
        }
        // Again, past the short list's length: still once each.
        rooms.join(sid(1), &names, |_| panic!("joined twice"));
        let mut of = rooms.rooms_of(sid(1));
        of.sort();
        let mut want = names.clone();
        want.sort();
        assert_eq!(of, want);
        rooms.leave(sid(1), &names[..15], |_| {});
        let mut of = rooms.rooms_of(sid(1));
        of.sort();
        let mut want = names[15..].to_vec();
        want.sort();
        assert_eq!(of, want);
        let mut left = 0;
        rooms.leave_all(sid(1), |_| left += 1);
        assert_eq!(left, 5);
        assert!(rooms.all().is_empty());
    }

    #[test]
    fn many_sockets_join_at_once_each_membership_once() {
        let rooms = Rooms::default();
        rooms.join(sid(1), &["old".into()], |_| {});
        let mut heard = Vec::new();
        let sids = [sid(1), sid(2), sid(3)];
        rooms.join_many(&sids, &["old".into(), "new".into()], |room, fresh| {
            heard.push((room.to_string(), fresh.to_vec()))
        });
        assert_eq!(
            heard,
            [
                ("old".to_string(), vec![sid(2), sid(3)]),
                ("new".to_string(), sids.to_vec())
            ]
        );
        for room in ["old", "new"] {
            assert_eq!(members(&rooms, room), sids);
        }
        let mut of = rooms.rooms_of(sid(1));
        of.sort();
        assert_eq!(of, [Room::from("new"), Room::from("old")]);
        assert_eq!(rooms.rooms_of(sid(3)).len(), 2);
        // A room of one made by a join of one, and nobody joins nothing.
        rooms.join_many(&[sid(4)], &["solo".into()], |_, _| {});
        assert_eq!(members(&rooms, "solo"), [sid(4)]);
        rooms.join_many(&[], &["none".into()], |_, _| panic!("nobody joined"));
        assert!(!rooms.contains("none"));
        for sid in [sid(1), sid(2), sid(3), sid(4)] {
            rooms.leave_all(sid, |_| {});
        }
        assert!(rooms.all().is_empty());
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
