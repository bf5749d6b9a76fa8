//! The web app release embedded in this binary at build time (see `build.rs`), if any.

include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

/// The embedded web app, or `None` when the binary was built without one (a plain `cargo
/// build`; `cargo xtask build` embeds it).
pub(crate) fn web_app() -> Result<Option<vaiti_server::WebApp>, vaiti_server::WebAppError> {
    if FILES.is_empty() {
        return Ok(None);
    }
    let files = FILES
        .iter()
        .map(|(path, bytes)| vaiti_server::WebFile::new(*path, *bytes))
        .collect();
    vaiti_server::WebApp::new(files).map(Some)
}
