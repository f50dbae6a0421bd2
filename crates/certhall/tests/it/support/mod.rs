//! Helpers shared by the integration tests' modules.

pub mod api;
pub mod applicant;
pub mod desk;
pub mod identity;
pub mod logs;
pub mod own_process;
pub mod pages;
pub mod webdriver;
