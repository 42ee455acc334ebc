//! JPEG encoding of saved frames: baseline, standard (Annex K) quantisation and Huffman
//! tables with IJG quality scaling, 4:2:0 chroma subsampling for colour (box-averaged, as
//! libjpeg does and as OpenCV's `imwrite` writes by default).
//!
//! Why our own encoder: the frame store's benchmark goal is `save_current` at least as fast
//! as OpenCV's `cv2.imwrite` (libjpeg-turbo with hand-written SIMD), and a fresh clone must
//! build with cargo alone (no system libjpeg, cmake or nasm). Measured on the 640x480
//! benchmark scene at quality 85 on the 2-core development machine: `jpeg-encoder` 0.7 with
//! its AVX2 feature 2.3 ms, `rusty_jpeg` 0.4 1.3 ms, `mozjpeg` without nasm 3.4 ms, OpenCV's
//! whole `imwrite` about 1.0 ms; this encoder 0.9 ms. Figures: `BENCH_RESULTS.md`.
//!
//! Where the time goes and what was done about it:
//!
//! - DCT: the float AAN transform (libjpeg's `jfdctflt`), written as one pass down the rows
//!   for all eight columns at once, so each statement is one 8-lane vector operation; the
//!   second pass runs on the transpose, and the transposed result is absorbed into the
//!   quantisation and zig-zag tables instead of transposing back.
//! - Quantisation rounds with the 1.5·2^23 trick (bit arithmetic, vectorises); the size
//!   category of every coefficient comes from its float exponent, also vectorised.
//! - Entropy coding walks a 64-bit map of the non-zero coefficients in zig-zag order
//!   (`trailing_zeros`, clear lowest bit), writes code and value in one step into a 64-bit
//!   accumulator held in registers, and emits four bytes at a time unless one of them is
//!   0xFF and needs a stuffed zero.
//! - The same code is compiled twice, for baseline x86-64 and with AVX2/FMA/BMI2, and the
//!   second is chosen at run time when the CPU has them (the only `unsafe` in the crate).
//!   Elsewhere the portable build runs (on a Raspberry Pi, NEON is part of the aarch64
//!   baseline, so the compiler may vectorise it there too; not measured yet).
//! - Sample planes are kept per thread between frames (no allocation per save).

use super::image::{ImageRef, PixelFormat};

/// Why an image could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode a {width}x{height} image as JPEG at quality {quality}: {reason}")]
pub struct EncodeError {
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub reason: String,
}

/// Encodes `image` as a baseline JPEG at `quality` (1–100) into `out` (cleared first); colour
/// images use 4:2:0 chroma subsampling. What [`FrameStore::save_current`](crate::FrameStore::save_current)
/// writes; public for other consumers of JPEG frames (an MJPEG stream, a snapshot endpoint).
///
/// ```
/// use semaforo_resources::{encode_jpeg, ImageRef, PixelFormat};
/// let pixels = vec![128u8; 16 * 16 * 3];
/// let mut out = Vec::new();
/// encode_jpeg(ImageRef::new(16, 16, PixelFormat::Rgb8, &pixels).unwrap(), 85, &mut out).unwrap();
/// assert_eq!(&out[..2], &[0xFF, 0xD8]);
/// let err = encode_jpeg(ImageRef::new(16, 16, PixelFormat::Rgb8, &pixels).unwrap(), 0, &mut out).unwrap_err();
/// assert!(err.to_string().contains("quality 0"));
/// ```
pub fn encode_jpeg(image: ImageRef<'_>, quality: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if !(1..=100).contains(&quality) {
        return Err(EncodeError {
            width: image.width(),
            height: image.height(),
            quality,
            reason: "quality must be 1 to 100".into(),
        });
    }
    out.clear();
    dispatch(&image, quality, out);
    Ok(())
}

