//! Literal client frames (RFC 6455 §5) through the decoder.

use super::*;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame: `b0` (FIN, RSV, opcode), then the payload.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=65_535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// The frames of `list`, one after the other.
fn frames(list: &[(u8, &[u8])]) -> Vec<u8> {
    list.iter()
        .flat_map(|(b0, payload)| frame(*b0, payload))
        .collect()
}

fn decode_all(bytes: &[u8], max: usize) -> Result<Vec<Incoming>, FrameError> {
    let mut d = FrameDecoder::new(max);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(m) = d.decode(&mut buf)? {
        out.push(m);
    }
    Ok(out)
}

/// Feeds `bytes` one at a time, as reads of one byte would: the messages
/// decoded, and the error if one came (with the number of bytes fed then).
fn decode_bytewise(bytes: &[u8], max: usize) -> (Vec<Incoming>, Option<(FrameError, usize)>) {
    let mut d = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => return (out, Some((e, i + 1))),
            }
        }
    }
    (out, None)
}

/// `bytes` decode to `expected`, whether they come at once or a byte at a time.
fn assert_decodes(bytes: &[u8], expected: Vec<Incoming>) {
    assert_eq!(decode_all(bytes, 100), Ok(expected.clone()));
    assert_eq!(decode_bytewise(bytes, 100), (expected, None));
}

#[test]
fn the_rfc_example_masked_hello() {
    // RFC 6455 §5.7: a single-frame masked text message.
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        decode_all(&bytes, 100),
        Ok(vec![Incoming::Text(Str::from("Hello"))])
    );
}

#[test]
fn lengths_in_7_16_and_64_bits_and_every_unmasking_remainder() {
    for len in [0, 1, 7, 8, 9, 125, 126, 127, 65_535, 65_536, 70_001] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let got = decode_all(&frame(0x82, &payload), 100_000).unwrap();
        assert_eq!(
            got,
            vec![Incoming::Binary(Bytes::from(payload))],
            "length {len}"
        );
    }
}

#[test]
fn a_message_arriving_byte_by_byte_comes_out_once_whole() {
    let bytes = frame(0x81, "42[\"é\",1]".as_bytes());
    let mut d = FrameDecoder::new(100);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for b in &bytes {
        buf.extend_from_slice(&[*b]);
        if let Some(m) = d.decode(&mut buf).unwrap() {
            out.push(m);
        }
    }
    assert_eq!(out, vec![Incoming::Text(Str::from("42[\"é\",1]"))]);
    assert!(buf.is_empty());
}

#[test]
fn fragments_are_joined_around_control_frames() {
    let bytes = frames(&[
        (0x01, b"4he"),
        (0x89, b"hb"),
        (0x00, b"ll"),
        (0x80, b"o"),
        (0x8A, b""),
    ]);
    assert_decodes(
        &bytes,
        vec![
            Incoming::Ping(Bytes::from_static(b"hb")),
            Incoming::Text(Str::from("4hello")),
            Incoming::Pong,
        ],
    );
}

#[test]
fn a_character_split_across_fragments_and_a_ping_is_valid_text() {
    // "€" is E2 82 AC: one byte in each fragment, a ping in the middle.
    let bytes = frames(&[
        (0x01, b"4\xe2"),
        (0x00, b"\x82"),
        (0x89, b""),
        (0x80, b"\xac!"),
    ]);
    assert_decodes(
        &bytes,
        vec![
            Incoming::Ping(Bytes::new()),
            Incoming::Text(Str::from("4€!")),
        ],
    );
}

#[test]
fn invalid_text_fails_in_the_first_fragment_before_the_others_arrive() {
    // The first fragment alone, its last byte a lone continuation byte.
    let first = frame(0x01, b"4ok\x80");
    assert_eq!(decode_all(&first, 100), Err(FrameError::InvalidUtf8));
    // A fragment that makes the character open in the previous one invalid.
    let mut bytes = frame(0x01, b"4\xce");
    bytes.extend(frame(0x00, b"A"));
    assert_eq!(decode_all(&bytes, 100), Err(FrameError::InvalidUtf8));
}

