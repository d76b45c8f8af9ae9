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

/// Declares a part of the store from one list of its methods: the trait;
/// `$own`, the methods each backend writes itself; the operations' names;
/// the forwarding for an [`Observed`] store; and `$forward!(Backend,
/// step)`, which implements the part for a backend: each of `steps` is the
/// domain step of its name in `records.rs`, run by the backend's `step!`
/// inside its own transaction, and each of `own` is the backend's `$own`.
/// A step's signature is thus written here and in `records.rs`, nowhere
/// else. `$d` is `$`, for the forwarding macro's own variables.
macro_rules! store_part {
    (
        ($d:tt)
        $(#[$trait_attr:meta])*
        pub trait $part:ident {
            own $own:ident;
            forward $forward:ident;
            steps {
                $(
                    $(#[$sattr:meta])*
                    async fn $sname:ident(&self $(, $sarg:ident : $sty:ty)* $(,)?) -> $sret:ty;
                )*
            }
            own {
                $(
                    $(#[$oattr:meta])*
                    async fn $oname:ident(&self $(, $oarg:ident : $oty:ty)* $(,)?) -> $oret:ty;
                )*
            }
        }
    ) => {
        $(#[$trait_attr])*
        #[async_trait::async_trait]
        pub trait $part: Send + Sync + 'static {
            $(
                $(#[$sattr])*
                async fn $sname(&self $(, $sarg: $sty)*) -> $sret;
            )*
            $(
                $(#[$oattr])*
                async fn $oname(&self $(, $oarg: $oty)*) -> $oret;
            )*
        }

        #[doc = concat!("The methods of [`", stringify!($part), "`] each backend writes itself: its own reads and writes; the rest are domain steps.")]
        #[async_trait::async_trait]
        pub trait $own: Send + Sync + 'static {
            $(
                $(#[$oattr])*
                async fn $oname(&self $(, $oarg: $oty)*) -> $oret;
            )*
        }

        /// This part's operations, for an observer's fixed labels.
        pub(crate) const OPERATIONS: &[&str] = &[$(stringify!($sname),)* $(stringify!($oname)),*];

        #[async_trait::async_trait]
        impl<S: $part + ?Sized> $part for $crate::observed::Observed<S> {
            $(
                async fn $sname(&self $(, $sarg: $sty)*) -> $sret {
                    self.observe(stringify!($sname), self.inner.$sname($($sarg),*)).await
                }
            )*
            $(
                async fn $oname(&self $(, $oarg: $oty)*) -> $oret {
                    self.observe(stringify!($oname), self.inner.$oname($($oarg),*)).await
                }
            )*
        }

        macro_rules! $forward {
            ($d backend:ty, $d step:ident) => {
                #[async_trait::async_trait]
                impl $part for $d backend {
                    $(
                        async fn $sname(&self $(, $sarg: $sty)*) -> $sret {
                            $d step!(self, $sname $(, $sarg)*)
                        }
                    )*
                    $(
                        async fn $oname(&self $(, $oarg: $oty)*) -> $oret {
                            <Self as $own>::$oname(self $(, $oarg)*).await
                        }
                    )*
                }
            };
        }
        pub(crate) use $forward;
    };
}
