//! Where rooms live. The in-memory index ([`Rooms`]) is this server's; an
//! adapter that spans servers builds on it.

mod rooms;

pub use rooms::Room;
pub(crate) use rooms::Rooms;
