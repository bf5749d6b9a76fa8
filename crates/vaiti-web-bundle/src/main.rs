//! `vaiti-web-bundle WASM CSS OUT_DIR`: makes the web app release that `vaiti serve` embeds.
//!
//! 1. Runs wasm-bindgen (as a library, pinned to the exact `wasm-bindgen` version vaiti-web
//!    links) for the `web` target, without the name and producers sections.
//! 2. Names every asset by its content hash, so a release's files never change under a name and
//!    can be cached forever.
//! 3. Writes `index.html` with no inline script or style: a stylesheet, a `modulepreload` of the
//!    glue and of every snippet module, and the entry module `main-….js`, each with a
//!    Subresource Integrity hash (SHA-384). The entry module fetches the wasm with its integrity
//!    hash too, so the browser refuses any asset that differs from this release.
//! 4. Writes `asset-manifest.json`: every file with its SHA-384 and size. Its SHA-256 is the
//!    release fingerprint `vaiti serve` prints and appends to each clinic's transparency log.
//!
//! Everything here is our own small logic over `wasm-bindgen-cli-support` and `sha2`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use sha2::{Digest, Sha256, Sha384};

/// The `wasm-bindgen` output name: `app.js` and `app_bg.wasm` before hashing.
const STEM: &str = "app";

fn sri(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

/// `name-<first 16 hex of SHA-256>.ext`.
fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(bytes));
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{}.{ext}", &digest[..16]),
        None => format!("{name}-{}", &digest[..16]),
    }
}

/// One file of the release.
struct Asset {
    /// The URL path, from `/`.
    path: String,
    bytes: Vec<u8>,
}

impl Asset {
    fn integrity(&self) -> String {
        sri(&self.bytes)
    }
}

/// Every file under `dir`, relative paths with `/` separators.
fn files_under(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .context("a file outside the output directory")?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

fn run(wasm: &Path, css: &Path, out: &Path) -> anyhow::Result<String> {
    let staging = out.with_extension("bindgen");
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .out_name(STEM)
        .web(true)?
        .typescript(false)
        .omit_default_module_path(true)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(&staging)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))?;

    let mut assets: Vec<Asset> = Vec::new();
    let mut glue = None;
    let mut module = None;
    let mut snippets = Vec::new();
    for (rel, path) in files_under(&staging)? {
        let bytes = fs::read(&path)?;
        match rel.as_str() {
            r if r == format!("{STEM}.js") => glue = Some(bytes),
            r if r == format!("{STEM}_bg.wasm") => module = Some(bytes),
            r if r.starts_with("snippets/") && r.ends_with(".js") => {
                // Snippets keep their path: the glue imports them relative to itself.
                snippets.push(Asset {
                    path: format!("/{r}"),
                    bytes,
                });
            }
            other => bail!("wasm-bindgen wrote an unexpected file: {other}"),
        }
    }
    let glue = glue.context("wasm-bindgen wrote no glue module")?;
    let module = module.context("wasm-bindgen wrote no wasm module")?;
    let css = fs::read(css).with_context(|| format!("reading {}", css.display()))?;

    let wasm_asset = Asset {
        path: format!("/{}", hashed_name("app_bg.wasm", &module)),
        bytes: module,
    };
    let glue_asset = Asset {
        path: format!("/{}", hashed_name("app.js", &glue)),
        bytes: glue,
    };
    let css_asset = Asset {
        path: format!("/{}", hashed_name("style.css", &css)),
        bytes: css,
    };
    // The entry module: no inline script anywhere (CSP), and the wasm fetched with its hash.
    let main_js = format!(
        "// Generated by vaiti-web-bundle. Loads this release's wasm only if its hash matches.\n\
         import init from \"{glue}\";\n\
         init({{ module_or_path: fetch(\"{wasm}\", {{ integrity: \"{integrity}\" }}) }});\n",
        glue = glue_asset.path,
        wasm = wasm_asset.path,
        integrity = wasm_asset.integrity(),
    )
    .into_bytes();
    let main_asset = Asset {
        path: format!("/{}", hashed_name("main.js", &main_js)),
        bytes: main_js,
    };

    let mut head = String::new();
    head.push_str(&format!(
        "<link rel=\"stylesheet\" href=\"{}\" integrity=\"{}\">\n",
        css_asset.path,
        css_asset.integrity()
    ));
    // A module imported by another module cannot carry `integrity` itself; a modulepreload
    // with it makes the browser check the glue and the snippets too.
    for m in std::iter::once(&glue_asset).chain(snippets.iter()) {
        head.push_str(&format!(
            "<link rel=\"modulepreload\" href=\"{}\" integrity=\"{}\">\n",
            html_attr(&m.path),
            m.integrity()
        ));
    }
    head.push_str(&format!(
        "<script type=\"module\" src=\"{}\" integrity=\"{}\"></script>\n",
        main_asset.path,
        main_asset.integrity()
    ));
    let index = format!(
        "<!doctype html>\n<html lang=\"fi\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>vaiti</title>\n<link rel=\"icon\" href=\"data:,\">\n{head}</head>\n<body>\n\
         <noscript>vaiti tarvitsee JavaScriptin ja WebAssemblyn. / vaiti needs JavaScript and WebAssembly.</noscript>\n\
         </body>\n</html>\n"
    )
    .into_bytes();
    assets.push(Asset {
        path: "/index.html".into(),
        bytes: index,
    });
    assets.extend([wasm_asset, glue_asset, css_asset, main_asset]);
    assets.extend(snippets);

    let files: BTreeMap<&str, serde_json::Value> = assets
        .iter()
        .map(|a| {
            (
                a.path.as_str(),
                serde_json::json!({ "sha384": a.integrity(), "size": a.bytes.len() }),
            )
        })
        .collect();
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({ "version": 1, "files": files }))?;
    let fingerprint = hex::encode(Sha256::digest(&manifest));

    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    for a in &assets {
        let target = out.join(a.path.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&target, &a.bytes).with_context(|| format!("writing {}", target.display()))?;
    }
    fs::write(out.join("asset-manifest.json"), &manifest)?;
    fs::remove_dir_all(&staging)?;
    Ok(fingerprint)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [wasm, css, out] = args.as_slice() else {
        bail!("usage: vaiti-web-bundle WASM CSS OUT_DIR");
    };
    let fingerprint = run(wasm, css, out)?;
    println!("web app release {fingerprint} in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_integrity_follow_the_content() {
        assert_eq!(
            hashed_name("app.js", b"x"),
            format!("app-{}.js", &hex::encode(Sha256::digest(b"x"))[..16])
        );
        assert_ne!(hashed_name("app.js", b"x"), hashed_name("app.js", b"y"));
        // The SRI value of the empty input, as browsers compute it.
        assert_eq!(
            sri(b""),
            "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"
        );
    }

    #[test]
    fn a_missing_input_is_a_clear_error_and_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("vaiti-bundle-test-{}", std::process::id()));
        let out = dir.join("dist");
        let err = run(&dir.join("none.wasm"), &dir.join("none.css"), &out)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("none.wasm"), "{err}");
        assert!(!out.exists());
    }
}
