//! What the fuzz targets share: a scratch file for the parsers that read a path.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Writes `data` to this process's scratch file for `name` (in the temporary directory, the
/// process id in its name so that parallel jobs do not share one) and returns its path. The
/// MP4 reader and the SUMO network reader take a path, so the fuzz input goes through a file,
/// as a camera's recording or a network file would.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("semaforo-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
        dir
    });
    let path = dir.join(name);
    std::fs::write(&path, data).expect("the scratch file is writable");
    path
}
