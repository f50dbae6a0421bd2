//! One test in a process of its own, for the few that change what a process has only one of
//! (the global tracing subscriber, environment variables). The test calls [`in_own_process`]
//! first: in the suite's process that runs the same binary again with only this test and
//! returns `true` once the child passed (the test then returns); in the child it returns
//! `false` and the test runs.

use std::process::Command;

const VAR: &str = "CERTHALL_TEST_OWN_PROCESS";

/// Runs `test` (its full name, `module::function`) in a child process unless this is that
/// child. Fails when the child fails or runs no test.
pub fn in_own_process(test: &str) -> bool {
    if std::env::var(VAR).is_ok_and(|t| t == test) {
        return false;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(VAR, test)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} in its own process:\n{said}");
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run in its own process:\n{said}"
    );
    true
}
