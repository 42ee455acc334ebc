//! Opening an MP4/MOV file and finding the video track this build can decode.
//!
//! The `mp4` crate parses the container, but it keeps only the sample entries it knows (`avc1`,
//! `hev1`, `vp09`, `mp4a`, `tx3g`): an `hvc1` (H.265 as Apple and most cameras tag it), `avc3`,
//! `mp4v` or `jpeg` track would look like a track without a codec. So this module also walks
//! the boxes itself, just far enough to read each track's handler (`vide`, `soun`, ...) and
//! sample-entry four-character code, and names the codec in its error.
//!
//! It also computes each frame's presentation time from `stts` (decode deltas) and `ctts`
//! (composition offsets, present when the stream has B-frames), since the decoder hands frames
//! out in display order and pacing needs their times in that order.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use mp4::Mp4Reader;

use crate::SourceError;

/// What this build decodes, for error messages.
pub const SUPPORTED: &str = "this build decodes H.264 (avc1) in the Constrained Baseline, \
     Baseline, Main and High profiles";

/// Top-level box types an ISO base media file (MP4, MOV, 3GP) starts with.
const TOP_LEVEL_BOXES: [&[u8; 4]; 11] = [
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp", b"sidx",
    b"moof",
];

/// One track as the file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackEntry {
    /// `vide`, `soun`, `text`, ... from the track's `hdlr` box.
    pub handler: [u8; 4],
    /// The first sample entry's code in `stsd`: `avc1`, `hvc1`, `mp4a`, ...
    pub codec: [u8; 4],
}

/// The opened file with its H.264 video track.
pub struct VideoTrack {
    pub reader: Mp4Reader<BufReader<File>>,
    pub track_id: u32,
    pub sample_count: u32,
    pub width: u32,
    pub height: u32,
    /// `avcC`'s NAL length size (1, 2 or 4 bytes).
    pub length_size: usize,
    pub sps: Vec<Vec<u8>>,
    pub pps: Vec<Vec<u8>>,
    /// `H.264 High`, for `probe` and logs.
    pub codec: String,
    /// Presentation times in display order, the first at zero.
    pub presentation: Vec<Duration>,
    /// The track's whole length: the time after which a loop starts again.
    pub duration: Duration,
    /// Frames per second from the track's timing (59.94 for a 60000/1001 camera).
    pub fps: f64,
    /// The file is cut short (a copy or a recording that stopped): its last top-level box,
    /// this one (`mdat`, as a rule), runs past the end of the file. The frames whose bytes are
    /// there are read; the first that is not ends the file.
    pub truncated: Option<String>,
    /// The file's size, bytes.
    pub size: u64,
}

impl VideoTrack {
    /// The bytes of sample `id` (from 1) as the track's `stsz` gives them.
    pub fn sample_size(&self, id: u32) -> Option<u64> {
        let stsz = &self
            .reader
            .tracks()
            .get(&self.track_id)?
            .trak
            .mdia
            .minf
            .stbl
            .stsz;
        if stsz.sample_size > 0 {
            return Some(u64::from(stsz.sample_size));
        }
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        stsz.sample_sizes.get(index).map(|&n| u64::from(n))
    }
}

/// Where the file's last whole top-level box ends, and the type of the box that runs past the
/// end of the file, if one does (a file cut short).
fn whole_boxes<R: Read + Seek>(r: &mut R, size: u64) -> (u64, Option<[u8; 4]>) {
    let mut at = 0;
    while at + 8 <= size {
        match read_box_header(r, at, u64::MAX) {
            Some(b) if b.end > size => return (at, Some(b.kind)),
            Some(b) if b.end > at => at = b.end,
            _ => break,
        }
    }
    (at.min(size), None)
}

