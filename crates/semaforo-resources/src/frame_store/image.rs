//! A borrowed, validated view of a packed 8-bit image: what the frame store encodes.
//! Validation happens once, in [`ImageRef::new`], so the encoder can trust the sizes.

/// Layout of one pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Red, green, blue: 3 bytes.
    Rgb8,
    /// Blue, green, red (OpenCV's order): 3 bytes.
    Bgr8,
    /// Luma: 1 byte.
    Gray8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
            PixelFormat::Gray8 => 1,
        }
    }
}

/// Why an [`ImageRef`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Width or height is 0 or above the JPEG limit.
    #[error("image size {width}x{height} is not usable: width and height must be 1 to 65535")]
    BadDimensions { width: u32, height: u32 },
    /// The buffer's length does not match the size.
    #[error("image buffer of {actual} bytes does not match {width}x{height} {format:?} (expected {expected} bytes)")]
    BadLength {
        width: u32,
        height: u32,
        format: PixelFormat,
        expected: usize,
        actual: usize,
    },
}

/// A packed image (rows top to bottom, no padding) whose buffer length matches its size.
///
/// ```
/// use semaforo_resources::{ImageRef, PixelFormat};
/// let pixels = vec![0u8; 4 * 2 * 3];
/// let img = ImageRef::new(4, 2, PixelFormat::Rgb8, &pixels).unwrap();
/// assert_eq!(img.width(), 4);
/// let err = ImageRef::new(4, 3, PixelFormat::Rgb8, &pixels).unwrap_err();
/// assert!(err.to_string().contains("4x3"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: &'a [u8],
}

impl<'a> ImageRef<'a> {
    /// Checks that `data` holds exactly `width * height` pixels of `format`.
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        data: &'a [u8],
    ) -> Result<Self, ImageError> {
        if width == 0 || height == 0 || width > 65535 || height > 65535 {
            return Err(ImageError::BadDimensions { width, height });
        }
        let expected = width as usize * height as usize * format.bytes_per_pixel();
        if data.len() != expected {
            return Err(ImageError::BadLength {
                width,
                height,
                format,
                expected,
                actual: data.len(),
            });
        }
        Ok(ImageRef {
            width,
            height,
            format,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The pixels.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_sizes_are_named_in_the_error() {
        let err = ImageRef::new(0, 480, PixelFormat::Gray8, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image size 0x480 is not usable: width and height must be 1 to 65535"
        );
        let data = vec![0u8; 10];
        let err = ImageRef::new(640, 480, PixelFormat::Bgr8, &data).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image buffer of 10 bytes does not match 640x480 Bgr8 (expected 921600 bytes)"
        );
        assert!(ImageRef::new(2, 5, PixelFormat::Gray8, &data).is_ok());
    }
}
