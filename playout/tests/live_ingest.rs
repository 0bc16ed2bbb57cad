//! The RTMP ingest against real publishers (ffmpeg) and abuse: a partner pushes H.264+AAC
//! with a good key (its timestamps crossing 2^24 ms) and is on air; a wrong key, a revoked
//! key and a non-H.264 publisher are refused (the reason in the feed status, the key never
//! in full in the log); while the partner is on air the ingest takes random bytes,
//! truncated handshakes, an oversized chunk size, 500 half-open connections and a wrong
//! key hammered 100 times — the programme loses no frame, the partner stays on air, memory
//! stays bounded. A partner whose encoder dies and pushes again takes the air back by
//! itself.

mod common;

use common::*;
use playout::Event;
use playout::source::live::LiveOptions;
use playout::source::live::ingest::{FeedId, KeyCheck};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use testkit::clips::Clip;
use testkit::probe;
use testkit::{FfmpegSender, palette};

const GOOD: &str = "partner-key-7d0c1e55";
const OTHER: &str = "other-key-90a1b2c3d4";
const REVOKED: &str = "revoked-key-41f2aa07";

/// Keys as the daemon would answer: a good key per feed, a revoked one refused.
struct Keys;
impl KeyCheck for Keys {
    fn check(&self, _app: &str, key: &str) -> Option<FeedId> {
        match key {
            GOOD => Some("partner".into()),
            OTHER => Some("other".into()),
            _ => None,
        }
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn send_all(sock: &mut TcpStream, results: Vec<ClientSessionResult>) -> std::io::Result<()> {
    for r in results {
        if let ClientSessionResult::OutboundResponse(p) = r {
            sock.write_all(&p.bytes)?;
        }
    }
    Ok(())
}

/// A real RTMP client (rml_rtmp) that publishes with `key`: true if the server refused
/// (rejection or closed connection) within 5 s.
fn publish_refused(addr: SocketAddr, key: &str) -> bool {
    let run = || -> std::io::Result<bool> {
        let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        sock.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut hs = Handshake::new(PeerType::Client);
        let c01 = hs
            .generate_outbound_p0_and_p1()
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        sock.write_all(&c01)?;
        let mut buf = vec![0u8; 8192];
        let leftover = loop {
            let n = sock.read(&mut buf)?;
            if n == 0 {
                return Ok(true);
            }
            match hs
                .process_bytes(&buf[..n])
                .map_err(|e| std::io::Error::other(format!("{e:?}")))?
            {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    sock.write_all(&response_bytes)?
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    sock.write_all(&response_bytes)?;
                    break remaining_bytes;
                }
            }
        };
        let (mut client, init) = ClientSession::new(ClientSessionConfig::new())
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        send_all(&mut sock, init)?;
        let r = client
            .request_connection("live".into())
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        send_all(&mut sock, vec![r])?;
        let mut pending = leftover;
        let mut asked = false;
        loop {
            let results = client
                .handle_input(&pending)
                .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
            for r in results {
                match r {
                    ClientSessionResult::OutboundResponse(p) => sock.write_all(&p.bytes)?,
                    ClientSessionResult::RaisedEvent(
                        ClientSessionEvent::ConnectionRequestAccepted,
                    ) if !asked => {
                        asked = true;
                        let r = client
                            .request_publishing(key.into(), PublishRequestType::Live)
                            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
                        send_all(&mut sock, vec![r])?;
                    }
                    ClientSessionResult::RaisedEvent(
                        ClientSessionEvent::PublishRequestAccepted,
                    ) => {
                        return Ok(false);
                    }
                    _ => {}
                }
            }
            let n = match sock.read(&mut buf) {
                Ok(n) => n,
                Err(_) => return Ok(true),
            };
            if n == 0 {
                return Ok(true);
            }
            pending = buf[..n].to_vec();
        }
    };
    run().unwrap_or(true)
}

/// Every kind of garbage at once; returns how many wrong-key publishes were refused.
fn abuse(addr: SocketAddr) -> usize {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // A wrong key, hammered.
    let refused = (0..100)
        .filter(|_| publish_refused(addr, "guessed-key-000000"))
        .count();
    // Random bytes.
    for _ in 0..20 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let junk: Vec<u8> = (0..4096).map(|_| rnd() as u8).collect();
            let _ = s.write_all(&junk);
        }
    }
    // Truncated handshakes.
    for _ in 0..20 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let mut hs = Handshake::new(PeerType::Client);
            if let Ok(c01) = hs.generate_outbound_p0_and_p1() {
                let _ = s.write_all(&c01[..700]);
            }
        }
    }
    // A valid handshake, then a chunk announcing a 2 GiB chunk size and a 16 MiB message.
    for _ in 0..10 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let mut hs = Handshake::new(PeerType::Client);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if let Ok(c01) = hs.generate_outbound_p0_and_p1() {
                let _ = s.write_all(&c01);
                let mut buf = vec![0u8; 4096];
                let mut got = 0;
                while got < 3073 {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if let Ok(
                                HandshakeProcessResult::Completed { response_bytes, .. }
                                | HandshakeProcessResult::InProgress { response_bytes },
                            ) = hs.process_bytes(&buf[..n])
                            {
                                let _ = s.write_all(&response_bytes);
                            }
                            got += n;
                        }
                    }
                }
                // Set Chunk Size 0x7fffffff, then a message header of 0xffffff bytes.
                let _ = s.write_all(&[2, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
                let _ = s.write_all(&[3, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0]);
                let _ = s.write_all(&vec![0u8; 200_000]);
            }
        }
    }
    // 500 half-open connections, held open.
    let held: Vec<TcpStream> = (0..500)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok())
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    drop(held);
    refused
}

