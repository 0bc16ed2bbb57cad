//! FLV tag bodies for RTMP (sans-IO): H.264 and AAC as RTMP video/audio messages.
//!
//! Owns: the byte layout of AVC sequence headers and NALU packets, and of AAC sequence
//! headers and raw frames. Does not own: timestamps or chunking (rml_rtmp does that).

use bytes::{BufMut, Bytes, BytesMut};

const AVC: u8 = 7;
/// AAC, "44 kHz" (always for AAC), 16-bit, stereo.
const AAC_HEADER: u8 = (10 << 4) | (3 << 2) | (1 << 1) | 1;

/// The AVC sequence header (AVCDecoderConfigurationRecord).
pub fn video_sequence_header(avcc: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + avcc.len());
    b.put_u8((1 << 4) | AVC);
    b.put_u8(0);
    b.put_slice(&[0, 0, 0]);
    b.put_slice(avcc);
    b.freeze()
}

/// One access unit (length-prefixed NALUs); `cts_ms` = PTS − DTS.
pub fn video_frame(key: bool, cts_ms: i32, au: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + au.len());
    b.put_u8(if key { 1 << 4 } else { 2 << 4 } | AVC);
    b.put_u8(1);
    let c = cts_ms.to_be_bytes();
    b.put_slice(&c[1..4]);
    b.put_slice(au);
    b.freeze()
}

/// The AAC sequence header (AudioSpecificConfig).
pub fn audio_sequence_header(asc: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(2 + asc.len());
    b.put_u8(AAC_HEADER);
    b.put_u8(0);
    b.put_slice(asc);
    b.freeze()
}

/// One raw AAC frame.
pub fn audio_frame(raw: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(2 + raw.len());
    b.put_u8(AAC_HEADER);
    b.put_u8(1);
    b.put_slice(raw);
    b.freeze()
}

/// Milliseconds on RTMP's 32-bit clock (wraps after ~49.7 days; the extended timestamp
/// carries values past 2^24 ms).
pub fn rtmp_ms(ns: u64) -> u32 {
    ((ns + 500_000) / 1_000_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_layouts() {
        assert_eq!(
            &video_sequence_header(&[1, 2])[..],
            &[0x17, 0, 0, 0, 0, 1, 2]
        );
        assert_eq!(&video_frame(true, 0, &[9])[..], &[0x17, 1, 0, 0, 0, 9]);
        assert_eq!(&video_frame(false, 80, &[9])[..], &[0x27, 1, 0, 0, 80, 9]);
        assert_eq!(
            &audio_sequence_header(&[0x11, 0x90])[..],
            &[0xAF, 0, 0x11, 0x90]
        );
        assert_eq!(&audio_frame(&[5])[..], &[0xAF, 1, 5]);
    }

    #[test]
    fn milliseconds_round_and_pass_24_bits() {
        assert_eq!(rtmp_ms(21_333_333), 21);
        assert_eq!(rtmp_ms(21_500_000), 22);
        assert_eq!(
            rtmp_ms((1u64 << 24) * 1_000_000 + 40_000_000),
            (1 << 24) + 40
        );
    }
}
