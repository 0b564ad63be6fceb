/// Milliseconds since an arbitrary origin.
///
/// `std::time::Instant` panics on `wasm32-unknown-unknown`, so the environment supplies the
/// clock: the CLI wraps `Instant`, the worker wraps `performance.now()`.
pub trait Clock {
    fn now_ms(&self) -> f64;
}

/// The native clock, for the CLI and tests. Not for `wasm32-unknown-unknown`, where
/// `Instant::now` panics: the worker supplies its own clock there.
pub struct InstantClock(std::time::Instant);

impl InstantClock {
    pub fn new() -> Self {
        Self(std::time::Instant::now())
    }
}

impl Default for InstantClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for InstantClock {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
}
