use std::{
    collections::HashSet,
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
};

use dashmap::{mapref::entry::Entry, DashMap};
use socketio_protocol::{
    engine::{Sid, SidBuildHasher},
    Str,
};

use crate::metrics::NsMetrics;

/// A room name. Every socket is in the room named after its id.
pub type Room = Str;

/// A room's name as the rooms map and the sockets' lists hold it: one
/// allocation that all of them share, and 16 bytes in each where a
/// [`Room`] takes 32.
type Name = Arc<str>;

/// A [`Room`] with the text of `name` (a copy), for what hands rooms out.
fn room_of(name: &str) -> Room {
    Room::from(name.to_owned())
}

/// The rooms that sockets of one namespace joined on this server: which
/// sockets are in which room, in a concurrent map so that joins, leaves and
/// broadcasts from many tasks never wait on one lock. Which rooms a socket
/// is in, the other way, each socket keeps itself ([`SocketRooms`]): a
/// second map keyed by socket would cost every socket an entry, and a join
/// a lookup in it.
///
/// The room named after each socket's id is not stored: the namespace's map
/// of sockets already answers it, and storing it would cost every
/// connection a map entry and a set.
///
/// Most rooms hold one socket (a user's, a document's) and most sockets are
/// in a few rooms: a room of one keeps its member inline and a socket's few
/// rooms are a short list, so that neither allocates a hash set, and the
/// larger sets are boxed so that every map entry stays small.
///
/// The two sides are written under different locks, never one held while
/// the other is taken (a broadcast's walk holds a room's shard while it
/// looks at sockets), so their order is what keeps them in step: a join
/// adds the socket to the room's set, then the room to its list; a leave
/// takes the room off the list, then the socket out of the set. A socket
/// that left for good has its list closed, and a join that finds it
/// closed takes back what it added. A server-side join writes the lists
/// first and the sets after; a leave that comes in between is seen by
/// [`Rooms::leaves`] changing, and the new members are checked again.
#[derive(Default)]
pub(crate) struct Rooms {
    rooms: DashMap<Name, Members>,
    /// Counts the leaves that took a room off a socket's list (increased
    /// before the socket is taken out of the room's set).
    leaves: AtomicU64,
    watch: OnceLock<RoomWatch>,
    metrics: NsMetrics,
}

impl fmt::Debug for Rooms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rooms")
            .field("rooms", &self.rooms)
            .finish_non_exhaustive()
    }
}

/// The rooms one socket joined, kept on the socket. Locked only to read or
/// change the list, never across another lock or an `.await`.
#[derive(Debug, Default)]
pub(crate) struct SocketRooms(Mutex<Joined>);

/// The socket left for good: its list takes no room.
#[derive(Debug)]
struct Closed;

impl SocketRooms {
    /// Adds `room` (if it is not in the list yet), or finds the list
    /// [`Closed`].
    fn insert(&self, room: Name) -> Result<(), Closed> {
        let mut joined = crate::lock(&self.0);
        if matches!(*joined, Joined::Closed) {
            return Err(Closed);
        }
        joined.insert(room);
        Ok(())
    }

    /// Whether `room` is in the list.
    pub(crate) fn contains(&self, room: &str) -> bool {
        let mut found = false;
        crate::lock(&self.0).for_each(|r| found |= **r == *room);
        found
    }

    /// Adds each of `names`; `added` is called with the index of each that
    /// was not in the list yet.
    fn insert_each(&self, names: &[Name], mut added: impl FnMut(usize)) {
        let mut joined = crate::lock(&self.0);
        for (i, name) in names.iter().enumerate() {
            if joined.insert(name.clone()) {
                added(i);
            }
        }
    }

    /// Removes `rooms`: whether any was in the list.
    fn remove(&self, rooms: &[Room]) -> bool {
        let mut joined = crate::lock(&self.0);
        let mut any = false;
        for room in rooms {
            any |= joined.remove(room.as_str());
        }
        any
    }

