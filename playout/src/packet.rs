//! Encoded packets as they travel from the encoder to every destination.
//!
//! Owns: the `Packet` type and the stream headers (H.264 avcC, AAC AudioSpecificConfig)
//! that a destination sends again after every reconnect. Does not own: muxing.

use bytes::Bytes;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Video,
    Audio,
}

/// The codec set-up a receiver needs before the first frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// AVCDecoderConfigurationRecord.
    pub avcc: Bytes,
    /// AAC AudioSpecificConfig.
    pub asc: Bytes,
    pub width: u32,
    pub height: u32,
    pub fps_num: u32,
    pub fps_den: u32,
    pub sample_rate: u32,
    pub channels: u32,
    pub video_kbps: u32,
    pub audio_kbps: u32,
    /// Key-frame interval in frames (segmenters size their segments by it).
    pub keyframe_interval: u32,
}

#[derive(Clone, Debug)]
pub struct Packet {
    pub kind: Kind,
    /// Presentation time on the programme timeline, ns.
    pub pts: u64,
    /// Decoding time, ns.
    pub dts: u64,
    /// A video key frame (every audio packet counts as one).
    pub key: bool,
    /// H.264 access unit with 4-byte length prefixes (AVC), or one raw AAC frame.
    pub data: Bytes,
    /// The encoder's codec data, as it came out of the encoder.
    pub codec_data: Option<Bytes>,
    /// Set by the fan-out: the stream headers in force for this packet.
    pub headers: Option<Arc<Headers>>,
}