#[test]
fn invalid_text_fails_at_its_first_invalid_byte_inside_a_frame() {
    // One frame of 20 bytes; byte 6 of its payload is invalid.
    let mut payload = b"4hello".to_vec();
    payload.push(0xff);
    payload.extend_from_slice(&[b'x'; 13]);
    let bytes = frame(0x81, &payload);
    let (out, err) = decode_bytewise(&bytes, 100);
    assert_eq!(out, []);
    // 6 header bytes (2 + mask), then the valid "4hello" and the 0xff.
    assert_eq!(err, Some((FrameError::InvalidUtf8, 6 + 7)));

    // The same for a continuation frame, and for a surrogate (ED A0 80),
    // refused at its second byte.
    let mut bytes = frame(0x01, b"4");
    let first = bytes.len();
    bytes.extend(frame(0x80, b"ab\xed\xa0\x80cdef"));
    let (out, err) = decode_bytewise(&bytes, 100);
    assert_eq!(out, []);
    assert_eq!(err, Some((FrameError::InvalidUtf8, first + 6 + 4)));
}

#[test]
fn text_that_ends_inside_a_character_fails_with_its_last_fragment() {
    let mut bytes = frame(0x01, b"4\xf0\x9f");
    bytes.extend(frame(0x80, b"\x98"));
    assert_eq!(decode_all(&bytes, 100), Err(FrameError::InvalidUtf8));
    assert_eq!(
        decode_all(&frame(0x81, b"4\xe2\x82"), 100),
        Err(FrameError::InvalidUtf8)
    );
    // Binary messages are not text: any bytes go.
    assert_eq!(
        decode_all(&frame(0x82, b"\xff\xe2"), 100),
        Ok(vec![Incoming::Binary(Bytes::from_static(b"\xff\xe2"))])
    );
}

