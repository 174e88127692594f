//! The AOF reader on synthetic files: preambles, annotations, `SELECT`, offsets,
//! truncation, and multi-part directories. Real server files are in
//! `tests/server.rs`.

use std::fs;

use aof::{AofDecoder, AofItem, AofReader, Error};
use bytes::{Bytes, BytesMut};
use resp_codec::{DbCommand, encode_command};

/// An RDB 9 with one string key and no checksum (eight zero bytes).
const RDB: &[u8] = b"REDIS0009\xfe\x00\x00\x05hello\x05world\xff\0\0\0\0\0\0\0\0";

fn commands(cmds: &[&[&str]]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for c in cmds {
        encode_command(&mut buf, c);
    }
    buf.to_vec()
}

/// Items as comparable text: `rdb:<len>`, the command's arguments (after `db<n>: `
/// outside db 0), or `cut:<offset>+<len>`.
fn describe(item: AofItem) -> String {
    match item {
        AofItem::Rdb(b) => format!("rdb:{}", b.len()),
        AofItem::Command(c) => {
            let args = c
                .args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            match c.db {
                0 => args,
                db => format!("db{db}: {args}"),
            }
        }
        AofItem::Truncated(t) => format!(
            "cut:{}+{}{}",
            t.offset,
            t.len,
            if t.in_transaction { " multi" } else { "" }
        ),
        other => format!("{other:?}"),
    }
}

/// Decodes `file` fed in pieces cut at `cuts`, then at its end.
fn decode(file: &[u8], cuts: &[usize]) -> Result<Vec<String>, Error> {
    Ok(items(file, cuts)?.into_iter().map(describe).collect())
}

/// The commands of `file`, whole.
fn decode_commands(file: &[u8]) -> Vec<DbCommand> {
    items(file, &[])
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            AofItem::Command(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The items of `file` fed in pieces cut at `cuts`, then at its end.
fn items(file: &[u8], cuts: &[usize]) -> Result<Vec<AofItem>, Error> {
    let mut aof = AofDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&file.len())) {
        buf.extend_from_slice(&file[from..to]);
        from = to;
        let eof = to == file.len();
        while let Some(item) = aof.decode(&mut buf, eof)? {
            out.push(item);
        }
    }
    Ok(out)
}

#[test]
fn annotations_are_skipped_and_offsets_count_them() {
    let mut file = b"#TS:1700000000\r\n".to_vec();
    file.extend(commands(&[&["SELECT", "0"], &["SET", "a", "1"]]));
    file.extend_from_slice(b"#TS:1700000001\r\n");
    file.extend(commands(&[&["INCR", "a"]]));
    let want = vec!["SET a 1", "INCR a"];
    for at in 0..=file.len() {
        assert_eq!(decode(&file, &[at]).unwrap(), want, "split at {at}");
    }
    let bytewise: Vec<usize> = (1..file.len()).collect();
    assert_eq!(decode(&file, &bytewise).unwrap(), want);
    // Each command's offset is the end of its bytes: annotations and SELECT count.
    let offsets: Vec<u64> = decode_commands(&file).iter().map(|c| c.offset).collect();
    assert_eq!(offsets, [16 + 23 + 27, file.len() as u64]);
}

#[test]
fn select_sets_the_db_of_the_commands_after_it() {
    let file = commands(&[
        &["SET", "a", "1"],
        &["SELECT", "3"],
        &["SET", "b", "2"],
        &["MULTI"],
        &["select", "12"],
        &["INCR", "c"],
        &["EXEC"],
        &["DEL", "b"],
    ]);
    let want = vec![
        "SET a 1",
        "db3: SET b 2",
        "db3: MULTI",
        "db12: INCR c",
        "db12: EXEC",
        "db12: DEL b",
    ];
    for at in 0..=file.len() {
        assert_eq!(decode(&file, &[at]).unwrap(), want, "split at {at}");
    }
    let cmds = decode_commands(&file);
    assert!(cmds[1].name_is("set") && cmds[1].args[1] == "b");
    // Offsets grow by each command's length, SELECTs included.
    let mut end = 0;
    for c in &cmds {
        let len = resp_codec::command_len(&c.args) as u64;
        assert!(c.offset >= end + len, "{c:?}");
        end = c.offset;
    }
    assert_eq!(end, file.len() as u64);

    // A SELECT without a valid database number is an error at its start.
    for bad in [&["SELECT"][..], &["SELECT", "x"], &["SELECT", "-1"]] {
        let mut file = commands(&[&["SET", "a", "1"]]);
        file.extend(commands(&[bad]));
        let err = decode(&file, &[]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    what: "SELECT (no valid database number)",
                    offset: 27
                }
            ),
            "{bad:?}: {err}"
        );
        assert_eq!(err.offset(), Some(27));
    }
}

