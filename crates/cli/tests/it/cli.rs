//! CLI tests: the real binary, its exit codes and messages.

use std::io::Write;
use std::process::{Command, Stdio};

fn beffroi(data: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    beffroi_stdin(data, args, "")
}

pub(crate) fn beffroi_stdin(data: &std::path::Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_beffroi"))
        .args(args)
        .env("BEFFROI_DATA", data)
        .env_remove("BEFFROI_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run beffroi");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn site_create_and_list() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) =
        beffroi(d.path(), &["site", "create", "namur", "--title", "Ville de Namur", "--host", "www.namur.be"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("site namur created"));
    let (code, out, _) = beffroi(d.path(), &["site", "create", "gent", "--title", "Stad Gent", "--language", "nl"]);
    assert_eq!(code, 0);
    assert!(out.contains("gent"));
    let (code, out, _) = beffroi(d.path(), &["site", "list"]);
    assert_eq!(code, 0);
    assert_eq!(out, "gent\tnl\tStad Gent\tapps: cms\nnamur\tfr\tVille de Namur\twww.namur.be\tapps: cms\n");
}

#[test]
fn a_site_has_a_time_zone() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) =
        beffroi(d.path(), &["site", "create", "lille", "--title", "Lille", "--time-zone", "Europe/Paris"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = beffroi(d.path(), &["site", "time-zone", "--site", "lille", "Europe/Brussels"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Europe/Brussels"), "{out}");
    let (code, _, err) = beffroi(d.path(), &["site", "time-zone", "--site", "lille", "Mars/Olympus"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown time zone"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let db = std::fs::metadata(d.path().join("beffroi.db")).unwrap().permissions().mode();
        assert_eq!(db & 0o077, 0, "the database is readable by its owner only: {db:o}");
    }
}

#[test]
fn failures_exit_1_with_one_clear_line() {
    let d = tempfile::tempdir().unwrap();
    beffroi(d.path(), &["site", "create", "namur", "--title", "Namur"]);
    let (code, _, err) = beffroi(d.path(), &["site", "create", "namur", "--title", "Namur"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = beffroi(d.path(), &["site", "create", "Bad Id", "--title", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid site id"), "{err}");
    let (code, _, err) = beffroi(d.path(), &["site", "list", "--database", "mysql://x"]);
    assert_eq!(code, 1);
    assert!(err.contains("neither sqlite"), "{err}");
    let (code, _, err) = beffroi(d.path(), &["site", "list", "--database", "postgres://u:topsecret@127.0.0.1:1/db"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot open the database postgres://u:***@127.0.0.1:1/db"), "{err}");
    assert!(!err.contains("topsecret"), "secrets never reach the output");
}

#[test]
fn usage_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = beffroi(d.path(), &["site", "create", "x"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = beffroi(d.path(), &["frobnicate"]);
    assert_eq!(code, 2);
    let (code, _, _) = beffroi(d.path(), &["serve", "--listen", "not-an-address"]);
    assert_eq!(code, 2);
}

#[test]
fn user_create_reads_the_password_from_stdin() {
    let d = tempfile::tempdir().unwrap();
    beffroi(d.path(), &["site", "create", "namur", "--title", "Namur"]);
    let (code, out, err) = beffroi_stdin(
        d.path(),
        &[
            "user",
            "create",
            "--site",
            "namur",
            "marie",
            "--role",
            "Editor",
            "--role",
            "Site Administrator",
            "--password-stdin",
        ],
        "un mot de passe\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("user marie created"));
    assert!(!out.contains("un mot de passe") && !err.contains("un mot de passe"));
    let (code, _, err) = beffroi_stdin(
        d.path(),
        &["user", "create", "--site", "namur", "jean", "--role", "God", "--password-stdin"],
        "long password\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("unknown role"), "{err}");
    let (code, _, err) = beffroi_stdin(
        d.path(),
        &["user", "create", "--site", "nowhere", "jean", "--password-stdin"],
        "long password\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("no site nowhere"), "{err}");
    let (code, _, _) = beffroi_stdin(d.path(), &["user", "create", "--site", "namur", "jean"], "");
    assert_eq!(code, 2, "--password-stdin is required");
}

#[test]
fn serve_fails_clearly_when_the_port_is_taken() {
    let d = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = beffroi(d.path(), &["serve", "--listen", &addr]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[test]
fn users_and_groups_are_managed_from_the_shell() {
    let d = tempfile::tempdir().unwrap();
    beffroi(d.path(), &["site", "create", "namur", "--title", "Namur"]);
    let create = ["user", "create", "--site", "namur", "marie", "--role", "Editor", "--password-stdin"];
    assert_eq!(beffroi_stdin(d.path(), &create, "first password\n").0, 0);
    let (code, _, err) = beffroi_stdin(
        d.path(),
        &["user", "passwd", "--site", "namur", "marie", "--password-stdin"],
        "second password\n",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = beffroi_stdin(
        d.path(),
        &["user", "passwd", "--site", "namur", "ghost", "--password-stdin"],
        "second password\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("cannot change the password"), "{err}");
    assert_eq!(beffroi(d.path(), &["user", "disable", "--site", "namur", "marie"]).0, 0);
    let (_, out, _) = beffroi(d.path(), &["user", "list", "--site", "namur"]);
    assert_eq!(out, "marie\tdisabled\tEditor\t\n");
    assert_eq!(beffroi(d.path(), &["user", "enable", "--site", "namur", "marie"]).0, 0);
    let (code, out, err) = beffroi(
        d.path(),
        &["group", "create", "--site", "namur", "urbanisme", "--title", "Urbanisme", "--role", "Reviewer"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("group urbanisme created"));
    assert_eq!(beffroi(d.path(), &["group", "add-member", "--site", "namur", "urbanisme", "marie"]).0, 0);
    let (code, _, err) = beffroi(d.path(), &["group", "add-member", "--site", "namur", "urbanisme", "ghost"]);
    assert_eq!(code, 1);
    assert!(err.contains("no user ghost"), "{err}");
    let (_, out, _) = beffroi(d.path(), &["group", "list", "--site", "namur"]);
    assert_eq!(out, "urbanisme\tReviewer\tmarie\tUrbanisme\n");
    let (_, out, _) = beffroi(d.path(), &["user", "list", "--site", "namur"]);
    assert_eq!(out, "marie\tenabled\tEditor\t\n");
}

#[test]
fn operators_are_managed_from_the_shell() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = beffroi_stdin(
        d.path(),
        &["operator", "create", "ops", "--password-stdin", "--fullname", "Ops"],
        "operator password\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("operator ops created"));
    let (code, _, err) =
        beffroi_stdin(d.path(), &["operator", "create", "ops", "--password-stdin"], "operator password\n");
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(beffroi(d.path(), &["operator", "disable", "ops"]).0, 0);
    assert_eq!(beffroi(d.path(), &["operator", "list"]).1, "ops\tdisabled\tOps\n");
    assert_eq!(beffroi(d.path(), &["operator", "disable", "ghost"]).0, 1);
}

#[test]
fn workflows_are_changed_from_the_shell() {
    let d = tempfile::tempdir().unwrap();
    beffroi(d.path(), &["site", "create", "namur", "--title", "Namur"]);
    let (code, out, _) = beffroi(d.path(), &["workflow", "list", "--site", "namur"]);
    assert_eq!(code, 0);
    assert!(out.contains("workflow\tsimple_publication\tprivate,pending,published\n"));
    assert!(out.contains("chain\tDocument\tsimple_publication\n") && out.contains("chain\tFile\tnone\n"));
    let bad = d.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "b", "title": {}, "initial_state": "x", "states": [{"id": "y", "title": {}}]}"#)
        .unwrap();
    let (code, _, err) = beffroi(d.path(), &["workflow", "set", "--site", "namur", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.json is not a usable workflow") && err.contains("initial state \"x\""), "{err}");
    let good = d.path().join("one.json");
    std::fs::write(
        &good,
        r#"{"id": "solo", "title": {"fr": "Solo"}, "initial_state": "on", "states": [{"id": "on", "title": {}}]}"#,
    )
    .unwrap();
    assert_eq!(beffroi(d.path(), &["workflow", "set", "--site", "namur", good.to_str().unwrap()]).0, 0);
    let (code, out, err) =
        beffroi(d.path(), &["workflow", "chain", "--site", "namur", "Document", "solo", "--map", "private=on"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Document follows solo on site namur; 0 items changed state"));
    let (code, _, err) =
        beffroi(d.path(), &["workflow", "chain", "--site", "namur", "Document", "solo", "--map", "oops"]);
    assert_eq!(code, 1);
    assert!(err.contains("OLD=NEW"), "{err}");
    assert!(beffroi(d.path(), &["workflow", "list", "--site", "namur"]).1.contains("chain\tDocument\tsolo\n"));
}