fn four(code: &[u8; 4]) -> String {
    code.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// A codec's common name from its sample-entry code.
pub fn codec_name(code: &[u8; 4]) -> String {
    let name = match code {
        b"avc1" | b"avc2" | b"avc3" | b"avc4" => "H.264",
        b"hvc1" | b"hev1" => "H.265/HEVC",
        b"vvc1" | b"vvi1" => "H.266/VVC",
        b"vp08" => "VP8",
        b"vp09" => "VP9",
        b"av01" => "AV1",
        b"mp4v" => "MPEG-4 Part 2",
        b"s263" | b"h263" => "H.263",
        b"jpeg" | b"mjpa" | b"mjpb" => "Motion-JPEG",
        b"apch" | b"apcn" | b"apcs" | b"apco" | b"ap4h" => "Apple ProRes",
        b"mp4a" => "AAC/MPEG-4 audio",
        b"Opus" => "Opus",
        b"ac-3" => "AC-3",
        b"tx3g" | b"text" => "timed text",
        _ => return format!("`{}`", four(code)),
    };
    format!("{name} ({})", four(code))
}

/// An H.264 profile's name, and whether OpenH264 decodes it.
pub(crate) fn h264_profile(profile_idc: u8, compatibility: u8) -> (String, bool) {
    let (name, ok) = match profile_idc {
        66 if compatibility & 0x40 != 0 => ("Constrained Baseline", true),
        66 => ("Baseline", true),
        77 => ("Main", true),
        100 => ("High", true),
        88 => ("Extended", false),
        110 => ("High 10", false),
        122 => ("High 4:2:2", false),
        244 => ("High 4:4:4 Predictive", false),
        44 => ("CAVLC 4:4:4 Intra", false),
        118 => ("Multiview High", false),
        128 => ("Stereo High", false),
        _ => ("unknown profile", false),
    };
    (format!("{name} (profile {profile_idc})"), ok)
}

/// Why a fragmented MP4 is refused, and what to do with it.
const FRAGMENTED: &str = "it is a fragmented MP4 (its frames are in `moof` fragments, which \
     this reader does not play); remux it into a plain MP4 (ffmpeg -i IN -c copy OUT.mp4) or \
     read it with the `ffmpeg:` source (a build with the `ffmpeg` feature)";

fn not_video(path: &Path, reason: impl Into<String>) -> SourceError {
    SourceError::NotVideo {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn access(path: &Path) -> impl Fn(std::io::Error) -> SourceError + '_ {
    move |source| SourceError::FileAccess {
        path: path.to_path_buf(),
        source,
    }
}

/// A box header: type, where its payload starts and where the box ends.
struct BoxHeader {
    kind: [u8; 4],
    payload: u64,
    end: u64,
}

fn read_box_header<R: Read + Seek>(r: &mut R, at: u64, limit: u64) -> Option<BoxHeader> {
    if at + 8 > limit {
        return None;
    }
    r.seek(SeekFrom::Start(at)).ok()?;
    let mut head = [0u8; 8];
    r.read_exact(&mut head).ok()?;
    let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
    let kind = [head[4], head[5], head[6], head[7]];
    let (payload, end) = match size32 {
        0 => (at + 8, limit),
        1 => {
            let mut large = [0u8; 8];
            r.read_exact(&mut large).ok()?;
            (at + 16, at.checked_add(u64::from_be_bytes(large))?)
        }
        n => (at + 8, at.checked_add(n)?),
    };
    (end >= payload && end <= limit).then_some(BoxHeader { kind, payload, end })
}

fn children<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> Vec<BoxHeader> {
    let mut out = Vec::new();
    let mut at = start;
    while let Some(b) = read_box_header(r, at, end) {
        at = b.end;
        out.push(b);
        if at == end {
            break;
        }
    }
    out
}

fn find(boxes: &[BoxHeader], kind: &[u8; 4]) -> Option<(u64, u64)> {
    boxes
        .iter()
        .find(|b| &b.kind == kind)
        .map(|b| (b.payload, b.end))
}

/// Each track's handler and codec code, in file order, read straight from the boxes.
pub fn scan_tracks<R: Read + Seek>(r: &mut R, size: u64) -> Vec<TrackEntry> {
    let top = children(r, 0, size);
    let Some((moov, moov_end)) = find(&top, b"moov") else {
        return Vec::new();
    };
    let mut tracks = Vec::new();
    for trak in children(r, moov, moov_end)
        .iter()
        .filter(|b| &b.kind == b"trak")
    {
        let mut entry = TrackEntry {
            handler: *b"????",
            codec: *b"????",
        };
        let trak_boxes = children(r, trak.payload, trak.end);
        if let Some((mdia, mdia_end)) = find(&trak_boxes, b"mdia") {
            let mdia_boxes = children(r, mdia, mdia_end);
            // hdlr: version/flags (4), pre_defined (4), handler_type (4).
            if let Some((hdlr, _)) = find(&mdia_boxes, b"hdlr") {
                let mut h = [0u8; 12];
                if r.seek(SeekFrom::Start(hdlr)).is_ok() && r.read_exact(&mut h).is_ok() {
                    entry.handler = [h[8], h[9], h[10], h[11]];
                }
            }
            let stsd = find(&mdia_boxes, b"minf")
                .map(|(a, b)| children(r, a, b))
                .and_then(|minf| find(&minf, b"stbl"))
                .map(|(a, b)| children(r, a, b))
                .and_then(|stbl| find(&stbl, b"stsd"));
            // stsd: version/flags (4), entry count (4), then the first sample entry's header.
            if let Some((stsd, stsd_end)) = stsd {
                if let Some(first) = read_box_header(r, stsd + 8, stsd_end) {
                    entry.codec = first.kind;
                }
            }
        }
        tracks.push(entry);
    }
    tracks
}

/// The boxes whose payload is a list of boxes that the `mp4` crate reads child after child,
/// trusting each child's size (`meta` too, after its version and flags).
const CONTAINER_BOXES: [&[u8; 4]; 12] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"mvex", b"udta", b"moof", b"traf",
    b"ilst", b"meta",
];

/// How deep [`misread_box`] follows containers: the index of a real file is 6 or 7 deep.
const MAX_BOX_DEPTH: u32 = 16;

/// A box of the index (`moov`, `moof`) that the `mp4` crate would misread, described. The
/// crate skips a box by its size: a child of size 0 ("to the end of the file", which only a
/// file's last box may say; QuickTime's 4-byte `udta` terminator reads as one) sends it back
/// to the same header forever, and a child smaller than its header or running past its parent
/// makes it read, or allocate for, bytes that are not the child's. So the index is walked
/// first, and such a file is refused with the box named rather than hanging the camera.
fn misread_box<R: Read + Seek>(r: &mut R, size: u64) -> Option<String> {
    children(r, 0, size)
        .iter()
        .filter(|b| &b.kind == b"moov" || &b.kind == b"moof")
        .find_map(|b| misread_child(r, &b.kind, b.payload, b.end, 1))
}

fn misread_child<R: Read + Seek>(
    r: &mut R,
    parent: &[u8; 4],
    payload: u64,
    end: u64,
    depth: u32,
) -> Option<String> {
    let mut at = payload;
    if parent == b"meta" {
        // ISO's `meta` has version and flags before its children; QuickTime's does not.
        let mut head = [0u8; 8];
        r.seek(SeekFrom::Start(at)).ok()?;
        r.read_exact(&mut head).ok()?;
        if head[..4] == [0; 4] {
            at += 4;
        } else if &head[4..] != b"hdlr" {
            return None;
        }
    }
    while at < end {
        // Bytes too few for a header at the end of a container are read as one all the same,
        // as the crate does (into the next box), and so checked like any child.
        let mut head = [0u8; 8];
        r.seek(SeekFrom::Start(at)).ok()?;
        r.read_exact(&mut head).ok()?;
        let kind = [head[4], head[5], head[6], head[7]];
        let (size, header) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
            1 => {
                let mut large = [0u8; 8];
                r.read_exact(&mut large).ok()?;
                (u64::from_be_bytes(large), 16)
            }
            n => (u64::from(n), 8),
        };
        let named = format!(
            "its `{}` box at byte {at} (in `{}`)",
            four(&kind),
            four(parent)
        );
        if size == 0 {
            return Some(format!(
                "{named} has size 0, which only the file's last box may have (expected its \
                 size in bytes)"
            ));
        }
        if size < header {
            return Some(format!(
                "{named} has a size of {size} bytes, less than its {header}-byte header"
            ));
        }
        let child_end = at.saturating_add(size);
        if child_end > end {
            return Some(format!(
                "{named} has a size of {size} bytes and runs past the end of its parent at \
                 byte {end}"
            ));
        }
        if CONTAINER_BOXES.contains(&&kind) && depth < MAX_BOX_DEPTH {
            if let Some(problem) = misread_child(r, &kind, at + header, child_end, depth + 1) {
                return Some(problem);
            }
        }
        at = child_end;
    }
    None
}

