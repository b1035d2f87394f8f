//! `select!`: the [`Select`](crate::channel::Select) builder with arms
//! whose bodies run in the caller's frame (so `break`, `continue`, `return`
//! and `?` work, and arms may use the same variables).

/// Waits for the first of several channel operations and runs its arm.
///
/// ```text
/// select! {
///     recv(rx) -> msg => body,          // msg: Result<T, RecvError>
///     send(tx, value) -> res => body,   // res: Result<(), SendError<T>>
///     default => body,                  // optional: run if nothing is ready now
///                                       //   (also spelled `default() =>`)
///     default(timeout) => body,         // or: run if nothing was ready in time
/// }
/// ```
///
/// `rx` and `tx` are a [`Receiver`](crate::channel::Receiver) and a
/// [`Sender`](crate::channel::Sender), or references to them, or
/// expressions that make one (`recv(make_receiver())`: the temporary lives
/// until the `select!` ends); `msg` and `res` are irrefutable patterns
/// (usually a name). Trailing commas are accepted inside the parentheses
/// and after the last arm. At most one `default` arm, last. Exactly one arm
/// runs. Without a `default` arm and without operations, `select!` panics
/// (it would wait forever); with only `default(timeout)`, it waits
/// `timeout` (a cancellation point), then runs that arm.
///
/// The semantics are those of [`Select`](crate::channel::Select); the
/// macro only moves each arm's result into a slot and runs the arm's body
/// after the wait.
///
/// A `default` arm runs only if no operation was ready: the operations are
/// tried twice before giving up (see
/// [`Select::try_wait`](crate::channel::Select::try_wait)), so a channel
/// that holds a value the whole time is not passed over.
///
/// ```
/// use std::time::Duration;
/// use strands::channel;
///
/// strands::run(|| {
///     let (tx, rx) = channel::bounded::<u32>(0);
///     let (done_tx, done_rx) = channel::bounded::<()>(0);
///     strands::spawn(move || {
///         (1..=3).for_each(|i| tx.send(i).unwrap());
///         done_tx.send(()).unwrap();
///     });
///     let mut sum = 0;
///     loop {
///         strands::select! {
///             recv(rx) -> v => sum += v.unwrap(),
///             recv(done_rx) -> _ => break,
///             default(Duration::from_secs(10)) => panic!("stuck"),
///         }
///     }
///     assert_eq!(sum, 6);
/// });
/// ```
#[macro_export]
macro_rules! select {
    ($($arms:tt)*) => {
        $crate::__select_parse!([] $($arms)*)
    };
}

/// Parses `select!` arms into a list (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // the end, with or without a default arm
    ([$($ops:tt)*]) => {
        $crate::__select_start!([$($ops)*] (none))
    };
    ([$($ops:tt)*] default => $body:expr $(,)?) => {
        $crate::__select_start!([$($ops)*] (default ($body)))
    };
    ([$($ops:tt)*] default() => $body:expr $(,)?) => {
        $crate::__select_start!([$($ops)*] (default ($body)))
    };
    ([$($ops:tt)*] default($t:expr $(,)?) => $body:expr $(,)?) => {
        $crate::__select_start!([$($ops)*] (timeout ($t) ($body)))
    };
    // recv arms
    ([$($ops:tt)*] recv($rx:expr $(,)?) -> $pat:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!([$($ops)* (recv ($rx) ($pat) ($body))] $($rest)*)
    };
    ([$($ops:tt)*] recv($rx:expr $(,)?) -> $pat:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!([$($ops)* (recv ($rx) ($pat) ($body))] $($rest)*)
    };
    ([$($ops:tt)*] recv($rx:expr $(,)?) -> $pat:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!([$($ops)* (recv ($rx) ($pat) ($body))] $($rest)*)
    };
    ([$($ops:tt)*] recv($rx:expr $(,)?) -> $pat:pat => $body:expr) => {
        $crate::__select_parse!([$($ops)* (recv ($rx) ($pat) ($body))])
    };
    // send arms
    ([$($ops:tt)*] send($tx:expr, $v:expr $(,)?) -> $pat:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!([$($ops)* (send ($tx) ($v) ($pat) ($body))] $($rest)*)
    };
    ([$($ops:tt)*] send($tx:expr, $v:expr $(,)?) -> $pat:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!([$($ops)* (send ($tx) ($v) ($pat) ($body))] $($rest)*)
    };
    ([$($ops:tt)*] send($tx:expr, $v:expr $(,)?) -> $pat:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!([$($ops)* (send ($tx) ($v) ($pat) ($body))] $($rest)*)
    };
    ([$($ops:tt)*] send($tx:expr, $v:expr $(,)?) -> $pat:pat => $body:expr) => {
        $crate::__select_parse!([$($ops)* (send ($tx) ($v) ($pat) ($body))])
    };
}

