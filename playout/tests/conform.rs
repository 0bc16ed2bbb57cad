//! Every file airs right: channel layouts and containers downmixed to stereo (ITU-R BS.775),
//! dual mono split, display orientation applied (every quarter turn and a mirror), both
//! field orders deinterlaced, and each item's loudness brought to the target. Inputs are
//! made with ffmpeg, played through the real engine to an ffmpeg RTMP receiver, and the
//! recording judged with ffmpeg (levels per side by Goertzel on the decoded sound, crop
//! brightness, `idet`, `ebur128`).

mod common;

use common::*;
use playout::OutputProfile;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testkit::FfmpegRtmpListener;

/// −3 dB (ITU-R BS.775 centre and surround coefficient).
const M3DB: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// Amplitude of the side tones of the multichannel beds.
const A: f64 = 0.2;

/// Tolerance of the side tones' levels, dB (the house AAC keeps them within 0.1 dB of the
/// engine's downmix).
const SIDE_TOL: f64 = 1.0;

/// Output frames each conform item owns (2 s).
const ITEM: u64 = 50;

/// ffmpeg's arguments as written on its command line, split at white space (no argument
/// in these tests holds a space; file paths are passed on their own).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs ffmpeg with `args` (overwriting its output); returns its log, panics if it fails.
fn ffmpeg(args: &[&str]) -> String {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-y", "-loglevel", "info"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "ffmpeg {args:?} failed:\n{log}");
    log
}

/// Makes `name` in `dir` with ffmpeg `args` (inputs and output options); returns its path.
fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut a: Vec<&str> = args.to_vec();
    let o = out.display().to_string();
    a.push(&o);
    ffmpeg(&a);
    out
}

/// The 2 s test picture the conform items carry.
const PICTURE_2S: &str = "testsrc2=s=320x180:r=25:d=2";

/// `name` in `dir`, made by ffmpeg from the lavfi sources `video` and `audio`: the picture
/// in H.264 (x264 ultrafast, 4:2:0), then `extra` (the audio codec, maps, flags).
fn lavfi_clip(dir: &Path, name: &str, video: &str, audio: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio];
    args.extend(words("-c:v libx264 -preset ultrafast -pix_fmt yuv420p"));
    args.extend_from_slice(extra);
    make(dir, name, &args)
}

/// A 2 s test picture and a multichannel tone bed: `exprs` one sine per channel.
fn tones(dir: &Path, name: &str, layout: &str, exprs: &[(f64, f64)], codec: &[&str]) -> PathBuf {
    let e: Vec<String> = exprs
        .iter()
        .map(|(a, f)| format!("{a}*sin(2*PI*{f}*t)"))
        .collect();
    let src = format!("aevalsrc='{}':c={layout}:s=48000:d=2", e.join("|"));
    lavfi_clip(dir, name, PICTURE_2S, &src, codec)
}

/// Dual mono in a MOV: the 2 s picture and two mono PCM tracks, 500 Hz then 900 Hz, each
/// at ffmpeg's sine level (1/8 of full scale).
fn dual_mono(dir: &Path) -> PathBuf {
    let args = format!(
        "-f lavfi -i {PICTURE_2S} -f lavfi -i sine=f=500:r=48000:d=2 \
         -f lavfi -i sine=f=900:r=48000:d=2 -map 0:v -map 1:a -map 2:a \
         -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a pcm_s16le"
    );
    make(dir, "dual.mov", &words(&args))
}

