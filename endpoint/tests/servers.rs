//! Connections to real servers: plain, password, ACL user, wrong credentials, RESP3,
//! database selection, pipelining, server info, and TLS with certificate
//! verification and client certificates.

use endpoint::{ConnectOptions, Connection, Endpoint, Error, Flavor, TlsOptions};
use resp_codec::Frame;
use testkit::{Server, Version};

fn url(server: &Server, creds: &str) -> Endpoint {
    format!("redis://{creds}127.0.0.1:{}", server.port())
        .parse()
        .unwrap()
}

#[tokio::test]
async fn plain_password_acl_and_wrong_credentials() {
    for version in [Version::Redis6_2, Version::Redis7_0, Version::Valkey9_1] {
        let server = Server::builder(version)
            .password("pw-default")
            .acl_user("app", "pw-app", "~* &* +@all")
            .start();
        let opts = ConnectOptions::new();
        let mut con = Connection::connect(&url(&server, ":pw-default@"), &opts)
            .await
            .unwrap();
        assert_eq!(con.request(&["PING"]).await.unwrap(), Frame::simple("PONG"));
        let mut app = Connection::connect(&url(&server, "app:pw-app@"), &opts)
            .await
            .unwrap();
        let who = app.request(&["ACL", "WHOAMI"]).await.unwrap();
        assert_eq!(who.as_bytes().map(|b| &b[..]), Some(&b"app"[..]));

        for creds in [":nope@", "app:nope@", "ghost:pw@"] {
            match Connection::connect(&url(&server, creds), &opts).await {
                Err(Error::AuthFailed { message }) => {
                    assert!(!message.contains("nope"), "{message}")
                }
                other => panic!("{version:?} {creds}: {other:?}"),
            }
        }
        // No credentials at all: commands are refused with NOAUTH.
        let mut anon = Connection::connect(&url(&server, ""), &opts).await.unwrap();
        let e = anon.request(&["GET", "k"]).await.unwrap_err();
        assert_eq!(e.server_code(), Some("NOAUTH"), "{e}");
        assert_eq!(e.to_string().split(':').next(), Some("GET"));
        // RESP3 with AUTH in HELLO.
        let resp3 = ConnectOptions::new()
            .resp3(true)
            .client_name("endpoint-test");
        let mut con3 = Connection::connect(&url(&server, "app:pw-app@"), &resp3)
            .await
            .unwrap();
        let reply = con3.request(&["HGETALL", "missing"]).await.unwrap();
        assert!(
            matches!(reply, Frame::Map(ref m) if m.is_empty()),
            "{reply:?}"
        );
        let e = Connection::connect(&url(&server, "app:bad@"), &resp3)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::AuthFailed { .. }), "{e:?}");

        let info = con.server_info().await.unwrap();
        let expected = match version {
            Version::Redis6_2 => ((6, 2, 14), Flavor::Redis, 9),
            Version::Redis7_0 => ((7, 0, 15), Flavor::Redis, 10),
            _ => ((9, 1, 2), Flavor::Valkey, 80),
        };
        assert_eq!((info.version, info.flavor, info.rdb_version()), expected);
        assert_eq!(info.proto_max_bulk_len, Some(512 << 20));
        assert!(!info.cluster_enabled);
    }
}

