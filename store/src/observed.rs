//! A store whose every call is observed: timed and run in a span that the
//! opener chooses (the gateway's metrics and traces), around whichever
//! backend runs, so no backend measures itself. Its forwarding is
//! generated with each part's declaration (`store_part!`), so a part's
//! method is declared once for the trait and its observation alike.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What the opener of a store learns of each call.
pub trait StoreObserver: Send + Sync + 'static {
    /// The span the call `op` runs in (`Span::none()` for none).
    fn span(&self, op: &'static str) -> tracing::Span;
    /// The call `op` has answered after `elapsed`.
    fn finished(&self, op: &'static str, elapsed: Duration);
}

/// A store `S` whose every call goes through its observer.
pub struct Observed<S: ?Sized> {
    pub(crate) inner: Arc<S>,
    observer: Arc<dyn StoreObserver>,
}

impl<S: ?Sized> Observed<S> {
    pub fn new(inner: Arc<S>, observer: Arc<dyn StoreObserver>) -> Observed<S> {
        Observed { inner, observer }
    }

    /// Runs the call `op` in its span and reports its time.
    pub(crate) async fn observe<T>(&self, op: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let answer = call.instrument(self.observer.span(op)).await;
        self.observer.finished(op, started.elapsed());
        answer
    }
}

/// Declares a part of the store: the trait, its operations' names, and
/// its forwarding for an [`Observed`] store, from one list of methods.
macro_rules! store_part {
    (
        $(#[$trait_attr:meta])*
        pub trait $part:ident {
            $(
                $(#[$attr:meta])*
                async fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty;
            )*
        }
    ) => {
        $(#[$trait_attr])*
        #[async_trait::async_trait]
        pub trait $part: Send + Sync + 'static {
            $(
                $(#[$attr])*
                async fn $name(&self $(, $arg: $ty)*) -> $ret;
            )*
        }

        /// This part's operations, for an observer's fixed labels.
        pub(crate) const OPERATIONS: &[&str] = &[$(stringify!($name)),*];

        #[async_trait::async_trait]
        impl<S: $part + ?Sized> $part for $crate::observed::Observed<S> {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.observe(stringify!($name), self.inner.$name($($arg),*)).await
                }
            )*
        }
    };
}
