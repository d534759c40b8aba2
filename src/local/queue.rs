//! `fnctl dev`'s local queues: one in-memory queue per `[resources.NAME]` of
//! kind `queue` that a function is triggered by, delivered to its workers
//! the way Lambda's SQS event source mapping delivers a queue.
//!
//! - `POST /@fnctl/queues/{name}` enqueues the request body as one message
//!   and answers `202 {"messageId", "md5OfBody"}`. `@` cannot appear in a
//!   route's path in the manifest, so no literal route of the app ever
//!   meets these endpoints (a parameter or greedy route that would match
//!   them yields to them, as it yields to literal routes on API Gateway);
//! - messages go to each consumer in batches of at most the trigger's
//!   `batch_size`, as an SQS event (`Records[]`, see
//!   [`crate::events::sqs_record`]), after `max_batching_window` when one is
//!   set and the batch is not full;
//! - a handler error, a crash or a timeout fails the whole batch; a partial
//!   batch response (`{"batchItemFailures": [{"itemIdentifier": ID}]}`)
//!   fails only those messages, and one that names a message not in the
//!   batch fails the whole batch, as Lambda treats it;
//! - a failed message is received again after the retry delay (short, and
//!   `--queue-retry-delay`, instead of the queue's visibility timeout:
//!   waiting 30 s to see a fix work is what a dev loop must not do), with
//!   `ApproximateReceiveCount` one higher;
//! - after `dead_letter.after` receives it moves to the queue's local
//!   dead-letter list (`GET /@fnctl/queues/{name}/dead-letter`); without a
//!   dead-letter queue it is dropped after [`RECEIVES_WITHOUT_DEAD_LETTER`]
//!   receives, where SQS would retry it until its retention ends (days of a
//!   failing handler in a loop, drowning the terminal);
//! - messages older than the queue's retention are deleted, as SQS does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::pool::Pool;
use super::runtime_api::Outcome;
use crate::model::{App, Queue, QueueTrigger, ResourceKind};

/// Where the queue endpoints live on dev's server.
pub const PATH_PREFIX: &str = "/@fnctl/queues";
/// How long a failed message stays hidden before its next receive, unless
/// `--queue-retry-delay` says otherwise.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Receives of a failing message on a queue without `dead_letter` before
/// dev drops it: enough for a transient failure to succeed, few enough to
/// stop a failing handler soon.
pub const RECEIVES_WITHOUT_DEAD_LETTER: u32 = 10;
/// SQS's largest message body, 256 KiB (SendMessage's `MessageBody`).
pub const MAX_BODY_BYTES: usize = 262_144;

/// `--queue-retry-delay`: `0`, `250ms`, `2s`.
pub fn parse_delay(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a delay such as 0, 250ms or 2s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "" if n == 0 => Ok(Duration::ZERO),
        _ => Err(format!(
            "`{s}` has no unit or an unknown one: write 250ms or 2s"
        )),
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Message {
    id: String,
    body: String,
    sent_ms: u64,
    first_receive_ms: Option<u64>,
    receives: u32,
    enqueued: Instant,
    /// Hidden until then after a failed delivery.
    visible_at: Instant,
    in_flight: bool,
}

/// A message that left its queue unhandled, as the dead-letter listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadMessage {
    pub message_id: String,
    pub body: String,
    pub md5_of_body: String,
    pub approximate_receive_count: u32,
    pub sent_timestamp: u64,
    /// Why it left: moved after `dead_letter.after` receives, or dropped
    /// by dev on a queue without a dead-letter queue.
    pub reason: String,
}

struct LocalQueue {
    settings: Queue,
    messages: Vec<Message>,
    dead: Vec<DeadMessage>,
}

/// One message of a batch on its way to a handler.
#[derive(Debug, Clone)]
pub struct Taken {
    pub id: String,
    pub receipt_handle: String,
    pub body: String,
    pub receives: u32,
    pub sent_ms: u64,
    pub first_receive_ms: u64,
}

/// A function triggered by a queue, with what delivering to it needs.
pub struct Consumer {
    pub function: String,
    pub trigger: QueueTrigger,
    pub pool: Arc<Pool>,
    /// `eventSourceARN` (see [`crate::events::sqs_queue_arn`]).
    pub arn: String,
    pub region: String,
}