    /// Empties the list, and returns what it held; once `closed`, the list
    /// takes no room again.
    fn take(&self, close: bool) -> Joined {
        let mut joined = crate::lock(&self.0);
        if matches!(*joined, Joined::Closed) {
            return Joined::None;
        }
        let after = if close { Joined::Closed } else { Joined::None };
        std::mem::replace(&mut *joined, after)
    }

    /// The rooms in the list.
    pub(crate) fn to_vec(&self) -> Vec<Room> {
        let mut out = Vec::new();
        crate::lock(&self.0).for_each(|room| out.push(room_of(room)));
        out
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
    fn changed(&self, room: &str) {
        if let Some(watch) = self.watch.get() {
            (watch.0)(&room_of(room));
        }
    }

    /// Socket `sid`, whose list is `own`, joins `rooms`; `joined` is
    /// called, with no lock held, for each room it was not in yet.
    pub(crate) fn join(
        &self,
        sid: Sid,
        own: &SocketRooms,
        rooms: &[Room],
        mut joined: impl FnMut(&str),
    ) {
        for room in rooms {
            let Some((key, created)) = self.add_member(room, sid) else {
                continue;
            };
            if created {
                self.created(&key);
            }
            match own.insert(key) {
                Ok(()) => joined(room),
                // It left for good since it was added: its leave did not
                // see this membership, so this takes it back.
                Err(Closed) => {
                    self.remove_from_room(sid, room);
                }
            }
        }
    }

    /// A server-side join of many sockets: `targets` is called once, with
    /// a function to call with each socket's id and list, and each of them
    /// joins `rooms` (one whose list is closed joins none). `joined` is
    /// called, with no lock held, with each room and the sockets that were
    /// not in it yet. `listed` tells whether a socket's list holds a room
    /// (false for a socket gone); it is asked only if a leave came while
    /// this ran.
    ///
    /// The sockets' lists are written first, while `targets` walks them
    /// (under the namespace's read locks, if it likes: this takes no map
    /// lock there, only each socket's own), then each room's set once, for
    /// all of its new members: no lookup per socket, and no handle of a
    /// socket cloned.
    pub(crate) fn join_many(
        &self,
        rooms: &[Room],
        targets: impl FnOnce(&mut dyn FnMut(Sid, &SocketRooms)),
        listed: impl Fn(Sid, &str) -> bool,
        mut joined: impl FnMut(&str, &[Sid]),
    ) {
        let leaves = self.leaves.load(Ordering::SeqCst);
        // The map's own name of a room that exists, shared; a new one's
        // becomes its key below.
        let names: Vec<Name> = rooms
            .iter()
            .map(|room| match self.rooms.get(room.as_str()) {
                Some(entry) => entry.key().clone(),
                None => Name::from(room.as_str()),
            })
            .collect();
        let mut fresh: Vec<Vec<Sid>> = vec![Vec::new(); names.len()];
        targets(&mut |sid, own| own.insert_each(&names, |i| fresh[i].push(sid)));
        for ((room, name), mut fresh) in rooms.iter().zip(names).zip(fresh) {
            let Some((&first, rest)) = fresh.split_first() else {
                continue;
            };
            let created = {
                let (created, mut members, adding) = match self.rooms.entry(name) {
                    Entry::Occupied(members) => (false, members.into_ref(), &fresh[..]),
                    Entry::Vacant(slot) => (true, slot.insert(Members::One(first)), rest),
                };
                members.reserve(adding.len());
                for &sid in adding {
                    members.insert(sid);
                }
                created
            };
            if created {
                self.created(room);
            }
            // A leave that took this room off a member's list before it was
            // in the set found nothing to take out: if any leave came, the
            // members are checked again, and those no longer listed go. (A
            // leave whose count comes later takes the socket out itself: it
            // comes after the set was filled.)
            if self.leaves.load(Ordering::SeqCst) != leaves {
                fresh.retain(|&sid| {
                    listed(sid, room) || {
                        self.remove_from_room(sid, room);
                        false
                    }
                });
            }
            if !fresh.is_empty() {
                joined(room, &fresh);
            }
        }
    }

    /// Adds `sid` to `room`: the map's own name of the room (shared by
    /// every socket's list, so that a name is held once) and whether the
    /// room is new; `None` if `sid` was a member already.
    fn add_member(&self, room: &str, sid: Sid) -> Option<(Name, bool)> {
        if let Some(mut members) = self.rooms.get_mut(room) {
            return members.insert(sid).then(|| (members.key().clone(), false));
        }
        match self.rooms.entry(Name::from(room)) {
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

    /// A room appeared.
    fn created(&self, room: &str) {
        self.metrics.rooms(1.0);
        self.changed(room);
    }

    /// Socket `sid`, whose list is `own`, leaves `rooms`; `left` is
    /// called, with no lock held, for each room it was in.
    pub(crate) fn leave(
        &self,
        sid: Sid,
        own: &SocketRooms,
        rooms: &[Room],
        mut left: impl FnMut(&str),
    ) {
        if own.remove(rooms) {
            self.leaves.fetch_add(1, Ordering::SeqCst);
        }
        for room in rooms {
            if self.remove_from_room(sid, room) {
                left(room);
            }
        }
    }

    /// Socket `sid`, whose list is `own`, leaves every room it joined;
    /// `left` is called for each. Once `close`d (the socket left for
    /// good), its list takes no room again.
    pub(crate) fn leave_all(
        &self,
        sid: Sid,
        own: &SocketRooms,
        close: bool,
        mut left: impl FnMut(&str),
    ) {
        let taken = own.take(close);
        if !matches!(taken, Joined::None) {
            self.leaves.fetch_add(1, Ordering::SeqCst);
        }
        taken.for_each(|room| {
            if self.remove_from_room(sid, room) {
                left(room);
            }
        });
    }

    /// Whether `sid` was a member of `room`.
    fn remove_from_room(&self, sid: Sid, room: &str) -> bool {
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
        self.rooms.iter().map(|r| room_of(r.key())).collect()
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
/// restored socket keeps the id it was given), which no peer chooses, so
/// [`SidHasher`](socketio_protocol::engine::SidHasher) (no seed, no
/// SipHash) is safe, and it makes the set 16 bytes smaller.
type SidSet = HashSet<Sid, SidBuildHasher>;

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

/// The rooms one socket joined: none or one inline (most sockets), a short
/// list, then a set past [`Joined::FEW`] rooms.
#[derive(Debug, Default)]
enum Joined {
    #[default]
    None,
    One(Name),
    Few(Vec<Name>),
    /// Boxed: every socket's list keeps the size of the list.
    #[allow(clippy::box_collection)]
    Many(Box<HashSet<Name>>),
    /// The socket left for good: no room, and it takes none.
    Closed,
}

impl Joined {
    /// Rooms kept in a list; a socket in more has a set.
    const FEW: usize = 8;

    /// Adds `room`; false if it was in the list already.
    fn insert(&mut self, room: Name) -> bool {
        match self {
            Joined::Closed => return false,
            Joined::None => *self = Joined::One(room),
            Joined::One(one) if *one == room => return false,
            Joined::One(_) => {
                if let Joined::One(one) = std::mem::take(self) {
                    *self = Joined::Few(vec![one, room]);
                }
            }
            Joined::Few(list) if list.contains(&room) => return false,
            Joined::Few(list) if list.len() < Self::FEW => {
                // One at a time: a socket in three rooms holds three, not four.
                list.reserve_exact(1);
                list.push(room);
            }
            Joined::Few(list) => {
                let mut set: HashSet<Name> = list.drain(..).collect();
                set.insert(room);
                *self = Joined::Many(Box::new(set));
            }
            Joined::Many(set) => return set.insert(room),
        }
        true
    }

    /// Removes `room`: whether it was in the list.
    fn remove(&mut self, room: &str) -> bool {
        match self {
            Joined::None | Joined::Closed => false,
            Joined::One(one) => {
                let found = **one == *room;
                if found {
                    *self = Joined::None;
                }
                found
            }
            Joined::Few(list) => match list.iter().position(|r| **r == *room) {
                Some(i) => {
                    list.swap_remove(i);
                    true
                }
                None => false,
            },
            Joined::Many(set) => set.remove(room),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&Name)) {
        match self {
            Joined::None | Joined::Closed => {}
            Joined::One(one) => f(one),
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

    /// Rooms, and the lists of sockets 0 to 7 (socket `n`'s id is `sid(n)`).
    #[derive(Default)]
    struct World {
        rooms: Rooms,
        owns: [SocketRooms; 8],
    }

    impl World {
        fn join(&self, n: u8, rooms: &[Room], joined: impl FnMut(&str)) {
            self.rooms
                .join(sid(n), &self.owns[usize::from(n)], rooms, joined);
        }

        fn join_many(&self, ns: &[u8], rooms: &[Room], joined: impl FnMut(&str, &[Sid])) {
            self.join_many_then(ns, rooms, |_| {}, joined);
        }

        /// A join of many sockets that calls `then` with each one after
        /// its list was written (to have something happen in between).
        fn join_many_then(
            &self,
            ns: &[u8],
            rooms: &[Room],
            then: impl Fn(u8),
            joined: impl FnMut(&str, &[Sid]),
        ) {
            let targets = |add: &mut dyn FnMut(Sid, &SocketRooms)| {
                for &n in ns {
                    add(sid(n), &self.owns[usize::from(n)]);
                    then(n);
                }
            };
            let listed = |s: Sid, room: &str| {
                (0..8u8).any(|n| sid(n) == s && self.owns[usize::from(n)].contains(room))
            };
            self.rooms.join_many(rooms, targets, listed, joined);
        }

        fn leave(&self, n: u8, rooms: &[Room], left: impl FnMut(&str)) {
            self.rooms
                .leave(sid(n), &self.owns[usize::from(n)], rooms, left);
        }

        fn leave_all(&self, n: u8, left: impl FnMut(&str)) {
            self.rooms
                .leave_all(sid(n), &self.owns[usize::from(n)], false, left);
        }

        /// Socket `n` left for good.
        fn close(&self, n: u8) {
            self.rooms
                .leave_all(sid(n), &self.owns[usize::from(n)], true, |_| {});
        }

        fn rooms_of(&self, n: u8) -> Vec<Room> {
            self.owns[usize::from(n)].to_vec()
        }
    }

    fn members(rooms: &Rooms, room: &str) -> Vec<Sid> {
        let mut out = Vec::new();
        rooms.for_each_member(room, |s| out.push(s));
        out.sort();
        out
    }

    #[test]
    fn join_leave_and_empty_rooms_are_removed() {
        let w = World::default();
        let rooms = &w.rooms;
        w.join(1, &["a".into(), "b".into()], |_| {});
        w.join(2, &["b".into()], |_| {});
        let mut both = vec![sid(1), sid(2)];
        both.sort();
        assert_eq!(members(rooms, "b"), both);
        w.leave_all(2, |_| {});
        let mut all = rooms.all();
        all.sort();
        assert_eq!(all, vec![Room::from("a"), Room::from("b")]);
        w.leave(1, &["a".into(), "b".into()], |_| {});
        assert!(rooms.all().is_empty());
        assert!(w.rooms_of(1).is_empty());
    }

    #[test]
    fn a_room_of_one_grows_and_shrinks_and_goes() {
        let w = World::default();
        let rooms = &w.rooms;
        let mut heard = Vec::new();
        w.join(1, &["a".into()], |r| heard.push(r.to_owned()));
        w.join(1, &["a".into()], |r| heard.push(r.to_owned()));
        assert_eq!(heard, ["a"], "a second join is not a new membership");
        assert_eq!(members(rooms, "a"), [sid(1)]);
        w.join(2, &["a".into()], |_| {});
        assert_eq!(rooms.len_of("a"), 2);
        let mut left = Vec::new();
        w.leave(3, &["a".into()], |r| left.push(r.to_owned()));
        assert!(left.is_empty(), "a stranger leaves nothing");
        w.leave(1, &["a".into()], |r| left.push(r.to_owned()));
        assert_eq!(members(rooms, "a"), [sid(2)]);
        w.leave(2, &["a".into()], |r| left.push(r.to_owned()));
        assert_eq!(left.len(), 2);
        assert!(!rooms.contains("a"));
        // A room of one whose member leaves goes too, and a stranger's
        // leave does not empty it.
        w.join(4, &["b".into()], |_| {});
        w.leave(5, &["b".into()], |_| {});
        assert_eq!(members(rooms, "b"), [sid(4)]);
        w.leave_all(4, |_| {});
        assert!(rooms.all().is_empty());
    }

    #[test]
    fn a_socket_in_many_rooms_keeps_each_once() {
        let w = World::default();
        let rooms = &w.rooms;
        let names: Vec<Room> = (0..20).map(|i| Room::from(format!("r{i}"))).collect();
        // In the short list, a room joined twice is there once.
        w.join(1, &names[..2], |_| {});
        w.join(1, &names[1..2], |_| panic!("joined twice"));
        let mut of = w.rooms_of(1);
        of.sort();
        assert_eq!(of, names[..2]);
        for room in &names {
            w.join(1, std::slice::from_ref(room), |_| {});
        }
        // Again, past the short list's length: still once each.
        w.join(1, &names, |_| panic!("joined twice"));
        let mut of = w.rooms_of(1);
        of.sort();
        let mut want = names.clone();
        want.sort();
        assert_eq!(of, want);
        w.leave(1, &names[..15], |_| {});
        let mut of = w.rooms_of(1);
        of.sort();
        let mut want = names[15..].to_vec();
        want.sort();
        assert_eq!(of, want);
        let mut left = 0;
        w.leave_all(1, |_| left += 1);
        assert_eq!(left, 5);
        assert!(rooms.all().is_empty());
    }

    #[test]
    fn a_socket_list_of_one_room_grows_and_empties() {
        let w = World::default();
        let (a, b): (Room, Room) = ("a".into(), "b".into());
        w.join(1, std::slice::from_ref(&a), |_| {});
        assert_eq!(w.rooms_of(1), std::slice::from_ref(&a));
        w.leave(1, std::slice::from_ref(&a), |_| {});
        assert!(w.rooms_of(1).is_empty(), "its one room left");
        w.join(1, std::slice::from_ref(&a), |_| {});
        w.join(1, &[a.clone(), b.clone()], |_| {});
        let mut of = w.rooms_of(1);
        of.sort();
        assert_eq!(of, [a.clone(), b.clone()], "from one room to two");
        w.leave(1, std::slice::from_ref(&a), |_| {});
        assert_eq!(w.rooms_of(1), std::slice::from_ref(&b));
        // Leaving a room it is not in keeps the one it is in.
        w.leave(1, std::slice::from_ref(&a), |_| {});
        w.leave(2, std::slice::from_ref(&b), |_| {});
        assert_eq!(w.rooms_of(1), std::slice::from_ref(&b));
        w.leave_all(1, |_| {});
        assert!(w.rooms_of(1).is_empty());
        // Rejoining after the list emptied.
        w.join(1, std::slice::from_ref(&b), |_| {});
        assert_eq!(w.rooms_of(1), [b]);
        assert_eq!(members(&w.rooms, "b"), [sid(1)]);
    }

    #[test]
    fn many_sockets_join_at_once_each_membership_once() {
        let w = World::default();
        let rooms = &w.rooms;
        w.join(1, &["old".into()], |_| {});
        let mut heard = Vec::new();
        let sids = [sid(1), sid(2), sid(3)];
        w.join_many(&[1, 2, 3], &["old".into(), "new".into()], |room, fresh| {
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
            assert_eq!(members(rooms, room), sids);
        }
        let mut of = w.rooms_of(1);
        of.sort();
        assert_eq!(of, [Room::from("new"), Room::from("old")]);
        assert_eq!(w.rooms_of(3).len(), 2);
        // A room of one made by a join of one, and nobody joins nothing.
        w.join_many(&[4], &["solo".into()], |_, _| {});
        assert_eq!(members(rooms, "solo"), [sid(4)]);
        w.join_many(&[], &["none".into()], |_, _| panic!("nobody joined"));
        assert!(!rooms.contains("none"));
        for n in 1..=4 {
            w.leave_all(n, |_| {});
        }
        assert!(rooms.all().is_empty());
    }

    #[test]
    fn a_socket_that_left_for_good_joins_nothing() {
        let w = World::default();
        w.join(1, &["a".into()], |_| {});
        w.close(1);
        assert!(w.rooms.all().is_empty());
        w.join(1, &["a".into(), "b".into()], |_| {
            panic!("a closed socket joined")
        });
        w.join_many(&[1, 2], &["a".into()], |room, fresh| {
            assert_eq!((room, fresh), ("a", &[sid(2)][..]))
        });
        assert_eq!(members(&w.rooms, "a"), [sid(2)]);
        assert!(!w.rooms.contains("b"), "the refused join's room is gone");
        assert!(w.rooms_of(1).is_empty());
        // Leaving every room is not leaving for good.
        w.leave_all(2, |_| {});
        w.join(2, &["c".into()], |_| {});
        assert_eq!(members(&w.rooms, "c"), [sid(2)]);
    }

    #[test]
    fn a_leave_while_many_join_leaves_no_stale_member() {
        // Each leave comes after the joining socket's list was written and
        // before the room's set is: the set must not keep it.
        let w = World::default();
        let room: Room = "r".into();
        let mut heard = Vec::new();
        w.join_many_then(
            &[1, 2, 3],
            std::slice::from_ref(&room),
            |n| match n {
                1 => w.close(1),
                2 => w.leave(2, std::slice::from_ref(&room), |_| {}),
                _ => {}
            },
            |room, fresh| heard.push((room.to_owned(), fresh.to_vec())),
        );
        assert_eq!(members(&w.rooms, "r"), [sid(3)]);
        assert_eq!(heard, [("r".to_owned(), vec![sid(3)])]);
        assert!(w.rooms_of(1).is_empty() && w.rooms_of(2).is_empty());
        // The same, where every member leaves: the room goes.
        w.join_many_then(&[4], std::slice::from_ref(&room), |n| w.close(n), |_, _| {});
        w.leave_all(3, |_| {});
        assert!(w.rooms.all().is_empty());
    }

    #[test]
    fn the_watcher_hears_of_rooms_that_appear_and_disappear_only() {
        use std::sync::{Arc, Mutex};
        let w = World::default();
        let rooms = &w.rooms;
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = heard.clone();
        assert!(rooms.watch(RoomWatch(Box::new(move |room: &Room| {
            log.lock().unwrap().push(room.to_string())
        }))));
        assert!(!rooms.watch(RoomWatch(Box::new(|_: &Room| {}))));
        w.join(1, &["a".into()], |_| {});
        w.join(2, &["a".into(), "b".into()], |_| {});
        w.leave(1, &["a".into()], |_| {});
        assert_eq!(*heard.lock().unwrap(), ["a", "b"]);
        w.leave_all(2, |_| {});
        let mut all = heard.lock().unwrap().clone();
        all.sort();
        assert_eq!(all, ["a", "a", "b", "b"]);
    }
}
