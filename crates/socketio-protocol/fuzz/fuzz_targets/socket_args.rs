//! `socket::deserialize_args` into `Vec<serde_json::Value>` (and the first
//! argument as bytes, and `deserialize_data`) on any text: no panic, and what
//! is accepted is what serde_json accepts as `[args]`. Arguments read as
//! `Spread<Value>` encode back into arguments that read as the same values.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use socketio_protocol::socket::{
    deserialize_args, deserialize_data, deserialize_first_arg, encode_event, Binary, Decoder,
    PacketData, Spread, Value,
};
use socketio_protocol::Str;

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
    if let Ok(values) = deserialize_data::<Spread<Value>>(args, &attachments) {
        assert_eq!(values, round_trip(&values));
    }
});

/// `values` encoded as event arguments, then decoded again.
fn round_trip(values: &Spread<Value>) -> Spread<Value> {
    let packet = encode_event(&mut BytesMut::new(), "/", "e", None, values).expect("encodes");
    let mut decoder = Decoder::default();
    let text = packet.text.get(1..).expect("the Engine.IO type");
    let mut decoded = decoder
        .decode_text(Str::from(text.to_owned()))
        .expect("decodes");
    for attachment in packet.attachments {
        decoded = decoder.decode_binary(attachment).expect("decodes");
    }
    let Some(PacketData::Event(event)) = decoded.map(|p| p.data) else {
        panic!("not a whole event");
    };
    deserialize_data(&event.args, &event.attachments).expect("reads back")
}
