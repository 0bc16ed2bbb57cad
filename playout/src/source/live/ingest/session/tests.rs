//! The ingest session against rml_rtmp's own client (in memory), and seeded mutations of a
//! real client's byte stream (fuzz-style: cargo-fuzz does not run here).

use super::*;
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;

/// What a publisher sends, and what the server session made of it.
struct Recorded {
    client_bytes: Vec<u8>,
    actions: Vec<Action>,
}

fn client_out(r: ClientSessionResult, out: &mut Vec<u8>, events: &mut Vec<ClientSessionEvent>) {
    match r {
        ClientSessionResult::OutboundResponse(p) => out.extend_from_slice(&p.bytes),
        ClientSessionResult::RaisedEvent(e) => events.push(e),
        ClientSessionResult::UnhandleableMessageReceived(_) => {}
    }
}

/// Runs a publisher (handshake, connect, publish with `key`, `frames` video tags of
/// `video_codec` starting at `ts0` ms) against a fresh session, answering publish requests
/// with `accept`.
fn publish(key: &str, video_codec: u8, ts0: u32, frames: u32, accept: bool) -> Recorded {
    let mut server = IngestSession::new(Limits::default());
    let mut client_bytes = Vec::new();
    let mut actions = Vec::new();
    let mut to_client: Vec<u8> = Vec::new();
    // Handshake.
    let mut hs = Handshake::new(PeerType::Client);
    let c01 = hs.generate_outbound_p0_and_p1().expect("c0c1");
    let feed = |bytes: &[u8],
                server: &mut IngestSession,
                client_bytes: &mut Vec<u8>,
                to_client: &mut Vec<u8>,
                actions: &mut Vec<Action>| {
        client_bytes.extend_from_slice(bytes);
        for a in server.input(bytes).expect("server accepts a real client") {
            match a {
                Action::Send(b) => to_client.extend_from_slice(&b),
                Action::Publish { request_id, .. } => {
                    let out = if accept {
                        server.accept(request_id)
                    } else {
                        server.reject(request_id, "no")
                    }
                    .expect("answer");
                    for b in out {
                        to_client.extend_from_slice(&b);
                    }
                    actions.push(a);
                }
                other => actions.push(other),
            }
        }
    };
    feed(
        &c01,
        &mut server,
        &mut client_bytes,
        &mut to_client,
        &mut actions,
    );
    let leftover = match hs
        .process_bytes(&std::mem::take(&mut to_client))
        .expect("s0s1s2")
    {
        HandshakeProcessResult::InProgress { response_bytes } => {
            feed(
                &response_bytes,
                &mut server,
                &mut client_bytes,
                &mut to_client,
                &mut actions,
            );
            Vec::new()
        }
        HandshakeProcessResult::Completed {
            response_bytes,
            remaining_bytes,
        } => {
            feed(
                &response_bytes,
                &mut server,
                &mut client_bytes,
                &mut to_client,
                &mut actions,
            );
            remaining_bytes
        }
    };
    let (mut client, initial) = ClientSession::new(ClientSessionConfig::new()).expect("client");
    let mut out = Vec::new();
    let mut events = Vec::new();
    for r in initial {
        client_out(r, &mut out, &mut events);
    }
    client_out(
        client.request_connection("live".into()).expect("connect"),
        &mut out,
        &mut events,
    );
    for r in client.handle_input(&leftover).expect("client input") {
        client_out(r, &mut out, &mut events);
    }
    // Exchange until the client is connected, then publish.
    let mut published = false;
    for _ in 0..20 {
        if !out.is_empty() {
            let b = std::mem::take(&mut out);
            feed(
                &b,
                &mut server,
                &mut client_bytes,
                &mut to_client,
                &mut actions,
            );
        }
        if !to_client.is_empty() {
            let b = std::mem::take(&mut to_client);
            for r in client.handle_input(&b).expect("client input") {
                client_out(r, &mut out, &mut events);
            }
        }
        if events
            .iter()
            .any(|e| matches!(e, ClientSessionEvent::ConnectionRequestAccepted))
            && !published
        {
            published = true;
            client_out(
                client
                    .request_publishing(key.into(), PublishRequestType::Live)
                    .expect("publish"),
                &mut out,
                &mut events,
            );
        }
        if events
            .iter()
            .any(|e| matches!(e, ClientSessionEvent::PublishRequestAccepted))
        {
            break;
        }
        if out.is_empty() && to_client.is_empty() {
            break;
        }
    }
    if events
        .iter()
        .any(|e| matches!(e, ClientSessionEvent::PublishRequestAccepted))
    {
        for i in 0..frames {
            let body = Bytes::from(vec![(1 << 4) | video_codec, 1, 0, 0, 0, 0, 0, 0, 5, 0x65]);
            let ts = RtmpTimestamp::new(ts0.wrapping_add(i * 40));
            client_out(
                client.publish_video_data(body, ts, false).expect("video"),
                &mut out,
                &mut events,
            );
        }
        let b = std::mem::take(&mut out);
        client_bytes.extend_from_slice(&b);
        match server.input(&b) {
            Ok(a) => actions.extend(a.into_iter().filter(|a| !matches!(a, Action::Send(_)))),
            Err(e) => actions.push(Action::Send(e.to_string().into_bytes())),
        }
    }
    Recorded {
        client_bytes,
        actions,
    }
}

