//! Raw PES PTS values read straight from MPEG-TS bytes.
//!
//! ffmpeg/ffprobe unwrap the 33-bit PTS for you; to prove that a stream's PTS *did*
//! wrap at 2^33 (≈ 95443.7 s at 90 kHz), [`ts_raw_pts`] parses the 188-byte packets
//! itself: for every packet with `payload_unit_start_indicator` whose payload starts a
//! PES header (`00 00 01 sid`) with the PTS flag, it yields `(pid, 33-bit PTS)`.

use std::path::Path;

use anyhow::{Context, Result, bail};

const TS: usize = 188;

/// `(pid, raw 33-bit PTS)` of every PES header, in file order.
pub fn ts_raw_pts(path: &Path) -> Result<Vec<(u16, u64)>> {
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    parse_ts_pts(&data)
}

/// As [`ts_raw_pts`], from bytes. Resynchronises on the 0x47 sync byte.
pub fn parse_ts_pts(data: &[u8]) -> Result<Vec<(u16, u64)>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut synced = 0usize;
    while i + TS <= data.len() {
        let p = &data[i..i + TS];
        if p[0] != 0x47 {
            i += 1;
            continue;
        }
        synced += 1;
        i += TS;
        let pusi = p[1] & 0x40 != 0;
        let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
        let afc = (p[3] >> 4) & 0x3;
        if !pusi || pid == 0x1fff || afc & 0x1 == 0 {
            continue;
        }
        let mut off = 4;
        if afc & 0x2 != 0 {
            off += 1 + usize::from(p[4]);
        }
        let pl = match p.get(off..) {
            Some(pl) if pl.len() >= 14 => pl,
            _ => continue,
        };
        if pl[0..3] != [0, 0, 1] {
            continue; // PSI section, not PES
        }
        let sid = pl[3];
        // Stream ids without the optional PES header.
        if matches!(sid, 0xbc | 0xbe | 0xbf | 0xf0 | 0xf1 | 0xf2 | 0xf8 | 0xff) {
            continue;
        }
        let flags = pl[7];
        if flags & 0x80 == 0 {
            continue; // no PTS
        }
        out.push((pid, read_pts(&pl[9..14])));
    }
    if synced == 0 && !data.is_empty() {
        bail!("no MPEG-TS packets found");
    }
    Ok(out)
}

fn read_pts(b: &[u8]) -> u64 {
    (u64::from(b[0] & 0x0e) << 29)
        | (u64::from(b[1]) << 22)
        | (u64::from(b[2] & 0xfe) << 14)
        | (u64::from(b[3]) << 7)
        | (u64::from(b[4]) >> 1)
}

/// How often `pts` jumps backwards by more than 2^32 ticks (half the 33-bit range):
/// the number of 33-bit wraps in a sequence of raw PTS of one PID.
pub fn count_wraps(pts: &[u64]) -> usize {
    pts.windows(2)
        .filter(|w| w[0] > w[1] && w[0] - w[1] > (1u64 << 32))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pes_packet(pid: u16, pts: u64) -> Vec<u8> {
        let mut p = vec![0xffu8; TS];
        p[0] = 0x47;
        p[1] = 0x40 | u8::try_from(pid >> 8).expect("pid hi");
        p[2] = u8::try_from(pid & 0xff).expect("pid lo");
        p[3] = 0x10;
        let pes = [
            0,
            0,
            1,
            0xe0,
            0,
            0,
            0x80,
            0x80,
            5,
            0x21 | u8::try_from((pts >> 29) & 0x0e).expect("b0"),
            u8::try_from((pts >> 22) & 0xff).expect("b1"),
            0x01 | u8::try_from((pts >> 14) & 0xfe).expect("b2"),
            u8::try_from((pts >> 7) & 0xff).expect("b3"),
            0x01 | u8::try_from((pts << 1) & 0xfe).expect("b4"),
        ];
        p[4..4 + pes.len()].copy_from_slice(&pes);
        p
    }

    #[test]
    fn parses_pts_and_counts_wraps() {
        let top = (1u64 << 33) - 3600;
        let mut data = pes_packet(0x100, top);
        data.extend(pes_packet(0x100, 0));
        data.extend(pes_packet(0x101, 12345));
        let v = parse_ts_pts(&data).expect("parse");
        assert_eq!(v, vec![(0x100, top), (0x100, 0), (0x101, 12345)]);
        assert_eq!(count_wraps(&[top, 0, 3600]), 1);
        assert_eq!(count_wraps(&[3600, 0]), 0);
        assert!(parse_ts_pts(b"hello world, this is not a transport stream").is_err());
    }
}
