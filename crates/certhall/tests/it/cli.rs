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

/// The stored chain: (seq, at, actor, action, subject, ip, detail, prev_hash, hash, mac).
type Stored = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
);

async fn rows(data: &Path) -> Vec<Stored> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", data.join("certhall.db").display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let out = sqlx::query(
        "SELECT seq, at, actor, action, subject, ip, detail, prev_hash, hash, mac FROM audit_log ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get(0),
            r.get(1),
            r.get(2),
            r.get(3),
            r.get(4),
            r.get(5),
            r.get(6),
            r.get(7),
            r.get(8),
            r.get(9),
        )
    })
    .collect();
    pool.close().await;
    out
}

fn hash_of(r: &Stored, prev: &str) -> String {
    app::audit::row_hash(prev, r.0, r.1, &r.2, &r.3, &r.4, r.5.as_deref(), &r.6)
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

async fn three_rows(data: &Path) {
    for name in ["alice", "bob", "carol"] {
        let o = certhall(data, &["staff", "add", name, "--role", "finance"]);
        assert!(o.status.success(), "{}", text(&o));
    }
}

#[tokio::test]
async fn audit_verify_catches_a_forged_row_appended_past_the_head() {
    let data = temp_dir();
    three_rows(&data).await;
    let r = rows(&data).await;
    let mut forged = r[2].clone();
    forged.0 = 4;
    forged.2 = "staff:1".into();
    let h = hash_of(&forged, &r[2].8);
    sqlite(
        &data,
        &format!(
            "INSERT INTO audit_log (seq, at, actor, action, subject, ip, detail, prev_hash, hash) \
             VALUES (4, {}, {}, {}, {}, NULL, {}, {}, {})",
            forged.1,
            q(&forged.2),
            q(&forged.3),
            q(&forged.4),
            q(&forged.6),
            q(&r[2].8),
            q(&h)
        ),
    )
    .await;
    let o = certhall(&data, &["audit", "verify"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("BROKEN at row 4"), "{}", text(&o));
}

#[tokio::test]
async fn audit_verify_catches_a_chain_rewritten_and_recomputed_without_the_key() {
    let data = temp_dir();
    three_rows(&data).await;
    let r = rows(&data).await;
    // Row 2 changed, rows 2 and 3 and the head recomputed: every hash links again, but the
    // MACs need the key in keys.toml, which the database does not hold.
    let mut two = r[1].clone();
    two.2 = "someone-else".into();
    let h2 = hash_of(&two, &r[0].8);
    let mut three = r[2].clone();
    three.7 = h2.clone();
    let h3 = hash_of(&three, &h2);
    sqlite(
        &data,
        &format!(
            "DROP TRIGGER audit_log_no_update; \
             UPDATE audit_log SET actor = {}, hash = {} WHERE seq = 2; \
             UPDATE audit_log SET prev_hash = {}, hash = {} WHERE seq = 3; \
             UPDATE audit_head SET hash = {} WHERE id = 1",
            q(&two.2),
            q(&h2),
            q(&h2),
            q(&h3),
            q(&h3)
        ),
    )
    .await;
    let o = certhall(&data, &["audit", "verify"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("BROKEN at row 2") && text(&o).contains("MAC"),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn audit_verify_catches_a_deleted_tail_with_the_head_rewound() {
    let data = temp_dir();
    three_rows(&data).await;
    // A verify anchors the chain's end (row 3) outside the database.
    let o = certhall(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(data.join("audit/anchors").exists());
    let r = rows(&data).await;
    // Row 3 deleted and the head rewound to row 2 with row 2's own MAC: consistent inside
    // the database.
    sqlite(
        &data,
        &format!(
            "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3; \
             UPDATE audit_head SET seq = 2, hash = {}, mac = {} WHERE id = 1",
            q(&r[1].8),
            q(r[1].9.as_deref().unwrap())
        ),
    )
    .await;
    let o = certhall(&data, &["audit", "verify"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("BROKEN at row 3") && text(&o).contains("anchored"),
        "{}",
        text(&o)
    );
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
