//! The outbox relay actor, on both stores, with a bus that records what it is given.

use actix::Addr;
use alfred_testkit::eventually;

use super::*;

const STREAM: &str = "test:alfred-outbox";

/// A bus that records published payloads, and fails the first `failures` publishes as if
/// Redis were down.
#[derive(Default)]
struct RecordingBus {
    entries: Mutex<Vec<(String, String)>>,
    failures: AtomicUsize,
}

impl RecordingBus {
    fn failing(failures: usize) -> Self {
        RecordingBus {
            failures: AtomicUsize::new(failures),
            ..RecordingBus::default()
        }
    }

    fn payloads(&self) -> Vec<String> {
        let entries = self.entries.lock().unwrap();
        entries
            .iter()
            .filter(|(stream, _)| stream == STREAM)
            .map(|(_, payload)| payload.clone())
            .collect()
    }
}

#[async_trait]
impl Bus for RecordingBus {
    async fn publish(&self, stream: &str, payload: &str) -> Result<String, BusError> {
        Ok(self
            .publish_many(stream, &[payload.to_owned()])
            .await?
            .remove(0))
    }
    async fn publish_many(
        &self,
        stream: &str,
        payloads: &[String],
    ) -> Result<Vec<String>, BusError> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            });
        if failing.is_ok() {
            return Err(BusError::Unavailable("connection refused".into()));
        }
        let mut entries = self.entries.lock().unwrap();
        let first = entries.len();
        entries.extend(
            payloads
                .iter()
                .map(|payload| (stream.to_owned(), payload.clone())),
        );
        Ok((first..entries.len()).map(|n| format!("{n}-0")).collect())
    }
    async fn ensure_group(&self, _: &str, _: &str) -> Result<(), BusError> {
        Ok(())
    }
    async fn read(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: ReadFrom,
        _: usize,
        _: Duration,
    ) -> Result<Vec<StreamEntry>, BusError> {
        Err(BusError::Other("the relay never reads".into()))
    }
    async fn ack(&self, _: &str, _: &str, _: &[String]) -> Result<(), BusError> {
        Err(BusError::Other("the relay never acknowledges".into()))
    }
    async fn claim_idle(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Duration,
        _: usize,
    ) -> Result<Vec<StreamEntry>, BusError> {
        Err(BusError::Other("the relay never claims".into()))
    }
    async fn len(&self, _: &str) -> Result<u64, BusError> {
        Ok(self.payloads().len() as u64)
    }
    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}

fn config(interval: Duration, batch: usize) -> RelayConfig {
    RelayConfig {
        interval,
        grace: NOW,
        lease: HOUR,
        batch,
        stream: STREAM.into(),
    }
}

/// Starts a relay on `store` and `bus` that ticks every 20 ms.
fn ticking_relay(
    store: Arc<dyn Store>,
    bus: Arc<RecordingBus>,
    metrics: &Metrics,
) -> Addr<OutboxRelay> {
    OutboxRelay::new(
        store,
        bus,
        metrics.clone(),
        config(Duration::from_millis(20), 100),
    )
    .start()
}

/// Waits until the bus holds `count` payloads.
async fn published(bus: &RecordingBus, count: usize, what: &str) {
    eventually(what, Duration::from_secs(10), || async move {
        (bus.payloads().len() == count).then_some(())
    })
    .await;
}

async fn the_relay_publishes_a_committed_row_that_was_never_published(store: &Arc<impl Store>) {
    let committed = done(&**store, "wamid.1", bump()).await;
    let bus = Arc::new(RecordingBus::default());
    let metrics = Metrics::new().unwrap();

    let relay = ticking_relay(store.clone(), bus.clone(), &metrics);

    published(&bus, 1, "the relay to publish the row").await;
    let published: OutboundEnvelope = serde_json::from_str(&bus.payloads()[0]).unwrap();
    assert_eq!(published, committed[0]);
    assert_eq!(
        relay.send(RelayNow).await.unwrap().unwrap(),
        0,
        "the row was marked published"
    );
    assert_eq!(bus.payloads().len(), 1);
    assert_eq!(metrics.relayed.get(), 1);
}

