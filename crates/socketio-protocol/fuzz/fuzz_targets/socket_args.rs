//! `socket::deserialize_args` into `Vec<serde_json::Value>` (and the first
//! argument as bytes, and `deserialize_data`) on any text: no panic, and what
//! is accepted is what serde_json accepts as `[args]`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_protocol::socket::{
    deserialize_args, deserialize_data, deserialize_first_arg, Binary,
};

fuzz_target!(|data: &[u8]| {
    let Ok(args) = std::str::from_utf8(data) else {
        return;
    };
    let attachments = [Bytes::from_static(b"zero"), Bytes::from_static(b"one")];
    let ours = deserialize_args::<Vec<serde_json::Value>>(args, &attachments);
    if let Ok(values) = &ours {
        let reference = serde_json::from_str::<Vec<serde_json::Value>>(&format!("[{args}]"));
        assert_eq!(reference.ok().as_ref(), Some(values));
    }
    let _ = deserialize_first_arg::<Binary>(args, &attachments);
    let _ = deserialize_data::<(serde_json::Value, Binary)>(args, &attachments);
});