#[test]
fn close_frames_give_their_code() {
    assert_eq!(
        decode_all(&frame(0x88, b""), 100),
        Ok(vec![Incoming::Close(None)])
    );
    assert_eq!(
        decode_all(&frame(0x88, &[0x03, 0xe8, b'b', b'y', b'e']), 100),
        Ok(vec![Incoming::Close(Some(1000))])
    );
    assert_eq!(
        decode_all(&frame(0x88, &[0x0f, 0xa0]), 100),
        Ok(vec![Incoming::Close(Some(4000))])
    );
    // Registered with IANA after RFC 6455: Service Restart, Try Again Later, Bad Gateway.
    for code in [1012u16, 1013, 1014] {
        assert_eq!(
            decode_all(&frame(0x88, &code.to_be_bytes()), 100),
            Ok(vec![Incoming::Close(Some(code))])
        );
    }
    for bad in [
        &[0x03][..],
        &[0x03, 0xed],
        &[0x03, 0xe7],
        &[0x03, 0xf7],
        &[0x0b, 0xb7],
    ] {
        assert!(
            matches!(
                decode_all(&frame(0x88, bad), 100),
                Err(FrameError::Protocol(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        decode_all(&frame(0x88, &[0x03, 0xe8, 0xff]), 100),
        Err(FrameError::InvalidUtf8)
    );
}

#[test]
fn protocol_violations_are_errors_with_code_1002() {
    let mut unmasked = frame(0x81, b"4x");
    unmasked[1] &= 0x7f;
    let mut continuation_in_the_middle = frame(0x01, b"4");
    continuation_in_the_middle.extend(frame(0x81, b"4"));
    let cases: [(&str, Vec<u8>); 7] = [
        ("unmasked", unmasked),
        ("reserved bit", frame(0xC1, b"4x")),
        ("unknown opcode", frame(0x83, b"")),
        ("fragmented ping", frame(0x09, b"")),
        ("long ping", frame(0x89, &[0; 126])),
        ("orphan continuation", frame(0x80, b"x")),
        (
            "new message inside a fragmented one",
            continuation_in_the_middle,
        ),
    ];
    for (name, bytes) in cases {
        let err = decode_all(&bytes, 1000).expect_err(name);
        assert_eq!(err.close_code(), 1002, "{name}: {err}");
    }
    let mut top_bit = vec![0x82, 0xff];
    top_bit.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 1]);
    assert!(matches!(
        decode_all(&top_bit, 1000),
        Err(FrameError::Protocol(_))
    ));
}

#[test]
fn a_frame_out_of_order_is_refused_by_its_header_alone() {
    // A fragmented message, then the header of a new text message.
    let mut bytes = frame(0x01, b"4");
    bytes.extend(&frame(0x81, b"never sent")[..6]);
    assert!(matches!(
        decode_all(&bytes, 1000),
        Err(FrameError::Protocol(_))
    ));
    // An unknown opcode, with its payload still to come.
    assert!(matches!(
        decode_all(&frame(0x83, b"later")[..6], 1000),
        Err(FrameError::Protocol(_))
    ));
}

#[test]
fn the_limit_holds_for_a_frame_before_its_payload_and_for_joined_fragments() {
    // Only the header of a 1 MiB frame: refused at once, with no room reserved for it.
    let header = &frame(0x82, &vec![0; 1 << 20])[..14];
    let mut d = FrameDecoder::new(1000);
    let mut buf = BytesMut::from(header);
    assert_eq!(
        d.decode(&mut buf),
        Err(FrameError::TooLarge {
            size: 1 << 20,
            max: 1000
        })
    );
    assert!(buf.capacity() < 1000);

    // Within the limit, a header alone makes room a step at a time.
    let mut d = FrameDecoder::new(10 << 20);
    let mut buf = BytesMut::from(header);
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert!(buf.capacity() <= 14 + RESERVE_STEP, "{}", buf.capacity());

    assert_eq!(
        decode_all(&frame(0x82, &[0; 1000]), 1000).map(|v| v.len()),
        Ok(1)
    );
    let mut bytes = frame(0x02, &[0; 600]);
    bytes.extend(frame(0x80, &[0; 401]));
    assert_eq!(
        decode_all(&bytes, 1000),
        Err(FrameError::TooLarge {
            size: 1001,
            max: 1000
        })
    );
}

#[test]
fn payloads_either_side_of_the_copy_threshold_leave_the_next_frame_whole() {
    // Copied out or split off, the message has its bytes and the buffer the rest.
    for len in [COPY_MAX, COPY_MAX + 1] {
        let mut bytes = frame(0x82, &vec![7; len]);
        bytes.extend(frame(0x81, b"next"));
        let mut d = FrameDecoder::new(1 << 20);
        let mut buf = BytesMut::from(&bytes[..]);
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Incoming::Binary(Bytes::from(vec![7; len]))))
        );
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Incoming::Text(Str::from("next"))))
        );
        assert!(buf.is_empty());
    }
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;

    /// RFC 7692 §7.2.3.1: "Hello", compressed.
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    fn decode(bytes: &[u8], max: usize) -> Result<Vec<Incoming>, FrameError> {
        let mut d = FrameDecoder::with_deflate(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        // Byte by byte: a compressed payload arriving in pieces.
        for b in bytes {
            buf.extend_from_slice(&[*b]);
            while let Some(m) = d.decode(&mut buf)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    #[test]
    fn compressed_messages_whole_and_fragmented() {
        let bytes = frames(&[
            (0xc1, &HELLO),      // FIN, RSV1, text
            (0x82, b"raw"),      // an uncompressed binary message
            (0x41, &HELLO[..3]), // RSV1, text, not final
            (0x89, b"p"),        // a ping between fragments
            (0x80, &HELLO[3..]), // FIN, continuation (no RSV1)
        ]);
        assert_eq!(
            decode(&bytes, 100),
            Ok(vec![
                Incoming::Text("Hello".into()),
                Incoming::Binary(Bytes::from_static(b"raw")),
                Incoming::Ping(Bytes::from_static(b"p")),
                Incoming::Text("Hello".into()),
            ])
        );
    }

    #[test]
    fn rsv1_is_refused_where_it_cannot_be() {
        // Without the extension.
        let err = decode_all(&frame(0xc1, &HELLO), 100).unwrap_err();
        assert_eq!(err.close_code(), 1002);
        // On a continuation frame, and on a control frame.
        let cont = frames(&[(0x41, &HELLO[..3]), (0xc0, &HELLO[3..])]);
        assert_eq!(decode(&cont, 100).unwrap_err().close_code(), 1002);
        assert_eq!(
            decode(&frame(0xc9, b"p"), 100).unwrap_err().close_code(),
            1002
        );
        // RSV2 and RSV3 are never allowed.
        assert_eq!(
            decode(&frame(0xa1, b"x"), 100).unwrap_err().close_code(),
            1002
        );
    }

    #[test]
    fn inflated_text_is_checked_and_size_bounded() {
        let agreed = crate::websocket::deflate::negotiate(["permessage-deflate"]).unwrap();
        let mut deflater = crate::websocket::deflate::Deflater::new(&agreed);
        let mut bad = Vec::new();
        deflater.deflate(&[0x48, 0xff, 0x6c], &mut bad);
        assert_eq!(
            decode(&frame(0xc1, &bad), 100),
            Err(FrameError::InvalidUtf8)
        );
        // 1 MiB of zeros in a few hundred bytes: refused at the limit.
        let mut bomb = Vec::new();
        crate::websocket::deflate::Deflater::new(&agreed).deflate(&vec![0; 1 << 20], &mut bomb);
        let err = decode(&frame(0xc2, &bomb), 64 << 10).unwrap_err();
        assert_eq!(err.close_code(), 1009);
        assert_eq!(
            decode(&frame(0xc2, &[0xff; 5]), 100)
                .unwrap_err()
                .close_code(),
            1002
        );
    }
}
