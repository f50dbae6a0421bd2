//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test binary uses part of the helpers

pub mod api;
pub mod applicant;
pub mod desk;
pub mod identity;
pub mod logs;
pub mod pages;
pub mod webdriver;