#[tokio::test]
async fn database_selection_and_pipelining() {
    let server = Server::start(Version::Redis7_0);
    let endpoint: Endpoint = format!("redis://127.0.0.1:{}/5", server.port())
        .parse()
        .unwrap();
    let mut con = Connection::connect(&endpoint, &ConnectOptions::new())
        .await
        .unwrap();
    for i in 0..1000 {
        con.send(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    con.send(&["DBSIZE"]);
    con.flush().await.unwrap();
    for _ in 0..1000 {
        assert_eq!(con.read_reply().await.unwrap(), Frame::simple("OK"));
    }
    assert_eq!(con.read_reply().await.unwrap(), Frame::Integer(1000));
    let mut check = server.client();
    let n: u64 = testkit::redis::cmd("SELECT")
        .arg(5)
        .query::<()>(&mut check)
        .and_then(|()| testkit::redis::cmd("DBSIZE").query(&mut check))
        .unwrap();
    assert_eq!(n, 1000);
}

#[tokio::test]
async fn tls_verifies_the_server_and_presents_client_certificates() {
    let server = Server::builder(Version::Redis7_0).tls(false).start();
    let port = server.tls_port().unwrap();
    let endpoint: Endpoint = format!("rediss://127.0.0.1:{port}").parse().unwrap();
    // Not trusted without the CA.
    let e = Connection::connect(&endpoint, &ConnectOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    // Trusted with it.
    let tls = TlsOptions::new().ca_file(server.tls_file("ca"));
    let opts = ConnectOptions::new().tls(tls.clone());
    let mut con = Connection::connect(&endpoint, &opts).await.unwrap();
    assert_eq!(con.request(&["PING"]).await.unwrap(), Frame::simple("PONG"));
    // The wrong name fails verification.
    let wrong = ConnectOptions::new().tls(tls.server_name("other.example"));
    assert!(matches!(
        Connection::connect(&endpoint, &wrong).await,
        Err(Error::Tls(_))
    ));
    // Verification can be switched off, by name.
    let insecure = ConnectOptions::new().tls(TlsOptions::new().danger_accept_invalid_certs(true));
    Connection::connect(&endpoint, &insecure).await.unwrap();

    let mutual = Server::builder(Version::Redis7_0).tls(true).start();
    let endpoint: Endpoint = format!("rediss://127.0.0.1:{}", mutual.tls_port().unwrap())
        .parse()
        .unwrap();
    let ca_only = ConnectOptions::new().tls(TlsOptions::new().ca_file(mutual.tls_file("ca")));
    // Without a client certificate the server drops the handshake or the first command.
    let refused = match Connection::connect(&endpoint, &ca_only).await {
        Err(_) => true,
        Ok(mut con) => con.request(&["PING"]).await.is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    let with_cert = ConnectOptions::new().tls(
        TlsOptions::new()
            .ca_file(mutual.tls_file("ca"))
            .client_auth(
                mutual.tls_file("client-cert"),
                mutual.tls_file("client-key"),
            ),
    );
    let mut con = Connection::connect(&endpoint, &with_cert).await.unwrap();
    assert_eq!(con.request(&["PING"]).await.unwrap(), Frame::simple("PONG"));
}

/// `discover` lists each cluster shard's replicas, from `CLUSTER SHARDS` (7.0)
/// and from `CLUSTER SLOTS` (6.2): where a replica of the shard follows a failover.
#[tokio::test]
async fn cluster_shards_list_their_replicas() {
    for version in [Version::Redis6_2, Version::Redis7_0] {
        let cluster = testkit::Cluster::builder(version)
            .masters(3)
            .replicas(1)
            .start();
        cluster.wait_healthy();
        let node = url(&cluster.nodes()[0], "");
        // The node asked learns of the replicas through the cluster bus.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let shards = loop {
            let endpoint::Topology::Cluster(shards) =
                endpoint::discover(&node, &ConnectOptions::new())
                    .await
                    .unwrap()
            else {
                panic!("{version:?}: a cluster node is part of a cluster")
            };
            if shards.iter().all(|s| !s.replicas.is_empty()) {
                break shards;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{version:?}: replicas never listed: {shards:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let masters: Vec<u16> = cluster.masters().iter().map(|m| m.port()).collect();
        let mut replicas: Vec<u16> = shards
            .iter()
            .inspect(|s| assert_eq!(s.replicas.len(), 1, "{version:?}: {s:?}"))
            .flat_map(|s| s.replicas.iter().map(|r| r.port()))
            .collect();
        replicas.sort();
        let mut expected: Vec<u16> = cluster
            .nodes()
            .iter()
            .map(|n| n.port())
            .filter(|p| !masters.contains(p))
            .collect();
        expected.sort();
        assert_eq!(replicas, expected, "{version:?}");
    }
}