/// Why a message was not enqueued, or a listing not given: the HTTP
/// status and a message naming the queue, the cause and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueError {
    pub status: u16,
    pub message: String,
}

/// What a handler's answer means for its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    AllHandled,
    /// Only these message ids failed.
    Partial(BTreeSet<String>),
    /// The whole batch failed, and why.
    AllFailed(String),
}

/// Reads a handler's outcome for a batch of `ids` as Lambda does with
/// `ReportBatchItemFailures`: no answer, `null`, an answer without
/// `batchItemFailures`, or an empty list is success; an item whose
/// `itemIdentifier` is missing, empty or not a message of the batch fails
/// the whole batch.
pub fn verdict(outcome: Option<&Outcome>, ids: &[String]) -> Verdict {
    let payload = match outcome {
        Some(Outcome::Response(p)) => p,
        Some(Outcome::Error { error_type, .. }) => {
            return Verdict::AllFailed(format!("error {error_type}"))
        }
        Some(Outcome::InitError { error_type, .. }) => {
            return Verdict::AllFailed(format!("init error {error_type}"))
        }
        None => return Verdict::AllFailed("timed out".into()),
    };
    let Ok(answer) = serde_json::from_slice::<Value>(payload) else {
        return Verdict::AllHandled;
    };
    let items = match answer.get("batchItemFailures") {
        None | Some(Value::Null) => return Verdict::AllHandled,
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Verdict::AllFailed(
                "batchItemFailures is not a list of {\"itemIdentifier\": messageId}".into(),
            )
        }
    };
    let mut failed = BTreeSet::new();
    for item in items {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if ids.iter().any(|i| i == id) => {
                failed.insert(id.to_string());
            }
            Some(id) if !id.is_empty() => {
                return Verdict::AllFailed(format!(
                    "batchItemFailures names `{id}`, which is not a messageId of the batch"
                ))
            }
            _ => {
                return Verdict::AllFailed("a batchItemFailures item has no itemIdentifier".into())
            }
        }
    }
    if failed.is_empty() {
        Verdict::AllHandled
    } else {
        Verdict::Partial(failed)
    }
}

#[derive(Default)]
struct State {
    queues: BTreeMap<String, LocalQueue>,
    /// Batches in flight per (function, queue).
    busy: BTreeMap<(String, String), usize>,
}

/// Every local queue of the app being served.
pub struct Queues {
    state: Mutex<State>,
    changed: Notify,
    retry_delay: Duration,
    /// Batches in flight per consumer at most (dev's `--max-workers`).
    max_batches: usize,
    counter: AtomicU64,
}

