//! Helpers shared by the end-to-end tests: a synthetic road scene and a strict JPEG check.
#![allow(dead_code)]

pub mod scene;

use std::io::Cursor;
use std::path::Path;

/// Decodes a file and checks it is one whole JPEG (SOI first, EOI last, decodes to the
/// expected size); panics naming the file otherwise.
pub fn assert_complete_jpeg(path: &Path, width: usize, height: usize) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(&[0xFF, 0xD8]),
        "{}: no SOI marker",
        path.display()
    );
    assert!(
        bytes.ends_with(&[0xFF, 0xD9]),
        "{}: truncated (no EOI marker)",
        path.display()
    );
    let mut d = zune_jpeg::JpegDecoder::new(Cursor::new(bytes));
    d.decode()
        .unwrap_or_else(|e| panic!("{}: does not decode: {e:?}", path.display()));
    assert_eq!(d.dimensions(), Some((width, height)), "{}", path.display());
}

/// `.jpg` files in a directory, sorted by name.
pub fn jpgs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    v.sort();
    v
}