/// Working buffers (sample planes) kept per thread between frames, so a save neither
/// allocates nor zeroes them again: about 1.5 bytes per pixel of the largest frame the thread
/// has encoded.
#[derive(Default)]
struct Scratch {
    y: Vec<u8>,
    cb: Vec<u8>,
    cr: Vec<u8>,
    vsum: Vec<u16>,
    sums: [Vec<i32>; 3],
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Sizes `v` to `n` elements; only growth writes (every element is overwritten anyway).
fn sized<T: Copy + Default>(v: &mut Vec<T>, n: usize) -> &mut [T] {
    v.resize(n, T::default());
    &mut v[..]
}

fn dispatch(image: &ImageRef<'_>, quality: u8, out: &mut Vec<u8>) {
    SCRATCH.with(|s| dispatch_with(image, quality, out, &mut s.borrow_mut()));
}

fn dispatch_with(image: &ImageRef<'_>, quality: u8, out: &mut Vec<u8>, scratch: &mut Scratch) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
        {
            // SAFETY: `encode_avx2` is only marked `target_feature(avx2, fma, bmi1, bmi2,
            // lzcnt)`; its sole precondition is that the CPU supports all of them, which was
            // checked just above.
            unsafe { encode_avx2(image, quality, out, scratch) };
            return;
        }
    }
    encode_image(image, quality, out, scratch);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt")]
fn encode_avx2(image: &ImageRef<'_>, quality: u8, out: &mut Vec<u8>, scratch: &mut Scratch) {
    encode_image(image, quality, out, scratch);
}

// ---------------------------------------------------------------------------------------
// Tables (ITU-T T.81 Annex K).

const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const LUMA_QUANT: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

const CHROMA_QUANT: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// AAN scale factors: `cos(k·π/16)·√2`, 1 for k = 0.
const AAN_SCALE: [f32; 8] = [
    1.0,
    1.387_039_8,
    1.306_563,
    1.175_875_6,
    1.0,
    0.785_694_96,
    0.541_196_1,
    0.275_899_38,
];

/// A quantisation table scaled for a quality, as written to the file (natural order).
fn scaled_quant(base: &[u16; 64], quality: u8) -> [u16; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let mut t = [0u16; 64];
    for (t, &b) in t.iter_mut().zip(base) {
        *t = ((u32::from(b) * scale + 50) / 100).clamp(1, 255) as u16;
    }
    t
}

/// Multipliers that turn the float DCT's output into quantised values, in the layout our
/// DCT leaves its result in (transposed: index `u * 8 + v` for horizontal frequency `u`,
/// vertical `v`).
fn dct_divisors(quant: &[u16; 64]) -> [f32; 64] {
    let mut d = [0f32; 64];
    for u in 0..8 {
        for v in 0..8 {
            let q = f32::from(quant[v * 8 + u]);
            d[u * 8 + v] = 1.0 / (q * AAN_SCALE[u] * AAN_SCALE[v] * 8.0);
        }
    }
    d
}

/// Zig-zag order as indices into the transposed coefficient layout.
const ZIGZAG_T: [u8; 64] = {
    let mut z = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        z[i] = ((ZIGZAG[i] % 8) * 8 + ZIGZAG[i] / 8) as u8;
        i += 1;
    }
    z
};

/// `ZIGZAG_BITS[k][m]`: for the eight coefficients `8k..8k + 8` of the transposed layout,
/// whose non-zero flags are the bits of `m`, the same flags at their zig-zag positions.
static ZIGZAG_BITS: [[u64; 256]; 8] = {
    let mut position = [0usize; 64];
    let mut i = 0;
    while i < 64 {
        position[ZIGZAG_T[i] as usize] = i;
        i += 1;
    }
    let mut t = [[0u64; 256]; 8];
    let mut k = 0;
    while k < 8 {
        let mut m = 0;
        while m < 256 {
            let mut j = 0;
            while j < 8 {
                if m & (1 << j) != 0 {
                    t[k][m] |= 1u64 << position[8 * k + j];
                }
                j += 1;
            }
            m += 1;
        }
        k += 1;
    }
    t
};

/// Code and length per symbol, packed as `code << 8 | length`.
struct HuffTable {
    codes: [u32; 256],
    /// Per symbol `run << 4 | size`: the code already shifted left by `size` (room for the
    /// value bits) in the high half, code length plus `size` in the low half, so writing a
    /// coefficient is one lookup, one OR and one `put`.
    with_value: [u64; 256],
}

