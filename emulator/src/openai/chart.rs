//! A bar chart as a real PNG, for the emulated code interpreter: one blue bar per decade, the
//! count above each bar and the decade (e.g. `1940`) under it in a 3×5 pixel font, on white.
//!
//! The encoder writes PNG 1.2 (<https://www.w3.org/TR/png/>) by hand: 8-bit RGB, one `IDAT` whose
//! zlib stream uses stored (uncompressed) deflate blocks, CRC-32 per chunk. No dependency, and the
//! same input always gives the same bytes.

/// Width of a bar, in pixels.
const BAR: usize = 24;
/// Space between bars.
const GAP: usize = 8;
/// Space around the plot.
const MARGIN: usize = 16;
/// Height of the tallest bar.
const PLOT: usize = 160;
/// Glyphs are drawn at this scale (3×5 → 6×10 pixels).
const SCALE: usize = 2;
/// Height of a line of text.
const TEXT: usize = 5 * SCALE;

const WHITE: [u8; 3] = [255, 255, 255];
const BLUE: [u8; 3] = [66, 133, 244];
const INK: [u8; 3] = [40, 40, 40];

/// The PNG signature every PNG starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// An RGB canvas.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: WHITE.repeat(width * height),
        }
    }

    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, color: [u8; 3]) {
        for row in y..(y + h).min(self.height) {
            for col in x..(x + w).min(self.width) {
                let at = (row * self.width + col) * 3;
                self.pixels[at..at + 3].copy_from_slice(&color);
            }
        }
    }

    /// Draws `text` (digits and `-`) centred on `centre_x`, top at `y`.
    fn text(&mut self, text: &str, centre_x: usize, y: usize) {
        let advance = 4 * SCALE;
        let width = text.chars().count() * advance - SCALE;
        let mut x = centre_x.saturating_sub(width / 2);
        for c in text.chars() {
            let rows = glyph(c);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3 {
                    if bits & (0b100 >> col) != 0 {
                        self.fill(x + col * SCALE, y + r * SCALE, SCALE, SCALE, INK);
                    }
                }
            }
            x += advance;
        }
    }
}

/// The 3×5 glyph of a digit or `-` (rows top to bottom, bit 2 = left pixel); blank otherwise.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        _ => [0; 5],
    }
}

/// The chart of `bars` (`(label, value)`, left to right) as PNG bytes. Width
/// `2·16 + n·32 − 8` pixels (at least 64), height 220.
pub fn bar_chart_png(bars: &[(String, usize)]) -> Vec<u8> {
    let pitch = BAR + GAP;
    let width = (2 * MARGIN + bars.len() * pitch)
        .saturating_sub(GAP)
        .max(64);
    let base = MARGIN + TEXT + 4 + PLOT;
    let height = base + 4 + TEXT + MARGIN;
    let mut canvas = Canvas::new(width, height);
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    for (i, (label, value)) in bars.iter().enumerate() {
        let x = MARGIN + i * pitch;
        let h = (value * PLOT).div_ceil(max);
        canvas.fill(x, base - h, BAR, h, BLUE);
        canvas.text(&value.to_string(), x + BAR / 2, base - h - TEXT - 3);
        canvas.text(label, x + BAR / 2, base + 4);
    }
    canvas.fill(MARGIN / 2, base, width - MARGIN, 1, INK);
    encode_rgb(width as u32, height as u32, &canvas.pixels)
}

/// Encodes 8-bit RGB pixels (`width × height × 3` bytes, rows top to bottom) as a PNG.
///
/// # Panics
/// When `rgb` has the wrong length.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let stride = width as usize * 3;
    assert_eq!(rgb.len(), stride * height as usize, "RGB buffer size");
    let mut raw = Vec::with_capacity((stride + 1) * height as usize);
    for row in rgb.chunks(stride) {
        raw.push(0); // filter type None
        raw.extend_from_slice(row);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, filter 0, no interlace
    let mut png = PNG_SIGNATURE.to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a PNG into `(kind, data)` chunks, checking every CRC with an independent crate.
    fn chunks(png: &[u8]) -> Vec<(String, Vec<u8>)> {
        assert_eq!(png[..8], PNG_SIGNATURE);
        let mut out = Vec::new();
        let mut at = 8;
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let body = &png[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32fast::hash(body), "chunk CRC");
            out.push((
                String::from_utf8(body[..4].to_vec()).unwrap(),
                body[4..].to_vec(),
            ));
            at += 12 + len;
        }
        out
    }

    #[test]
    fn the_chart_is_a_valid_png_with_blue_bars() {
        let bars = vec![("1910".to_string(), 1), ("1940".to_string(), 4)];
        let png = bar_chart_png(&bars);
        assert_eq!(png, bar_chart_png(&bars), "deterministic");
        let chunks = chunks(&png);
        let kinds: Vec<&str> = chunks.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        let ihdr = &chunks[0].1;
        let width = u32::from_be_bytes(ihdr[0..4].try_into().unwrap()) as usize;
        let height = u32::from_be_bytes(ihdr[4..8].try_into().unwrap()) as usize;
        assert_eq!((width, height), (88, 220));
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&chunks[1].1).expect("zlib");
        assert_eq!(raw.len(), height * (1 + width * 3));
        let pixel = |x: usize, y: usize| {
            let at = y * (1 + width * 3) + 1 + x * 3;
            [raw[at], raw[at + 1], raw[at + 2]]
        };
        let base = MARGIN + TEXT + 4 + PLOT;
        assert_eq!(
            pixel(MARGIN + BAR + GAP + 1, base - 1),
            BLUE,
            "the second bar"
        );
        assert_eq!(
            pixel(MARGIN + 1, base - PLOT / 2),
            WHITE,
            "above the short bar"
        );
        assert_eq!(pixel(1, 1), WHITE);
    }

    #[test]
    fn big_images_span_several_stored_blocks() {
        let rgb = vec![7u8; 300 * 100 * 3];
        let png = encode_rgb(300, 100, &rgb);
        let idat = &chunks(&png)[1].1;
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(idat).expect("zlib");
        assert_eq!(raw.len(), 100 * 901);
    }
}
