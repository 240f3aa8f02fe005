//! What a network can deliver to a node: garbage bytes, oversized messages,
//! a peer that disconnects mid-batch, a feed client that stops reading. The
//! node refuses clearly, keeps serving, and loses nothing acknowledged.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use sync178_shared::proto::v1::feed_client::FeedClient;
use sync178_shared::proto::v1::{PushBatch, SubscribeRequest};
use sync178_shared::testing::chain_from;
use sync178_shared::tls::{Identity, Role};
use sync178_shared::unit::Level;
use sync178_tests::cluster::{Cluster, hung_yen};
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_oversize_and_abandoned_streams_leave_the_node_serving() {
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let commune = c
        .topology
        .units()
        .find(|u| u.level() == Level::Commune)
        .expect("commune");
    let district = c.topology.parent(commune).expect("district");
    c.submit(commune, 5).await;
    c.wait_for_heads(district, &HashMap::from([(commune, 5)]), WAIT)
        .await;
    let district_addr = c.proxy(district).addr();

    // Garbage bytes instead of a TLS handshake.
    for junk in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0xffu8; 4096][..],
        &[0x16, 0x03, 0x01, 0xff, 0xff][..],
    ] {
        let mut s = tokio::net::TcpStream::connect(district_addr)
            .await
            .expect("connects");
        let _ = s.write_all(junk).await;
        let _ = s.shutdown().await;
    }

    // An oversized push (over the 4 MiB default) is refused with the status
    // tonic's decoder gives a message over the limit: OutOfRange, naming it.
    let s = c.status(district).await;
    let head = s
        .origins
        .iter()
        .find(|o| o.origin == commune.to_string())
        .expect("head");
    let prev: [u8; 32] = head.hash.as_slice().try_into().expect("hash");
    let mut client = c
        .sync_client(district, Identity::new(commune, Role::Node))
        .await;
    let mut big = chain_from(commune, 6, prev, 1)[0].to_vec();
    big.resize(60 * 1024, 0); // not a valid event, but the size check comes first
    let events: Vec<Bytes> = (0..80).map(|_| Bytes::from(big.clone())).collect();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(PushBatch {
        batch_id: 1,
        events,
    })
    .await
    .expect("queued");
    let outcome = async {
        let mut acks = client
            .push(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await?
            .into_inner();
        acks.message().await
    }
    .await;
    match outcome {
        Err(status) => {
            assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
            assert!(
                status.message().contains("message length too large"),
                "{status:?}"
            );
        }
        Ok(ack) => panic!("an oversized push was answered: {ack:?}"),
    }

    // A peer that vanishes mid-stream: its batch is answered, then it drops
    // the stream with the request side still open. Nothing it sent changed
    // the district's log.
    let held = c.read_log(district).await;
    {
        let mut client = c
            .sync_client(district, Identity::new(commune, Role::Node))
            .await;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        // Re-sends the commune's events the district holds (duplicates).
        let batch: Vec<Bytes> = held
            .iter()
            .map(|(_, b)| b.clone())
            .filter(|b| sync178_shared::event::peek(b).is_ok_and(|h| h.origin == commune))
            .collect();
        assert_eq!(batch.len(), 5, "the commune's 5 events are at the district");
        tx.send(PushBatch {
            batch_id: 1,
            events: batch,
        })
        .await
        .expect("queued");
        let mut acks = client
            .push(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .expect("push accepted")
            .into_inner();
        let ack = tokio::time::timeout(WAIT, acks.message())
            .await
            .expect("answered in time")
            .expect("an ack")
            .expect("not the end of the stream");
        assert!(ack.refused.is_none(), "{ack:?}");
        assert_eq!((ack.applied, ack.duplicates), (0, 5), "{ack:?}");
        drop((acks, tx, client));
    }
    assert_eq!(
        c.read_log(district).await,
        held,
        "a vanished peer's duplicates changed nothing"
    );

    // A feed client that subscribes and never reads.
    let hub = c
        .channel(district, Identity::new(c.province, Role::Hub))
        .await;
    let _stalled_feed = FeedClient::new(hub)
        .subscribe(SubscribeRequest { from_position: 0 })
        .await
        .expect("subscribes");

    // The node still serves, and honest data flows end to end exactly once.
    c.submit(commune, 500).await;
    let s = c.status(commune).await;
    let expected = s
        .origins
        .iter()
        .find(|o| o.origin == commune.to_string())
        .expect("own head")
        .seq;
    assert!(expected >= 505);
    c.wait_for_heads(c.province, &HashMap::from([(commune, expected)]), WAIT)
        .await;
    c.shutdown().await;
}
