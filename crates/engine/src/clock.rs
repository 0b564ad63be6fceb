/// Milliseconds since an arbitrary origin.
///
/// `std::time::Instant` panics on `wasm32-unknown-unknown`, so the environment supplies the
/// clock: the CLI wraps `Instant`, the worker wraps `performance.now()`.
pub trait Clock {
    fn now_ms(&self) -> f64;
}