impl HuffTable {
    fn new(bits: &[u8; 16], values: &[u8]) -> Self {
        let mut codes = [0u32; 256];
        let mut code = 0u32;
        let mut k = 0;
        for (len, &n) in bits.iter().enumerate() {
            for _ in 0..n {
                codes[usize::from(values[k])] = (code << 8) | (len as u32 + 1);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        let mut with_value = [0u64; 256];
        for (sym, w) in with_value.iter_mut().enumerate() {
            let (c, size) = (u64::from(codes[sym] >> 8), sym as u64 & 15);
            *w = ((c << size) << 32) | (u64::from(codes[sym] & 0xFF) + size);
        }
        HuffTable { codes, with_value }
    }
}

// ---------------------------------------------------------------------------------------
// Bit output with 0xFF stuffing.

/// Bit packer: bits gather in a 64-bit accumulator and leave in four-byte words into a stack
/// buffer, which the caller drains into the output after each block, so the hot loop has no
/// capacity checks or calls. Blocks write through a [`Coder`].
struct BitWriter {
    acc: u64,
    /// Valid bits in the low end of `acc`; always below 32 between calls.
    n: u32,
    /// One block needs at most ~220 bytes, twice that if every byte were stuffed.
    buf: [u8; 512],
    len: usize,
}

impl BitWriter {
    fn new() -> Self {
        BitWriter {
            acc: 0,
            n: 0,
            buf: [0; 512],
            len: 0,
        }
    }

    #[inline(always)]
    fn push_byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
        if b == 0xFF {
            self.buf[self.len] = 0;
            self.len += 1;
        }
    }

    #[inline(always)]
    fn drain(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf[..self.len]);
        self.len = 0;
    }

    /// Pads the last byte with 1 bits and writes what is left.
    fn finish(mut self, out: &mut Vec<u8>) {
        let pad = (8 - self.n % 8) % 8;
        self.acc = (self.acc << pad) | ((1u64 << pad) - 1);
        self.n += pad;
        while self.n >= 8 {
            self.n -= 8;
            self.push_byte((self.acc >> self.n) as u8);
        }
        self.drain(out);
    }
}

/// A [`BitWriter`]'s state copied into locals for one block: the accumulator, bit count and
/// length then live in registers through the hot loop instead of going back to memory on
/// every write.
struct Coder<'a> {
    acc: u64,
    n: u32,
    len: usize,
    buf: &'a mut [u8; 512],
}