#[test]
fn an_rdb_preamble_comes_first_whole() {
    let mut file = RDB.to_vec();
    file.extend(commands(&[&["SET", "b", "2"]]));
    let want = vec![format!("rdb:{}", RDB.len()), "SET b 2".to_owned()];
    for at in 0..=file.len() {
        assert_eq!(decode(&file, &[at]).unwrap(), want, "split at {at}");
    }
    let mut aof = AofDecoder::new();
    let mut buf = BytesMut::from(&file[..]);
    let Some(AofItem::Rdb(rdb)) = aof.decode(&mut buf, true).unwrap() else {
        panic!()
    };
    assert_eq!(rdb, RDB);
}

#[test]
fn a_truncated_last_command_is_reported_after_the_complete_ones() {
    let mut file = commands(&[&["SET", "a", "1"], &["SET", "b", "2"]]);
    let whole = file.len() as u64;
    file.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1");
    assert_eq!(
        decode(&file, &[]).unwrap(),
        vec![
            "SET a 1".to_owned(),
            "SET b 2".to_owned(),
            format!("cut:{whole}+22")
        ]
    );
    // Cut inside a transaction: the server drops it from its MULTI.
    let mut file = commands(&[&["SET", "a", "1"], &["MULTI"], &["INCR", "a"]]);
    file.extend_from_slice(b"*1\r\n$4\r\nEX");
    assert_eq!(
        decode(&file, &[]).unwrap(),
        vec!["SET a 1", "MULTI", "INCR a", "cut:27+46 multi"]
    );
    // A file that ends cleanly but inside a transaction, too.
    let file = commands(&[&["MULTI"], &["INCR", "a"]]);
    assert_eq!(
        decode(&file, &[]).unwrap(),
        vec!["MULTI", "INCR a", "cut:0+36 multi"]
    );
    let file = commands(&[&["MULTI"], &["INCR", "a"], &["EXEC"]]);
    assert_eq!(decode(&file, &[]).unwrap(), vec!["MULTI", "INCR a", "EXEC"]);
}

#[test]
fn format_errors_name_the_offset() {
    let mut file = commands(&[&["SET", "a", "1"]]);
    file.extend_from_slice(b"SET b 2\r\n");
    assert!(matches!(
        decode(&file, &[]),
        Err(Error::Resp(resp_codec::Error::UnknownType {
            byte: b'S',
            offset: 27
        }))
    ));
    // Offsets count the preamble and the annotations before.
    let mut file = RDB.to_vec();
    file.extend_from_slice(b"#TS:1\r\n*1\r\n$4\r\nPING\r\n*1\r\n$");
    file.extend_from_slice(b"x\r\n");
    let err = decode(&file, &[]).unwrap_err();
    assert_eq!(err.offset(), Some(RDB.len() as u64 + 7 + 14 + 4), "{err}");
    assert!(matches!(
        decode(b"*0\r\n", &[]),
        Err(Error::Invalid {
            what: "command (no arguments)",
            offset: 0
        })
    ));
    let mut file = RDB.to_vec();
    file[12] = 0xf0; // an unknown type byte inside the preamble
    assert!(matches!(
        decode(&file, &[]),
        Err(Error::Rdb { offset: 0, .. })
    ));
    // A preamble cut short is an error, not a truncation: nothing after it can be read.
    assert!(matches!(decode(&RDB[..20], &[]), Err(Error::Rdb { .. })));
    let long = format!("#{}\n", "x".repeat(2000));
    assert!(matches!(
        decode(long.as_bytes(), &[]),
        Err(Error::Invalid {
            what: "annotation line (too long)",
            ..
        })
    ));
}

#[test]
fn empty_and_annotation_only_files() {
    assert_eq!(decode(b"", &[]).unwrap(), Vec::<String>::new());
    assert_eq!(decode(b"#TS:1", &[]).unwrap(), Vec::<String>::new());
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).unwrap();
}

fn read_all(path: &std::path::Path) -> Result<Vec<String>, Error> {
    AofReader::open(path)?.map(|i| i.map(describe)).collect()
}

