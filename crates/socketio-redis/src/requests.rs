//! Requests waiting for the answers of other servers, matched by request id.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use rand::{distr::Alphanumeric, Rng};
use rmpv::Value;
use tokio::sync::mpsc;

/// The open requests of one server.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    open: Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>,
}

/// One open request: it receives the answers until dropped.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) id: String,
    pub(crate) answers: mpsc::UnboundedReceiver<Value>,
    requests: Arc<Requests>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        lock(&self.requests.open).remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Six random characters, as Node's `uid2(6)`.
pub(crate) fn random_id() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(6)
        .map(char::from)
        .collect()
}

/// `n` random hexadecimal digits, as Node's `randomBytes(n / 2).toString("hex")`.
pub(crate) fn random_hex(n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(HEX[rng.random_range(0..16)]))
        .collect()
}

impl Requests {
    /// Opens a request, under a fresh id.
    pub(crate) fn open(self: &Arc<Self>) -> Pending {
        let (tx, answers) = mpsc::unbounded_channel();
        let mut open = lock(&self.open);
        let id = loop {
            let id = random_id();
            if !open.contains_key(&id) {
                break id;
            }
        };
        open.insert(id.clone(), tx);
        Pending {
            id,
            answers,
            requests: self.clone(),
        }
    }

    /// Hands an answer to the request it answers; false if none is open.
    pub(crate) fn answer(&self, id: &str, answer: Value) -> bool {
        match lock(&self.open).get(id) {
            Some(tx) => tx.send(answer).is_ok(),
            None => false,
        }
    }
}