impl Coder<'_> {
    #[inline(always)]
    fn put(&mut self, bits: u32, len: u32) {
        // len ≤ 27 and n < 32: never more than 59 bits held.
        self.acc = (self.acc << len) | u64::from(bits);
        self.n += len;
        if self.n >= 32 {
            self.n -= 32;
            let word = (self.acc >> self.n) as u32;
            // Any 0xFF byte in the word? (has-zero-byte test on its complement)
            if (!word).wrapping_sub(0x0101_0101) & word & 0x8080_8080 == 0 {
                self.buf[self.len..self.len + 4].copy_from_slice(&word.to_be_bytes());
                self.len += 4;
            } else {
                for b in word.to_be_bytes() {
                    self.buf[self.len] = b;
                    self.len += 1;
                    if b == 0xFF {
                        self.buf[self.len] = 0;
                        self.len += 1;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The per-block pipeline: load, DCT, quantise, entropy-code.

type Block = [[f32; 8]; 8];

/// One 1-D AAN DCT pass down the rows of `b`, for all eight columns at once (each lane of a
/// row is a column, so the compiler vectorises the lane loop).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // the lane index across eight rows is the point
fn dct_columns(b: &mut Block) {
    for x in 0..8 {
        let tmp0 = b[0][x] + b[7][x];
        let tmp7 = b[0][x] - b[7][x];
        let tmp1 = b[1][x] + b[6][x];
        let tmp6 = b[1][x] - b[6][x];
        let tmp2 = b[2][x] + b[5][x];
        let tmp5 = b[2][x] - b[5][x];
        let tmp3 = b[3][x] + b[4][x];
        let tmp4 = b[3][x] - b[4][x];

        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        b[0][x] = tmp10 + tmp11;
        b[4][x] = tmp10 - tmp11;
        let z1 = (tmp12 + tmp13) * 0.707_106_77;
        b[2][x] = tmp13 + z1;
        b[6][x] = tmp13 - z1;

        let tmp10 = tmp4 + tmp5;
        let tmp11 = tmp5 + tmp6;
        let tmp12 = tmp6 + tmp7;
        let z5 = (tmp10 - tmp12) * 0.382_683_43;
        let z2 = 0.541_196_1 * tmp10 + z5;
        let z4 = 1.306_563 * tmp12 + z5;
        let z3 = tmp11 * 0.707_106_77;
        let z11 = tmp7 + z3;
        let z13 = tmp7 - z3;
        b[5][x] = z13 + z2;
        b[3][x] = z13 - z2;
        b[1][x] = z11 + z4;
        b[7][x] = z11 - z4;
    }
}

#[inline(always)]
fn transpose(b: &Block) -> Block {
    let mut t = [[0f32; 8]; 8];
    for (y, row) in b.iter().enumerate() {
        for (x, &v) in row.iter().enumerate() {
            t[x][y] = v;
        }
    }
    t
}

const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// Forward DCT and quantisation of one block of level-shifted samples; the result is in
/// the transposed layout (see [`dct_divisors`]).
#[inline(always)]
fn dct_quantise(b: &mut Block, divisors: &[f32; 64], out: &mut [i16; 64]) {
    dct_columns(b);
    let mut t = transpose(b);
    dct_columns(&mut t);
    for (i, o) in out.iter_mut().enumerate() {
        let v = t[i / 8][i % 8] * divisors[i];
        // Round to nearest by adding 1.5·2^23: the integer lands in the low mantissa bits.
        // Pure bit arithmetic, so the loop vectorises (a saturating `as i32` does not).
        // Quantised coefficients are far below 2^22 in magnitude.
        *o = ((v + ROUNDING_MAGIC).to_bits() as i32 - ROUNDING_MAGIC.to_bits() as i32) as i16;
    }
}

/// Bits needed for the magnitude of `v` (JPEG's "size" category).
#[inline(always)]
fn magnitude_bits(v: i32) -> u32 {
    32 - v.unsigned_abs().leading_zeros()
}

/// The value bits of `v` in `size` bits (negative values as one's complement).
#[inline(always)]
fn value_bits(v: i32, size: u32) -> u32 {
    let v = if v < 0 { v - 1 } else { v };
    (v as u32) & ((1u32 << size) - 1)
}

struct Component<'t> {
    divisors: [f32; 64],
    dc: &'t HuffTable,
    ac: &'t HuffTable,
    last_dc: i32,
}

#[inline(always)]
fn encode_block(b: &mut Block, comp: &mut Component<'_>, writer: &mut BitWriter) {
    let mut coef = [0i16; 64];
    dct_quantise(b, &comp.divisors, &mut coef);
    // Size category and value bits of every coefficient at once, in a loop the compiler
    // vectorises (the size comes from the exponent of the magnitude as a float), so the
    // entropy coder below only looks them up: `size << 16 | bits`.
    let mut packed = [0u32; 64];
    let mut flags = [0u8; 64];
    for ((p, f), &c) in packed.iter_mut().zip(flags.iter_mut()).zip(&coef) {
        let v = i32::from(c);
        let size = ((v.unsigned_abs() as f32).to_bits() >> 23).saturating_sub(126);
        let bits = (v + (v >> 31)) as u32 & ((1u32 << size) - 1);
        *p = (size << 16) | bits;
        *f = u8::from(c != 0);
    }

    let mut w = Coder {
        acc: writer.acc,
        n: writer.n,
        len: writer.len,
        buf: &mut writer.buf,
    };
    let dc = i32::from(coef[0]);
    let diff = dc - comp.last_dc;
    comp.last_dc = dc;
    let size = magnitude_bits(diff);
    let e = comp.dc.with_value[size as usize];
    w.put((e >> 32) as u32 | value_bits(diff, size), e as u32);

    // Bit i set when zig-zag coefficient i is non-zero, without reordering the block: the
    // flags of eight coefficients (bytes of 0 or 1) become one byte by a multiply that
    // gathers byte j's low bit into bit 56 + j, and a table maps that byte to its bits in
    // zig-zag order.
    let mut nonzero = 0u64;
    for (k, chunk) in flags.chunks_exact(8).enumerate() {
        let bytes = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        let byte = (bytes.wrapping_mul(0x0102_0408_1020_4080) >> 56) as usize;
        nonzero |= ZIGZAG_BITS[k][byte];
    }
    nonzero &= !1; // the DC coefficient is coded apart

    // `last` is the zig-zag index of the previous coded coefficient. Clearing the lowest set
    // bit keeps the loop-carried chain to one instruction.
    let mut last = 0u32;
    while nonzero != 0 {
        let pos = nonzero.trailing_zeros();
        nonzero &= nonzero - 1;
        let mut run = pos - last - 1;
        last = pos;
        if run >= 16 {
            let zrl = comp.ac.codes[0xF0];
            while run >= 16 {
                w.put(zrl >> 8, zrl & 0xFF);
                run -= 16;
            }
        }
        let p = packed[usize::from(ZIGZAG_T[pos as usize & 63])];
        let size = p >> 16;
        // Sizes are at most 11 and runs at most 15 here: the mask only spares a bounds check.
        let e = comp.ac.with_value[(((run << 4) | size) & 0xFF) as usize];
        w.put((e >> 32) as u32 | (p & 0xFFFF), e as u32);
    }
    if last < 63 {
        let eob = comp.ac.codes[0x00];
        w.put(eob >> 8, eob & 0xFF);
    }
    let (acc, n, len) = (w.acc, w.n, w.len);
    (writer.acc, writer.n, writer.len) = (acc, n, len);
}

#[inline(always)]
fn load_block(plane: &[u8], stride: usize, x: usize, y: usize) -> Block {
    let mut b = [[0f32; 8]; 8];
    for (r, row) in b.iter_mut().enumerate() {
        let src = &plane[(y + r) * stride + x..][..8];
        for (d, &s) in row.iter_mut().zip(src) {
            *d = f32::from(s) - 128.0;
        }
    }
    b
}

// ---------------------------------------------------------------------------------------
// Colour conversion into padded planes.

const fn fix(x: f64) -> i32 {
    (x * 65536.0 + 0.5) as i32
}

/// Luma and 4:2:0 chroma planes of an RGB/BGR image into `scratch.y`, `.cb`, `.cr`, padded
/// to whole 16x16 MCUs by repeating the last column and row. Returns the two strides.
#[inline(always)]
fn ycbcr_planes(img: &ImageRef<'_>, bgr: bool, scratch: &mut Scratch) -> (usize, usize) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (pw, ph) = (w.div_ceil(16) * 16, h.div_ceil(16) * 16);
    let (r_i, b_i) = if bgr { (2, 0) } else { (0, 2) };
    let src = img.data();
    let y_plane = sized(&mut scratch.y, pw * ph);
    for y in 0..h {
        let row = &src[y * w * 3..][..w * 3];
        let dst = &mut y_plane[y * pw..][..pw];
        // 8-bit fixed-point weights (77 + 150 + 29 = 256) keep the sum within u16, so the
        // compiler works on sixteen pixels per vector; the error is below one level.
        for (d, px) in dst.iter_mut().zip(row.chunks_exact(3)) {
            let (r, g, b) = (u16::from(px[r_i]), u16::from(px[1]), u16::from(px[b_i]));
            *d = ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8;
        }
        let last = dst[w - 1];
        dst[w..].fill(last);
    }
    for y in h..ph {
        y_plane.copy_within((h - 1) * pw..h * pw, y * pw);
    }

    let (cw, ch) = (pw / 2, ph / 2);
    let cb_plane = sized(&mut scratch.cb, cw * ch);
    let cr_plane = sized(&mut scratch.cr, cw * ch);
    let pairs = w / 2;
    // Per chroma row: the two source rows summed (contiguous, so it vectorises), then each
    // channel's 2x2 sum gathered into its own array, then the conversion on those arrays.
    let vsum = sized(&mut scratch.vsum, w * 3);
    let [rs, gs, bs] = &mut scratch.sums;
    let (rs, gs, bs) = (sized(rs, pairs), sized(gs, pairs), sized(bs, pairs));
    // Sums of the 2x2 neighbourhood; the 1/4 is folded into the final shift.
    let chroma = |r: i32, g: i32, b: i32| {
        let round = (128 << 18) + (1 << 17);
        (
            ((-fix(0.168_735_892) * r - fix(0.331_264_108) * g + fix(0.5) * b + round) >> 18) as u8,
            ((fix(0.5) * r - fix(0.418_687_589) * g - fix(0.081_312_411) * b + round) >> 18) as u8,
        )
    };
    for cy in 0..h.div_ceil(2) {
        let r0 = &src[(2 * cy) * w * 3..][..w * 3];
        let r1 = &src[(2 * cy + 1).min(h - 1) * w * 3..][..w * 3];
        let cb = &mut cb_plane[cy * cw..][..cw];
        let cr = &mut cr_plane[cy * cw..][..cw];
        for ((s, &a), &b) in vsum.iter_mut().zip(r0).zip(r1) {
            *s = u16::from(a) + u16::from(b);
        }
        for (((r, g), b), px) in rs
            .iter_mut()
            .zip(gs.iter_mut())
            .zip(bs.iter_mut())
            .zip(vsum.chunks_exact(6))
        {
            *r = i32::from(px[r_i] + px[3 + r_i]);
            *g = i32::from(px[1] + px[4]);
            *b = i32::from(px[b_i] + px[3 + b_i]);
        }
        for ((((cb, cr), &r), &g), &b) in cb
            .iter_mut()
            .zip(cr.iter_mut())
            .zip(rs.iter())
            .zip(gs.iter())
            .zip(bs.iter())
        {
            (*cb, *cr) = chroma(r, g, b);
        }
        if w % 2 == 1 {
            // The last column pairs with itself.
            let (a, b) = (&r0[(w - 1) * 3..], &r1[(w - 1) * 3..]);
            let r = 2 * (i32::from(a[r_i]) + i32::from(b[r_i]));
            let g = 2 * (i32::from(a[1]) + i32::from(b[1]));
            let bl = 2 * (i32::from(a[b_i]) + i32::from(b[b_i]));
            (cb[pairs], cr[pairs]) = chroma(r, g, bl);
        }
        let used = w.div_ceil(2);
        let (lb, lr) = (cb[used - 1], cr[used - 1]);
        cb[used..].fill(lb);
        cr[used..].fill(lr);
    }
    let used_rows = h.div_ceil(2);
    for cy in used_rows..ch {
        cb_plane.copy_within((used_rows - 1) * cw..used_rows * cw, cy * cw);
        cr_plane.copy_within((used_rows - 1) * cw..used_rows * cw, cy * cw);
    }
    (pw, cw)
}

/// The luma plane of a gray image into `scratch.y`, padded to whole blocks; returns its stride.
fn gray_plane(img: &ImageRef<'_>, scratch: &mut Scratch) -> usize {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (pw, ph) = (w.div_ceil(8) * 8, h.div_ceil(8) * 8);
    let data = sized(&mut scratch.y, pw * ph);
    for y in 0..ph {
        let src = &img.data()[y.min(h - 1) * w..][..w];
        let dst = &mut data[y * pw..][..pw];
        dst[..w].copy_from_slice(src);
        dst[w..].fill(src[w - 1]);
    }
    pw
}

// ---------------------------------------------------------------------------------------
// File structure.

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn write_headers(out: &mut Vec<u8>, w: u16, h: u16, quants: &[[u16; 64]], color: bool) {
    out.extend_from_slice(&[0xFF, 0xD8]);
    segment(out, 0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    let mut dqt = Vec::with_capacity(130);
    for (id, q) in quants.iter().enumerate() {
        dqt.push(id as u8);
        dqt.extend(ZIGZAG.iter().map(|&k| q[k] as u8));
    }
    segment(out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&h.to_be_bytes());
    sof.extend_from_slice(&w.to_be_bytes());
    if color {
        sof.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    } else {
        sof.extend_from_slice(&[1, 1, 0x11, 0]);
    }
    segment(out, 0xC0, &sof);
    let mut dht = Vec::with_capacity(420);
    let mut table = |class_id: u8, bits: &[u8; 16], values: &[u8]| {
        dht.push(class_id);
        dht.extend_from_slice(bits);
        dht.extend_from_slice(values);
    };
    table(0x00, &DC_LUMA_BITS, &DC_VALUES);
    table(0x10, &AC_LUMA_BITS, &AC_LUMA_VALUES);
    if color {
        table(0x01, &DC_CHROMA_BITS, &DC_VALUES);
        table(0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALUES);
    }
    segment(out, 0xC4, &dht);
    if color {
        segment(out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    } else {
        segment(out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    }
}

#[inline(always)]
fn encode_image(img: &ImageRef<'_>, quality: u8, out: &mut Vec<u8>, scratch: &mut Scratch) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let luma_q = scaled_quant(&LUMA_QUANT, quality);
    let chroma_q = scaled_quant(&CHROMA_QUANT, quality);
    let dc_luma = HuffTable::new(&DC_LUMA_BITS, &DC_VALUES);
    let ac_luma = HuffTable::new(&AC_LUMA_BITS, &AC_LUMA_VALUES);
    let mut luma = Component {
        divisors: dct_divisors(&luma_q),
        dc: &dc_luma,
        ac: &ac_luma,
        last_dc: 0,
    };
    // Room for a typical frame at once, so the entropy coder rarely reallocates.
    out.reserve(w * h / 2 + 1024);
    let color = img.format() != PixelFormat::Gray8;
    let quants: &[[u16; 64]] = if color {
        &[luma_q, chroma_q]
    } else {
        &[luma_q]
    };
    write_headers(out, w as u16, h as u16, quants, color);

    let mut bits = BitWriter::new();
    if color {
        let dc_chroma = HuffTable::new(&DC_CHROMA_BITS, &DC_VALUES);
        let ac_chroma = HuffTable::new(&AC_CHROMA_BITS, &AC_CHROMA_VALUES);
        let divisors = dct_divisors(&chroma_q);
        let mut cb = Component {
            divisors,
            dc: &dc_chroma,
            ac: &ac_chroma,
            last_dc: 0,
        };
        let mut cr = Component {
            divisors,
            dc: &dc_chroma,
            ac: &ac_chroma,
            last_dc: 0,
        };
        let (ys, cs) = ycbcr_planes(img, img.format() == PixelFormat::Bgr8, scratch);
        let (yp, cbp, crp) = (&scratch.y, &scratch.cb, &scratch.cr);
        for my in 0..h.div_ceil(16) {
            for mx in 0..w.div_ceil(16) {
                for (dx, dy) in [(0, 0), (8, 0), (0, 8), (8, 8)] {
                    let mut b = load_block(yp, ys, mx * 16 + dx, my * 16 + dy);
                    encode_block(&mut b, &mut luma, &mut bits);
                    bits.drain(out);
                }
                let mut b = load_block(cbp, cs, mx * 8, my * 8);
                encode_block(&mut b, &mut cb, &mut bits);
                bits.drain(out);
                let mut b = load_block(crp, cs, mx * 8, my * 8);
                encode_block(&mut b, &mut cr, &mut bits);
                bits.drain(out);
            }
        }
    } else {
        let stride = gray_plane(img, scratch);
        for by in 0..h.div_ceil(8) {
            for bx in 0..w.div_ceil(8) {
                let mut b = load_block(&scratch.y, stride, bx * 8, by * 8);
                encode_block(&mut b, &mut luma, &mut bits);
                bits.drain(out);
            }
        }
    }
    bits.finish(out);
    out.extend_from_slice(&[0xFF, 0xD9]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut d = zune_jpeg::JpegDecoder::new(Cursor::new(jpeg.to_vec()));
        let px = d.decode().unwrap();
        let (w, h) = d.dimensions().unwrap();
        (w, h, px)
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    }

    fn smooth_rgb(w: usize, h: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                v.extend([
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    ((x + y) * 127 / (w + h)) as u8 + 60,
                ]);
            }
        }
        v
    }

    #[test]
    fn portable_path_writes_the_same_bytes_as_the_dispatched_one() {
        // The machine running the tests takes the AVX2 path; the portable one must agree.
        for (w, h, format) in [
            (64, 48, PixelFormat::Rgb8),
            (33, 17, PixelFormat::Bgr8),
            (21, 13, PixelFormat::Gray8),
        ] {
            let rgb = smooth_rgb(w, h);
            let data: Vec<u8> = if format == PixelFormat::Gray8 {
                rgb.iter().step_by(3).copied().collect()
            } else {
                rgb
            };
            let img = ImageRef::new(w as u32, h as u32, format, &data).unwrap();
            let mut dispatched = Vec::new();
            encode_jpeg(img, 85, &mut dispatched).unwrap();
            let mut portable = Vec::new();
            encode_image(&img, 85, &mut portable, &mut Scratch::default());
            assert_eq!(dispatched, portable, "{w}x{h} {format:?}");
        }
    }

    #[test]
    fn huffman_tables_have_the_standard_sizes() {
        let n = |b: &[u8; 16]| b.iter().map(|&x| usize::from(x)).sum::<usize>();
        assert_eq!(n(&AC_LUMA_BITS), AC_LUMA_VALUES.len());
        assert_eq!(n(&AC_CHROMA_BITS), AC_CHROMA_VALUES.len());
        assert_eq!(n(&DC_LUMA_BITS), 12);
        assert_eq!(n(&DC_CHROMA_BITS), 12);
    }

    #[test]
    fn quality_scaling_matches_libjpeg() {
        assert_eq!(scaled_quant(&LUMA_QUANT, 50), LUMA_QUANT);
        assert_eq!(scaled_quant(&LUMA_QUANT, 85)[0], 5); // (16*30+50)/100
        assert!(scaled_quant(&LUMA_QUANT, 100).iter().all(|&q| q == 1));
        assert_eq!(scaled_quant(&CHROMA_QUANT, 1)[63], 255);
    }

    #[test]
    fn colour_round_trip_is_faithful_at_all_sizes() {
        for (w, h) in [(640, 480), (17, 9), (1, 1), (33, 47), (8, 8), (15, 16)] {
            let src = smooth_rgb(w, h);
            let mut out = Vec::new();
            let img = ImageRef::new(w as u32, h as u32, PixelFormat::Rgb8, &src).unwrap();
            encode_jpeg(img, 90, &mut out).unwrap();
            let (dw, dh, px) = decode(&out);
            assert_eq!((dw, dh), (w, h));
            let p = psnr(&src, &px);
            assert!(p > 33.0, "{w}x{h}: PSNR {p:.1} dB");
        }
    }

    #[test]
    fn noisy_scene_round_trip_at_quality_85() {
        let (w, h) = (320, 240);
        let mut state = 12345u32;
        let src: Vec<u8> = smooth_rgb(w, h)
            .into_iter()
            .map(|v| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (i32::from(v) + (state >> 16) as i32 % 21 - 10).clamp(0, 255) as u8
            })
            .collect();
        let mut out = Vec::new();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Rgb8, &src).unwrap(),
            85,
            &mut out,
        )
        .unwrap();
        let (_, _, px) = decode(&out);
        let p = psnr(&src, &px);
        assert!(p > 30.0, "PSNR {p:.1} dB");
    }

    #[test]
    fn bgr_and_gray_round_trip() {
        let (w, h) = (40, 24);
        let rgb = smooth_rgb(w, h);
        let bgr: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        let mut out = Vec::new();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Bgr8, &bgr).unwrap(),
            95,
            &mut out,
        )
        .unwrap();
        let (_, _, px) = decode(&out);
        assert!(psnr(&rgb, &px) > 33.0);

        let gray: Vec<u8> = (0..w * h).map(|i| (i % w * 6) as u8).collect();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Gray8, &gray).unwrap(),
            95,
            &mut out,
        )
        .unwrap();
        let mut d = zune_jpeg::JpegDecoder::new(Cursor::new(out.clone()));
        let px = d.decode().unwrap();
        let px: Vec<u8> = if px.len() == gray.len() {
            px
        } else {
            px.chunks_exact(3).map(|p| p[0]).collect()
        };
        assert!(psnr(&gray, &px) > 35.0);
    }

    #[test]
    fn stuffing_keeps_the_stream_decodable_at_extreme_contrast() {
        // A checkerboard at quality 100 produces long codes and many 0xFF bytes.
        let (w, h) = (64, 64);
        let src: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if (i % w + i / w) % 2 == 0 {
                    [255u8, 0, 255]
                } else {
                    [0, 255, 0]
                }
            })
            .collect();
        let mut out = Vec::new();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Rgb8, &src).unwrap(),
            100,
            &mut out,
        )
        .unwrap();
        assert!(
            out.windows(2).any(|p| p == [0xFF, 0x00]),
            "the test image must need stuffing"
        );
        let (dw, dh, _) = decode(&out);
        assert_eq!((dw, dh), (w, h));
        assert_eq!(&out[out.len() - 2..], &[0xFF, 0xD9]);
    }
}