impl Queues {
    pub fn new(app: &App, retry_delay: Duration, max_batches: usize) -> Arc<Queues> {
        let queues = Arc::new(Queues {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            retry_delay,
            max_batches: max_batches.max(1),
            counter: AtomicU64::new(0),
        });
        queues.sync(app);
        queues
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows a reload: new queues appear, settings change, messages of
    /// queues that remain are kept.
    pub fn sync(&self, app: &App) {
        let mut state = self.lock();
        state.queues.retain(|name, _| {
            matches!(
                app.resources.get(name).map(|r| &r.kind),
                Some(ResourceKind::Queue(_))
            )
        });
        for r in app.resources.values() {
            if let ResourceKind::Queue(settings) = &r.kind {
                state
                    .queues
                    .entry(r.name.clone())
                    .and_modify(|q| q.settings = settings.clone())
                    .or_insert_with(|| LocalQueue {
                        settings: settings.clone(),
                        messages: Vec::new(),
                        dead: Vec::new(),
                    });
            }
        }
        drop(state);
        self.changed.notify_one();
    }

    /// The queue `name`, if it is one a function of `app` is triggered by.
    fn check_consumed(app: &App, name: &str) -> Result<(), QueueError> {
        let consumed: BTreeSet<&str> = app
            .functions
            .values()
            .flat_map(|f| f.queue_triggers.iter().map(|t| t.queue.as_str()))
            .collect();
        if consumed.contains(name) {
            return Ok(());
        }
        let listed = if consumed.is_empty() {
            "no function has a queue trigger".to_string()
        } else {
            format!(
                "queues with a consumer: {}",
                consumed.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        let message = match app.resources.get(name).map(|r| &r.kind) {
            Some(ResourceKind::Queue(_)) => format!(
                "queue `{name}` has no function triggered by it, so fnctl dev runs no local queue for it; add a `type = \"queue\"` trigger naming it ({listed})"
            ),
            Some(other) => format!(
                "`{name}` is a {}, not a queue; {listed}",
                other.as_str()
            ),
            None => format!(
                "no queue `{name}` in [resources]{}; {listed}",
                crate::suggest::did_you_mean(name, app.resources.keys().map(String::as_str))
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
        };
        Err(QueueError {
            status: 404,
            message,
        })
    }

    /// Adds one message with `body`; its messageId and MD5.
    pub fn enqueue(
        &self,
        app: &App,
        name: &str,
        body: &[u8],
    ) -> Result<(String, String), QueueError> {
        Self::check_consumed(app, name)?;
        let bad = |message: String| QueueError {
            status: 400,
            message,
        };
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(bad(format!(
                "the message for queue `{name}` is not UTF-8 text; SQS message bodies are text, so send binary data base64-encoded"
            )));
        };
        if body.is_empty() {
            return Err(bad(format!(
                "the message for queue `{name}` is empty; SQS needs at least one character: send the message as the request body"
            )));
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(QueueError {
                status: 413,
                message: format!(
                    "the message for queue `{name}` has {} bytes, over SQS's {MAX_BODY_BYTES}; send a reference (an object key) instead of the data",
                    body.len()
                ),
            });
        }
        let id = self.new_id();
        let md5 = crate::events::md5_hex(body.as_bytes());
        let now = Instant::now();
        let mut state = self.lock();
        let Some(queue) = state.queues.get_mut(name) else {
            return Err(QueueError {
                status: 404,
                message: format!(
                    "queue `{name}` is not served yet; retry once fnctl dev has reloaded"
                ),
            });
        };
        queue.messages.push(Message {
            id: id.clone(),
            body: body.to_string(),
            sent_ms: unix_ms(),
            first_receive_ms: None,
            receives: 0,
            enqueued: now,
            visible_at: now,
            in_flight: false,
        });
        drop(state);
        self.changed.notify_one();
        Ok((id, md5))
    }

    /// The dead-letter listing of queue `name` as JSON.
    pub fn dead_letters(&self, app: &App, name: &str) -> Result<Value, QueueError> {
        Self::check_consumed(app, name)?;
        let state = self.lock();
        let queue = state.queues.get(name);
        Ok(json!({
            "queue": name,
            "dead_letter_after": queue.and_then(|q| q.settings.dead_letter.as_ref()).map(|d| d.after),
            "dropped_after": match queue.and_then(|q| q.settings.dead_letter.as_ref()) {
                Some(_) => Value::Null,
                None => json!(RECEIVES_WITHOUT_DEAD_LETTER),
            },
            "messages": queue.map(|q| q.dead.clone()).unwrap_or_default(),
        }))
    }

    /// A UUID-shaped messageId, unique within this process and across runs.
    fn new_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let h = hex::encode(Sha256::digest(format!(
            "{}:{n}:{nanos}",
            std::process::id()
        )));
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Takes the next batch for a consumer of `queue`, marking its messages
    /// in flight and counting the receive; empty when none is due. The
    /// second value is when a batch may be due next (a retry delay or a
    /// batching window ending), if not earlier by a new message.
    pub fn take(
        &self,
        function: &str,
        trigger: &QueueTrigger,
        now: Instant,
    ) -> (Vec<Taken>, Option<Instant>) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let key = (function.to_string(), trigger.queue.clone());
        if state.busy.get(&key).copied().unwrap_or(0) >= self.max_batches {
            return (Vec::new(), None);
        }
        let Some(queue) = state.queues.get_mut(&trigger.queue) else {
            return (Vec::new(), None);
        };
        let retention = Duration::from_secs(u64::from(queue.settings.retention_s));
        queue.messages.retain(|m| {
            let expired = !m.in_flight && now.duration_since(m.enqueued) >= retention;
            if expired {
                eprintln!(
                    "queue {}: message {} deleted: older than the queue's retention ({} s), as SQS deletes it",
                    trigger.queue, m.id, queue.settings.retention_s
                );
            }
            !expired
        });
        let waiting = queue.messages.iter().filter(|m| !m.in_flight);
        let later = waiting
            .clone()
            .map(|m| m.visible_at)
            .filter(|t| *t > now)
            .min();
        let visible: Vec<usize> = queue
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.in_flight && m.visible_at <= now)
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = visible.first() else {
            return (Vec::new(), later);
        };
        let size = trigger.batch_size.max(1) as usize;
        // Lambda gathers up to the window before invoking with a batch
        // that is not full.
        if let Some(window) = trigger.max_batching_window_s.filter(|w| *w > 0) {
            let since = queue.messages[first]
                .visible_at
                .max(queue.messages[first].enqueued);
            let due = since + Duration::from_secs(u64::from(window));
            if visible.len() < size && due > now {
                return (Vec::new(), Some(later.map_or(due, |l| l.min(due))));
            }
        }
        let received_ms = unix_ms();
        let mut batch = Vec::new();
        for &i in visible.iter().take(size) {
            let m = &mut queue.messages[i];
            m.in_flight = true;
            m.receives += 1;
            let first_ms = *m.first_receive_ms.get_or_insert(received_ms);
            batch.push(Taken {
                id: m.id.clone(),
                receipt_handle: format!("fnctl-dev:{}:{}", m.id, m.receives),
                body: m.body.clone(),
                receives: m.receives,
                sent_ms: m.sent_ms,
                first_receive_ms: first_ms,
            });
        }
        *state.busy.entry(key).or_insert(0) += 1;
        (batch, later)
    }

    /// Ends a delivery: handled messages are deleted, failed ones are
    /// hidden for the retry delay, or leave the queue once received too
    /// often. The lines to print about messages that left.
    pub fn settle(
        &self,
        function: &str,
        queue_name: &str,
        batch: &[Taken],
        verdict: &Verdict,
        now: Instant,
    ) -> Vec<String> {
        let failed = |id: &str| match verdict {
            Verdict::AllHandled => false,
            Verdict::Partial(ids) => ids.contains(id),
            Verdict::AllFailed(_) => true,
        };
        let mut lines = Vec::new();
        let mut guard = self.lock();
        let state = &mut *guard;
        if let Some(n) = state
            .busy
            .get_mut(&(function.to_string(), queue_name.to_string()))
        {
            *n = n.saturating_sub(1);
        }
        if let Some(queue) = state.queues.get_mut(queue_name) {
            let ids: BTreeSet<&str> = batch.iter().map(|t| t.id.as_str()).collect();
            let mut kept = Vec::with_capacity(queue.messages.len());
            for mut m in std::mem::take(&mut queue.messages) {
                if !ids.contains(m.id.as_str()) {
                    kept.push(m);
                    continue;
                }
                if !failed(&m.id) {
                    continue;
                }
                let limit = queue.settings.dead_letter.as_ref().map(|d| d.after);
                let reason = match limit {
                    Some(after) if m.receives >= after => Some(format!(
                        "moved to the dead-letter queue after {} receives (dead_letter.after = {after})",
                        m.receives
                    )),
                    None if m.receives >= RECEIVES_WITHOUT_DEAD_LETTER => Some(format!(
                        "dropped after {} receives: the queue has no dead_letter (SQS would retry it until its retention of {} s ends)",
                        m.receives, queue.settings.retention_s
                    )),
                    _ => None,
                };
                match reason {
                    Some(reason) => {
                        lines.push(format!("queue {queue_name}: message {} {reason}", m.id));
                        queue.dead.push(DeadMessage {
                            md5_of_body: crate::events::md5_hex(m.body.as_bytes()),
                            message_id: m.id,
                            body: m.body,
                            approximate_receive_count: m.receives,
                            sent_timestamp: m.sent_ms,
                            reason,
                        });
                    }
                    None => {
                        m.in_flight = false;
                        m.visible_at = now + self.retry_delay;
                        kept.push(m);
                    }
                }
            }
            queue.messages = kept;
        }
        drop(guard);
        self.changed.notify_one();
        lines
    }

    /// Starts every batch that is due; when to look again at the latest.
    pub fn dispatch(self: &Arc<Self>, consumers: &[Consumer]) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        loop {
            let mut started = false;
            // One batch per consumer per round, so consumers of one queue
            // share it as Lambda's pollers would.
            for c in consumers {
                let (batch, later) = self.take(&c.function, &c.trigger, Instant::now());
                if let Some(l) = later {
                    next = Some(next.map_or(l, |n| n.min(l)));
                }
                if batch.is_empty() {
                    continue;
                }
                started = true;
                let queues = self.clone();
                let (function, queue, pool, arn, region) = (
                    c.function.clone(),
                    c.trigger.queue.clone(),
                    c.pool.clone(),
                    c.arn.clone(),
                    c.region.clone(),
                );
                tokio::spawn(async move {
                    queues
                        .deliver(&function, &queue, &pool, &arn, &region, batch)
                        .await;
                });
            }
            if !started {
                return next;
            }
        }
    }