async fn the_relay_keeps_relaying_through_a_bus_outage(store: &Arc<impl Store>) {
    done(&**store, "wamid.1", bump()).await;
    let bus = Arc::new(RecordingBus::failing(3));
    let metrics = Metrics::new().unwrap();

    let relay = ticking_relay(store.clone(), bus.clone(), &metrics);

    published(&bus, 1, "the relay to publish once the bus is back").await;
    assert_eq!(relay.send(RelayNow).await.unwrap().unwrap(), 0);
    assert_eq!(metrics.relayed.get(), 1);
}

async fn the_relay_drains_a_backlog_larger_than_a_batch_without_waiting_for_the_next_tick(
    store: &Arc<impl Store>,
) {
    for n in 0..5 {
        done(&**store, &format!("wamid.{n}"), bump()).await;
    }
    let bus = Arc::new(RecordingBus::default());

    let _relay = OutboxRelay::new(
        store.clone(),
        bus.clone(),
        Metrics::new().unwrap(),
        config(HOUR, 2),
    )
    .start();

    published(&bus, 5, "the start-up pass to drain all five rows").await;
}

/// A held row whose release was missed (the releasing sender died) goes out on the next pass,
/// once: the relay's mark clears the hold.
async fn the_relay_publishes_a_held_row_whose_release_was_missed_once(store: &Arc<impl Store>) {
    let first = done(&**store, "wamid.1", bump()).await[0].outbox_id;
    let second = done(&**store, "wamid.2", bump()).await[0].outbox_id;
    store.mark_published(&[first, second]).await.unwrap();
    store.claim_outbox(first, HOUR).await.unwrap().unwrap();
    assert!(store.claim_outbox(second, HOUR).await.unwrap().is_none());
    let sent = SendResult::Sent { provider_id: None };
    let _missed = store.record_send(first, sent).await.unwrap();
    let bus = RecordingBus::default();

    assert_eq!(
        relay_once(&**store, &bus, &config(HOUR, 100))
            .await
            .unwrap(),
        1
    );
    let published: OutboundEnvelope = serde_json::from_str(&bus.payloads()[0]).unwrap();
    assert_eq!(published.outbox_id, second);
    assert_eq!(
        relay_once(&**store, &bus, &config(HOUR, 100))
            .await
            .unwrap(),
        0,
        "published once"
    );
    assert!(store.claim_outbox(second, HOUR).await.unwrap().is_some());
}

alfred_testkit::for_both_stores! {
    #[actix_rt::test]
    in_memory: Backend::in_memory(Arc::new(MemStore::new())),
    on_postgres: pg().await.map(Arc::new),
    scenarios: [
        the_relay_publishes_a_committed_row_that_was_never_published,
        the_relay_keeps_relaying_through_a_bus_outage,
        the_relay_drains_a_backlog_larger_than_a_batch_without_waiting_for_the_next_tick,
        the_relay_publishes_a_held_row_whose_release_was_missed_once,
    ],
}

#[actix_rt::test]
async fn the_relay_publishes_to_the_in_process_bus_of_ephemeral_mode() {
    let store = Arc::new(MemStore::new());
    let committed = done(&*store, "wamid.1", bump()).await;
    let bus = Arc::new(alfred_actors::bus::memory::MemoryBus::new());
    let relay = OutboxRelay::new(
        store,
        bus.clone(),
        Metrics::new().unwrap(),
        config(HOUR, 100),
    )
    .start();

    // The start-up pass runs before any message, so this pass finds nothing left to do.
    assert_eq!(relay.send(RelayNow).await.unwrap().unwrap(), 0);

    bus.ensure_group(STREAM, "senders").await.unwrap();
    let entries = bus
        .read(STREAM, "senders", "sender-0", ReadFrom::New, 10, NOW)
        .await
        .unwrap();
    let published: OutboundEnvelope = serde_json::from_str(&entries[0].payload).unwrap();
    assert_eq!((entries.len(), published), (1, committed[0].clone()));
}