/// Builds the `Select`, one nested block per arm (internal).
///
/// Each arm's block declares its own result slot (macro hygiene keeps the
/// slots apart), adds its operation with a handler that fills the slot,
/// and, once the innermost block has waited, runs its body if its slot is
/// the one filled.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_start {
    ([$($ops:tt)*] $default:tt) => {{
        let __sel = $crate::channel::Select::<()>::new();
        $crate::__select_build!(__sel [$($ops)*] $default)
            .expect("select!: one operation completed")
    }};
}

/// See `__select_start` (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_build {
    ($sel:ident [] (none)) => {{
        $sel.wait();
        ::core::option::Option::None
    }};
    ($sel:ident [] (default ($body:expr))) => {{
        match $sel.try_wait() {
            ::core::result::Result::Ok(()) => ::core::option::Option::None,
            ::core::result::Result::Err(_) => {
                #[allow(unreachable_code, clippy::diverging_sub_expression)]
                let __out = ::core::option::Option::Some($body);
                __out
            }
        }
    }};
    ($sel:ident [] (timeout ($t:expr) ($body:expr))) => {{
        match $sel.wait_timeout($t) {
            ::core::result::Result::Ok(()) => ::core::option::Option::None,
            ::core::result::Result::Err(_) => {
                #[allow(unreachable_code, clippy::diverging_sub_expression)]
                let __out = ::core::option::Option::Some($body);
                __out
            }
        }
    }};
    ($sel:ident [(recv ($rx:expr) ($pat:pat) ($body:expr)) $($ops:tt)*] $default:tt) => {{
        let mut __slot = ::core::option::Option::None;
        // `&$rx` in a `let` keeps a temporary (`recv(get())`) alive to the
        // end of this block, past the wait.
        let __rx = &$rx;
        let __sel = $sel.recv(__rx, |__r| __slot = ::core::option::Option::Some(__r));
        match $crate::__select_build!(__sel [$($ops)*] $default) {
            ::core::option::Option::Some(__v) => ::core::option::Option::Some(__v),
            ::core::option::Option::None => match __slot.take() {
                ::core::option::Option::Some(__r) => {
                    let $pat = __r;
                    // A body that diverges (`break`, `continue`, `return`,
                    // a panic) would make the `Some(..)` around it warn in
                    // the user's code.
                    #[allow(unreachable_code, clippy::diverging_sub_expression)]
                    let __out = ::core::option::Option::Some($body);
                    __out
                }
                ::core::option::Option::None => ::core::option::Option::None,
            },
        }
    }};
    ($sel:ident [(send ($tx:expr) ($v:expr) ($pat:pat) ($body:expr)) $($ops:tt)*] $default:tt) => {{
        let mut __slot = ::core::option::Option::None;
        // As for `recv`: a temporary sender lives to the end of the block.
        let __tx = &$tx;
        let __sel = $sel.send(__tx, $v, |__r| __slot = ::core::option::Option::Some(__r));
        match $crate::__select_build!(__sel [$($ops)*] $default) {
            ::core::option::Option::Some(__v) => ::core::option::Option::Some(__v),
            ::core::option::Option::None => match __slot.take() {
                ::core::option::Option::Some(__r) => {
                    let $pat = __r;
                    // A body that diverges (`break`, `continue`, `return`,
                    // a panic) would make the `Some(..)` around it warn in
                    // the user's code.
                    #[allow(unreachable_code, clippy::diverging_sub_expression)]
                    let __out = ::core::option::Option::Some($body);
                    __out
                }
                ::core::option::Option::None => ::core::option::Option::None,
            },
        }
    }};
}
