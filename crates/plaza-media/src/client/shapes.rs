//! The shapes of the generated media: just enough of each codec's framing for the SFU's
//! and the receiver's depacketizers (VP8 frame tag and keyframe start code, RFC 6386 §9.1;
//! H.264 Annex B NAL units, RFC 6184), with filler where the coded picture would be.

use str0m::format::Codec;

/// Length of a generated keyframe and of the frames between keyframes.
const VIDEO_KEYFRAME_BYTES: usize = 3000;
const VIDEO_DELTA_BYTES: usize = 800;

/// Bytes at the end of every generated video frame that carry its number.
const NUMBER_BYTES: usize = 8;

/// A frame of `codec` (VP8 or H.264), a keyframe or not, ending with its simulcast layer
/// (0 smallest) and its number (so a receiver can tell a lost frame from a late one, and
/// which layer it was given). Layer `n` is `2^n` times the size of layer 0, as a picture
/// twice as wide per layer roughly is; the largest of three is the size without simulcast.
pub(super) fn video_frame(codec: Codec, keyframe: bool, frame_number: u64, layer: u8) -> Vec<u8> {
    let shrink = 2_usize.pow(u32::from(2_u8.saturating_sub(layer)));
    let mut frame = match codec {
        Codec::H264 => h264_frame(keyframe, frame_number, shrink),
        _ => vp8_frame(keyframe, frame_number, shrink),
    };
    frame.push(0x80 | (layer & 0x7F));
    // Seven bits a byte with the top bit set: never `00 00 01`, an Annex B start code.
    frame.extend((0..NUMBER_BYTES).map(|i| 0x80 | ((frame_number >> (7 * i)) as u8 & 0x7F)));
    frame
}

/// The number [`video_frame`] put at the end of `frame`.
pub(super) fn frame_number(frame: &[u8]) -> Option<u64> {
    let tail = frame.get(frame.len().checked_sub(NUMBER_BYTES)?..)?;
    Some(tail.iter().enumerate().fold(0, |n, (i, b)| n | (u64::from(b & 0x7F) << (7 * i))))
}

/// The simulcast layer [`video_frame`] wrote into `frame`.
pub(crate) fn frame_layer(frame: &[u8]) -> Option<u8> {
    let at = frame.len().checked_sub(NUMBER_BYTES + 1)?;
    frame.get(at).map(|b| b & 0x7F)
}

/// Whether a received frame of `codec` is a keyframe.
pub(super) fn is_keyframe(codec: Codec, frame: &[u8]) -> bool {
    match codec {
        Codec::H264 => is_h264_keyframe(frame),
        Codec::Vp8 => is_vp8_keyframe(frame),
        _ => false,
    }
}

/// Filler that never contains `00 00` (so no Annex B start code by accident).
fn filler(len: usize, frame_number: u64) -> impl Iterator<Item = u8> {
    (0..len).map(move |i| 0x80 | ((i as u64 ^ frame_number) as u8 & 0x7F))
}

const VP8_START_CODE: [u8; 3] = [0x9D, 0x01, 0x2A];

/// A VP8 frame's shape (RFC 6386 §9.1): the 3-byte frame tag (bit 0 clear for a keyframe,
/// show_frame set), for a keyframe the start code and a 640x480 size, then filler.
fn vp8_frame(keyframe: bool, frame_number: u64, shrink: usize) -> Vec<u8> {
    let len = if keyframe { VIDEO_KEYFRAME_BYTES } else { VIDEO_DELTA_BYTES } / shrink;
    let first_partition = 200u32;
    let tag = (first_partition << 5) | 0x10 | u32::from(!keyframe);
    let mut frame = tag.to_le_bytes()[..3].to_vec();
    if keyframe {
        frame.extend_from_slice(&VP8_START_CODE);
        frame.extend_from_slice(&640u16.to_le_bytes());
        frame.extend_from_slice(&480u16.to_le_bytes());
    }
    let filled = len - frame.len();
    frame.extend(filler(filled, frame_number));
    frame
}

fn is_vp8_keyframe(frame: &[u8]) -> bool {
    frame.len() >= 10 && frame[0] & 1 == 0 && frame[3..6] == VP8_START_CODE
}

const ANNEX_B_START: [u8; 4] = [0, 0, 0, 1];
const H264_IDR: u8 = 5;

/// An H.264 access unit in Annex B: for a keyframe SPS, PPS and an IDR slice; otherwise
/// one non-IDR slice.
fn h264_frame(keyframe: bool, frame_number: u64, shrink: usize) -> Vec<u8> {
    let mut frame = Vec::new();
    if keyframe {
        // SPS (nal_ref_idc 3, type 7): constrained baseline, level 3.1.
        frame.extend_from_slice(&ANNEX_B_START);
        frame.extend_from_slice(&[0x67, 0x42, 0xE0, 0x1F]);
        frame.extend(filler(8, frame_number));
        // PPS (type 8).
        frame.extend_from_slice(&ANNEX_B_START);
        frame.extend_from_slice(&[0x68, 0xCE, 0x3C, 0x80]);
        // IDR slice (type 5).
        frame.extend_from_slice(&ANNEX_B_START);
        frame.push(0x60 | H264_IDR);
        frame.extend(filler(VIDEO_KEYFRAME_BYTES / shrink, frame_number));
    } else {
        // Non-IDR slice (nal_ref_idc 2, type 1).
        frame.extend_from_slice(&ANNEX_B_START);
        frame.push(0x41);
        frame.extend(filler(VIDEO_DELTA_BYTES / shrink, frame_number));
    }
    frame
}

/// Whether an Annex B access unit holds an IDR slice.
fn is_h264_keyframe(frame: &[u8]) -> bool {
    frame.windows(4).any(|w| w[..3] == [0, 0, 1] && w[3] & 0x1F == H264_IDR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_frames_carry_their_number() {
        for n in [0, 1, 127, 128, 65_536, 1 << 40] {
            let layer = (n % 3) as u8;
            let vp8 = video_frame(Codec::Vp8, n % 2 == 0, n, layer);
            let h264 = video_frame(Codec::H264, n % 2 == 0, n, layer);
            assert_eq!((frame_number(&vp8), frame_layer(&vp8)), (Some(n), Some(layer)));
            assert_eq!((frame_number(&h264), frame_layer(&h264)), (Some(n), Some(layer)));
        }
    }

    #[test]
    fn generated_h264_frames_have_an_idr_slice_only_when_asked() {
        assert!(is_keyframe(Codec::H264, &video_frame(Codec::H264, true, 0, 2)));
        assert!(!is_keyframe(Codec::H264, &video_frame(Codec::H264, false, 1, 2)));
        let delta = video_frame(Codec::H264, false, 7, 2);
        assert!(!delta[ANNEX_B_START.len()..].windows(3).any(|w| w == [0, 0, 1]), "one NAL unit");
    }

    #[test]
    fn generated_vp8_frames_have_the_keyframe_shape_only_when_asked() {
        assert!(is_vp8_keyframe(&vp8_frame(true, 0, 1)));
        assert!(!is_vp8_keyframe(&vp8_frame(false, 1, 1)));
        assert_eq!(vp8_frame(true, 3, 1).len(), VIDEO_KEYFRAME_BYTES);
        assert_eq!(vp8_frame(false, 3, 1).len(), VIDEO_DELTA_BYTES);
        assert_eq!(vp8_frame(false, 3, 4).len(), VIDEO_DELTA_BYTES / 4);
    }
}
