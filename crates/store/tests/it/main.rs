//! The store's integration tests, one binary: the repository suites run each test on SQLite
//! and on PostgreSQL (`on_both!`), each on a database of its own copied from the migrated
//! template (`store::testing`); `migrations` runs the migrations from scratch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

mod blob_refs;
mod certificates;
mod desk;
mod identity;
mod migrations;
mod orders;
mod payments;
mod repo;
mod seals;
