//! The command line as an operator uses it: migrate, staff, audit verify on a real data
//! directory, and tampering with the SQLite file by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn certhall(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certhall"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("CERTHALL_DATABASE_URL")
        .env("CERTHALL_LOG", "warn")
        .output()
        .expect("run certhall")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "certhall-cli-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn sqlite(data: &Path, sql: &str) {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", data.join("certhall.db").display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn audit_verify_names_a_row_changed_by_hand() {
    let data = temp_dir();
    let o = certhall(&data, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("audit_log"));
    for name in ["alice", "bob", "carol"] {
        let o = certhall(&data, &["staff", "add", name, "--role", "reviewer"]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("otpauth://totp/"));
    }
    let o = certhall(&data, &["staff", "add", "alice", "--role", "reviewer"]);
    assert!(!o.status.success() && text(&o).contains("已存在"));
    let o = certhall(&data, &["staff", "add", "dave", "--role", "king"]);
    assert!(!o.status.success() && text(&o).contains("unknown role"));
    let o = certhall(&data, &["staff", "disable", "bob"]);
    assert!(o.status.success());
    let o = certhall(&data, &["staff", "list"]);
    assert!(text(&o).contains("bob") && text(&o).contains("disabled"));

    let o = certhall(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact: 4 rows"), "{}", text(&o));

    // Someone with the database file edits row 2 (after removing the append-only trigger).
    sqlite(&data, "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2").await;
    let o = certhall(&data, &["audit", "verify"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("BROKEN at row 2"), "{}", text(&o));
}

#[tokio::test]
async fn audit_verify_notices_deleted_rows() {
    let data = temp_dir();
    for name in ["alice", "bob", "carol"] {
        assert!(
            certhall(&data, &["staff", "add", name, "--role", "finance"])
                .status
                .success()
        );
    }
    sqlite(
        &data,
        "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3",
    )
    .await;
    let o = certhall(&data, &["audit", "verify"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("row 3"), "{}", text(&o));
}

#[tokio::test]
async fn a_bad_config_file_is_refused_at_start() {
    let data = temp_dir();
    let cfg = data.join("certhall.toml");
    std::fs::write(
        &cfg,
        "[server]\nlisten = \"127.0.0.1:0\"\nlistne = \"typo\"\n",
    )
    .unwrap();
    let o = certhall(&data, &["migrate", "--config", cfg.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("listne"), "{}", text(&o));
    std::fs::write(&cfg, "[sms]\nprovider = \"carrier-pigeon\"\n").unwrap();
    let o = certhall(&data, &["migrate", "--config", cfg.to_str().unwrap()]);
    assert!(
        !o.status.success() && text(&o).contains("carrier-pigeon"),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn serve_starts_with_nothing_but_a_data_directory() {
    let data = temp_dir();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_certhall"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&data)
        .env_remove("CERTHALL_DATABASE_URL")
        .env("CERTHALL_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the line the server prints once it listens (no timed polling).
    use std::io::BufRead;
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        printed.push_str(&line);
        if line.contains("listening on") {
            break;
        }
    }
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    let home = client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    // The default install has a development CA: its CRL and certificate are published.
    let crl = client
        .get(format!("http://127.0.0.1:{port}/crl/issuing.crl"))
        .send()
        .await
        .unwrap();
    let crl_status = crl.status().as_u16();
    let crl_der = crl.bytes().await.unwrap();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(health.ok(), Some(200), "{printed}");
    assert_eq!(home.ok(), Some(200));
    assert!(
        printed.contains("用户名 username : admin") && printed.contains("初始密码"),
        "{printed}"
    );
    assert!(data.join("certhall.db").exists() && data.join("keys.toml").exists());
    assert!(printed.contains("development SM2 CA"), "{printed}");
    assert_eq!(crl_status, 200, "{printed}");
    assert_eq!(crl_der.first(), Some(&0x30), "a DER CRL");
    let pass = data.join("ca").join("dev-passphrase");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&pass).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The CLI opens the same CA with that file, without asking.
    let o = certhall(&data, &["ca", "show"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Dev Issuing CA"), "{}", text(&o));
}

#[test]
fn calendar_import_loads_a_new_year_without_rebuild() {
    let data = temp_dir();
    let o = certhall(&data, &["calendar", "show"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2026") && !text(&o).contains("2027"),
        "{}",
        text(&o)
    );
    let f = data.join("2027.toml");
    std::fs::write(&f, "year = 2027\nsource = \"测试数据\"\n[[holiday]]\nname = \"元旦\"\noff = [\"2027-01-01\"]\nwork = []\n").unwrap();
    let o = certhall(&data, &["calendar", "import", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("holiday schedule of 2027 imported"));
    let o = certhall(&data, &["calendar", "show"]);
    assert!(text(&o).contains("2027  测试数据"), "{}", text(&o));
    std::fs::write(&f, "year = 2027\nnot toml").unwrap();
    let o = certhall(&data, &["calendar", "import", f.to_str().unwrap()]);
    assert!(!o.status.success());
    let o = certhall(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
}
