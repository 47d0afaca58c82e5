//! Encrypted connections to PostgreSQL: the URL's `sslmode` and `sslrootcert` are
//! honoured, `--db-ca-file` gives the certificate authority, and a server whose
//! certificate is not signed by it is refused. Against the cluster of
//! scripts/with-postgres.sh, which serves TLS with a certificate authority of its own.

use beffroi_service::{Store, StoreOptions};

use crate::support::{TestDb, skipped};

fn with_query(url: &str, query: &str) -> String {
    format!("{url}{}{query}", if url.contains('?') { '&' } else { '?' })
}

#[tokio::test]
async fn connections_to_postgresql_are_encrypted_and_checked_as_asked() {
    let Some(db) = TestDb::postgres().await else { return };
    let Ok(ca) = std::env::var("BEFFROI_TEST_PG_CA") else {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but the cluster serves no TLS (BEFFROI_TEST_PG_CA)"
        );
        skipped("TLS", "BEFFROI_TEST_PG_CA is not set: the PostgreSQL cluster serves no TLS");
        db.cleanup().await;
        return;
    };
    async fn open(url: String, ca_file: Option<&str>) -> Result<Store, beffroi_service::StoreError> {
        let opts = StoreOptions { ca_file: ca_file.map(Into::into), ..StoreOptions::default() };
        Store::open(&url, &opts).await
    }
    // The URL's parameters, as libpq's.
    let verified = open(with_query(&db.url, &format!("sslmode=verify-full&sslrootcert={ca}")), None).await.unwrap();
    assert!(verified.encrypted().await.unwrap());
    verified.close().await;
    let plain = open(with_query(&db.url, "sslmode=disable"), None).await.unwrap();
    assert!(!plain.encrypted().await.unwrap());
    plain.close().await;
    // The option: verify-full unless the URL says otherwise.
    let by_option = open(db.url.clone(), Some(&ca)).await.unwrap();
    assert!(by_option.encrypted().await.unwrap());
    by_option.close().await;
    // A server whose certificate is signed by nobody known: refused.
    let err = open(with_query(&db.url, "sslmode=verify-full"), None).await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"), "{err}");
    // Another authority than the server's: refused too.
    let other = tempfile::NamedTempFile::new().unwrap();
    let system = std::fs::read_dir("/etc/ssl/certs")
        .ok()
        .and_then(|d| d.filter_map(Result::ok).find(|e| e.path().extension().is_some_and(|x| x == "pem")))
        .map(|e| e.path());
    if let Some(system) = system {
        std::fs::copy(system, other.path()).unwrap();
        let err = open(db.url.clone(), Some(other.path().to_str().unwrap())).await.unwrap_err().to_string();
        assert!(err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"), "{err}");
    }
    // A certificate file that is not there: one clear line.
    let err = open(db.url.clone(), Some("/nonexistent/ca.pem")).await.unwrap_err().to_string();
    assert!(err.contains("/nonexistent/ca.pem") && err.contains("no such certificate file"), "{err}");

    // The command line takes the option and its variable.
    let data = tempfile::tempdir().unwrap();
    let (code, out, err) =
        crate::cli::beffroi_stdin(data.path(), &["site", "list", "--database", &db.url, "--db-ca-file", &ca], "");
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = crate::cli::beffroi_stdin(
        data.path(),
        &["site", "list", "--database", &with_query(&db.url, "sslmode=verify-full")],
        "",
    );
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    db.cleanup().await;
}
