//! Runs a socket's handlers one after the other, in arrival order, without a
//! task per socket: a handler that completes at once runs on the reading
//! task; the first that waits moves, with what queued behind it, to a task
//! that lives only until the queue is empty.

use std::{
    collections::VecDeque,
    sync::Mutex,
    task::{Context, Waker},
};

use crate::handler::BoxFuture;

/// A job: made into a future only when its turn comes, so that it sees
/// everything the jobs before it did (such as handlers they registered).
pub(crate) type Job = Box<dyn FnOnce() -> BoxFuture<()> + Send>;

#[derive(Default)]
pub(crate) struct Serial {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    running: bool,
}

impl Serial {
    /// Queues `job` and returns how many jobs wait; hands it back when the
    /// caller must drive it (nothing was running).
    pub(crate) fn enqueue(&self, job: Job) -> Result<Job, usize> {
        let mut s = crate::lock(&self.state);
        if s.running {
            s.queue.push_back(job);
            Err(s.queue.len())
        } else {
            s.running = true;
            Ok(job)
        }
    }

    /// Marks the queue running if nothing runs: the caller then runs its
    /// work at once, without making it a job. `false` when something runs.
    pub(crate) fn try_start(&self) -> bool {
        let mut s = crate::lock(&self.state);
        !std::mem::replace(&mut s.running, true)
    }

    /// The next job, or `None` after marking the queue idle.
    fn next(&self) -> Option<Job> {
        let mut s = crate::lock(&self.state);
        let job = s.queue.pop_front();
        if job.is_none() {
            s.running = false;
        }
        job
    }

    /// Jobs waiting for their turn.
    pub(crate) fn len(&self) -> usize {
        crate::lock(&self.state).queue.len()
    }
}

/// Drives jobs in order starting with `first`: inline while they complete at
/// once, then on a spawned task. `serial` gives the queue (and keeps it alive).
pub(crate) fn drive<S>(serial: S, first: Job)
where
    S: AsRef<Serial> + Send + 'static,
{
    drive_future(serial, first());
}

/// Like [`drive`], starting with the future of work begun after
/// [`Serial::try_start`].
pub(crate) fn drive_future<S>(serial: S, first: BoxFuture<()>)
where
    S: AsRef<Serial> + Send + 'static,
{
    let mut fut = first;
    loop {
        // A future that is pending here is polled again on its task, with a
        // real waker, before anything could wake it.
        let mut cx = Context::from_waker(Waker::noop());
        if fut.as_mut().poll(&mut cx).is_pending() {
            tokio::spawn(async move {
                fut.await;
                while let Some(job) = serial.as_ref().next() {
                    job().await;
                }
            });
            return;
        }
        match serial.as_ref().next() {
            Some(next) => fut = next(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Q(Serial);
    impl AsRef<Serial> for Arc<Q> {
        fn as_ref(&self) -> &Serial {
            &self.0
        }
    }

    #[tokio::test]
    async fn jobs_run_in_order_even_when_one_waits() {
        let q = Arc::new(Q(Serial::default()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let mut rx = Some(rx);
        let mut done_tx = Some(done_tx);
        for i in 0..4 {
            let log = log.clone();
            let wait = if i == 1 { rx.take() } else { None };
            let done = if i == 3 { done_tx.take() } else { None };
            let job: Job = Box::new(move || {
                Box::pin(async move {
                    if let Some(w) = wait {
                        let _ = w.await;
                    }
                    log.lock().unwrap().push(i);
                    if let Some(d) = done {
                        let _ = d.send(());
                    }
                })
            });
            if let Ok(job) = q.0.enqueue(job) {
                drive(q.clone(), job);
            }
        }
        assert_eq!(*log.lock().unwrap(), vec![0]);
        assert_eq!(q.0.len(), 2);
        tx.send(()).unwrap();
        done_rx.await.unwrap();
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3]);
    }
}
