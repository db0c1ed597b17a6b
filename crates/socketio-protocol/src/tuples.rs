//! The handler arities of the server and the client, defined once.

/// Calls `$name!` once per handler arity (1 to 10 arguments) with the
/// extractor type parameters before the last one, and the last one:
/// `$name!([T1, T2], T3)`. For the extractor-based handlers of
/// `socketio-axum` and `socketio-client`; not part of the protocol API.
#[doc(hidden)]
#[macro_export]
macro_rules! all_the_tuples {
    ($name:ident) => {
        $name!([], T1);
        $name!([T1], T2);
        $name!([T1, T2], T3);
        $name!([T1, T2, T3], T4);
        $name!([T1, T2, T3, T4], T5);
        $name!([T1, T2, T3, T4, T5], T6);
        $name!([T1, T2, T3, T4, T5, T6], T7);
        $name!([T1, T2, T3, T4, T5, T6, T7], T8);
        $name!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
        $name!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
    };
}