/// The number after `key` in `text` (a log line of ffmpeg's); panics naming `what`.
fn number_after<T: std::str::FromStr>(text: &str, key: &str, what: &str) -> T {
    let i = text
        .find(key)
        .unwrap_or_else(|| panic!("{what}: no {key:?} in {text:?}"))
        + key.len();
    text[i..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: {key:?} is not a number in {text:?}"))
}

/// ffmpeg decoding `path` (after `-i`, `args`: filters and a raw output to stdout); the
/// bytes it wrote.
fn decode_raw(path: &Path, args: &[&str]) -> Vec<u8> {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-i"])
        .arg(path)
        .args(args)
        .output()
        .expect("ffmpeg decodes")
        .stdout
}

/// ffprobe's answer for `path` (`args`: what to show, one value as `csv=p=0`), trimmed.
fn ffprobe(path: &Path, args: &[&str]) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Stereo S16 of the whole recording, with the timestamp of its first sample.
struct Stereo {
    start_ns: i64,
    left: Vec<i16>,
    right: Vec<i16>,
}

fn decode_stereo(path: &Path) -> Stereo {
    let out = Command::new("ffmpeg")
        .args(words("-hide_banner -nostdin -loglevel info -copyts -i"))
        .arg(path)
        .args(words(
            "-vn -map 0:a:0 -af ashowinfo,aresample=48000:async=1:min_hard_comp=0.02,\
             aformat=sample_fmts=s16:channel_layouts=stereo -f s16le -",
        ))
        .output()
        .expect("ffmpeg decodes");
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log
        .lines()
        .find(|l| l.contains("Parsed_ashowinfo") && l.contains("] n:"))
        .expect("ashowinfo line");
    let field = |k: &str| -> i64 { number_after(line, k, "ashowinfo") };
    let start_ns = field(" pts:") * 1_000_000_000 / field(" rate:");
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for s in out.stdout.chunks_exact(4) {
        left.push(i16::from_le_bytes([s[0], s[1]]));
        right.push(i16::from_le_bytes([s[2], s[3]]));
    }
    Stereo {
        start_ns,
        left,
        right,
    }
}

impl Stereo {
    /// The index of the first sample of output frame `f` (timeline frames, 40 ms each;
    /// 0 for a frame before the recording).
    fn sample(&self, f: u64) -> usize {
        let ns = f as i64 * FRAME_NS - self.start_ns;
        (ns.max(0) as i128 * 48_000 / 1_000_000_000) as usize
    }

    /// Samples of output frames `[from, to)`, as far as the recording goes.
    fn window(&self, side: usize, from: u64, to: u64) -> &[i16] {
        let x = if side == 0 { &self.left } else { &self.right };
        let idx = |f: u64| self.sample(f).min(x.len());
        &x[idx(from)..idx(to)]
    }
}

/// RMS level (dBFS, a full-scale sine at −3 dB) of `freq` in `x` (Goertzel; the window is
/// trimmed to whole cycles).
fn tone_db(x: &[i16], freq: f64) -> f64 {
    let period = 48_000.0 / freq;
    let cycles = (x.len() as f64 / period).floor();
    let n = (cycles * period).round() as usize;
    let x = &x[..n.min(x.len())];
    let w = 2.0 * std::f64::consts::PI * freq / 48_000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(1e-30);
    let amplitude = 2.0 * power.sqrt() / x.len() as f64;
    20.0 * (amplitude / std::f64::consts::SQRT_2).log10()
}

/// [`tone_db`] as the median over 100 ms pieces of `x`: a frame or two of silence from a
/// source late on a loaded machine moves one piece, not the level.
fn tone_level(x: &[i16], freq: f64) -> f64 {
    let mut v: Vec<f64> = x.chunks_exact(4800).map(|c| tone_db(c, freq)).collect();
    if v.is_empty() {
        return tone_db(x, freq);
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// RMS level in dB of a sine of amplitude `a`.
fn rms_db(a: f64) -> f64 {
    20.0 * (a / std::f64::consts::SQRT_2).log10()
}

/// One grey frame of the recording per output frame asked for (640×360).
fn grey_frames(path: &Path, first_rec_frame: u64, frames: &[u64]) -> Vec<Vec<u8>> {
    let sel: Vec<String> = frames
        .iter()
        .map(|f| format!("eq(n\\,{})", f - first_rec_frame))
        .collect();
    let vf = format!("select='{}',format=gray", sel.join("+"));
    decode_raw(
        path,
        &["-vf", &vf, "-vsync", "passthrough", "-f", "rawvideo", "-"],
    )
    .chunks_exact(640 * 360)
    .map(|c| c.to_vec())
    .collect()
}

fn mean(img: &[u8], x0: usize, y0: usize, x1: usize, y1: usize) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(img[y * 640 + x]);
        }
    }
    sum as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

/// `idet`'s multi-frame counts (tff, bff, progressive) over output frames `[from, to)`.
fn idet(path: &Path, first_rec_frame: u64, from: u64, to: u64) -> (u64, u64, u64) {
    let input = path.display().to_string();
    let (a, b) = (from - first_rec_frame, to - 1 - first_rec_frame);
    let vf = format!("select='between(n\\,{a}\\,{b})',idet");
    let log = ffmpeg(&["-i", &input, "-vf", &vf, "-an", "-f", "null", "-"]);
    let line = log
        .lines()
        .find(|l| l.contains("Multi frame detection"))
        .expect("idet summary");
    let num = |k: &str| -> u64 { number_after(line, k, "idet") };
    (num("TFF:"), num("BFF:"), num("Progressive:"))
}

/// The container's duration in output frames, as a catalog reading the container says.
fn container_frames(path: &Path) -> u64 {
    let secs: f64 = ffprobe(path, &["-show_entries", "format=duration"])
        .parse()
        .expect("a duration");
    (secs * 25.0).round() as u64
}

/// The frame item `id` started on, by the engine's events; panics if it never started.
fn started_at(seen: &[playout::Event], id: &str) -> u64 {
    seen.iter()
        .find_map(|e| match e {
            playout::Event::ItemStarted { id: i, frame, .. } if i == id => Some(*frame),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{id} started"))
}

/// First video frame of the recording on the output timeline.
fn first_recorded_frame(path: &Path) -> u64 {
    let p = testkit::probe::packets(path).expect("ffprobe");
    let first = *p.video_pts_sorted().first().expect("video packets");
    (first / FRAME_NS) as u64
}

/// Plays `items` back to back from 2.5 s from now to an RTMP receiver; returns the first
/// item's frame, the recording, the receiver (which owns it) and the engine's events.
async fn play(
    items: Vec<playout::Cue>,
    label: &str,
) -> (u64, PathBuf, FfmpegRtmpListener, Vec<playout::Event>) {
    let (mut run, mut ff) = on_air(Default::default());
    let first = run.frame_in(Duration::from_millis(2500));
    let last = items.last().map(|c| c.id.clone()).unwrap_or_default();
    let n = items.len() as u64;
    let cues: Vec<_> = items
        .into_iter()
        .enumerate()
        .map(|(i, c)| if i == 0 { c.at(first) } else { c })
        .collect();
    run.engine.cue(cues).expect("cued");
    run.expect(
        Duration::from_secs(10 + 3 * n),
        item_ended(&last),
        &format!("{label}: the last item ended"),
    )
    .await;
    let path = run.finish(&mut ff, Duration::from_millis(400)).await;
    // A source that fails (cannot be conformed, ends early) is the fault judged here; a
    // source that is a frame late on a loaded machine (stalled, catching up) is not.
    use playout::FallbackReason as R;
    let (failed, late): (Vec<_>, Vec<_>) = run
        .seen
        .iter()
        .filter_map(|(_, e)| match e {
            playout::Event::FallbackOn {
                id: Some(_),
                reason,
                ..
            } => Some(reason),
            _ => None,
        })
        .partition(|r| !matches!(r, R::Stalled | R::CatchingUp | R::NotReady));
    if !late.is_empty() {
        eprintln!("{label}: sources late on this machine: {late:?}");
    }
    assert!(failed.is_empty(), "{label}: items failed: {failed:?}");
    let seen = run.seen.into_iter().map(|(_, e)| e).collect();
    (first, path, ff, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_layout_and_container_airs_a_standard_stereo_downmix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // FL 300, FR 400, FC 1000 (loud), LFE 60, BL 700, BR 800 (+ SL 200, SR 250 for 7.1);
    // the sum on each side stays under full scale (the downmix is not normalised).
    let c51 = [
        (A, 300.0),
        (A, 400.0),
        (0.5, 1000.0),
        (A, 60.0),
        (A, 700.0),
        (A, 800.0),
    ];
    let mut c71 = c51.to_vec();
    c71.extend([(A, 200.0), (A, 250.0)]);
    let pcm16 = ["-c:a", "pcm_s16le"];
    let files = [
        tones(d, "s51.mov", "5.1", &c51, &pcm16),
        tones(d, "s71.mov", "7.1", &c71, &["-c:a", "pcm_s24le"]),
        tones(d, "s51.mkv", "5.1", &c51, &["-c:a", "ac3", "-b:a", "448k"]),
        tones(d, "s51.avi", "5.1", &c51, &pcm16),
        tones(d, "s51.mp4", "5.1", &c51, &["-c:a", "aac", "-b:a", "384k"]),
    ];
    let dual = dual_mono(d);
    let mono = tones(d, "mono.mp4", "mono", &[(0.5, 1000.0)], &["-c:a", "aac"]);
    let mut items: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, p)| cue(&format!("multi{i}"), p, ITEM))
        .collect();
    items.push(cue("dual", &dual, ITEM));
    items.push(cue("mono", &mono, ITEM));
    let (first, rec, _ff, _) = play(items, "layouts").await;
    let pcm = decode_stereo(&rec);

    // What each side of each item's air must carry: (side, tone Hz, its level in dB ± a
    // tolerance, or `None`: absent, under −50 dB, what it is).
    type Expect = (usize, f64, Option<(f64, f64)>, &'static str);
    const L: usize = 0;
    const R: usize = 1;
    // Centre at −3 dB in both sides: 0.5 × 0.707 = −12 dB RMS, like ffmpeg `-ac 2`; the
    // front tones at their level; the surround (and 7.1's side) tones at −3 dB.
    let centre = Some((rms_db(0.5 * M3DB), 1.0));
    let front = Some((rms_db(A), SIDE_TOL));
    let back = Some((rms_db(A * M3DB), SIDE_TOL));
    let surround: Vec<Expect> = vec![
        (L, 1000.0, centre, "centre left"),
        (R, 1000.0, centre, "centre right"),
        (L, 300.0, front, "front left"),
        (R, 400.0, front, "front right"),
        (L, 700.0, back, "surround left"),
        (R, 800.0, back, "surround right"),
        // A channel mixed to the wrong side would be at the tone's level.
        (R, 300.0, None, "front left leaks right"),
        (L, 400.0, None, "front right leaks left"),
        (R, 700.0, None, "surround left leaks right"),
        (L, 800.0, None, "surround right leaks left"),
        (L, 60.0, None, "LFE not dropped on the left"),
        (R, 60.0, None, "LFE not dropped on the right"),
    ];
    let mut s71 = surround.clone();
    s71.extend([
        (L, 200.0, back, "side left"),
        (R, 250.0, back, "side right"),
        (R, 200.0, None, "side left leaks right"),
        (L, 250.0, None, "side right leaks left"),
    ]);
    let judged: [(&str, Vec<Expect>); 7] = [
        ("5.1 PCM s16 MOV", surround.clone()),
        ("7.1 PCM s24 MOV", s71),
        ("5.1 AC-3 MKV", surround.clone()),
        ("5.1 PCM AVI", surround.clone()),
        ("5.1 AAC MP4", surround),
        // Dual mono (default policy split): track 1 left, track 2 right. ffmpeg's sine is
        // 1/8 FS.
        (
            "dual mono",
            vec![
                (L, 500.0, Some((rms_db(0.125), 1.0)), "track 1 left"),
                (R, 900.0, Some((rms_db(0.125), 1.0)), "track 2 right"),
                (R, 500.0, None, "track 1 on the right"),
                (L, 900.0, None, "track 2 on the left"),
            ],
        ),
        // Mono: both sides at the source's level.
        (
            "mono",
            vec![
                (L, 1000.0, Some((rms_db(0.5), 1.0)), "left"),
                (R, 1000.0, Some((rms_db(0.5), 1.0)), "right"),
            ],
        ),
    ];
    for (i, (name, expects)) in judged.iter().enumerate() {
        // The middle of the item (its first and last 0.3 s left out).
        let s = first + i as u64 * ITEM;
        let level = |side: usize, f: f64| tone_level(pcm.window(side, s + 8, s + ITEM - 8), f);
        let got: Vec<f64> = expects.iter().map(|(k, f, ..)| level(*k, *f)).collect();
        let shown: Vec<String> = expects
            .iter()
            .zip(&got)
            .map(|((_, f, _, what), g)| format!("{what} ({f} Hz) {g:.2}"))
            .collect();
        eprintln!("{name}: {}", shown.join(", "));
        for ((_, _, want, what), got) in expects.iter().zip(got) {
            match want {
                Some((want, tol)) => assert!(
                    (got - want).abs() <= *tol,
                    "{name}: {what}: {got:.1} dB, expected {want:.1} ± {tol} dB"
                ),
                None => assert!(got < -50.0, "{name}: {what}: {got:.1} dB"),
            }
        }
    }
}

/// A 2 s clip whose displayed picture (`w`×`h`) is dark grey with a white block in its
/// top-left quarter, stored turned by `coded_vf` with display rotation `rotate`.
fn oriented(
    dir: &Path,
    name: &str,
    w: u32,
    h: u32,
    coded_vf: &str,
    rotate: Option<u32>,
) -> PathBuf {
    let vf = format!(
        "color=c=0x303030:s={w}x{h}:r=25:d=2,drawbox=x=0:y=0:w=iw/2:h=ih/4:c=white:t=fill,format=yuv420p{coded_vf}"
    );
    let coded = make(
        dir,
        &format!("coded-{name}"),
        &words(&format!("-f lavfi -i {vf} -c:v libx264 -preset ultrafast")),
    );
    let meta = format!("rotate={}", rotate.unwrap_or(0));
    let coded = coded.display().to_string();
    make(
        dir,
        name,
        &["-i", &coded, "-c", "copy", "-metadata:s:v:0", &meta],
    )
}

/// Whether ffmpeg, decoding `path` with its autorotation, shows the block top-left.
fn block_top_left_in_ffmpeg(path: &Path) -> bool {
    let img = decode_raw(
        path,
        &words("-frames:v 1 -vf scale=100:100,format=gray -f rawvideo -"),
    );
    if img.len() < 100 * 100 {
        return false;
    }
    let at = |x: usize, y: usize| img[y * 100 + x];
    at(20, 10) > 180 && at(80, 10) < 100 && at(20, 80) < 100
}

/// Rewrites the video track header's matrix to a left–right mirror (ffmpeg 5.1 cannot
/// write one): `a = −1`.
fn mirror_matrix(path: &Path) {
    let mut data = std::fs::read(path).expect("read");
    let at = data
        .windows(4)
        .position(|w| w == b"tkhd")
        .expect("a tkhd box");
    // Version 0 payload (after the type): version/flags 4, times and ids 5×4, reserved 8,
    // layer, group, volume, reserved 4×2, then the matrix.
    let matrix = at + 4 + 40;
    assert_eq!(
        &data[matrix..matrix + 4],
        &[0, 1, 0, 0],
        "the matrix's a is 1.0"
    );
    data[matrix..matrix + 4].copy_from_slice(&[0xff, 0xff, 0, 0]);
    std::fs::write(path, data).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_orientation_airs_upright_and_interlaced_sources_deinterlaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // (name, displayed w×h, how the picture is stored, rotation tag).
    let clips = [
        oriented(d, "r0.mp4", 320, 180, "", None),
        // ffmpeg 5.1 writes `rotate=90` as a matrix turning the picture 90° counter-
        // clockwise for display (ffprobe: rotation=90), so it is stored turned clockwise.
        oriented(d, "r90.mp4", 180, 320, ",transpose=clock", Some(90)),
        oriented(d, "r180.mp4", 320, 180, ",hflip,vflip", Some(180)),
        oriented(d, "r270.mp4", 180, 320, ",transpose=cclock", Some(270)),
        oriented(d, "mirror.mov", 320, 180, ",hflip", None),
    ];
    mirror_matrix(&clips[4]);
    // The inputs are what they claim: ffmpeg's own display (it applies rotations, not
    // mirrors) shows the block top-left.
    for c in &clips[..4] {
        assert!(
            block_top_left_in_ffmpeg(c),
            "{}: ffmpeg does not show the block top-left",
            c.display()
        );
    }
    let interlaced = |name: &str, order: &str, top: &str, codec: &[&str]| {
        let vf = format!("testsrc2=s=720x576:r=50:d=2,interlace=scan={order},format=yuv420p");
        let mut args = vec!["-f", "lavfi", "-i", vf.as_str()];
        args.extend_from_slice(codec);
        args.extend_from_slice(&["-flags", "+ilme+ildct", "-top", top]);
        make(d, name, &args)
    };
    let tff = interlaced(
        "tff.mp4",
        "tff",
        "1",
        &["-c:v", "libx264", "-preset", "ultrafast"],
    );
    let bff = interlaced("bff.mpg", "bff", "0", &["-c:v", "mpeg2video", "-b:v", "8M"]);
    let mut items: Vec<_> = clips
        .iter()
        .enumerate()
        .map(|(i, p)| cue(&format!("rot{i}"), p, ITEM))
        .collect();
    items.push(cue("tff", &tff, ITEM));
    items.push(cue("bff", &bff, ITEM));
    // Lengths from the picture: an MPEG-TS whose container is a frame longer than its
    // video, cued for the container's length; video 2 s with audio 2.3 s and with audio
    // 1.5 s, played to their end.
    let av = |name: &str, audio_s: &str, extra: &[&str]| {
        let a = format!("sine=f=1000:r=48000:d={audio_s}");
        lavfi_clip(d, name, PICTURE_2S, &a, extra)
    };
    let ts = av("clip.ts", "2", &["-c:a", "aac"]);
    let ts_frames = container_frames(&ts);
    assert!(
        ts_frames > ITEM,
        "the TS container is longer than its 50 frames: {ts_frames}"
    );
    items.push(cue("ts", &ts, ts_frames));
    items.push(playout::Cue::follow(
        "avlong",
        av("long.mp4", "2.3", &["-c:a", "aac"])
            .display()
            .to_string(),
    ));
    items.push(playout::Cue::follow(
        "avshort",
        av("short.mp4", "1.5", &["-c:a", "aac"])
            .display()
            .to_string(),
    ));
    items.push(cue("after", &clips[0], 10));
    let (first, rec, _ff, seen) = play(items, "orientation").await;
    let started = |id: &str| started_at(&seen, id);
    let ts_start = first + 7 * ITEM;
    assert_eq!(started("ts"), ts_start, "the TS item starts on time");
    assert_eq!(
        started("avlong"),
        ts_start + ts_frames,
        "audio longer: starts after the TS"
    );
    assert_eq!(
        started("avshort"),
        ts_start + ts_frames + ITEM,
        "audio longer than the picture: the item is its picture's 50 frames"
    );
    assert_eq!(
        started("after"),
        ts_start + ts_frames + 2 * ITEM,
        "audio shorter: the item is its picture's 50 frames"
    );
    let rec_first = first_recorded_frame(&rec);

    let mids: Vec<u64> = (0..5).map(|i| first + i * ITEM + ITEM / 2).collect();
    let frames = grey_frames(&rec, rec_first, &mids);
    assert_eq!(frames.len(), 5, "one frame per oriented item");
    let names = ["0°", "90°", "180°", "270°", "mirrored"];
    for (i, img) in frames.iter().enumerate() {
        // The picture area: the whole frame for landscape, pillarboxed for portrait
        // (180×320 shown 202×360, centred).
        let (x0, w) = if i == 1 || i == 3 {
            (219, 202)
        } else {
            (0, 640)
        };
        let h = 360;
        let tl = mean(img, x0 + w / 10, h / 40, x0 + 4 * w / 10, h / 5);
        let tr = mean(img, x0 + 6 * w / 10, h / 40, x0 + 9 * w / 10, h / 5);
        let bl = mean(img, x0 + w / 10, 3 * h / 5, x0 + 4 * w / 10, 9 * h / 10);
        eprintln!(
            "{}: top-left {tl:.0}, top-right {tr:.0}, bottom-left {bl:.0}",
            names[i]
        );
        assert!(
            tl > 180.0 && tr < 100.0 && bl < 100.0,
            "{}: the white block is not top-left (top-left {tl:.0}, top-right {tr:.0}, bottom-left {bl:.0})",
            names[i]
        );
        if x0 > 0 {
            let bar = mean(img, 10, 10, x0 - 10, h - 10);
            assert!(
                bar < 40.0,
                "{}: pillarbox bars are black ({bar:.0})",
                names[i]
            );
        }
    }
    for (i, order) in [(5, "TFF"), (6, "BFF")] {
        let s = first + i * ITEM;
        let (t, b, p) = idet(&rec, rec_first, s + 5, s + ITEM - 5);
        eprintln!("{order} source on air: idet TFF {t}, BFF {b}, progressive {p}");
        let total = (t + b + p).max(1);
        assert!(
            p * 100 >= 80 * total && (t + b) * 100 <= 10 * total,
            "{order} source: idet on air TFF {t}, BFF {b}, progressive {p}"
        );
    }
}

/// `ebur128` on `path` (from `ss` for `t` seconds, or all): integrated loudness (LUFS) and
/// true peak (dBTP).
fn ebur128(path: &Path, window: Option<(f64, f64)>) -> (f64, f64) {
    let mut args: Vec<String> = Vec::new();
    if let Some((ss, t)) = window {
        args.extend([
            "-ss".into(),
            format!("{ss:.3}"),
            "-t".into(),
            format!("{t:.3}"),
        ]);
    }
    args.extend(["-i".into(), path.display().to_string()]);
    args.extend(
        words("-vn -af ebur128=peak=true -f null -")
            .into_iter()
            .map(String::from),
    );
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = ffmpeg(&a);
    let summary = &log[log.rfind("Summary:").expect("ebur128 summary")..];
    let value = |key: &str| -> f64 { number_after(summary, key, "ebur128") };
    (value("I:"), value("Peak:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_at_any_loudness_air_at_the_target_under_the_ceiling() {
    const TARGET_MDB: i32 = -24_000;
    const CEILING_MDB: i32 = -1_000;
    const LEN: u64 = 100;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut items = Vec::new();
    for (i, lufs) in [-14.0f64, -24.0, -34.0].into_iter().enumerate() {
        // Pink noise brought to the item's loudness; the quiet item also carries a 1 ms
        // burst each second at −6 dBFS, far above its noise: its +10 dB gain pushes the
        // bursts over the ceiling, and the limiter must hold them.
        let raw = lavfi_clip(
            d,
            &format!("raw{i}.mov"),
            "testsrc2=s=320x180:r=25:d=4",
            "anoisesrc=color=pink:amplitude=0.3:r=48000:d=4:seed=13",
            &words("-map 0:v -map 1:a -ac 2 -c:a pcm_s16le"),
        );
        let (measured, _) = ebur128(&raw, None);
        // (The quiet item's noise sits 1 dB under its loudness: the bursts make up the rest.)
        let noise = if i == 2 { lufs - 1.0 } else { lufs };
        let level = format!("volume={:.2}dB", noise - measured);
        let graph = format!(
            "[0:a]{level}[n];[1:a]aformat=channel_layouts=stereo[b];[n][b]amix=inputs=2:normalize=0[a]"
        );
        let sound = if i == 2 {
            format!(
                "-f lavfi -i aevalsrc='0.5*sin(2*PI*1000*t)*lt(mod(t,1),0.001)':s=48000:d=4 \
                 -filter_complex {graph} -map 0:v -map [a]"
            )
        } else {
            format!("-af {level}")
        };
        let raw = raw.display().to_string();
        let mut args = vec!["-i", raw.as_str()];
        args.extend(words(&sound));
        args.extend(words("-c:v copy -c:a pcm_s16le"));
        let file = make(d, &format!("item{i}.mov"), &args);
        // What the catalog measures before air, and the gain the air plan derives from it.
        let (item_lufs, item_peak) = ebur128(&file, None);
        assert!(
            (item_lufs - lufs).abs() < 0.5,
            "input {i}: {item_lufs} LUFS"
        );
        let gain = TARGET_MDB - (item_lufs * 1000.0).round() as i32;
        eprintln!("input {i}: {item_lufs:.1} LUFS, true peak {item_peak:.1} dBTP, gain {gain} mdB");
        items.push(cue(&format!("loud{i}"), &file, LEN).with_gain_mdb(gain, Some(CEILING_MDB)));
    }
    let (first, rec, _ff, _) = play(items, "loudness").await;
    let rec_first = first_recorded_frame(&rec);
    for i in 0..3u64 {
        let from = (first + i * LEN - rec_first) as f64 * 0.04 + 0.3;
        let (lufs, peak) = ebur128(&rec, Some((from, LEN as f64 * 0.04 - 0.6)));
        eprintln!("item {i}: {lufs:.1} LUFS, true peak {peak:.1} dBTP on air");
        assert!(
            (lufs - f64::from(TARGET_MDB) / 1000.0).abs() <= 1.0,
            "item {i}: {lufs:.1} LUFS on air, target {} LUFS",
            TARGET_MDB / 1000
        );
        assert!(
            peak <= f64::from(CEILING_MDB) / 1000.0,
            "item {i}: true peak {peak:.1} dBTP over the ceiling {} dBTP",
            CEILING_MDB / 1000
        );
    }
}

/// RMS in dBFS of `x`.
fn rms_dbfs(x: &[i16]) -> f64 {
    let e: f64 = x.iter().map(|&v| (f64::from(v) / 32768.0).powi(2)).sum();
    10.0 * (e / x.len().max(1) as f64).max(1e-12).log10()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aac_and_mp3_sound_runs_to_every_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // (name, frames, tone, audio codec args): each cued for its picture's length.
    let specs: [(&str, u32, u32, &[&str]); 5] = [
        ("aac.mp4", 25, 600, &["-c:a", "aac", "-b:a", "192k"]),
        ("mp3.mkv", 25, 1400, &["-c:a", "libmp3lame", "-b:a", "192k"]),
        ("aac1.mp4", 1, 600, &["-c:a", "aac", "-b:a", "192k"]),
        ("mp3.avi", 25, 1400, &["-c:a", "libmp3lame", "-b:a", "192k"]),
        ("pcm.mov", 25, 2200, &["-c:a", "pcm_s16le"]),
    ];
    let mut items = Vec::new();
    for (name, frames, tone, codec) in specs {
        let secs = f64::from(frames) / 25.0;
        let v = format!("testsrc2=s=320x180:r=25:d={secs}");
        let a = format!("sine=f={tone}:r=48000:d={secs},volume=4");
        let path = lavfi_clip(d, name, &v, &a, codec);
        items.push(cue(name, &path, u64::from(frames)));
    }
    let (first, rec, _ff, seen) = play(items, "tails").await;
    let pcm = decode_stereo(&rec);
    let started = |id: &str| started_at(&seen, id);
    let mut cut = first;
    for (i, (name, frames, _, _)) in specs.iter().enumerate() {
        assert_eq!(
            started(name),
            cut,
            "{name} starts where the one before ends"
        );
        cut += u64::from(*frames);
        if i + 1 == specs.len() {
            break;
        }
        // The last 10 ms before the cut sound as loud as the item does (a 1 s item: its
        // middle; the one-frame item: its first 20 ms).
        let x = &pcm.left;
        let at = |f: u64| pcm.sample(f);
        let end = at(cut);
        let tail = rms_dbfs(&x[end - 576..end - 96]);
        let body = if *frames > 1 {
            rms_dbfs(&x[at(cut - 15)..at(cut - 5)])
        } else {
            rms_dbfs(&x[at(cut - 1)..at(cut - 1) + 960])
        };
        eprintln!("{name}: body {body:.1} dBFS, last 10 ms {tail:.1} dBFS");
        // The MP4s' AAC priming is an edit list that shifts the sound: GStreamer 1.22's
        // qtdemux would drop the last packet (up to 21 ms) without the engine's
        // movie-duration fix (`conform::movie_duration_fix`).
        assert!(
            tail >= body - 3.0,
            "{name}: the sound stops before the cut: last 10 ms at {tail:.1} dBFS, item at {body:.1} dBFS"
        );
    }
    // No silence inside any item, its cut included (ffmpeg silencedetect, 5 ms at −50 dB).
    let silences =
        testkit::probe::silences(&rec, -50.0, Duration::from_millis(5)).expect("silencedetect");
    let mut start = first;
    for (name, frames, _, _) in specs {
        let to = (start + u64::from(frames)) as i64 * FRAME_NS;
        let from = to - 200_000_000;
        start += u64::from(frames);
        let holes: Vec<_> = silences
            .iter()
            .filter(|s| s.start_ns < to && s.end_ns.is_none_or(|e| e > from))
            .collect();
        assert!(
            holes.is_empty(),
            "{name} ({from}..{to} ns): silences: {holes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_cut_short_holds_half_a_second_then_the_slate_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // A 4 s file whose second half never arrived: the container still says 4 s.
    let full = lavfi_clip(
        d,
        "full.mp4",
        "testsrc2=s=320x180:r=25:d=4",
        "sine=f=800:r=48000:d=4",
        &["-c:a", "aac", "-movflags", "+faststart"],
    );
    let bytes = std::fs::read(&full).expect("read");
    let cut = d.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    // How many pictures the cut file really holds (ffmpeg's count).
    let real: u64 = ffprobe(
        &cut,
        &words("-count_frames -select_streams v:0 -show_entries stream=nb_read_frames"),
    )
    .trim_end_matches(',')
    .parse()
    .expect("a frame count");
    assert!((20..90).contains(&real), "the cut file holds {real} frames");

    let (mut run, mut ff) = on_air(Default::default());
    let first = run.frame_in(Duration::from_millis(2500));
    run.engine
        .cue(vec![
            cue("cut", &cut, 100).at(first),
            cue("next", &full, 25),
        ])
        .expect("cued");
    run.wait_ended("next", Duration::from_secs(15)).await;
    let status = run.engine.status().await.expect("status");
    let rec = run.finish(&mut ff, Duration::ZERO).await;
    let rec_first = first_recorded_frame(&rec);

    // The frames from a little before the picture runs out to a little after the hold.
    let hold = 12u64;
    let from = first + real - 3;
    let wanted: Vec<u64> = (from..first + real + hold + 4).collect();
    let frames = grey_frames(&rec, rec_first, &wanted);
    assert_eq!(frames.len(), wanted.len(), "frames decoded");
    let same = |a: &[u8], b: &[u8]| {
        let diff: u64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        diff as f64 / a.len() as f64 <= 1.0
    };
    // The last real picture is frame `real - 1` of the item (index 2 here); it stays on
    // screen for itself and the hold, then the slate.
    let last = &frames[2];
    let run_len = frames[2..].iter().take_while(|f| same(last, f)).count() as u64;
    assert!(
        !same(&frames[1], last),
        "the picture still moved before its end"
    );
    assert_eq!(
        run_len,
        1 + hold,
        "the last picture shows for itself and the 0.5 s hold ({hold} frames), then the slate"
    );
    // Every repeat is counted: the hold's, plus any of a source late on a loaded machine
    // (each such stall is announced by a fallback event).
    let stalls = run
        .seen
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                playout::Event::FallbackOn {
                    reason: playout::FallbackReason::Stalled | playout::FallbackReason::CatchingUp,
                    ..
                }
            )
        })
        .count();
    if stalls == 0 {
        assert_eq!(
            status.frames_repeated, hold,
            "the engine counts the frames it repeated"
        );
    } else {
        assert!(
            status.frames_repeated >= hold,
            "the engine counts the frames it repeated: {}",
            status.frames_repeated
        );
    }
    let started_next = run.seen.iter().find_map(|(_, e)| match e {
        playout::Event::ItemStarted { id, frame, .. } if id == "next" => Some(*frame),
        _ => None,
    });
    assert_eq!(
        started_next,
        Some(first + 100),
        "the next item starts on time"
    );
}

/// Pulls `seconds` of a source's conformed stereo straight from the engine's file source.
fn source_audio(path: &Path, profile: &OutputProfile, seconds: u64) -> (Vec<i16>, Vec<i16>) {
    use playout::source::{Source, SourceState, VideoPull};
    gstreamer::init().expect("gst");
    let uri = playout::cue::to_uri(&path.display().to_string());
    let mut src = playout::source::file::DecodedSource::open(&uri, 0, profile);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while src.state() == SourceState::Opening && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(src.state(), SourceState::Ready, "{} opens", path.display());
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for _ in 0..seconds * 25 {
        match src.pull_video(Duration::from_secs(2)) {
            VideoPull::Frame(_) => {}
            _ => break,
        }
        let mut a = Vec::new();
        src.pull_audio(&mut a, 1920 * 4, Duration::from_secs(2));
        for s in a.chunks_exact(4) {
            l.push(i16::from_le_bytes([s[0], s[1]]));
            r.push(i16::from_le_bytes([s[2], s[3]]));
        }
    }
    (l, r)
}

#[test]
fn dual_mono_split_puts_track_one_left_and_track_two_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dual = dual_mono(dir.path());
    let profile = OutputProfile {
        dual_mono: playout::source::conform::DualMono::Split,
        ..OutputProfile::small()
    };
    let (l, r) = source_audio(&dual, &profile, 1);
    let (l, r) = (&l[4800..40_000], &r[4800..40_000]);
    eprintln!(
        "split: L500 {:.1} R500 {:.1} L900 {:.1} R900 {:.1}",
        tone_db(l, 500.0),
        tone_db(r, 500.0),
        tone_db(l, 900.0),
        tone_db(r, 900.0)
    );
    assert!((tone_db(l, 500.0) - rms_db(0.125)).abs() < 0.5);
    assert!((tone_db(r, 900.0) - rms_db(0.125)).abs() < 0.5);
    assert!(tone_db(r, 500.0) < -60.0 && tone_db(l, 900.0) < -60.0);
}

/// Plays a live SRT feed (ffmpeg: a red picture and a 1 kHz tone at 1/8 of full scale,
/// `extra` arguments before its output, e.g. an audio filter) as one item of `len` frames
/// with the live gain towards −24 LUFS under −1 dBTP. Returns the item's first frame, the
/// recording decoded, and the receiver (which owns the recording).
async fn live_feed(extra: &[&str], len: u64) -> (u64, Stereo, FfmpegRtmpListener) {
    let srt_in = SrtIn::new();
    let (mut run, mut ff) = on_air(Default::default());
    let first = run.frame_in(Duration::from_millis(2500));
    let mut live = playout::Cue::follow("live", srt_in.locator())
        .with_length(len)
        .at(first);
    live.ceiling_mdb = Some(-1_000);
    live.live_target_mlufs = Some(-24_000);
    run.engine.cue(vec![live]).expect("cued");
    let _caller = srt_in.push(testkit::palette::RED, 30, extra);
    run.wait_ended("live", Duration::from_secs(13 + len / 25))
        .await;
    let rec = run.finish(&mut ff, Duration::ZERO).await;
    let pcm = decode_stereo(&rec);
    (first, pcm, ff)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_feed_is_brought_slowly_to_the_target() {
    const LEN: u64 = 300;
    // A 1 kHz tone at 1/8 of full scale: about −18 LUFS, 6 dB over the target.
    let (first, pcm, _ff) = live_feed(&[], LEN).await;
    let x = pcm.window(0, first, first + LEN);
    // The tone's level in half-second windows: the median of its 20 ms pieces that sound
    // (a piece 20 dB under the tone is a gap in the feed — the connection settling on a
    // loaded machine — not the gain, and a gap must not read as a gain step). A window
    // with fewer than half its pieces sounding is left out.
    let levels: Vec<Option<f64>> = x
        .chunks_exact(24_000)
        .map(|w| {
            let mut pieces: Vec<f64> = w
                .chunks_exact(960)
                .map(|p| tone_db(p, 1000.0))
                .filter(|l| *l > rms_db(0.125) - 20.0)
                .collect();
            if pieces.len() < 13 {
                return None;
            }
            pieces.sort_by(f64::total_cmp);
            Some(pieces[pieces.len() / 2])
        })
        .collect();
    // From the loudest window on (before it, the feed was connecting): the gain only ever
    // brings it down from there.
    let loudest = levels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.map(|l| (i, l)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let timed: Vec<(usize, f64)> = (loudest..levels.len())
        .filter_map(|i| levels[i].map(|l| (i, l)))
        .collect();
    let sounding: Vec<f64> = timed.iter().map(|(_, l)| *l).collect();
    eprintln!("live levels every 0.5 s: {levels:.1?}");
    assert!(
        sounding.len() >= 16,
        "the feed sounded for 8 s: {levels:.1?}"
    );
    // 1 dB/s is 0.5 dB a window; 0.3 dB more for the measure.
    for w in timed.windows(2) {
        let ((i, a), (j, b)) = (w[0], w[1]);
        assert!(
            (b - a).abs() <= 0.5 * (j - i) as f64 + 0.3,
            "the gain moves at most 1 dB/s: {levels:.1?}"
        );
    }
    // The feed: −21.1 dB RMS on each side, −18.05 LUFS K-weighted (BS.1770: at 1 kHz the
    // filter's +0.69 dB and the formula's −0.691 cancel): 5.95 dB over the target. It ends
    // there, having come down gradually.
    let end = *sounding.last().expect("a level");
    let want = rms_db(0.125) - 5.95;
    assert!(
        (end - want).abs() <= 1.0,
        "brought to the target: {end:.1} dB, expected {want:.1} dB"
    );
    assert!(
        sounding[0] > end + 2.0,
        "it came down slowly, not at once: {sounding:.1?}"
    );
}

/// ffmpeg `ebur128`'s momentary loudness (400 ms windows, every 100 ms), LUFS, of stereo
/// 48 kHz PCM.
fn momentary_lufs(left: &[i16], right: &[i16]) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("piece.s16");
    let bytes: Vec<u8> = left
        .iter()
        .zip(right)
        .flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()].concat())
        .collect();
    std::fs::write(&raw, bytes).expect("pcm written");
    let raw = raw.display().to_string();
    let mut args = words("-f s16le -ar 48000 -ac 2 -i");
    args.push(&raw);
    args.extend(words(
        "-af ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.M -f null -",
    ));
    let log = ffmpeg(&args);
    log.lines()
        .filter_map(|l| l.split("lavfi.r128.M=").nth(1))
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_live_feed_lands_on_the_target_as_a_meter_reads_it() {
    const LEN: u64 = 400;
    // A 50 Hz tone at 0.2 on both sides: −14.7 by the plain mean square but −18.6 LUFS
    // K-weighted (the RLB high-pass takes 3.9 dB at 50 Hz). A gain that ignored the
    // weighting would settle 3.9 dB low, at −27.9 LUFS on the meter.
    let tone = "aeval=0.2*sin(2*PI*50*t)|0.2*sin(2*PI*50*t),aformat=channel_layouts=stereo";
    let (first, pcm, _ff) = live_feed(&["-af", tone], LEN).await;
    // The last 4 s of the item, after the gain has settled (5.4 dB at 1 dB/s, plus the
    // feed connecting), as ffmpeg's meter reads it: the median of its momentary values,
    // leaving out the first 400 ms (a partial window) and gaps (the feed settling on a
    // loaded machine).
    let from = first + LEN - 100;
    let to = first + LEN;
    let m = momentary_lufs(pcm.window(0, from, to), pcm.window(1, from, to));
    let mut sounding: Vec<f64> = m.iter().skip(4).copied().filter(|v| *v > -45.0).collect();
    eprintln!("momentary loudness of the last 4 s: {m:.1?}");
    assert!(
        sounding.len() >= 20,
        "the feed sounded for 2 s of the last 4: {m:.1?}"
    );
    sounding.sort_by(f64::total_cmp);
    let median = sounding[sounding.len() / 2];
    assert!(
        (median + 24.0).abs() <= 1.0,
        "the live feed on air at {median:.1} LUFS by ffmpeg's ebur128, target −24.0 ± 1"
    );
}
