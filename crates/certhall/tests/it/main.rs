//! certhall's integration tests, one binary with one module per concern; `support` holds
//! what they share. Most tests start a [`certhall::testing::TestHall`] (the real router on a
//! database of its own); the browser modules drive headless Chromium through chromedriver; the
//! CLI modules run the built binary. `cargo test -p certhall --test it -- MODULE` runs one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod blob_sweep;
mod browser;
mod ca_cli;
mod certificates;
mod certificates_browser;
mod cli;
mod doctor;
mod e2e_browser;
mod http;
mod identity;
mod identity_browser;
mod logs;
mod logs_story;
mod payments;
mod pki_http;
mod production_crash;
mod revocation;
mod seal_cli;
mod staff_browser;
mod staff_flow;
mod token_cli;
mod wizard;
mod wizard_browser;
