//! `certhall bank import` on a data directory, and the `[payments]` configuration.

use super::*;

#[test]
fn bank_import_command_and_payments_config() {
    let dir = std::env::temp_dir().join(format!(
        "certhall-bank-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let run = |file: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_certhall"))
            .args(["bank", "import", "--data"])
            .arg(&dir)
            .arg(format!("{DATA}/{file}"))
            .env("CERTHALL_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run("statement.csv");
    eprintln!("{out}");
    assert!(ok, "{err}");
    assert!(
        out.contains("6 entries, 6 new; matched 0, manual queue 5, ignored 1"),
        "{out}"
    );
    let (ok, out, _) = run("statement.csv");
    assert!(
        ok && out.contains("imported before: nothing changed"),
        "{out}"
    );
    let (ok, out, _) = run("statement.camt053.xml");
    assert!(ok && out.contains("5 entries, 4 new"), "{out}");
    // [payments] in the configuration; a typo is an error at start.
    let cfg = dir.join("certhall.toml");
    std::fs::write(
        &cfg,
        "[payments]\ngateways = [\"sandbox\"]\npayouts = \"batch_file\"\ncode_ttl_days = 3\n",
    )
    .unwrap();
    let c = certhall::config::Config::load(Some(&cfg)).unwrap();
    assert_eq!(c.payments.settings().code_ttl_ms, 3 * 86_400_000);
    std::fs::write(&cfg, "[payments]\ngateway = [\"sandbox\"]\n").unwrap();
    assert!(certhall::config::Config::load(Some(&cfg)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