#[test]
fn a_real_publisher_is_asked_for_its_key_and_its_h264_arrives() {
    let r = publish("secret-key-123", 7, 0, 10, true);
    assert!(
        r.actions
            .iter()
            .any(|a| matches!(a, Action::Publish { key, app, .. } if key == "secret-key-123" && app == "live")),
        "{:?}",
        r.actions
    );
    let videos = r
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Video { .. }))
        .count();
    assert_eq!(videos, 10);
}

#[test]
fn timestamps_cross_the_24_bit_limit_unchanged() {
    let start = (1u32 << 24) - 100;
    let r = publish("k", 7, start, 6, true);
    let ts: Vec<u32> = r
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Video { timestamp, .. } => Some(*timestamp),
            _ => None,
        })
        .collect();
    assert_eq!(ts, (0..6).map(|i| start + i * 40).collect::<Vec<_>>());
}

#[test]
fn non_h264_video_is_refused_with_a_clear_message() {
    // Codec id 12 (HEVC in some unofficial FLV dialects).
    let r = publish("k", 12, 0, 1, true);
    let msg = r
        .actions
        .iter()
        .find_map(|a| match a {
            Action::Send(b) => Some(String::from_utf8_lossy(b).to_string()),
            _ => None,
        })
        .unwrap_or_default();
    assert!(msg.contains("push H.264"), "{:?}", r.actions);
}

#[test]
fn junk_before_publishing_is_cut_off_at_the_byte_budget() {
    let mut s = IngestSession::new(Limits {
        pre_publish_bytes: 10_000,
        max_chunk_size: 1 << 20,
    });
    // A valid C0+C1, then zeros forever (a client that never completes the exchange).
    let mut hs = Handshake::new(PeerType::Client);
    let c01 = hs.generate_outbound_p0_and_p1().expect("c0c1");
    let mut r = s.input(&c01).map(|_| ());
    let mut sent = c01.len();
    while r.is_ok() && sent < 1_000_000 {
        r = s.input(&[0u8; 1000]).map(|_| ());
        sent += 1000;
    }
    assert!(sent <= 11_000 + 1537, "cut off after {sent} bytes");
    assert!(r.is_err());
}

/// xorshift64*: a seeded generator so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_client_streams_never_crash_the_session_and_stay_bounded() {
    let good = publish("fuzz-key-0123456789", 7, 0, 20, true).client_bytes;
    assert!(good.len() > 3073);
    let mut panics = 0;
    let mut errors = 0;
    for seed in 1..=400u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut bytes = good.clone();
        // Leave the handshake mostly alone in half the cases, so the chunk parser is reached.
        let from = if seed % 2 == 0 { 3073 } else { 0 };
        for _ in 0..1 + rng.below(8) {
            let at = from + rng.below(bytes.len() - from);
            match rng.below(5) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => bytes[at] = rng.next() as u8,
                2 => bytes.truncate(at),
                3 => {
                    let junk: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
                    bytes.splice(at..at, junk);
                }
                _ => {
                    // A chunk header announcing a huge message or chunk size.
                    bytes.splice(
                        at..at,
                        [
                            0x02, 0, 0, 0, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0, 0x7f, 0xff, 0xff,
                            0xff,
                        ],
                    );
                }
            }
            if bytes.len() <= from + 1 {
                break;
            }
        }
        let mut s = IngestSession::new(Limits::default());
        let mut pos = 0;
        let mut media_bytes = 0usize;
        while pos < bytes.len() {
            let n = 1 + rng.below(700);
            let end = (pos + n).min(bytes.len());
            match s.input(&bytes[pos..end]) {
                Ok(actions) => {
                    for a in actions {
                        match a {
                            Action::Publish { request_id, .. } => {
                                let _ = s.accept(request_id);
                            }
                            Action::Video { data, .. } | Action::Audio { data, .. } => {
                                media_bytes += data.len()
                            }
                            _ => {}
                        }
                    }
                }
                Err(SessionError::ParserPanicked) => {
                    panics += 1;
                    break;
                }
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
            pos = end;
        }
        // Nothing comes out that was not sent.
        assert!(media_bytes <= bytes.len(), "seed {seed}");
    }
    assert!(errors > 0, "mutations were noticed");
    eprintln!("400 mutated streams: {errors} refused, {panics} parser panics caught");
}
