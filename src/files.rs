//! Reading the files a user writes.

use shipdeck_core::problem::MAX_FILE;

/// Reads a file a user wrote, refusing one too large to be meant (a log
/// given by mistake) before reading it.
pub fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "too large to be a shipdeck file ({:.1} MB; at most {} MiB)",
                size as f64 / 1e6,
                MAX_FILE / (1024 * 1024)
            ),
        ));
    }
    std::fs::read_to_string(path)
}
