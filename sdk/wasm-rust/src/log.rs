//! Logging through the host's `iom.log` import: lines go to the gateway's log, tagged with the
//! plugin's name, within the bounds of ABI.md §4 (8 KiB a line, 100 lines a call).
//!
//! Outside a WebAssembly guest (in a plugin's native unit tests) the lines go to stderr.

/// A log level of the host's `iom.log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Debug (0).
    Debug = 0,
    /// Info (1).
    Info = 1,
    /// Warn (2).
    Warn = 2,
    /// Error (3).
    Error = 3,
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "iom")]
extern "C" {
    #[link_name = "log"]
    fn host_log(level: i32, ptr: *const u8, len: u32);
}

/// Sends `msg` to the gateway's log at `level`.
pub fn write(level: Level, msg: &str) {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: the host reads msg's bytes during the call and keeps no pointer to them.
    unsafe {
        host_log(level as i32, msg.as_ptr(), msg.len() as u32)
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("iom log[{:?}]: {}", level, msg);
}

/// Logs `msg` at debug level.
pub fn debug(msg: &str) {
    write(Level::Debug, msg)
}

/// Logs `msg` at info level.
pub fn info(msg: &str) {
    write(Level::Info, msg)
}

/// Logs `msg` at warn level.
pub fn warn(msg: &str) {
    write(Level::Warn, msg)
}

/// Logs `msg` at error level.
pub fn error(msg: &str) {
    write(Level::Error, msg)
}