    /// Waits for a new message, a settled batch or a reload, or until `until`.
    pub async fn wait(&self, until: Option<Instant>) {
        match until {
            Some(t) => {
                tokio::select! {
                    _ = self.changed.notified() => {}
                    _ = tokio::time::sleep_until(tokio::time::Instant::from_std(t)) => {}
                }
            }
            None => self.changed.notified().await,
        }
    }

    /// Runs one batch through the function's workers and settles it.
    async fn deliver(
        &self,
        function: &str,
        queue: &str,
        pool: &Pool,
        arn: &str,
        region: &str,
        batch: Vec<Taken>,
    ) {
        let started = Instant::now();
        let records: Vec<Value> = batch
            .iter()
            .map(|t| {
                crate::events::sqs_record(
                    &crate::events::SqsMessage {
                        message_id: &t.id,
                        receipt_handle: &t.receipt_handle,
                        body: &t.body,
                        receive_count: t.receives,
                        sent_ms: t.sent_ms,
                        first_receive_ms: t.first_receive_ms,
                    },
                    arn,
                    region,
                )
            })
            .collect();
        let event = json!({ "Records": records });
        let ids: Vec<String> = batch.iter().map(|t| t.id.clone()).collect();
        let verdict = match pool.invoke(event.to_string().into_bytes()).await {
            Ok(outcome) => verdict(outcome.as_ref(), &ids),
            Err(e) => Verdict::AllFailed(e.to_string()),
        };
        let n = batch.len();
        let plural = if n == 1 { "message" } else { "messages" };
        let result = match &verdict {
            Verdict::AllHandled => format!("{n} ok"),
            Verdict::Partial(failed) => format!("{} ok, {} failed", n - failed.len(), failed.len()),
            Verdict::AllFailed(why) => format!("{why}, {n} failed"),
        };
        eprintln!(
            "queue {queue} -> {function} {n} {plural}: {result} ({} ms)",
            started.elapsed().as_millis()
        );
        for line in self.settle(function, queue, &batch, &verdict, Instant::now()) {
            eprintln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeadLetter, Resource};

    fn app(dead_letter: Option<u32>) -> App {
        let mut app = App {
            name: "shop".into(),
            stage: "dev".into(),
            root: ".".into(),
            manifest_path: "fnctl.toml".into(),
            tags: Default::default(),
            aws: None,
            azure: None,
            functions: Default::default(),
            resources: Default::default(),
            cors: None,
        };
        app.resources.insert(
            "jobs".into(),
            Resource {
                name: "jobs".into(),
                span: 0..0,
                kind: ResourceKind::Queue(Queue {
                    visibility_timeout_s: 30,
                    visibility_timeout_span: 0..0,
                    retention_s: crate::model::resource::DEFAULT_RETENTION_S,
                    dead_letter: dead_letter.map(|after| DeadLetter { after, span: 0..0 }),
                }),
            },
        );
        app
    }

    fn trigger(batch_size: u32, window: Option<u32>) -> QueueTrigger {
        QueueTrigger {
            queue: "jobs".into(),
            batch_size,
            batch_size_span: 0..0,
            max_batching_window_s: window,
            max_batching_window_span: 0..0,
            span: 0..0,
        }
    }

    /// Puts messages straight in (the HTTP path checks for a consumer).
    fn put(q: &Queues, bodies: &[&str]) -> Vec<String> {
        bodies
            .iter()
            .map(|b| {
                let id = q.new_id();
                let now = Instant::now();
                q.lock()
                    .queues
                    .get_mut("jobs")
                    .unwrap()
                    .messages
                    .push(Message {
                        id: id.clone(),
                        body: b.to_string(),
                        sent_ms: 1,
                        first_receive_ms: None,
                        receives: 0,
                        enqueued: now,
                        visible_at: now,
                        in_flight: false,
                    });
                id
            })
            .collect()
    }

    fn bodies(batch: &[Taken]) -> Vec<(&str, u32)> {
        batch
            .iter()
            .map(|t| (t.body.as_str(), t.receives))
            .collect()
    }

    #[test]
    fn batches_hold_at_most_batch_size_and_in_flight_messages_stay_hidden() {
        let q = Queues::new(&app(None), Duration::ZERO, 4);
        put(&q, &["a", "b", "c"]);
        let now = Instant::now();
        let (first, _) = q.take("worker", &trigger(2, None), now);
        assert_eq!(bodies(&first), [("a", 1), ("b", 1)]);
        let (second, _) = q.take("worker", &trigger(2, None), now);
        assert_eq!(bodies(&second), [("c", 1)]);
        assert!(q.take("worker", &trigger(2, None), now).0.is_empty());
    }

    #[test]
    fn a_whole_batch_failure_retries_every_message_and_a_partial_one_only_those_named() {
        let q = Queues::new(&app(Some(5)), Duration::ZERO, 4);
        let ids = put(&q, &["good", "bad"]);
        let t = trigger(10, None);
        let (batch, _) = q.take("worker", &t, Instant::now());
        let v = verdict(
            Some(&Outcome::Error {
                error_type: "Exception".into(),
                body: vec![],
            }),
            &ids,
        );
        assert!(q
            .settle("worker", "jobs", &batch, &v, Instant::now())
            .is_empty());
        let (batch, _) = q.take("worker", &t, Instant::now());
        assert_eq!(bodies(&batch), [("good", 2), ("bad", 2)]);

        let answer = json!({"batchItemFailures": [{"itemIdentifier": ids[1]}]}).to_string();
        let v = verdict(Some(&Outcome::Response(answer.into_bytes())), &ids);
        assert_eq!(v, Verdict::Partial([ids[1].clone()].into()));
        q.settle("worker", "jobs", &batch, &v, Instant::now());
        let (batch, _) = q.take("worker", &t, Instant::now());
        assert_eq!(bodies(&batch), [("bad", 3)]);
    }

    #[test]
    fn partial_responses_are_read_as_lambda_reads_them() {
        let ids = vec!["m1".to_string(), "m2".to_string()];
        let read = |v: Value| verdict(Some(&Outcome::Response(v.to_string().into_bytes())), &ids);
        assert_eq!(read(Value::Null), Verdict::AllHandled);
        assert_eq!(read(json!({"statusCode": 200})), Verdict::AllHandled);
        assert_eq!(read(json!({"batchItemFailures": []})), Verdict::AllHandled);
        assert_eq!(
            read(json!({"batchItemFailures": null})),
            Verdict::AllHandled
        );
        assert!(matches!(
            read(json!({"batchItemFailures": [{"itemIdentifier": "nope"}]})),
            Verdict::AllFailed(why) if why.contains("`nope`")
        ));
        assert!(matches!(
            read(json!({"batchItemFailures": [{"itemIdentifier": ""}]})),
            Verdict::AllFailed(_)
        ));
        assert!(matches!(
            read(json!({"batchItemFailures": [{}]})),
            Verdict::AllFailed(_)
        ));
        assert_eq!(verdict(None, &ids), Verdict::AllFailed("timed out".into()));
    }

    #[test]
    fn after_dead_letter_after_receives_a_message_moves_to_the_dead_letter_list() {
        let q = Queues::new(&app(Some(2)), Duration::ZERO, 4);
        let ids = put(&q, &["bad"]);
        let t = trigger(10, None);
        let fail = Verdict::AllFailed("error".into());
        let (batch, _) = q.take("worker", &t, Instant::now());
        assert!(q
            .settle("worker", "jobs", &batch, &fail, Instant::now())
            .is_empty());
        let (batch, _) = q.take("worker", &t, Instant::now());
        let lines = q.settle("worker", "jobs", &batch, &fail, Instant::now());
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].contains(&ids[0]) && lines[0].contains("queue jobs"),
            "{lines:?}"
        );
        assert!(q.take("worker", &t, Instant::now()).0.is_empty());
        let dead = &q.lock().queues["jobs"].dead;
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].approximate_receive_count, 2);
        assert_eq!(dead[0].md5_of_body, crate::events::md5_hex(b"bad"));
    }

    #[test]
    fn without_a_dead_letter_queue_dev_drops_a_message_after_its_bound() {
        let q = Queues::new(&app(None), Duration::ZERO, 4);
        put(&q, &["bad"]);
        let t = trigger(10, None);
        let fail = Verdict::AllFailed("error".into());
        for n in 1..=RECEIVES_WITHOUT_DEAD_LETTER {
            let (batch, _) = q.take("worker", &t, Instant::now());
            assert_eq!(bodies(&batch), [("bad", n)]);
            let lines = q.settle("worker", "jobs", &batch, &fail, Instant::now());
            assert_eq!(lines.len(), usize::from(n == RECEIVES_WITHOUT_DEAD_LETTER));
        }
        assert!(q.take("worker", &t, Instant::now()).0.is_empty());
    }

    #[test]
    fn a_failed_message_waits_for_the_retry_delay() {
        let q = Queues::new(&app(None), Duration::from_secs(60), 4);
        put(&q, &["bad"]);
        let t = trigger(10, None);
        let now = Instant::now();
        let (batch, _) = q.take("worker", &t, now);
        q.settle(
            "worker",
            "jobs",
            &batch,
            &Verdict::AllFailed("e".into()),
            now,
        );
        let (batch, later) = q.take("worker", &t, now);
        assert!(batch.is_empty());
        assert_eq!(later, Some(now + Duration::from_secs(60)));
        let (batch, _) = q.take("worker", &t, now + Duration::from_secs(60));
        assert_eq!(bodies(&batch), [("bad", 2)]);
    }

    #[test]
    fn messages_older_than_the_retention_are_deleted() {
        let q = Queues::new(&app(None), Duration::ZERO, 4);
        put(&q, &["old"]);
        if let Some(jobs) = q.lock().queues.get_mut("jobs") {
            jobs.settings.retention_s = 60;
        }
        let later = Instant::now() + Duration::from_secs(61);
        assert!(q.take("worker", &trigger(10, None), later).0.is_empty());
        assert!(q.lock().queues["jobs"].messages.is_empty());
    }

    #[test]
    fn a_batching_window_waits_for_a_full_batch_or_its_end() {
        let q = Queues::new(&app(None), Duration::ZERO, 4);
        put(&q, &["a"]);
        let t = trigger(2, Some(5));
        let now = Instant::now();
        let (batch, later) = q.take("worker", &t, now);
        assert!(batch.is_empty());
        assert!(later.is_some_and(|l| l > now));
        put(&q, &["b"]);
        let full = q.take("worker", &t, Instant::now()).0;
        assert_eq!(bodies(&full), [("a", 1), ("b", 1)]);
        put(&q, &["c"]);
        let (batch, _) = q.take("worker", &t, now + Duration::from_secs(6));
        assert_eq!(bodies(&batch), [("c", 1)]);
    }

    #[test]
    fn consumers_take_at_most_their_share_of_batches() {
        let q = Queues::new(&app(None), Duration::ZERO, 1);
        put(&q, &["a", "b"]);
        let t = trigger(1, None);
        assert_eq!(q.take("worker", &t, Instant::now()).0.len(), 1);
        assert!(q.take("worker", &t, Instant::now()).0.is_empty());
        assert_eq!(q.take("other", &t, Instant::now()).0.len(), 1);
    }

    #[test]
    fn delays_parse() {
        assert_eq!(parse_delay("0"), Ok(Duration::ZERO));
        assert_eq!(parse_delay("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_delay("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_delay("5").is_err());
        assert!(parse_delay("fast").is_err());
        assert!(parse_delay("1h").is_err());
    }

    #[test]
    fn message_ids_are_uuid_shaped_and_unique() {
        let q = Queues::new(&app(None), Duration::ZERO, 1);
        let (a, b) = (q.new_id(), q.new_id());
        assert_ne!(a, b);
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn only_consumed_queues_take_messages() {
        let a = app(None);
        let err = Queues::new(&a, Duration::ZERO, 1)
            .enqueue(&a, "jobs", b"x")
            .unwrap_err();
        assert_eq!(err.status, 404);
        assert!(
            err.message.contains("no function triggered by it"),
            "{}",
            err.message
        );
        let err = Queues::new(&a, Duration::ZERO, 1)
            .enqueue(&a, "jbos", b"x")
            .unwrap_err();
        assert!(err.message.contains("no queue `jbos`"), "{}", err.message);
    }
}