#[test]
fn a_multi_part_directory_in_manifest_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "appendonly.aof.1.base.rdb",
        b"REDIS0009\xff\0\0\0\0\0\0\0\0",
    ); // history: ignored
    write(d, "appendonly.aof.2.base.rdb", RDB);
    write(
        d,
        "appendonly.aof.2.incr.aof",
        &commands(&[&["SET", "x", "1"]]),
    );
    let mut third = b"#TS:1\r\n".to_vec();
    third.extend(commands(&[&["SET", "y", "2"]]));
    third.extend_from_slice(b"*2\r\n$3\r\nDEL");
    write(d, "appendonly.aof.3.incr.aof", &third);
    write(
        d,
        "appendonly.aof.manifest",
        b"file appendonly.aof.1.base.rdb seq 1 type h\n\
          file appendonly.aof.2.base.rdb seq 2 type b\n\
          file appendonly.aof.2.incr.aof seq 2 type i\n\
          file appendonly.aof.3.incr.aof seq 3 type i\n",
    );
    let want = vec![
        format!("rdb:{}", RDB.len()),
        "SET x 1".into(),
        "SET y 2".into(),
        "cut:34+11".into(),
    ];
    assert_eq!(read_all(d).unwrap(), want);
    assert_eq!(read_all(&d.join("appendonly.aof.manifest")).unwrap(), want);
    let reader = AofReader::open(d).unwrap();
    assert_eq!(reader.manifest().unwrap().entries().len(), 4);

    let mut items = AofReader::open(d).unwrap();
    items.next();
    let Some(Ok(AofItem::Command(x))) = items.next() else {
        panic!()
    };
    // Offsets run on over the files: the base's bytes, then this command's.
    assert_eq!(x.offset, RDB.len() as u64 + 27);
    let (path, offset) = items.position().unwrap();
    assert!(path.ends_with("appendonly.aof.2.incr.aof") && offset == 27);
    let Some(Ok(AofItem::Truncated(t))) = items.last() else {
        panic!()
    };
    assert!(t.path.unwrap().ends_with("appendonly.aof.3.incr.aof"));

    // Truncation is allowed in the last file only.
    write(
        d,
        "appendonly.aof.manifest",
        b"file appendonly.aof.2.base.rdb seq 2 type b\n\
          file appendonly.aof.3.incr.aof seq 3 type i\n\
          file appendonly.aof.2.incr.aof seq 4 type i\n",
    );
    let err = read_all(d).unwrap_err();
    assert!(
        matches!(&err, Error::File { path, source } if path.ends_with("appendonly.aof.3.incr.aof")
        && matches!(**source, Error::Truncated { offset: 34, len: 11 })),
        "{err}"
    );
    assert_eq!(err.offset(), Some(34));
}

#[test]
fn missing_files_and_manifests_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_all(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Directory { dir: d, manifests: 0 } if d == dir.path()),
        "{err}"
    );
    write(
        dir.path(),
        "appendonly.aof.manifest",
        b"file gone.aof seq 1 type i\n",
    );
    let err = read_all(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::File { path, .. } if path.ends_with("gone.aof")),
        "{err}"
    );
    write(
        dir.path(),
        "appendonly.aof.manifest",
        b"file ../gone.aof seq 1 type i\n",
    );
    let err = read_all(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::File { path, source } if path.ends_with("appendonly.aof.manifest")
            && matches!(**source, Error::Manifest { line: 1, .. })),
        "{err}"
    );
    // Several manifests: the caller must say which.
    write(
        dir.path(),
        "appendonly.aof.manifest",
        b"file gone.aof seq 1 type i\n",
    );
    write(
        dir.path(),
        "other.aof.manifest",
        b"file gone.aof seq 1 type i\n",
    );
    assert!(matches!(
        read_all(dir.path()),
        Err(Error::Directory { manifests: 2, .. })
    ));
}

#[test]
fn each_file_of_a_multi_part_aof_starts_in_db_0_and_offsets_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = commands(&[&["SELECT", "4"], &["SET", "a", "1"]]);
    write(d, "appendonly.aof.1.base.aof", &base);
    let incr = commands(&[&["SET", "b", "2"], &["SELECT", "5"], &["SET", "c", "3"]]);
    write(d, "appendonly.aof.1.incr.aof", &incr);
    write(
        d,
        "appendonly.aof.manifest",
        b"file appendonly.aof.1.base.aof seq 1 type b\n\
          file appendonly.aof.1.incr.aof seq 1 type i\n",
    );
    let items: Vec<AofItem> = AofReader::open(d).unwrap().map(Result::unwrap).collect();
    let (b, i) = (base.len() as u64, incr.len() as u64);
    let want = [(4, "a", b), (0, "b", b + 27), (5, "c", b + i)];
    let got: Vec<(u64, &str, u64)> = items
        .iter()
        .map(|item| match item {
            AofItem::Command(c) => (c.db, std::str::from_utf8(&c.args[1]).unwrap(), c.offset),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_single_file_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = RDB.to_vec();
    // Big enough to take several reads.
    let value = "v".repeat(1 << 20);
    for i in 0..3 {
        file.extend(commands(&[&["SET", &format!("k{i}"), &value]]));
    }
    write(dir.path(), "appendonly.aof", &file);
    let items: Vec<AofItem> = AofReader::open(dir.path().join("appendonly.aof"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(items.len(), 4);
    let AofItem::Command(last) = &items[3] else {
        panic!()
    };
    assert_eq!(last.args[2], Bytes::from(value));
    assert_eq!(last.offset, file.len() as u64);
}