/// Cues the partner's feed for `slot` frames from `first`, then the green clip; waits
/// (10 s) for the partner on air and lets it air 2 s.
async fn cue_partner(run: &mut Run, first: u64, slot: u64, green: &std::path::Path) {
    run.engine
        .cue(vec![
            playout::Cue::follow("partner", "ingest://partner")
                .with_length(slot)
                .at(first),
            cue("after", green, 25),
        ])
        .expect("cued");
    run.wait_started("partner", Duration::from_secs(10)).await;
    run.air_for(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_push_with_their_key_and_abuse_never_disturbs_the_programme() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(Keys).await;
    let addr = ingest.local_addr();
    let hub = ingest.hub();
    let url = |key: &str| publish_url(&ingest, key);
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(25), dir.path());
    let (mut run, mut ff) = on_air(LiveOptions {
        ingest: Some(hub.clone()),
        ..LiveOptions::default()
    });
    // The partner's clock starts 7 s below 2^24 ms: it crosses the 24-bit field on air.
    let mut partner = FfmpegSender::start(
        palette::MAGENTA,
        40,
        "flv",
        &url(GOOD),
        &["-output_ts_offset", "16770"],
    )
    .expect("partner publishes");
    let first = run.frame_in(Duration::from_millis(3000));
    let slot = 450;
    cue_partner(&mut run, first, slot, &green).await;
    let st = run.engine.status().await.expect("status");
    assert_eq!(st.live.len(), 1, "{:?}", st.live);
    assert_eq!(st.live[0].kind, "ingest");
    assert_eq!(
        st.live[0].state,
        playout::source::live::LiveState::Live,
        "{:?}",
        st.live
    );
    let on_air_from = st.frame;

    // Refused: a wrong key, a revoked key, a codec that is not H.264.
    let mut wrong = FfmpegSender::start(palette::RED, 5, "flv", &url("wrong-key-55aa11bb22"), &[])
        .expect("ffmpeg");
    let mut revoked =
        FfmpegSender::start(palette::RED, 5, "flv", &url(REVOKED), &[]).expect("ffmpeg");
    let mut flv1 = FfmpegSender::start(palette::RED, 5, "flv", &url(OTHER), &["-c:v", "flv1"])
        .expect("ffmpeg");
    let rss_before = rss_kb();
    let refused = tokio::task::spawn_blocking(move || abuse(addr))
        .await
        .expect("abuse ran");
    let rss_after = rss_kb();
    for (name, p) in [
        ("wrong", &mut wrong),
        ("revoked", &mut revoked),
        ("flv1", &mut flv1),
    ] {
        assert!(
            p.wait_exit(Duration::from_secs(15)).expect("wait"),
            "{name} publisher was not sent away: {}",
            p.log()
        );
    }
    assert_eq!(refused, 100, "every wrong-key publish refused");
    assert!(hub.unknown_keys() >= 102, "{}", hub.unknown_keys());
    let feeds = hub.feeds();
    let other = feeds
        .iter()
        .find(|f| f.feed == "other")
        .expect("other feed");
    assert!(
        other
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("push H.264")),
        "{other:?}"
    );
    let p = feeds
        .iter()
        .find(|f| f.feed == "partner")
        .expect("partner feed");
    assert!(p.publishing, "{p:?}");
    assert!(
        partner.running(),
        "the partner was not disturbed: {}",
        partner.log()
    );
    assert!(
        rss_after < rss_before + 64 * 1024,
        "memory grew from {rss_before} kB to {rss_after} kB"
    );

    run.wait_ended("after", Duration::from_secs(30)).await;
    let st = run.engine.status().await.expect("status");
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;
    partner.stop().expect("stop partner");
    ingest.stop().await;
    assert_eq!(st.frames_dropped, 0);
    // No fallback once the partner was on air.
    let late_fallback = run.seen.iter().any(|(_, e)| {
        matches!(e, Event::FallbackOn { id: Some(i), frame, .. } if i == "partner" && *frame >= on_air_from)
    });
    assert!(!late_fallback, "{:?}", run.seen);

    assert_continuous("ffmpeg", &path);
    let pal = [palette::MAGENTA, palette::GREEN, palette::RED];
    let Pictures {
        colours,
        runs,
        desc,
    } = pictures(&path, &pal);
    // The partner's picture from the moment it was seen on air to the end of its slot,
    // across the abuse and the 2^24 ms mark, without a single other frame.
    let magenta = colours
        .iter()
        .filter(|c| {
            let f = (c.pts_ns() / FRAME_NS) as u64;
            f >= on_air_from && f < first + slot
        })
        .filter(|c| probe::classify(c.rgb, &pal) != Some(0))
        .count();
    assert_eq!(magenta, 0, "non-partner frames while on air: {desc}");
    assert!(
        !runs.iter().any(|r| r.colour == Some(2)),
        "a refused publisher reached the air: {desc}"
    );
    let g = runs.iter().find(|r| r.colour == Some(1)).expect(&desc);
    assert_eq!(g.first_pts_ns, (first + slot) as i64 * FRAME_NS, "{desc}");
    // The partner's AAC (a 1 kHz sine) is on air with its picture.
    let pcm = probe::audio_pcm(&path).expect("pcm");
    let tones = probe::tone_runs(&pcm, &[1000.0], 256);
    let (from, to) = (
        (on_air_from as i64) * FRAME_NS + 500_000_000,
        ((first + slot) as i64) * FRAME_NS - 200_000_000,
    );
    assert!(
        sound_share(&tones, from, to, probe::Sound::Tone(0)) >= 90,
        "partner sound on air: {}",
        probe::describe_tone_runs(&tones, &[1000.0])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_drops_and_pushes_again_takes_the_air_back_by_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(Keys).await;
    let url = publish_url(&ingest, GOOD);
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(25), dir.path());
    let (mut run, mut ff) = on_air(LiveOptions {
        ingest: Some(ingest.hub()),
        ..LiveOptions::default()
    });
    let mut partner = FfmpegSender::start(palette::MAGENTA, 60, "flv", &url, &[]).expect("partner");
    let first = run.frame_in(Duration::from_millis(3000));
    let slot = 400;
    cue_partner(&mut run, first, slot, &green).await;
    // The partner's encoder dies…
    partner.stop().expect("partner stopped");
    run.expect(
        Duration::from_secs(8),
        fallback_on("partner"),
        "slate when the partner left",
    )
    .await;
    // … and pushes again.
    let mut partner =
        FfmpegSender::start(palette::MAGENTA, 60, "flv", &url, &[]).expect("partner again");
    let pushed = std::time::Instant::now();
    let back = run
        .expect(
            Duration::from_secs(10),
            fallback_off("partner"),
            "the partner took the air back by itself",
        )
        .await;
    let took = back.duration_since(pushed);
    assert!(
        took < Duration::from_secs(5),
        "back {took:?} after pushing again"
    );
    run.wait_ended("after", Duration::from_secs(30)).await;
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;
    partner.stop().expect("stop partner");
    ingest.stop().await;
    assert_continuous("ffmpeg", &path);
    let pal = [palette::MAGENTA, palette::GREEN];
    let Pictures { runs, desc, .. } = pictures(&path, &pal);
    // The partner, the slate, the partner again, then the next item on its frame.
    let partner_runs = runs.iter().filter(|r| r.colour == Some(0)).count();
    assert!(partner_runs >= 2, "{desc}");
    let g = runs.iter().find(|r| r.colour == Some(1)).expect(&desc);
    assert_eq!(g.first_pts_ns, (first + slot) as i64 * FRAME_NS, "{desc}");
    let last_partner = runs
        .iter()
        .rfind(|r| r.colour == Some(0))
        .expect("partner back");
    assert_eq!(
        last_partner.first_pts_ns + last_partner.frames as i64 * FRAME_NS,
        g.first_pts_ns,
        "the partner stayed on air to the end of its slot: {desc}"
    );
}