fn describe_tracks(tracks: &[TrackEntry]) -> String {
    if tracks.is_empty() {
        return "no tracks".into();
    }
    tracks
        .iter()
        .map(|t| {
            let kind = match &t.handler {
                b"vide" => "video".to_string(),
                b"soun" => "audio".to_string(),
                b"text" | b"sbtl" | b"subt" => "text".to_string(),
                b"hint" => "hint".to_string(),
                b"meta" => "metadata".to_string(),
                other => format!("`{}` track", four(other)),
            };
            format!("{kind} {}", codec_name(&t.codec))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens `path` and selects its first video track, which must be H.264 in a profile OpenH264
/// decodes. Every error names the path and what was found.
pub fn open(path: &Path) -> Result<VideoTrack, SourceError> {
    let file = File::open(path).map_err(access(path))?;
    let size = file.metadata().map_err(access(path))?.len();
    let mut reader = BufReader::new(file);

    let mut head = [0u8; 8];
    let got = reader.read(&mut head).map_err(access(path))?;
    if got < 8 {
        return Err(not_video(
            path,
            format!("the file is only {size} bytes long"),
        ));
    }
    let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
    if !TOP_LEVEL_BOXES.contains(&&kind) {
        let shown: String = head
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        return Err(not_video(
            path,
            format!("it does not start with an MP4/MOV box (its first bytes are \"{shown}\")"),
        ));
    }

    // The codec check comes before the mp4 crate's parse, so that a file it cannot parse
    // (an unusual codec's sample entry) is still named by its codec.
    let tracks = scan_tracks(&mut reader, size);
    let video = tracks.iter().position(|t| &t.handler == b"vide");
    let unsupported = |codec: String| SourceError::UnsupportedCodec {
        path: path.to_path_buf(),
        codec,
        supported: SUPPORTED,
    };
    if let Some(code) = video.map(|i| tracks[i].codec) {
        if &code != b"avc1" {
            let extra = if &code == b"avc3" {
                " with parameter sets in band"
            } else {
                ""
            };
            return Err(unsupported(format!("{}{extra}", codec_name(&code))));
        }
    }
    // A file cut short has its index (`moov`) whole when it was written first ("fast
    // start"): the boxes before the cut are parsed, and the frames that are there are read.
    let (whole, cut) = whole_boxes(&mut reader, size);
    let parse_size = if cut.is_some() { whole } else { size };
    let truncated = cut.map(|kind| {
        format!(
            "it is cut short: its `{}` box runs past the end of the file at byte {size}",
            four(&kind)
        )
    });
    if let Some(problem) = misread_box(&mut reader, parse_size) {
        return Err(not_video(
            path,
            format!("its index cannot be read: {problem}"),
        ));
    }
    // A fragmented MP4 keeps its frames' tables in `moof` boxes, which this reader does not
    // play (and the `mp4` crate can panic on); said before the crate reads them.
    if children(&mut reader, 0, parse_size)
        .iter()
        .any(|b| &b.kind == b"moof")
    {
        return Err(not_video(path, FRAGMENTED));
    }
    reader.seek(SeekFrom::Start(0)).map_err(access(path))?;
    let mp4 = Mp4Reader::read_header(reader, parse_size).map_err(|e| {
        let why = truncated
            .as_deref()
            .map_or(String::new(), |t| format!(" ({t})"));
        not_video(path, format!("its boxes cannot be parsed: {e}{why}"))
    })?;
    let Some(index) = video else {
        return Err(SourceError::NoVideoTrack {
            path: path.to_path_buf(),
            found: describe_tracks(&tracks),
        });
    };
    // The box walk and the mp4 crate list the same `trak` boxes in the same order.
    let trak = mp4
        .moov
        .traks
        .get(index)
        .ok_or_else(|| not_video(path, "its track list is inconsistent"))?;
    let track_id = trak.tkhd.track_id;
    let stbl = &trak.mdia.minf.stbl;
    let avc1 = stbl
        .stsd
        .avc1
        .as_ref()
        .ok_or_else(|| not_video(path, "its avc1 sample entry cannot be parsed"))?;
    let avcc = &avc1.avcc;
    let (profile, decodable) =
        h264_profile(avcc.avc_profile_indication, avcc.profile_compatibility);
    if !decodable {
        return Err(unsupported(format!("H.264 {profile}")));
    }
    if avcc.sequence_parameter_sets.is_empty() || avcc.picture_parameter_sets.is_empty() {
        return Err(not_video(
            path,
            "its H.264 track has no SPS/PPS in avcC (an avc1 track must carry them)",
        ));
    }
    let length_size = match avcc.length_size_minus_one & 3 {
        0 => 1,
        1 => 2,
        3 => 4,
        n => {
            return Err(not_video(
                path,
                format!(
                    "avcC gives a NAL length size of {} bytes (1, 2 or 4 are valid)",
                    n + 1
                ),
            ))
        }
    };

    let timescale = trak.mdia.mdhd.timescale;
    if timescale == 0 {
        return Err(not_video(path, "its video track has a timescale of 0"));
    }
    if stbl.stsz.sample_count == 0 {
        return Err(not_video(path, "its video track has no frames"));
    }
    // The `mp4` crate finds a sample's bytes through `stsc` as it is: a chunk numbered 0 or
    // holding no samples makes it subtract past zero or divide by zero (and panic).
    if let Some(entry) = stbl
        .stsc
        .entries
        .iter()
        .find(|e| e.first_chunk == 0 || e.samples_per_chunk == 0)
    {
        return Err(not_video(
            path,
            format!(
                "its `stsc` gives chunk {} {} samples per chunk (chunks are numbered from 1 \
                 and hold at least 1 sample)",
                entry.first_chunk, entry.samples_per_chunk
            ),
        ));
    }
    // The `mp4` crate cannot read a sample that `stts` gives no time for (it panics): a
    // damaged file whose `stts` is short plays the frames it does give times for.
    let sample_count = stbl.stsz.sample_count.min(timed_samples(
        stbl.stts.entries.iter().map(|e| e.sample_count),
    ));
    if sample_count == 0 {
        return Err(not_video(
            path,
            format!(
                "its `stts` gives none of its {} frames a time",
                stbl.stsz.sample_count
            ),
        ));
    }
    let (presentation, total_ticks) = presentation_times(
        stbl.stts
            .entries
            .iter()
            .map(|e| (e.sample_count, e.sample_delta)),
        stbl.ctts
            .iter()
            .flat_map(|c| c.entries.iter().map(|e| (e.sample_count, e.sample_offset))),
        sample_count,
        timescale,
    );
    let duration = ticks(total_ticks, timescale);
    let fps = if total_ticks > 0 {
        sample_count as f64 * timescale as f64 / total_ticks as f64
    } else {
        0.0
    };
    Ok(VideoTrack {
        track_id,
        sample_count,
        width: avc1.width as u32,
        height: avc1.height as u32,
        length_size,
        sps: avcc
            .sequence_parameter_sets
            .iter()
            .map(|n| n.bytes.clone())
            .collect(),
        pps: avcc
            .picture_parameter_sets
            .iter()
            .map(|n| n.bytes.clone())
            .collect(),
        codec: format!("H.264 {}", profile.split(" (").next().unwrap_or("")),
        presentation,
        duration,
        fps,
        reader: mp4,
        truncated,
        size,
    })
}

/// How many samples `stts` gives a time, counted as the `mp4` crate finds a sample's time (its
/// running count, from 1, stops at `u32::MAX`).
fn timed_samples(counts: impl Iterator<Item = u32>) -> u32 {
    let mut next = 1u32;
    for count in counts {
        match next.checked_add(count) {
            Some(n) => next = n,
            None => break,
        }
    }
    next - 1
}

fn ticks(t: u64, timescale: u32) -> Duration {
    Duration::from_nanos((t as u128 * 1_000_000_000 / timescale as u128) as u64)
}

/// Presentation times in display order, starting at zero, and the total of the decode deltas.
/// `stts` gives each sample's decode duration; `ctts` (if any) each sample's composition offset.
fn presentation_times(
    stts: impl Iterator<Item = (u32, u32)>,
    ctts: impl Iterator<Item = (u32, i32)>,
    sample_count: u32,
    timescale: u32,
) -> (Vec<Duration>, u64) {
    let n = sample_count as usize;
    let mut pts: Vec<i64> = Vec::with_capacity(n);
    let mut dts: i64 = 0;
    for (count, delta) in stts {
        for _ in 0..count {
            if pts.len() == n {
                break;
            }
            pts.push(dts);
            dts += delta as i64;
        }
    }
    // A short stts (a damaged file) leaves the rest of the samples at the last time plus one
    // average delta each; playback then still moves forward.
    let step = if pts.is_empty() {
        1
    } else {
        (dts / pts.len() as i64).max(1)
    };
    while pts.len() < n {
        pts.push(dts);
        dts += step;
    }
    let mut i = 0;
    for (count, offset) in ctts {
        for _ in 0..count {
            if i < n {
                pts[i] += offset as i64;
                i += 1;
            }
        }
    }
    pts.sort_unstable();
    let first = pts.first().copied().unwrap_or(0);
    let times = pts
        .iter()
        .map(|&p| ticks((p - first).max(0) as u64, timescale))
        .collect();
    (times, dts.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], declared: u32, payload: usize) -> Vec<u8> {
        let mut b = declared.to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend(std::iter::repeat_n(0u8, payload));
        b
    }

    #[test]
    fn a_top_level_box_running_past_the_end_of_the_file_is_found() {
        let mut file = boxed(b"ftyp", 16, 8);
        file.extend(boxed(b"moov", 24, 16));
        let whole = file.len() as u64;
        assert_eq!(
            whole_boxes(&mut std::io::Cursor::new(&file), whole),
            (whole, None)
        );
        // An mdat that says 1,000 bytes, of which 100 are there.
        file.extend(boxed(b"mdat", 1000, 92));
        let size = file.len() as u64;
        assert_eq!(
            whole_boxes(&mut std::io::Cursor::new(&file), size),
            (whole, Some(*b"mdat"))
        );
    }

    /// Found by the `mp4` fuzz target: a box of size 0 inside `moov` made the `mp4` crate
    /// read the same header forever, and the camera's thread with it.
    #[test]
    fn a_box_of_size_zero_inside_the_index_is_refused_naming_it() {
        let mut udta = boxed(b"udta", 20, 12);
        udta[8..12].copy_from_slice(&0u32.to_be_bytes());
        udta[12..16].copy_from_slice(b"free");
        let mut file = boxed(b"ftyp", 16, 8);
        file.extend(boxed(b"moov", 28, 0));
        file.extend(udta);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero-size.mp4");
        std::fs::write(&path, &file).unwrap();
        let error = open(&path).err().expect("the file is refused").to_string();
        assert!(
            error.contains("zero-size.mp4")
                && error.contains("`free` box at byte 32 (in `udta`) has size 0"),
            "{error}"
        );
    }

    #[test]
    fn index_boxes_smaller_than_a_header_or_past_their_parent_are_refused() {
        let mut moov = boxed(b"moov", 24, 16);
        moov[8..12].copy_from_slice(&4u32.to_be_bytes());
        moov[12..16].copy_from_slice(b"mvhd");
        let size = moov.len() as u64;
        let problem = misread_box(&mut std::io::Cursor::new(&moov), size).unwrap();
        assert!(problem.contains("less than its 8-byte header"), "{problem}");
        moov[8..12].copy_from_slice(&40u32.to_be_bytes());
        let problem = misread_box(&mut std::io::Cursor::new(&moov), size).unwrap();
        assert!(
            problem.contains("runs past the end of its parent at byte 24"),
            "{problem}"
        );
        moov[8..12].copy_from_slice(&16u32.to_be_bytes());
        assert_eq!(misread_box(&mut std::io::Cursor::new(&moov), size), None);
        // QuickTime's `udta` may end in a 4-byte zero, which the crate reads as a box of size
        // 0 (its type from the bytes after it).
        let mut file = boxed(b"moov", 24, 0);
        file.extend(boxed(b"udta", 16, 0));
        file.extend(0u32.to_be_bytes());
        file.extend(boxed(b"free", 8, 0));
        let size = file.len() as u64;
        let problem = misread_box(&mut std::io::Cursor::new(&file), size).unwrap();
        assert!(
            problem.contains("at byte 16 (in `udta`) has size 0"),
            "{problem}"
        );
        // Found by the `mp4` fuzz target: 5 bytes left at the end of `moov` started a `trak`
        // header whose box ran on past the file, where one of size 0 hung the crate.
        let mut file = boxed(b"moov", 13, 0);
        file.extend(boxed(b"trak", 604, 8));
        let size = file.len() as u64;
        let problem = misread_box(&mut std::io::Cursor::new(&file), size).unwrap();
        assert!(
            problem.contains(
                "`trak` box at byte 8 (in `moov`) has a size of 604 bytes and runs past the \
                 end of its parent at byte 13"
            ),
            "{problem}"
        );
    }

    #[test]
    fn b_frame_offsets_put_presentation_times_in_display_order() {
        // I P B B at 25 fps (timescale 100, delta 4): decode order I0 P3 B1 B2.
        let (pts, total) = presentation_times(
            [(4, 4)].into_iter(),
            [(1, 4), (1, 16), (2, 0)].into_iter(),
            4,
            100,
        );
        assert_eq!(total, 16);
        let ms: Vec<u128> = pts.iter().map(|d| d.as_millis()).collect();
        // pts: 4, 20, 8, 12 -> sorted 4, 8, 12, 20 -> from zero 0, 40, 80, 160.
        assert_eq!(ms, vec![0, 40, 80, 160]);
    }

    #[test]
    fn codecs_and_profiles_are_named_as_people_know_them() {
        assert_eq!(codec_name(b"hvc1"), "H.265/HEVC (hvc1)");
        assert_eq!(codec_name(b"zzzz"), "`zzzz`");
        assert_eq!(h264_profile(100, 0), ("High (profile 100)".into(), true));
        assert_eq!(
            h264_profile(244, 0),
            ("High 4:4:4 Predictive (profile 244)".into(), false)
        );
        assert!(h264_profile(66, 0xC0).0.starts_with("Constrained Baseline"));
    }

    #[test]
    fn the_box_walk_finds_handler_and_codec() {
        fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
            let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
            v.extend_from_slice(kind);
            v.extend_from_slice(body);
            v
        }
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(b"vide");
        hdlr.extend_from_slice(&[0; 12]);
        let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
        stsd.extend(bx(b"hvc1", &[0; 16]));
        let stbl = bx(b"stbl", &bx(b"stsd", &stsd));
        let minf = bx(b"minf", &stbl);
        let mut mdia_body = bx(b"hdlr", &hdlr);
        mdia_body.extend(minf);
        let trak = bx(b"trak", &bx(b"mdia", &mdia_body));
        let mut file = bx(b"ftyp", b"isom\0\0\0\0");
        file.extend(bx(b"moov", &trak));
        let size = file.len() as u64;
        let tracks = scan_tracks(&mut std::io::Cursor::new(file), size);
        assert_eq!(
            tracks,
            vec![TrackEntry {
                handler: *b"vide",
                codec: *b"hvc1"
            }]
        );
        assert_eq!(describe_tracks(&tracks), "video H.265/HEVC (hvc1)");
    }
}
