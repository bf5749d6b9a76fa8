//! `vaiti serve` as a user runs it: the real binary on a free port.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn temp_dir(name: &str) -> PathBuf {
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .unwrap();
    std::env::temp_dir().join(format!("vaiti-test-{name}-{}", u64::from_le_bytes(bytes)))
}

/// Starts `vaiti serve` with `args` and returns the child and the URL it printed.
fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaiti"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("vaiti: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (child, url)
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

#[tokio::test]
async fn serves_health_and_json_errors_then_stops_gracefully() {
    let data = temp_dir("serve");
    let (child, url) = start(&["--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let health = reqwest::get(format!("{url}/api/v1/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({ "status": "ok" })
    );

    let missing = reqwest::get(format!("{url}/api/v1/no-such-endpoint"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());

    // The embedded store was created in the data directory on first start.
    assert!(data.join("vaiti.sqlite3").exists());

    let status = stop(child);
    assert!(status.success(), "vaiti serve exited with {status}");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn refuses_plain_http_on_a_network_address_before_touching_any_data() {
    let data = temp_dir("refuse");
    let out = Command::new(env!("CARGO_BIN_EXE_vaiti"))
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing plain HTTP"), "{stderr}");
    assert!(stderr.contains("--behind-tls-proxy"), "{stderr}");
    assert!(
        !data.exists(),
        "a refused start must not create the data directory"
    );
}

#[test]
fn a_mistyped_database_url_is_an_error_never_a_new_database() {
    for url in [
        "postgres://root@127.0.0.1:5432/vaiti_no_such_database_typo",
        "postgress://root@127.0.0.1:5432/test",
        "mysql://root@127.0.0.1/test",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vaiti"))
            .args(["serve", "--database", url, "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("vaiti: error:"), "{url}: {stderr}");
    }
    // And the typo did not create the database.
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "root", "-d", "postgres", "-tAc"])
        .arg("select count(*) from pg_database where datname = 'vaiti_no_such_database_typo'")
        .output()
        .expect("psql is needed to check PostgreSQL");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[tokio::test]
async fn serves_tls_with_rustls_on_a_network_address() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let dir = temp_dir("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let data = dir.join("data");
    // TLS makes a non-loopback listen address acceptable; the test only ever connects to 127.0.0.1.
    let (child, url) = start(&[
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
        "--tls-cert",
        dir.join("cert.pem").to_str().unwrap(),
        "--tls-key",
        dir.join("key.pem").to_str().unwrap(),
    ]);
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(url.starts_with("https://"), "{url}");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"ok"}"#), "{response}");

    // Plain HTTP to the TLS port gets no API answer.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/health")).await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    assert!(stop(child).success());
    std::fs::remove_dir_all(&dir).unwrap();
}
