//! The codecs under `tokio_util::codec::Framed` on a real connection: commands
//! encoded from borrowed arguments, pipelined, and replies decoded, in RESP2 and in
//! RESP3 after `HELLO 3`, on Redis 6.2, 7.0 and Valkey 9.1.

use futures_util::{SinkExt, StreamExt};
use resp_codec::{Frame, FrameCodec};
use testkit::{Server, Version};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

async fn call(framed: &mut Framed<TcpStream, FrameCodec>, args: &[&str]) -> Frame {
    framed.send(args).await.unwrap();
    framed.next().await.expect("a reply").unwrap()
}

#[tokio::test]
async fn framed_commands_and_replies() {
    for version in [Version::Redis6_2, Version::Redis7_0, Version::Valkey9_1] {
        let server = Server::start(version);
        let stream = TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .unwrap();
        let mut framed = Framed::new(stream, FrameCodec::new());
        assert_eq!(
            call(&mut framed, &["SET", "k", "v"]).await,
            Frame::simple("OK")
        );
        // A pipeline: every command queued, one flush, then every reply in order.
        for i in 0..500 {
            framed
                .feed(&["RPUSH", "list", &i.to_string()][..])
                .await
                .unwrap();
        }
        SinkExt::<&[&str]>::flush(&mut framed).await.unwrap();
        for i in 1..=500 {
            assert_eq!(framed.next().await.unwrap().unwrap(), Frame::Integer(i));
        }
        let Frame::Array(items) = call(&mut framed, &["LRANGE", "list", "0", "2"]).await else {
            panic!("LRANGE answers an array")
        };
        assert_eq!(
            items,
            [Frame::bulk("0"), Frame::bulk("1"), Frame::bulk("2")]
        );
        assert_eq!(
            call(&mut framed, &["GET", "missing"]).await,
            Frame::NullBulkString
        );
        assert!(call(&mut framed, &["NOSUCHCOMMAND"]).await.is_error());
        // RESP3.
        assert!(matches!(
            call(&mut framed, &["HELLO", "3"]).await,
            Frame::Map(_)
        ));
        call(&mut framed, &["HSET", "h", "f", "1"]).await;
        assert_eq!(
            call(&mut framed, &["HGETALL", "h"]).await,
            Frame::Map(vec![(Frame::bulk("f"), Frame::bulk("1"))])
        );
        assert_eq!(call(&mut framed, &["GET", "missing"]).await, Frame::Null);
    }
}
