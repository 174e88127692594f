//! Real servers: commands written with this crate's encoder over raw TCP, replies
//! (RESP2, and RESP3 after `HELLO 3`) decoded with `FrameCodec` and checked, then
//! re-encoded and compared byte for byte with what the server sent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use resp_codec::{
    CommandCodec, Event, Frame, FrameCodec, Pipeline, StreamingCodec, encode_command, encode_inline,
};
use testkit::{Server, Version};

/// A connection that speaks through this crate only.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    codec: FrameCodec,
}

impl Conn {
    fn open(server: &Server) -> Conn {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn {
            stream,
            buf: BytesMut::new(),
            codec: FrameCodec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// The next reply and its exact bytes on the wire.
    fn reply(&mut self) -> (Frame, Bytes) {
        loop {
            let before = self.buf.clone().freeze();
            if let Some(frame) = self.codec.decode(&mut self.buf).expect("a valid reply") {
                let wire = before.slice(..before.len() - self.buf.len());
                return (frame, wire);
            }
            let mut chunk = [0u8; 16384];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call(&mut self, args: &[&str]) -> Frame {
        let mut out = BytesMut::new();
        encode_command(&mut out, args);
        self.send(&out);
        let (frame, wire) = self.reply();
        check_reencoding(&frame, &wire);
        frame
    }
}

fn has_double(f: &Frame) -> bool {
    match f {
        Frame::Double(_) => true,
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => v.iter().any(has_double),
        Frame::Map(p) => p.iter().any(|(k, v)| has_double(k) || has_double(v)),
        Frame::Attribute { attributes, frame } => {
            has_double(frame)
                || attributes
                    .iter()
                    .any(|(k, v)| has_double(k) || has_double(v))
        }
        _ => false,
    }
}

/// Encoding a decoded reply gives the server's bytes back (doubles may be written
/// in another notation).
fn check_reencoding(frame: &Frame, wire: &[u8]) {
    let mut again = BytesMut::new();
    frame.encode(&mut again).unwrap();
    if !has_double(frame) {
        assert_eq!(&again[..], wire, "re-encoding {}", frame.type_name());
    }
}

fn bulk(s: &str) -> Frame {
    Frame::bulk(s)
}

fn replies_of_every_type(version: Version, resp3: bool) {
    let server = Server::start(version);
    let mut c = Conn::open(&server);
    if resp3 {
        let Frame::Map(hello) = c.call(&["HELLO", "3"]) else {
            panic!("HELLO 3 answers a map")
        };
        assert!(
            hello.contains(&(bulk("proto"), Frame::Integer(3))),
            "{hello:?}"
        );
    }
    assert_eq!(c.call(&["PING"]), Frame::simple("PONG"));
    assert_eq!(c.call(&["SET", "k", "v\r\nwith crlf"]), Frame::simple("OK"));
    assert_eq!(c.call(&["GET", "k"]), bulk("v\r\nwith crlf"));
    let null = if resp3 {
        Frame::Null
    } else {
        Frame::NullBulkString
    };
    assert_eq!(c.call(&["GET", "missing"]), null);
    assert_eq!(
        c.call(&["INCRBY", "n", "-9223372036854775807"]),
        Frame::Integer(-9223372036854775807)
    );
    assert_eq!(c.call(&["SET", "e", ""]), Frame::simple("OK"));
    assert_eq!(c.call(&["GET", "e"]), bulk(""));
    assert!(matches!(c.call(&["INCR", "k"]), Frame::Error(e) if e.starts_with(b"ERR ")));
    assert!(matches!(c.call(&["NOSUCHCOMMAND"]), Frame::Error(_)));
    c.call(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(
        c.call(&["LRANGE", "l", "0", "-1"]),
        Frame::command(&["a", "b", "c"])
    );
    assert_eq!(
        c.call(&["LRANGE", "nolist", "0", "-1"]),
        Frame::Array(vec![])
    );
    let null_array = if resp3 { Frame::Null } else { Frame::NullArray };
    assert_eq!(c.call(&["BLPOP", "nolist", "0.01"]), null_array);
    c.call(&["HSET", "h", "f", "1"]);
    let hash = c.call(&["HGETALL", "h"]);
    if resp3 {
        assert_eq!(hash, Frame::Map(vec![(bulk("f"), bulk("1"))]));
    } else {
        assert_eq!(hash, Frame::command(&["f", "1"]));
    }
    c.call(&["SADD", "s", "m"]);
    let members = c.call(&["SMEMBERS", "s"]);
    assert_eq!(
        members,
        if resp3 {
            Frame::Set(vec![bulk("m")])
        } else {
            Frame::command(&["m"])
        }
    );
    c.call(&["ZADD", "z", "1.5", "a", "inf", "b"]);
    let score = c.call(&["ZSCORE", "z", "a"]);
    assert_eq!(
        score,
        if resp3 {
            Frame::Double(1.5)
        } else {
            bulk("1.5")
        }
    );
    let inf = c.call(&["ZSCORE", "z", "b"]);
    assert_eq!(
        inf,
        if resp3 {
            Frame::Double(f64::INFINITY)
        } else {
            bulk("inf")
        }
    );
    let scan = c.call(&["SCAN", "0", "COUNT", "1000"]);
    let Some([cursor, Frame::Array(keys)]) = scan.as_elements() else {
        panic!("{scan:?}")
    };
    assert_eq!(cursor, &bulk("0"));
    assert_eq!(keys.len(), 7);
    let Frame::Array(docs) = c.call(&["COMMAND", "INFO", "get", "set"]) else {
        panic!()
    };
    assert_eq!(docs.len(), 2);
    let info = c.call(&["INFO", "server"]);
    if resp3 {
        assert!(
            matches!(&info, Frame::VerbatimString { format, text } if format == b"txt" && text.starts_with(b"# Server"))
        );
    } else {
        assert!(matches!(&info, Frame::BulkString(t) if t.starts_with(b"# Server")));
    }

    // DEBUG PROTOCOL answers each reply type on purpose (RESP2 gets its fallback).
    for kind in [
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
        "verbatim", "true", "false",
    ] {
        let frame = c.call(&["DEBUG", "PROTOCOL", kind]);
        if !resp3 {
            continue;
        }
        let ok = match kind {
            // 3.141 on 7.0 and later, 3.14159265359 on 6.2.
            "double" => {
                matches!(frame, Frame::Double(v) if (v - std::f64::consts::PI).abs() < 0.001)
            }
            "bignum" => {
                matches!(&frame, Frame::BigNumber(n) if n.iter().all(u8::is_ascii_digit) && n.len() > 20)
            }
            "null" => frame == Frame::Null,
            "set" => matches!(frame, Frame::Set(_)),
            "map" => matches!(frame, Frame::Map(_)),
            "attrib" => {
                matches!(&frame, Frame::Attribute { attributes, .. } if !attributes.is_empty())
            }
            "verbatim" => matches!(frame, Frame::VerbatimString { .. }),
            "true" => frame == Frame::Boolean(true),
            "false" => frame == Frame::Boolean(false),
            _ => true,
        };
        assert!(ok, "DEBUG PROTOCOL {kind}: {frame:?}");
    }

    // A pipeline of many commands; replies come back in order.
    let mut p = Pipeline::new();
    for i in 0..1000 {
        p.push(&["INCR", "counter"]);
        p.push(&[&b"SET"[..], format!("key:{i}").as_bytes(), &vec![b'x'; i]]);
    }
    c.send(&p.take());
    for i in 0..1000 {
        assert_eq!(c.reply().0, Frame::Integer(i + 1));
        assert_eq!(c.reply().0, Frame::simple("OK"));
    }
    // Inline commands, as telnet would send them.
    let mut out = BytesMut::new();
    encode_inline(&mut out, &["SET", "inline key", "a \"quoted\"\n value"]);
    c.send(&out);
    assert_eq!(c.reply().0, Frame::simple("OK"));
    assert_eq!(c.call(&["GET", "inline key"]), bulk("a \"quoted\"\n value"));

    if resp3 {
        // Out-of-band pushes: pub/sub messages.
        assert_eq!(
            c.call(&["SUBSCRIBE", "ch"]),
            Frame::Push(vec![bulk("subscribe"), bulk("ch"), Frame::Integer(1)])
        );
        let mut other = Conn::open(&server);
        assert_eq!(other.call(&["PUBLISH", "ch", "hi"]), Frame::Integer(1));
        assert_eq!(
            c.reply().0,
            Frame::Push(vec![bulk("message"), bulk("ch"), bulk("hi")])
        );
    }
}

#[test]
fn redis_6_2_resp2() {
    replies_of_every_type(Version::Redis6_2, false);
}

#[test]
fn redis_6_2_resp3() {
    replies_of_every_type(Version::Redis6_2, true);
}

#[test]
fn redis_7_0_resp2() {
    replies_of_every_type(Version::Redis7_0, false);
}

#[test]
fn redis_7_0_resp3() {
    replies_of_every_type(Version::Redis7_0, true);
}

#[test]
fn valkey_9_1_resp2() {
    replies_of_every_type(Version::Valkey9_1, false);
}

#[test]
fn valkey_9_1_resp3() {
    replies_of_every_type(Version::Valkey9_1, true);
}

/// A large value goes out as one command (whose wire length the command codec
/// reports exactly) and comes back in chunks through the streaming codec.
#[test]
fn a_large_value_streams_in_chunks() {
    let server = Server::start(Version::Redis7_0);
    let mut c = Conn::open(&server);
    let value: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut out = BytesMut::new();
    encode_command(&mut out, &[&b"SET"[..], b"big", &value]);
    // The same bytes read back as a command, as a replica would.
    let mut sent = out.clone();
    let cmd = CommandCodec::new().decode(&mut sent).unwrap().unwrap();
    assert_eq!(cmd.wire_len(), out.len());
    c.send(&out);
    assert_eq!(c.reply().0, Frame::simple("OK"));

    let mut stream = c.stream.try_clone().unwrap();
    let mut get = BytesMut::new();
    encode_command(&mut get, &["GET", "big"]);
    stream.write_all(&get).unwrap();
    let mut codec = StreamingCodec::new(64 << 10);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut chunks = 0;
    loop {
        match codec.decode(&mut buf).unwrap() {
            Some(Event::BulkStart { len, .. }) => assert_eq!(len, value.len() as u64),
            Some(Event::BulkChunk(c)) => {
                got.extend_from_slice(&c);
                chunks += 1;
            }
            Some(Event::BulkEnd) => {}
            Some(Event::End { wire_len }) => {
                assert_eq!(wire_len, value.len() as u64 + 12);
                break;
            }
            Some(other) => panic!("{other:?}"),
            None => {
                let mut chunk = vec![0u8; 65536];
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    assert!(got == value && chunks > 1, "{chunks} chunks");
}
