//! Runs a socket's handlers one after the other, in arrival order, without a
//! task per socket: a handler that completes at once runs on the reading
//! task; the first that waits moves, with what queued behind it, to a task
//! that lives only until the queue is empty.

use std::{
    collections::VecDeque,
    sync::Mutex,
    task::{Context, Poll, Waker},
};

use crate::{
    handler::BoxFuture,
    panic::{self, CatchPanic, Panic},
};

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

/// What owns a queue: gives the queue, and hears of a job that panicked
/// where no closer catch did (handlers catch their own; this is the
/// backstop that keeps the queue going).
pub(crate) trait SerialOwner: Send + 'static {
    fn serial(&self) -> &Serial;
    fn job_panicked(&self, panic: &Panic);
}

/// Drives jobs in order starting with `first`: inline while they complete at
/// once, then on a spawned task. `owner` gives the queue (and keeps it alive).
pub(crate) fn drive<S: SerialOwner>(owner: S, first: Job) {
    drive_with(owner, first);
}

/// Like [`drive`], with work begun after [`Serial::try_start`], made into
/// a future here.
///
/// One `catch_unwind` covers making each job's future and its first poll:
/// a backstop, since the user code inside contains its own panics where it
/// can name them (`crate::panic`), that keeps the queue going.
pub(crate) fn drive_with<S: SerialOwner>(owner: S, first: impl FnOnce() -> BoxFuture<()>) {
    let mut started = start(first);
    loop {
        match started {
            Ok(Some(fut)) => {
                tokio::spawn(drive_spawned(owner, fut));
                return;
            }
            Ok(None) => {}
            Err(p) => owner.job_panicked(&p),
        }
        match owner.serial().next() {
            Some(job) => started = start(job),
            None => return,
        }
    }
}

/// Makes a job's future and polls it once; the future if it waits.
fn start(job: impl FnOnce() -> BoxFuture<()>) -> Result<Option<BoxFuture<()>>, Panic> {
    panic::catch(|| {
        let mut fut = job();
        // A future that is pending here is polled again on its task, with
        // a real waker, before anything could wake it.
        let mut cx = Context::from_waker(Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(()) => None,
            Poll::Pending => Some(fut),
        }
    })
}

/// The rest of the queue, from a job that waited, on a task of its own that
/// ends when the queue is empty.
async fn drive_spawned<S: SerialOwner>(owner: S, first: BoxFuture<()>) {
    if let Err(p) = CatchPanic::new(first).await {
        owner.job_panicked(&p);
    }
    while let Some(job) = owner.serial().next() {
        // Made inside the catch: making it may panic too.
        if let Err(p) = CatchPanic::new(async move { job().await }).await {
            owner.job_panicked(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Q(Serial, Mutex<Vec<String>>);
    impl SerialOwner for Arc<Q> {
        fn serial(&self) -> &Serial {
            &self.0
        }
        fn job_panicked(&self, panic: &Panic) {
            self.1.lock().unwrap().push(panic.message().to_owned());
        }
    }

    type Wait = Option<tokio::sync::oneshot::Receiver<()>>;
    type Done = Option<tokio::sync::oneshot::Sender<()>>;

    /// Queues and drives four jobs made by `make(i, wait, done)`: job
    /// `waiter` gets a receiver to wait on, job 3 a sender to say it ran.
    /// Returns the sender that releases the waiter and the "done" receiver.
    fn queue_four(
        q: &Arc<Q>,
        waiter: usize,
        make: impl Fn(usize, Wait, Done) -> Job,
    ) -> (
        tokio::sync::oneshot::Sender<()>,
        tokio::sync::oneshot::Receiver<()>,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let mut rx = Some(rx);
        let mut done_tx = Some(done_tx);
        for i in 0..4 {
            let wait = if i == waiter { rx.take() } else { None };
            let done = if i == 3 { done_tx.take() } else { None };
            if let Ok(job) = q.0.enqueue(make(i, wait, done)) {
                drive(q.clone(), job);
            }
        }
        (tx, done_rx)
    }

    #[tokio::test]
    async fn jobs_run_in_order_even_when_one_waits() {
        let q = Arc::new(Q(Serial::default(), Mutex::default()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, done_rx) = queue_four(&q, 1, |i, wait, done| {
            let log = log.clone();
            Box::new(move || {
                Box::pin(async move {
                    if let Some(w) = wait {
                        let _ = w.await;
                    }
                    log.lock().unwrap().push(i);
                    if let Some(d) = done {
                        let _ = d.send(());
                    }
                })
            })
        });
        assert_eq!(*log.lock().unwrap(), vec![0]);
        assert_eq!(q.0.len(), 2);
        tx.send(()).unwrap();
        done_rx.await.unwrap();
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_the_queue_goes_on() {
        let q = Arc::new(Q(Serial::default(), Mutex::default()));
        let log = Arc::new(Mutex::new(Vec::new()));
        // 0 waits, then panics; 1 panics while making its future; 2 panics
        // at once; 3 completes.
        let (tx, done_rx) = queue_four(&q, 0, |i, wait, done| {
            let log = log.clone();
            Box::new(move || {
                if i == 1 {
                    panic!("making job 1");
                }
                Box::pin(async move {
                    if let Some(w) = wait {
                        let _ = w.await;
                        panic!("job 0 after its await");
                    }
                    if i == 2 {
                        panic!("job 2 at once");
                    }
                    log.lock().unwrap().push(i);
                    if let Some(d) = done {
                        let _ = d.send(());
                    }
                })
            })
        });
        tx.send(()).unwrap();
        done_rx.await.unwrap();
        assert_eq!(*log.lock().unwrap(), vec![3]);
        assert_eq!(
            *q.1.lock().unwrap(),
            ["job 0 after its await", "making job 1", "job 2 at once"]
        );
        // The queue is idle again: the next work starts at once.
        assert!(q.0.try_start());
    }
}
