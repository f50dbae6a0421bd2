//! Kill points: the named boundaries between the durable steps of a use case that must
//! survive the process dying anywhere (制证: reserve → CA record → serials on the line → sign
//! and store → line issued → order moved). Production passes [`NoFaults`]; the crash tests
//! pass an implementation that stops the task at a chosen point (a panic: nothing after it
//! runs, no clean-up), then build a fresh `App` over the same database and retry.

/// Told each time a use case crosses a step boundary.
pub trait FaultPoints: Send + Sync {
    /// `step` of the work on `at` (`order:XB…:line:0`) is durable; the next has not begun.
    fn reached(&self, step: &'static str, at: &str);
}

/// No faults: what every real hall runs with.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFaults;

impl FaultPoints for NoFaults {
    fn reached(&self, _step: &'static str, _at: &str) {}
}
