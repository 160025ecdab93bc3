use super::*;

#[test]
fn ids_map_to_file_names_as_the_driver_names_files() {
    let source = FileSource::new("/mnt").alias("prod/stripe", "stripe-key");
    assert_eq!(source.file_name("prod/db"), "prod_db");
    assert_eq!(
        source.file_name("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"),
        "prod_db"
    );
    assert_eq!(
        source.file_name("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"),
        "prod_db",
        "an ARN without the suffix keeps its whole name"
    );
    assert_eq!(source.file_name("prod/stripe"), "stripe-key");
    assert_eq!(source.path_translation('-').file_name("a/b/c"), "a-b-c");
}

#[test]
fn only_plain_integers_become_numbers() {
    for yes in ["0", "5432", "-17", "123456789012345678"] {
        assert!(is_integer(yes), "{yes}");
    }
    for no in [
        "",
        "-",
        "007",
        "1e5",
        "1.0",
        "+1",
        " 1",
        "1234567890123456789",
        "hunter2",
    ] {
        assert!(!is_integer(no), "{no}");
    }
}
